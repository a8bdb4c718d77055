"""Check-in data for API tests, made through the core services the bot and the tick use: the
shipped questionnaires loaded (parsed once per run), rounds opened, answers given, a closing
note written."""
from __future__ import annotations

from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.catalog.service import load_lessons
from core.checkin.free_text import ask_for_note, receive_text
from core.checkin.risk import RiskScanner
from core.checkin.service import complete_checkin, load_questionnaires, open_checkins_for_cohort, record_answer
from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.content.loader import ContentBundle, check_content
from core.models import CheckIn, Guardian

PSC17_ITEMS = ["fidgety", "sad", "daydreams", "refuses_to_share", "others_feelings", "hopeless", "concentrating",
               "fights", "down_on_self", "blames_others", "less_fun", "rules", "motor", "teases", "worries",
               "takes_things", "distracted"]
INTERNALISING = {"sad", "hopeless", "down_on_self", "less_fun", "worries"}
EXTERNALISING = {"refuses_to_share", "others_feelings", "fights", "blames_others", "rules", "teases", "takes_things"}
WHO5_ITEMS = ["cheerful", "calm", "active", "rested", "interest"]


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


def psc17(internalising: int = 0, externalising: int = 0, attention: int = 0) -> dict[str, int]:
    return {item: internalising if item in INTERNALISING else externalising if item in EXTERNALISING else attention
            for item in PSC17_ITEMS}


async def open_round(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *, cohort_id: int,
                     questionnaire_id: str, cycle: str) -> list[int]:
    """The check-ins of one round, by id."""
    async with sessionmaker() as session, session.begin():
        await open_checkins_for_cohort(session, cohort_id=cohort_id, questionnaire_id=questionnaire_id, cycle=cycle,
                                       now=clock())
        return list((await session.scalars(
            select(CheckIn.id).where(CheckIn.cohort_id == cohort_id, CheckIn.questionnaire_id == questionnaire_id,
                                     CheckIn.cycle == cycle).order_by(CheckIn.id)
        )).all())


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
