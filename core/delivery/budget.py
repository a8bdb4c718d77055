"""One send rate for all sender processes (PostgreSQL at scale): each sender paces itself with
its own TokenBucket and also takes tokens, a few at a time, from a shared row in the database.

The row holds the *adapted* rate (AIMD, see core.delivery.ratelimit): a 429 seen by any process
pauses every process for retry_after and halves the shared rate once per burst of 429s; sends
that go through, reported by every process, raise it slowly back toward the configured rate. So
a rate configured above what Telegram allows converges to what it does allow.

The row also keeps the blocks granted in the last second or so (`grants`): every process takes
tokens in small blocks it must send within USE_WITHIN, and no block is granted that would put
more than ⌊rate⌋ grants into any 1 s + USE_WITHIN + JITTER — so however many processes share
the budget, no one-second window at the provider carries more than the rate (the token bucket
alone let a second carry rate + burst, 1.25× at paid broadcast). Blocks not sent in time are
handed back with the next take.

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
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

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


WINDOW = 1.0  # seconds: how the provider counts "N per second" (a sliding window)
USE_WITHIN = 0.03  # seconds: a block of grants not sent by then is handed back, not sent
JITTER = 0.008  # seconds: how much more one send may take than another to reach the provider
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Grant:
    granted: int
    wait: float  # seconds before asking again when nothing was granted
    rate: float  # the shared rate now
    paused_until: datetime | None
    at: int = 0  # the block's key in the window (microseconds since the epoch), to hand back unused ones


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _US


def parse_grants(text: str | None) -> list[tuple[int, int]]:
    """(microseconds since the epoch, count) for every block in the row's window."""
    blocks = []
    for item in (text or "").split():
        at, _, n = item.partition(":")
        blocks.append((int(at), int(n)))
    return blocks


def dump_grants(blocks: list[tuple[int, int]]) -> str:
    return " ".join(f"{at}:{n}" for at, n in blocks if n > 0)


def window_free(
    blocks: list[tuple[int, int]], *, limit: int, now: int, span: float
) -> tuple[int, float]:
    """How many more sends the window allows now, and — when none — the seconds until the
    oldest blocks leave it. A block granted at g may be sent until g + USE_WITHIN and reach the
    provider up to JITTER later, so it is counted for `span` = 1 s + both after g: then every
    one-second window at the provider holds sends of at most `limit` grants. Blocks stamped
    later than `now` (a process whose clock reading waited for the row lock) count too."""
    horizon = now - round(span * 1e6)
    live = sorted((at, n) for at, n in blocks if at > horizon)
    used = sum(n for _, n in live)
    if used < limit:
        return limit - used, 0.0
    need, wait = used - limit + 1, 0.0
    for at, n in live:
        need -= n
        if need <= 0:
            wait = (at - horizon) / 1e6
            break
    return 0, max(wait, 1e-3)


