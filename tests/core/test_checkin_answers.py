"""Answering a check-in: one answer at a time, claimed by the first guardian, resumable after
a restart, `back` to change the last answer, and a red safety answer that raises its alert at
once."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.checkin.service import go_back, open_checkins_for_cohort, record_answer
from core.clock import FrozenClock
from core.errors import Conflict, Forbidden, Invalid
from core.models import Alert, Answer, CheckIn
from tests.core.checkin_fixtures import Village, seed_village

PSC17_ITEMS = ["fidgety", "sad", "daydreams", "refuses_to_share", "others_feelings", "hopeless", "concentrating",
               "fights", "down_on_self", "blames_others", "less_fun", "rules", "motor", "teases", "worries",
               "takes_things", "distracted"]


async def open_one(session: AsyncSession, v: Village, questionnaire: str, child_id: int, now) -> CheckIn:  # type: ignore[no-untyped-def]
    await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id=questionnaire,
                                   cycle="c1", now=now)
    checkin = await session.scalar(select(CheckIn).where(CheckIn.child_id == child_id,
                                                         CheckIn.questionnaire_id == questionnaire))
    assert checkin is not None
    return checkin


async def answers_of(session: AsyncSession, checkin_id: int) -> dict[str, int]:
    rows = (await session.scalars(select(Answer).where(Answer.check_in_id == checkin_id))).all()
    return {a.item_id: a.value for a in rows}


async def test_answers_in_order_claim_and_conflict(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    c = await open_one(session, v, "psc17", v.older.id, clock())
    first = await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="fidgety", value=1,
                                now=clock())
    assert first.stored and first.next_item == "sad" and not first.done
    assert (c.state, c.claimed_by_guardian_id, c.cursor) == ("in_progress", v.grandma.id, 1)
    # The father (same household, not asked but allowed) is told, without content, that it is taken.
    with pytest.raises(Conflict) as caught:
        await record_answer(session, checkin_id=c.id, guardian_id=v.father.id, item_id="sad", value=2, now=clock())
    assert caught.value.code == "claimed_by_other"
    # A guardian of another household may not answer at all.
    with pytest.raises(Forbidden):
        await record_answer(session, checkin_id=c.id, guardian_id=v.mum_b.id, item_id="sad", value=0, now=clock())
    # Values are checked against the item's choices.
    with pytest.raises(Invalid):
        await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="sad", value=3, now=clock())
    with pytest.raises(Invalid):
        await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="nope", value=0, now=clock())
    for item in PSC17_ITEMS[1:]:
        result = await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id=item, value=0,
                                     now=clock())
    assert result.done and c.cursor == len(PSC17_ITEMS)
    assert await answers_of(session, c.id) == {"fidgety": 1, **{i: 0 for i in PSC17_ITEMS[1:]}}


async def test_same_answer_twice_is_harmless(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    c = await open_one(session, v, "psc17", v.older.id, clock())
    await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="fidgety", value=2, now=clock())
    clock.advance(minutes=1)
    again = await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="fidgety", value=2,
                                now=clock())
    assert not again.stored and again.next_item == "sad"
    rows = (await session.scalars(select(Answer).where(Answer.check_in_id == c.id))).all()
    assert len(rows) == 1 and rows[0].changed_at is None and rows[0].previous_value is None


async def test_back_changes_the_last_answer(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    c = await open_one(session, v, "psc17", v.older.id, clock())
    first_time = clock()
    for item, value in (("fidgety", 0), ("sad", 2)):
        await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id=item, value=value,
                            now=clock())
    clock.advance(minutes=2)
    assert await go_back(session, checkin_id=c.id, guardian_id=v.grandma.id, now=clock()) == "sad"
    assert c.cursor == 1
    changed = await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="sad", value=1,
                                  now=clock())
    assert changed.stored and changed.next_item == "daydreams"
    row = await session.scalar(select(Answer).where(Answer.check_in_id == c.id, Answer.item_id == "sad"))
    assert row is not None
    assert (row.value, row.previous_value, row.answered_at, row.changed_at) == (1, 2, first_time, clock())
    # Back twice goes to the item before; back at the first item has nowhere to go.
    assert await go_back(session, checkin_id=c.id, guardian_id=v.grandma.id, now=clock()) == "sad"
    assert await go_back(session, checkin_id=c.id, guardian_id=v.grandma.id, now=clock()) == "fidgety"
    assert await go_back(session, checkin_id=c.id, guardian_id=v.grandma.id, now=clock()) is None


async def test_resume_after_restart_continues_at_the_cursor(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        v = await seed_village(session, now=clock())
        c = await open_one(session, v, "psc17", v.older.id, clock())
        ids = (c.id, v.grandma.id)
    for item in PSC17_ITEMS[:5]:  # each answer in its own transaction, as the bot does
        async with sessionmaker() as session, session.begin():
            await record_answer(session, checkin_id=ids[0], guardian_id=ids[1], item_id=item, value=1, now=clock())
    clock.advance(days=2)  # a restart, two days later
    async with sessionmaker() as session, session.begin():
        resumed = await session.get(CheckIn, ids[0])
        assert resumed is not None and resumed.cursor == 5  # the guardian carries on at the sixth item
        result = await record_answer(session, checkin_id=ids[0], guardian_id=ids[1], item_id=PSC17_ITEMS[5],
                                     value=1, now=clock())
        assert result.next_item == PSC17_ITEMS[6]
    async with sessionmaker() as session:
        assert len(await answers_of(session, ids[0])) == 6
    # Past expiry it is closed.
    clock.advance(days=2)
    async with sessionmaker() as session, session.begin():
        with pytest.raises(Conflict) as caught:
            await record_answer(session, checkin_id=ids[0], guardian_id=ids[1], item_id=PSC17_ITEMS[6], value=1,
                                now=clock())
        assert caught.value.code == "expired"


async def test_red_safety_answer_raises_a_red_alert_at_once(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    c = await open_one(session, v, "weekly_checkin", v.older.id, clock())
    await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="mood", value=0, now=clock())
    result = await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="safety", value=1,
                                 now=clock())
    assert c.state == "in_progress"  # not completed: the alert does not wait for the end
    assert [a.rule_id for a in result.alerts] == ["safety_self_harm"]
    alert = (await session.scalars(select(Alert))).one()
    assert (alert.severity, alert.audience, alert.status, alert.child_id, alert.household_id, alert.cohort_id) == (
        "red", "child", "open", v.older.id, v.home_a.id, v.cohort.id)
    assert alert.evidence["answers"] == {"safety": 1} and alert.check_in_id == c.id
    assert alert.reason.startswith("监护人报告")  # the cohort's language
    assert "小明" not in str(alert.evidence) and "小明" not in alert.reason


async def test_a_safety_item_from_another_guardian_is_always_stored_and_acted_on(
    session: AsyncSession, clock: FrozenClock
) -> None:
    v = await seed_village(session, now=clock())
    c = await open_one(session, v, "weekly_checkin", v.older.id, clock())
    await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="mood", value=0, now=clock())
    # The father, not the one answering, reports that someone hurt the child.
    result = await record_answer(session, checkin_id=c.id, guardian_id=v.father.id, item_id="safety", value=2,
                                 now=clock())
    assert result.stored and [a.rule_id for a in result.alerts] == ["safety_harmed_by_someone"]
    row = await session.scalar(select(Answer).where(Answer.check_in_id == c.id, Answer.item_id == "safety"))
    assert row is not None and (row.value, row.answered_by_guardian_id) == (2, v.father.id)
    assert c.claimed_by_guardian_id == v.grandma.id and c.cursor == 1  # the grandmother's place is kept
    # A later, milder answer by the claimer does not overwrite what the father said.
    later = await record_answer(session, checkin_id=c.id, guardian_id=v.grandma.id, item_id="safety", value=0,
                                now=clock())
    assert not later.stored
    row = await session.scalar(select(Answer).where(Answer.check_in_id == c.id, Answer.item_id == "safety"))
    assert row is not None and (row.value, row.answered_by_guardian_id) == (2, v.father.id)
    alerts = (await session.scalars(select(Alert))).all()
    assert [a.rule_id for a in alerts] == ["safety_harmed_by_someone"]  # …and its alert stays open


async def test_two_guardians_answering_at_once_lose_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Two guardians tap the first answer at the same moment, and one update arrives twice:
    one claim wins, the other is told it is taken, and exactly one answer is stored."""
    import asyncio

    async with sessionmaker() as session, session.begin():
        v = await seed_village(session, now=clock())
        c = await open_one(session, v, "psc17", v.older.id, clock())
        checkin_id, grandma, father = c.id, v.grandma.id, v.father.id

    async def tap(guardian_id: int, value: int) -> str:
        async with sessionmaker() as session, session.begin():
            try:
                result = await record_answer(session, checkin_id=checkin_id, guardian_id=guardian_id,
                                             item_id="fidgety", value=value, now=clock())
            except Conflict as exc:
                return exc.code
            return "stored" if result.stored else "same"

    outcomes = await asyncio.gather(tap(grandma, 1), tap(father, 2), tap(grandma, 1))
    async with sessionmaker() as session:
        checkin = await session.get(CheckIn, checkin_id)
        assert checkin is not None
        rows = (await session.scalars(select(Answer).where(Answer.check_in_id == checkin_id))).all()
        assert len(rows) == 1 and rows[0].answered_by_guardian_id == checkin.claimed_by_guardian_id
    if checkin.claimed_by_guardian_id == grandma:
        assert sorted(outcomes) == ["claimed_by_other", "same", "stored"]
    else:
        assert outcomes == ["claimed_by_other", "stored", "claimed_by_other"]
