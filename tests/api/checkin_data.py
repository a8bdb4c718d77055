"""Check-in data for API tests, made through the core services the bot and the tick use: the
shipped questionnaires loaded (parsed once per run), rounds opened, first messages marked sent
(as the sender would), answers given, a closing note written, staff chats linked so alerts reach
them."""
from __future__ import annotations

from functools import cache

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.catalog.service import load_lessons
from core.checkin.free_text import ask_for_note, receive_text
from core.checkin.risk import RiskScanner
from core.checkin.service import complete_checkin, load_questionnaires, open_checkins_for_cohort, record_answer
from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.content.loader import ContentBundle, check_content
from core.models import Alert, CheckIn, Delivery, Guardian, Staff
from tests.endpoints import reach

PSC17_ITEMS = ["fidgety", "sad", "daydreams", "refuses_to_share", "others_feelings", "hopeless", "concentrating",
               "fights", "down_on_self", "blames_others", "less_fun", "rules", "motor", "teases", "worries",
               "takes_things", "distracted"]
INTERNALISING = {"sad", "hopeless", "down_on_self", "less_fun", "worries"}
EXTERNALISING = {"refuses_to_share", "others_feelings", "fights", "blames_others", "rules", "teases", "takes_things"}
WHO5_ITEMS = ["cheerful", "calm", "active", "rested", "interest"]
# The weekly check-in with nothing to worry about; override items to fire its rules
# (safety=1 red, upsetting_event=2 orange, mood=2 and parent_contact=2 yellow).
WEEKLY_FINE = {"mood": 0, "sleep_appetite": 0, "school": 0, "parent_contact": 0, "upsetting_event": 0, "safety": 0}


def weekly(**changes: int) -> dict[str, int]:
    return {**WEEKLY_FINE, **changes}


@cache
def shipped() -> ContentBundle:
    bundle, problems = check_content(PROJECT_ROOT / "content")
    assert problems == []
    return bundle


def questionnaire_body(questionnaire_id: str) -> dict:
    """A shipped questionnaire as a PUT body: the file without its version."""
    doc = next(q for q in shipped().questionnaires if q.id == questionnaire_id)
    return doc.model_dump(mode="json", exclude={"version"})


async def load_questionnaires_and_lessons(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """Questionnaires, and the lessons their rules suggest (a new version is checked against them)."""
    async with sessionmaker() as session, session.begin():
        await load_lessons(session, lessons=shipped().lessons, programmes=[], now=clock())
        await load_questionnaires(session, questionnaires=shipped().questionnaires, now=clock())


async def load_shipped_questionnaires(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """Only the questionnaires: enough to raise alerts (and quicker than loading every lesson)."""
    async with sessionmaker() as session, session.begin():
        await load_questionnaires(session, questionnaires=shipped().questionnaires, now=clock())


def psc17(internalising: int = 0, externalising: int = 0, attention: int = 0) -> dict[str, int]:
    return {item: internalising if item in INTERNALISING else externalising if item in EXTERNALISING else attention
            for item in PSC17_ITEMS}


async def open_round(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *, cohort_id: int,
                     questionnaire_id: str, cycle: str, child_ids: list[int] | None = None) -> list[int]:
    """The check-ins of one round (only about `child_ids` when given), by id."""
    keys = None if child_ids is None else {f"child:{child_id}" for child_id in child_ids}
    async with sessionmaker() as session, session.begin():
        await open_checkins_for_cohort(session, cohort_id=cohort_id, questionnaire_id=questionnaire_id, cycle=cycle,
                                       now=clock(), subject_keys=keys)
        query = select(CheckIn.id).where(CheckIn.cohort_id == cohort_id, CheckIn.questionnaire_id == questionnaire_id,
                                         CheckIn.cycle == cycle)
        if keys is not None:
            query = query.where(CheckIn.subject_key.in_(keys))
        return list((await session.scalars(query.order_by(CheckIn.id))).all())


async def answer(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *, checkin_id: int,
                 guardian_id: int, answers: dict[str, int], complete: bool = True, note: str | None = None) -> None:
    """One commit per answer, as the bot does; then completion and, if given, the closing note."""
    for item_id, value in answers.items():
        async with sessionmaker() as session, session.begin():
            await record_answer(session, checkin_id=checkin_id, guardian_id=guardian_id, item_id=item_id,
                                value=value, now=clock())
    if not complete:
        return
    async with sessionmaker() as session, session.begin():
        done = await complete_checkin(session, checkin_id=checkin_id, now=clock())
        ask_for_note(done.checkin)
    if note is not None:
        async with sessionmaker() as session, session.begin():
            guardian = await session.get(Guardian, guardian_id)
            assert guardian is not None
            lexicon = shipped().lexicon
            assert lexicon is not None
            result = await receive_text(session, guardian=guardian, text=note, scanner=RiskScanner(lexicon),
                                        now=clock())
            assert result.note_for is not None and result.note_for.id == checkin_id


async def mark_sent(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, checkin_ids: list[int],
                    state: str = "sent") -> None:
    """The first message of these check-ins went out (or, with another state, did not)."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Delivery).where(Delivery.kind == "checkin", Delivery.ref.in_([f"checkin:{i}" for i in checkin_ids]))
            .values(state=state, sent_at=clock() if state == "sent" else None, finished_at=clock())
        )


async def link_telegram(sessionmaker: async_sessionmaker[AsyncSession], *staff_ids: int) -> None:
    """These staff have linked a Telegram chat, so alerts reach them (no immediate escalation)."""
    async with sessionmaker() as session, session.begin():
        for staff_id in staff_ids:
            staff = await session.get(Staff, staff_id)
            await reach(session, staff, 700_000 + staff_id, now=staff.created_at)


async def weekly_alerts(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *, cohort_id: int,
                        child_id: int, guardian_id: int, cycle: str, **answers: int) -> tuple[int, dict[str, int]]:
    """One child's weekly check-in sent and answered now: its id, and the alerts it fired by rule."""
    [checkin_id] = await open_round(sessionmaker, clock, cohort_id=cohort_id, questionnaire_id="weekly_checkin",
                                    cycle=cycle, child_ids=[child_id])
    await mark_sent(sessionmaker, clock, [checkin_id])
    await answer(sessionmaker, clock, checkin_id=checkin_id, guardian_id=guardian_id, answers=weekly(**answers))
    async with sessionmaker() as session:
        rows = await session.execute(select(Alert.rule_id, Alert.id).where(Alert.check_in_id == checkin_id))
        return checkin_id, {rule_id: alert_id for rule_id, alert_id in rows}
