"""One send rate for all sender processes (PostgreSQL at scale): each sender paces itself with
its own TokenBucket and also takes tokens, a few at a time, from a shared row in the database.

The row holds the *adapted* rate (AIMD, see core.delivery.ratelimit): a 429 seen by any process
pauses every process for retry_after and halves the shared rate once per burst of 429s; sends
that go through, reported by every process, raise it slowly back toward the configured rate. So
a rate configured above what Telegram allows converges to what it does allow.

Lane 0 (safety messages, alert cards) keeps a reserve: other lanes may only take tokens above
`reserve`, lane 0 may take them all, so a bulk lesson — or a storm of 429s on it — never leaves
an alert card without a token.

For interactive replies (another process, or a handler without the sender's bucket object):

    until = await note_rate_limited(session, name="telegram", retry_after=5, aimd=Aimd(ceiling=rate), now=now)
    left = await pause_left(session, name="telegram", now=now)   # seconds, 0.0 when not paused

and with the bucket object itself, the API in core.delivery.ratelimit (`acquire(lane=…)`,
`sent()`, `await rate_limited(retry_after)`, `paused_for()`, `wait_unpaused()`).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.db import dialect_insert
from core.delivery.ratelimit import (
    LANE_URGENT, Aimd, Monotonic, Sleep, TokenBucket, default_burst, rate_after_429, rate_after_sent,
)
from core.models import SendBudget

DEFAULT_BUDGET = "telegram"
PAID_BUDGET = "telegram_paid"


@dataclass(frozen=True)
class Grant:
    granted: int
    wait: float  # seconds before asking again when nothing was granted
    rate: float  # the shared rate now
    paused_until: datetime | None


async def _row(session: AsyncSession, *, name: str, aimd: Aimd, burst: float, now: datetime) -> SendBudget:
    await session.execute(
        dialect_insert(session, SendBudget)
        .values(name=name, tokens=burst, refilled_at=now, paused_until=None,
                rate=aimd.clamp(aimd.start if aimd.start is not None else aimd.ceiling))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    row = await session.scalar(select(SendBudget).where(SendBudget.name == name).with_for_update())
    assert row is not None
    return row


async def take_tokens(
    session: AsyncSession, *, name: str, wanted: int, aimd: Aimd, burst: float, now: datetime, keep: float = 0.0,
    sent: int = 0,
) -> Grant:
    """Take up to `wanted` whole tokens from the shared budget, leaving `keep` tokens in it (the
    lane-0 reserve; 0 for lane 0 itself). `sent`: sends that went through since this process
    last asked — they raise the shared rate (additive increase)."""
    row = await _row(session, name=name, aimd=aimd, burst=burst, now=now)
    rate = aimd.clamp(row.rate if row.rate is not None else aimd.ceiling)
    elapsed = max((now - row.refilled_at).total_seconds(), 0.0)  # refilled_at lies ahead during a pause
    tokens = min(burst, row.tokens + elapsed * rate)
    rate = rate_after_sent(rate, aimd=aimd, sent=sent, cut_from=row.cut_from)
    row.rate, row.tokens = rate, tokens
    if now > row.refilled_at:
        row.refilled_at = now
    if row.paused_until is not None and row.paused_until > now:
        return Grant(0, (row.paused_until - now).total_seconds(), rate, row.paused_until)
    free = tokens - keep
    granted = min(wanted, int(free)) if free >= 1 else 0
    row.tokens = tokens - granted
    return Grant(granted, 0.0 if granted else (1 - free) / rate, rate, row.paused_until)


async def note_rate_limited(
    session: AsyncSession, *, name: str, retry_after: float, aimd: Aimd, now: datetime
) -> datetime:
    """A 429 (from the sender or an interactive reply): every process pauses until the returned
    time, and the shared rate is cut — once per burst of 429s (not again while paused, nor within
    aimd.hold seconds of the last cut)."""
    row = await _row(session, name=name, aimd=aimd, burst=0.0, now=now)
    paused = row.paused_until is not None and row.paused_until > now
    since = None if row.decreased_at is None else (now - row.decreased_at).total_seconds()
    rate = aimd.clamp(row.rate if row.rate is not None else aimd.ceiling)
    if not paused and (since is None or since >= aimd.hold):
        row.decreased_at, row.cut_from = now, rate
    row.rate = rate_after_429(rate, aimd=aimd, since_cut=since, paused=paused)
    until = now + timedelta(seconds=max(retry_after, 0.0))
    if row.paused_until is None or row.paused_until < until:
        row.paused_until, row.tokens, row.refilled_at = until, 0.0, until
    return row.paused_until


async def pause_all(session: AsyncSession, *, name: str, until: datetime) -> None:
    """A bare pause for every process (no rate cut)."""
    row = await session.scalar(select(SendBudget).where(SendBudget.name == name).with_for_update())
    if row is not None and (row.paused_until is None or row.paused_until < until):
        row.paused_until, row.tokens, row.refilled_at = until, 0.0, until


async def pause_left(session: AsyncSession, *, name: str, now: datetime) -> float:
    """Seconds until the shared pause ends (0.0 when not paused)."""
    until = await session.scalar(select(SendBudget.paused_until).where(SendBudget.name == name))
    return max(0.0, (until - now).total_seconds()) if until is not None else 0.0


class SharedTokenBucket(TokenBucket):
    """A TokenBucket whose tokens must also be granted by the shared database budget, and whose
    rate follows the shared, adapted rate."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        rate: float,
        *,
        clock: Clock,
        name: str = DEFAULT_BUDGET,
        monotonic: Monotonic | None = None,
        sleep: Sleep = asyncio.sleep,
        aimd: Aimd | None = None,
        window_guard: float | None = None,
        reserve: float | None = None,
    ) -> None:
        super().__init__(rate, sleep=sleep, aimd=aimd, window_guard=window_guard, monotonic=monotonic or time.monotonic)
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.name = name
        self.chunk = max(1, int(default_burst(rate)))
        # Tokens only lane 0 may take: a tenth of a second of sending (at least one message).
        self.reserve = max(1.0, rate / 10) if reserve is None else reserve
        self.shared_burst = self.chunk + self.reserve
        self._allowance = {True: 0, False: 0}  # urgent?, tokens granted and not yet used
        self._sent_unreported = 0
        self._pause_until: datetime | None = None
        self._db_lock = asyncio.Lock()

    async def share_pause(self) -> None:
        """Tell the other senders about a bare pause() this one was given."""
        if self._pause_until is not None:
            until, self._pause_until = self._pause_until, None
            async with self.sessionmaker() as session, session.begin():
                await pause_all(session, name=self.name, until=until)

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self._allowance = {True: 0, False: 0}
        until = self.clock() + timedelta(seconds=seconds)
        self._pause_until = until if self._pause_until is None else max(self._pause_until, until)

    async def rate_limited(self, retry_after: float) -> None:
        if self._in_flight:
            self._in_flight.popleft()
        self._cut()
        TokenBucket.pause(self, max(retry_after, 0.0))
        self._allowance = {True: 0, False: 0}
        async with self._db_lock, self.sessionmaker() as session, session.begin():
            await note_rate_limited(session, name=self.name, retry_after=retry_after, aimd=self.aimd,
                                    now=self.clock())

    def accepted_last_second(self, now: float) -> float | None:
        return None  # one process sees only part of what the server let through: halve only

    def sent(self, n: int = 1) -> None:
        self.answered(n)
        self._sent_unreported += n  # the shared row adapts; this process follows it on its next take

    def _follow(self, grant: Grant, now: datetime) -> None:
        if abs(grant.rate - self.rate) > 1e-9:
            self._refill()
            self.rate = grant.rate
        if grant.paused_until is not None and grant.paused_until > now:
            TokenBucket.pause(self, (grant.paused_until - now).total_seconds())

    async def acquire(self, *, lane: int = 2) -> None:
        await self.share_pause()
        await super().acquire(lane=lane)  # local pacing: never faster than the rate, lane 0 first
        urgent = lane == LANE_URGENT
        while self._allowance[urgent] == 0:
            async with self._db_lock:
                if self._allowance[urgent]:
                    break
                sent, self._sent_unreported = self._sent_unreported, 0
                now = self.clock()
                async with self.sessionmaker() as session, session.begin():
                    grant = await take_tokens(
                        session, name=self.name, wanted=1 if urgent else self.chunk, aimd=self.aimd,
                        burst=self.shared_burst, keep=0.0 if urgent else self.reserve, sent=sent, now=now,
                    )
                self._allowance[urgent] += grant.granted
                self._follow(grant, now)
            if not grant.granted:
                await self._sleep(max(grant.wait, 1e-3))
        self._allowance[urgent] -= 1
