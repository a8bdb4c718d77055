"""One send rate for all sender processes (PostgreSQL at scale): each sender paces itself with
its own TokenBucket and also takes tokens, a few at a time, from a shared row in the database.
A 429 from Telegram pauses every sender, not only the one that got it."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.db import dialect_insert
from core.delivery.ratelimit import Monotonic, Sleep, TokenBucket, default_burst
from core.models import SendBudget


async def take_tokens(
    session: AsyncSession, *, name: str, wanted: int, rate: float, burst: float, now: datetime
) -> tuple[int, float]:
    """Take up to `wanted` whole tokens from the shared budget. Returns (granted, seconds to
    wait before asking again when nothing was granted)."""
    await session.execute(
        dialect_insert(session, SendBudget)
        .values(name=name, tokens=burst, refilled_at=now, paused_until=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    row = await session.scalar(select(SendBudget).where(SendBudget.name == name).with_for_update())
    assert row is not None
    if row.paused_until is not None and row.paused_until > now:
        return 0, (row.paused_until - now).total_seconds()
    elapsed = max((now - row.refilled_at).total_seconds(), 0.0)
    tokens = min(burst, row.tokens + elapsed * rate)
    granted = min(wanted, int(tokens))
    row.tokens, row.refilled_at = tokens - granted, now
    return granted, 0.0 if granted else (1 - tokens) / rate


async def pause_all(session: AsyncSession, *, name: str, until: datetime) -> None:
    row = await session.scalar(select(SendBudget).where(SendBudget.name == name).with_for_update())
    if row is not None and (row.paused_until is None or row.paused_until < until):
        row.paused_until = until
        row.tokens = 0.0


class SharedTokenBucket(TokenBucket):
    """A TokenBucket whose tokens must also be granted by the shared database budget."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        rate: float,
        *,
        clock: Clock,
        name: str = "telegram",
        monotonic: Monotonic | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        kwargs = {"monotonic": monotonic} if monotonic else {}
        super().__init__(rate, sleep=sleep, **kwargs)
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.name = name
        self.chunk = max(1, int(default_burst(rate)))
        self._allowance = 0
        self._pause_until: datetime | None = None

    async def share_pause(self) -> None:
        """Tell the other senders about a 429 this one saw."""
        if self._pause_until is not None:
            async with self.sessionmaker() as session, session.begin():
                await pause_all(session, name=self.name, until=self._pause_until)
            self._pause_until = None

    async def acquire(self) -> None:
        await self.share_pause()
        await super().acquire()  # local pacing: never faster than the rate, even with an allowance
        while self._allowance == 0:
            async with self.sessionmaker() as session, session.begin():
                granted, wait = await take_tokens(
                    session, name=self.name, wanted=self.chunk, rate=self.rate, burst=self.capacity,
                    now=self.clock(),
                )
            self._allowance = granted
            if not granted:
                await self._sleep(max(wait, 1e-3))
        self._allowance -= 1

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self._allowance = 0
        until = self.clock() + timedelta(seconds=seconds)
        self._pause_until = until if self._pause_until is None else max(self._pause_until, until)
