"""Completing and expiring check-ins: scores stored, rules fired with their evidence, the trend
rule against the previous check-in, one open alert per child and rule, and alerts that outlive
a family's erasure without personal data."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.checkin.service import complete_checkin, expire_checkins, open_checkins_for_cohort, record_answer
from core.clock import FrozenClock
from core.enrolment.service import erase_guardian
from core.models import Alert, Answer, CheckIn, CheckInScore, Guardian
from tests.core.checkin_fixtures import Village, seed_village
from tests.core.test_checkin_answers import PSC17_ITEMS

INTERNALISING = {"sad", "hopeless", "down_on_self", "less_fun", "worries"}
EXTERNALISING = {"refuses_to_share", "others_feelings", "fights", "blames_others", "rules", "teases", "takes_things"}


async def answer_all(session: AsyncSession, v: Village, questionnaire: str, cycle: str, answers: dict[str, int],
                     clock: FrozenClock, *, child_id: int | None = None, complete: bool = True) -> CheckIn:
    await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id=questionnaire, cycle=cycle,
                                   now=clock())
    c = await session.scalar(select(CheckIn).where(CheckIn.child_id == (child_id or v.older.id),
                                                   CheckIn.questionnaire_id == questionnaire, CheckIn.cycle == cycle))
    assert c is not None
    for item, value in answers.items():
        await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id=item, value=value,
                            now=clock())
    if complete:
        await complete_checkin(session, checkin_id=c.id, now=clock())
    return c


def psc17(internalising: int = 0, externalising: int = 0, attention: int = 0) -> dict[str, int]:
    out = {}
    for item in PSC17_ITEMS:
        out[item] = internalising if item in INTERNALISING else externalising if item in EXTERNALISING else attention
    return out


async def open_alerts(session: AsyncSession) -> dict[str, Alert]:
    rows = (await session.scalars(
        select(Alert).where(Alert.status == "open").execution_options(populate_existing=True))).all()
    return {a.rule_id: a for a in rows}


async def test_completion_scores_psc17_and_fires_rules_with_evidence(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    c = await answer_all(session, v, "psc17", "2026-11", psc17(internalising=2, externalising=1), clock)
    assert (c.state, c.completed_at) == ("completed", clock())
    scores = {s.scale_id: s for s in (await session.scalars(select(CheckInScore))).all()}
    assert {k: (s.raw, s.status) for k, s in scores.items()} == {
        "total": (17, "complete"), "internalising": (10, "complete"), "attention": (0, "complete"),
        "externalising": (7, "complete")}
    assert scores["total"].cutoffs == ["positive"]
    alerts = await open_alerts(session)
    assert set(alerts) == {"total_positive", "internalising_positive", "externalising_positive"}
    total = alerts["total_positive"]
    assert (total.severity, total.audience, total.child_id, total.check_in_id, total.occurrences) == (
        "orange", "child", v.older.id, c.id, 1)
    assert total.evidence["scores"]["total"]["raw"] == 17 and total.evidence["threshold"] == 15
    assert total.evidence["answers"]["sad"] == 2 and total.evidence["questionnaire"] == "psc17"
    # Completing twice changes nothing.
    again = await complete_checkin(session, checkin_id=c.id, now=clock())
    assert again.alerts == [] and len((await session.scalars(select(Alert))).all()) == 3


async def test_trend_rule_uses_the_previous_checkin(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    await answer_all(session, v, "psc17", "2026-10", psc17(attention=0, externalising=0), clock)
    clock.advance(days=30)
    second = await answer_all(session, v, "psc17", "2026-11", psc17(attention=1), clock)  # total 5
    assert "total_increase" in await open_alerts(session)
    alert = (await open_alerts(session))["total_increase"]
    assert alert.evidence["previous"] == {"total": {"raw": 0}} and alert.evidence["change"] == 5
    assert alert.check_in_id == second.id


async def test_same_rule_twice_is_one_open_alert(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    first = await answer_all(session, v, "psc17", "2026-10", psc17(internalising=1), clock)
    clock.advance(days=30)
    second = await answer_all(session, v, "psc17", "2026-11", psc17(internalising=2), clock)
    rows = (await session.scalars(select(Alert).where(Alert.rule_id == "internalising_positive")
                                  .execution_options(populate_existing=True))).all()
    assert len(rows) == 1
    alert = rows[0]
    assert (alert.occurrences, alert.last_seen_at, alert.check_in_id) == (2, clock(), second.id)
    assert alert.created_at < alert.last_seen_at
    assert alert.evidence["check_in_ids"] == [first.id, second.id]
    assert alert.evidence["scores"]["internalising"]["raw"] == 10  # the latest…
    assert alert.evidence["first"]["scores"]["internalising"]["raw"] == 5  # …and the first kept
    # Once the director resolves it, the next hit opens a new alert.
    alert.status = "resolved"
    await session.flush()
    clock.advance(days=30)
    await answer_all(session, v, "psc17", "2026-12", psc17(internalising=2), clock)
    assert len((await session.scalars(select(Alert).where(Alert.rule_id == "internalising_positive"))).all()) == 2


async def test_red_answer_then_completion_counts_once(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    answers = {"mood": 0, "sleep_appetite": 0, "school": 0, "parent_contact": 0, "upsetting_event": 0, "safety": 1}
    c = await answer_all(session, v, "weekly_checkin", "w1", answers, clock)
    alert = (await open_alerts(session))["safety_self_harm"]
    assert (alert.severity, alert.occurrences, alert.check_in_id) == ("red", 1, c.id)


async def test_expiry_marks_missed_and_counts_unanswered_cycles(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    for week in range(3):
        await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="weekly_checkin",
                                       cycle=f"w{week}", now=clock())
        if week == 2:
            # Halfway through the third week, a worried answer; then the guardian stops.
            c = await session.scalar(select(CheckIn).where(CheckIn.child_id == v.older.id, CheckIn.cycle == "w2"))
            assert c is not None
            await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="upsetting_event",
                                value=2, now=clock())
        clock.advance(days=2)
        assert await expire_checkins(session, now=clock()) == []  # not yet
        clock.advance(days=1)
        expired = await expire_checkins(session, now=clock())
        assert len(expired) == 3 and all(r.checkin.state == "expired" for r in expired)
        clock.advance(days=4)
    alerts = await open_alerts(session)
    missed = [a for a in (await session.scalars(select(Alert).where(Alert.rule_id == "unanswered_three_weeks"))).all()]
    # The baby and the child of household B missed three weeks in a row; the older child's third
    # week was partly answered, and still counts as missed.
    assert {a.child_id for a in missed} == {v.older.id, v.baby.id, v.child_b.id}
    assert all(a.evidence["unanswered_cycles"] == 3 for a in missed)
    # What was answered before expiry is acted on.
    assert alerts["upsetting_event_worried"].child_id == v.older.id
    assert alerts["upsetting_event_worried"].evidence["answers"] == {"upsetting_event": 2}


async def test_erasure_keeps_alerts_without_personal_data(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    c = await answer_all(session, v, "weekly_checkin", "w1", {"mood": 2}, clock, complete=False)
    await record_answer(session, checkin_id=c.id, guardian_id=v.father.id, item_id="safety", value=2, now=clock())
    father_id, grandma_id, child_id, home_id = v.father.id, v.grandma.id, v.older.id, v.home_a.id

    # The father erases his data: his answer stays with the child's check-in, without him.
    await erase_guardian(session, guardian=v.father)
    row = await session.scalar(select(Answer).where(Answer.item_id == "safety")
                               .execution_options(populate_existing=True))
    assert row is not None and (row.value, row.answered_by_guardian_id) == (2, None)

    # The grandmother, the last guardian, erases hers: the household and children go…
    grandma = await session.get(Guardian, grandma_id)
    assert grandma is not None
    assert await erase_guardian(session, guardian=grandma) is True
    assert (await session.scalars(select(CheckIn).where(CheckIn.household_id == home_id))).all() == []
    assert (await session.scalars(select(Answer).where(Answer.check_in_id == c.id))).all() == []
    # …and the alert is kept as the director's record, pseudonymised.
    alert = (await open_alerts(session))["safety_harmed_by_someone"]
    assert (alert.child_id, alert.household_id, alert.guardian_id, alert.check_in_id) == (None, None, None, None)
    assert (alert.severity, alert.cohort_id, alert.evidence["answers"]) == ("red", v.cohort.id, {"safety": 2})
    text = f"{alert.evidence} {alert.reason}"
    for personal in ("小明", "小宝", "101", "102", "grandmother", "father"):
        assert personal not in text
    assert str(father_id) not in str(alert.evidence.get("answered_by", ""))
    assert child_id  # the subject key keeps only the former id, for de-duplication