async def _row(session: AsyncSession, *, name: str, aimd: Aimd, burst: float, now: datetime) -> SendBudget:
    row = await session.scalar(select(SendBudget).where(SendBudget.name == name).with_for_update())
    if row is not None:
        return row
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
    sent: int = 0, unused: tuple[tuple[int, int], ...] = (), span: float = WINDOW + USE_WITHIN + JITTER,
    locked_now: Callable[[], datetime] | None = None,
) -> Grant:
    """Take up to `wanted` whole tokens from the shared budget, leaving `keep` tokens in it (the
    lane-0 reserve; 0 for lane 0 itself). `sent`: sends that went through since this process
    last asked — they raise the shared rate (additive increase). `unused`: (block key, count)
    this process was granted and did not send in time — they leave the window. `locked_now`:
    the clock read again once the row is locked — the block is stamped with that, so the wait
    for the lock does not eat into the time the block may be sent in.

    Two limits, both shared: a token bucket at the rate (the pacing), and a sliding window of
    the recent grants: never more than ⌊rate⌋ − keep in any `span` (see window_free)."""
    row = await _row(session, name=name, aimd=aimd, burst=burst, now=now)
    if locked_now is not None:
        now = max(now, locked_now())
    rate = aimd.clamp(row.rate if row.rate is not None else aimd.ceiling)
    elapsed = max((now - row.refilled_at).total_seconds(), 0.0)  # refilled_at lies ahead during a pause
    tokens = min(burst, row.tokens + elapsed * rate)
    rate = rate_after_sent(rate, aimd=aimd, sent=sent, cut_from=row.cut_from)
    row.rate, row.tokens = rate, tokens
    if now > row.refilled_at:
        row.refilled_at = now
    at = _micros(now)
    blocks = parse_grants(row.grants)
    if unused:
        back = dict(unused)
        blocks = [(key, n - back.pop(key, 0)) if key in back else (key, n) for key, n in blocks]
    # Keep a second more than the window: a process whose reading of the clock is older (it
    # waited for the lock) still sees every block it must count.
    blocks = [(key, n) for key, n in blocks if key > at - round((span + 1.0) * 1e6) and n > 0]
    if row.paused_until is not None and row.paused_until > now:
        row.grants = dump_grants(blocks)
        return Grant(0, (row.paused_until - now).total_seconds(), rate, row.paused_until)
    free = tokens - keep
    room, window_wait = window_free(blocks, limit=max(1, math.floor(rate + 1e-9) - math.ceil(keep)), now=at,
                                    span=span)
    granted = max(0, min(wanted, int(free) if free >= 1 else 0, room))
    row.tokens = tokens - granted
    if granted:
        blocks.append((at, granted))
    row.grants = dump_grants(blocks)
    wait = 0.0 if granted else max(window_wait, (1 - free) / rate if free < 1 else 0.0)
    return Grant(granted, wait, rate, row.paused_until, at)


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
        use_within: float = USE_WITHIN,
        jitter: float = JITTER,
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
        # A block of grants is sent within `use_within` of the clock reading it was stamped
        # with, or handed back: the shared window counts it for 1 s + use_within + jitter.
        self.use_within, self.span = use_within, WINDOW + use_within + jitter
        self._granted = {True: (0, 0.0), False: (0, 0.0)}  # urgent?, (block key, send by: monotonic)
        self._unused: dict[int, int] = {}  # block key → grants not sent in time, to hand back
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
        self._expire(urgent)
        while self._allowance[urgent] == 0:
            async with self._db_lock:
                if self._allowance[urgent]:
                    break
                sent, self._sent_unreported = self._sent_unreported, 0
                unused, self._unused = tuple(self._unused.items()), {}
                now, stamped = self.clock(), [self._monotonic()]

                def locked_now() -> datetime:
                    stamped[0] = self._monotonic()
                    return self.clock()

                async with self.sessionmaker() as session, session.begin():
                    grant = await take_tokens(
                        session, name=self.name, wanted=1 if urgent else self.block(), aimd=self.aimd,
                        burst=self.shared_burst, keep=0.0 if urgent else self.reserve, sent=sent, now=now,
                        unused=unused, span=self.span, locked_now=locked_now,
                    )
                self._allowance[urgent] += grant.granted
                if grant.granted:
                    self._granted[urgent] = (grant.at, stamped[0] + self.use_within)
                self._follow(grant, now)
                self._expire(urgent)  # the lock took too long: hand it back
            if not grant.granted:
                await self._sleep(max(grant.wait, 1e-3))
        self._allowance[urgent] -= 1

    def _expire(self, urgent: bool) -> None:
        """A block not used up within use_within is handed back with the next take: sending
        its rest later could land in a second the shared window already filled."""
        key, until = self._granted[urgent]
        if self._allowance[urgent] and self._monotonic() > until:
            self._unused[key] = self._unused.get(key, 0) + self._allowance[urgent]
            self._allowance[urgent] = 0

    def block(self) -> int:
        """Grants asked for at once by the bulk lanes: what this process can send within use_within."""
        return max(1, min(self.chunk, int(self.rate * self.use_within)))
