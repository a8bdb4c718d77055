"""A bot process without a sender (`shouwang bot` beside workers on PostgreSQL) passes a reply's
429 pause to every worker's sender through the shared send budget row."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cli.roles import _pause_senders
from core.clock import FrozenClock
from core.delivery.budget import take_tokens
from core.delivery.ratelimit import Aimd
from core.models import SendBudget


async def test_a_replys_pause_reaches_the_shared_budget(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await take_tokens(session, name="telegram", wanted=1, aimd=Aimd(ceiling=25), burst=2.5, now=clock())
    on_pause = _pause_senders(sessionmaker, clock)

    on_pause(8.0)
    await asyncio.gather(*on_pause.pending)

    async with sessionmaker() as session:
        row = await session.scalar(select(SendBudget).where(SendBudget.name == "telegram"))
        assert row is not None and row.paused_until == clock() + timedelta(seconds=8)
        grant = await take_tokens(session, name="telegram", wanted=1, aimd=Aimd(ceiling=25), burst=2.5, now=clock())
    assert (grant.granted, grant.wait) == (0, 8.0)  # every sender waits it out
