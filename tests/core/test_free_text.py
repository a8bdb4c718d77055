"""Free text: what is kept (notes, flagged messages) and what is not (everything else), the alert
a risk word raises and how repeats join it, and fitting lessons after a check-in."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.service import load_lessons
from core.checkin.free_text import ask_for_note, pending_note, receive_text, skip_note
from core.checkin.risk import scanner_for
from core.checkin.rules import FiredRule
from core.checkin.service import complete_checkin, open_checkins_for_cohort, record_answer
from core.checkin.suggest import fitting_lesson
from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.content.loader import check_content
from core.errors import Conflict
from core.models import Alert, CheckIn, Delivery, FreeText
from tests.core.checkin_fixtures import Village, seed_village

SCANNER = scanner_for(PROJECT_ROOT / "content" / "risk" / "lexicon.yaml")


async def texts(session: AsyncSession) -> list[FreeText]:
    return list((await session.scalars(select(FreeText).order_by(FreeText.id))).all())


async def alerts(session: AsyncSession) -> list[Alert]:
    return list((await session.scalars(select(Alert).order_by(Alert.id))).all())


async def test_a_plain_message_is_answered_and_not_kept(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    result = await receive_text(session, guardian=v.grandma, text="今天下雨了，孩子在家写作业", scanner=SCANNER, now=clock())
    assert (result.hit, result.stored, result.alert, result.note_for) == (False, None, None, None)
    assert await texts(session) == [] and await alerts(session) == []


async def test_a_risk_word_is_kept_and_raises_a_household_alert_that_repeats_join(
    session: AsyncSession, clock: FrozenClock
) -> None:
    v = await seed_village(session, now=clock())
    first = await receive_text(session, guardian=v.grandma, text="孩子在学校被同学欺负了", scanner=SCANNER, now=clock())
    assert first.hit and first.tier == "orange"  # a possible sign: a person reads it today
    [alert] = await alerts(session)
    assert (alert.subject_key, alert.severity, alert.child_id, alert.household_id, alert.cohort_id) == (
        f"household:{v.home_a.id}", "orange", None, v.home_a.id, v.cohort.id)
    assert (alert.evidence["tier"], alert.evidence["category"], alert.evidence["categories"]) == (
        "orange", "bullying", ["bullying"])
    assert alert.evidence["rules"] == ["bullying_signs"] and alert.evidence["free_text_ids"] == [first.stored.id]
    assert "欺负" not in alert.reason  # the director reads the words from free_texts, not from the alert
    assert alert.reason == SCANNER.lexicon.reason("orange", "zh-Hans")
    [kept] = await texts(session)
    assert (kept.hit, kept.severity, kept.categories) == (True, "orange", ["bullying"])

    clock.advance(hours=2)
    worse = await receive_text(session, guardian=v.father, text="他说不想活了", scanner=SCANNER, now=clock())
    assert worse.tier == "red"
    [alert] = await alerts(session)  # the same household's open alert, not a second one, now red
    assert (alert.severity, alert.occurrences, alert.evidence["free_text_ids"]) == (
        "red", 2, [first.stored.id, worse.stored.id])
    assert alert.reason == SCANNER.lexicon.reason("red", "zh-Hans")
    assert alert.evidence["first"]["categories"] == ["bullying"]
    assert [(t.kind, t.guardian_id, t.hit) for t in await texts(session)] == [
        ("message", v.grandma.id, True), ("message", v.father.id, True)]


async def _completed(session: AsyncSession, v: Village, clock: FrozenClock) -> CheckIn:
    await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="weekly_checkin", cycle="w1",
                                   now=clock())
    checkin = await session.scalar(select(CheckIn).where(CheckIn.child_id == v.older.id))
    assert checkin is not None
    for item in ("mood", "sleep_appetite", "school", "parent_contact", "upsetting_event", "safety"):
        await record_answer(session, checkin_id=checkin.id, guardian_id=v.grandma.id, item_id=item, value=0,
                            now=clock())
    await complete_checkin(session, checkin_id=checkin.id, now=clock())
    ask_for_note(checkin)
    await session.flush()
    return checkin


async def test_the_next_words_after_a_checkin_are_its_note(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    checkin = await _completed(session, v, clock)
    assert (await pending_note(session, guardian_id=v.grandma.id, now=clock())) is checkin
    # Only for the guardian who answered it.
    assert await pending_note(session, guardian_id=v.father.id, now=clock()) is None
    result = await receive_text(session, guardian=v.grandma, text="孩子爸爸下个月回来", scanner=SCANNER, now=clock())
    assert result.note_for is checkin and not result.hit
    [note] = await texts(session)
    assert (note.kind, note.check_in_id, note.child_id, note.text) == ("note", checkin.id, v.older.id, "孩子爸爸下个月回来")
    assert checkin.note_state == "given" and await alerts(session) == []
    # The note is given: the next message is an ordinary one again.
    assert (await receive_text(session, guardian=v.grandma, text="好的", scanner=SCANNER, now=clock())).stored is None


async def test_a_note_with_a_risk_word_alerts_about_the_child(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    checkin = await _completed(session, v, clock)
    await receive_text(session, guardian=v.grandma, text="他最近总说活着没意思", scanner=SCANNER, now=clock())
    [alert] = await alerts(session)
    assert (alert.subject_key, alert.child_id, alert.check_in_id, alert.severity) == (
        f"child:{v.older.id}", v.older.id, checkin.id, "orange")


async def test_the_note_question_lapses_after_a_day_and_can_be_skipped(session: AsyncSession,
                                                                        clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    checkin = await _completed(session, v, clock)
    assert await pending_note(session, guardian_id=v.grandma.id, now=clock() + timedelta(days=1, minutes=1)) is None
    await skip_note(session, checkin_id=checkin.id, guardian_id=v.grandma.id)
    assert checkin.note_state == "skipped"
    with pytest.raises(Conflict):
        await skip_note(session, checkin_id=checkin.id, guardian_id=v.grandma.id)


# ------------------------------------------------------------------ fitting lessons


def fired(severity: str, *lessons: str) -> FiredRule:
    return FiredRule("r", "answer_in", severity, "child", {"zh-Hans": "x", "en": "x"}, {}, lessons)


async def _with_lessons(session: AsyncSession, clock: FrozenClock) -> Village:
    v = await seed_village(session, now=clock())
    bundle, _ = check_content(PROJECT_ROOT / "content")
    await load_lessons(session, lessons=bundle.lessons, programmes=bundle.programmes, now=clock())
    return v


async def test_the_most_severe_rules_lesson_that_fits_comes_first(session: AsyncSession, clock: FrozenClock) -> None:
    v = await _with_lessons(session, clock)
    await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="weekly_checkin", cycle="w1",
                                   now=clock())
    checkin = await session.scalar(select(CheckIn).where(CheckIn.child_id == v.older.id))  # 8 years old
    assert checkin is not None
    rules = [fired("yellow", "daily_routine"), fired("red", "suicide_talk_take_seriously")]
    lesson = await fitting_lesson(session, checkin=checkin, fired=rules, guardian=v.grandma, now=clock())
    assert lesson is not None and lesson.id == "suicide_talk_take_seriously"
    # A lesson for another audience is passed over: the father working away gets his own.
    who5 = [fired("yellow", "caregiver_self_care", "migrant_parent_self_care")]
    lesson = await fitting_lesson(session, checkin=checkin, fired=who5, guardian=v.father, now=clock())
    assert lesson is not None and lesson.id == "migrant_parent_self_care"
    # …and so is one for another age band (the 2-year-old has no 7–12 lessons)…
    baby = await session.scalar(select(CheckIn).where(CheckIn.child_id == v.baby.id))
    assert baby is not None
    assert await fitting_lesson(session, checkin=baby, fired=[fired("red", "suicide_talk_take_seriously")],
                                guardian=v.grandma, now=clock()) is None
    # …and one they have had already.
    session.add(Delivery(address=v.grandma.address, guardian_id=v.grandma.id, kind="lesson", ref="schedule",
                         cycle="c", lane=2, state="sent", due_at=clock(), attempts=1, payload={},
                         lesson_id="suicide_talk_take_seriously", lesson_version=1, created_at=clock()))
    await session.flush()
    lesson = await fitting_lesson(session, checkin=checkin, fired=rules, guardian=v.grandma, now=clock())
    assert lesson is not None and lesson.id == "daily_routine"
