from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.config import Settings
from core.housekeeping import last_beat
from core.models import CodeAttempt, Draft, ProcessedUpdate
from core.tick import run_tick


async def test_tick_forgets_stale_state_and_beats(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, settings: Settings
) -> None:
    now = clock()
    async with sessionmaker() as session, session.begin():
        for chat_id, age in ((1, timedelta(days=30)), (2, timedelta(hours=1))):
            session.add(Draft(chat_id=chat_id, flow="enrol", step="consent", data={}, created_at=now - age,
                              updated_at=now - age))
        session.add(CodeAttempt(chat_id=1, attempted_at=now - timedelta(hours=2)))
        session.add(CodeAttempt(chat_id=1, attempted_at=now - timedelta(minutes=1)))
        session.add(ProcessedUpdate(update_id=1, processed_at=now - timedelta(days=8)))
        session.add(ProcessedUpdate(update_id=2, processed_at=now))

    await run_tick(sessionmaker, settings=settings, clock=clock)
    await run_tick(sessionmaker, settings=settings, clock=clock)  # twice is harmless

    async with sessionmaker() as session:
        assert (await session.scalars(select(Draft.chat_id))).all() == [2]
        assert await session.scalar(select(func.count()).select_from(CodeAttempt)) == 1
        assert (await session.scalars(select(ProcessedUpdate.update_id))).all() == [2]
        assert await last_beat(session, name="tick") == now
