"""Pacing for the sender: a token bucket whose rate adapts to Telegram's answers (AIMD), with an
injectable clock and sleep, so tests run without real waiting and the benchmark runs on real time.

The send budget API (also for interactive replies that hit a 429):

    await budget.acquire(lane=0)            # wait for a send slot; lane 0 (safety, alerts) goes first
    budget.sent()                           # a send went through: the rate creeps back up (additive)
    await budget.rate_limited(retry_after)  # Telegram said 429: everyone pauses for retry_after and
                                            # the rate is cut (multiplicative), once per 429 burst
    budget.paused_for()                     # seconds until sending may resume (0.0: not paused)
    await budget.wait_unpaused()            # sleep out the current pause, if any

`pause(seconds)` is the bare pause without a rate cut (a caller that knows the 429 was not ours).
`core.delivery.budget.SharedTokenBucket` has the same API and shares rate and pause with every
sender process through the database.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

LANE_URGENT = 0  # the outbox's lane 0: safety messages, alert cards, escalations


def default_burst(rate: float) -> float:
    """How many sends may go at once after a pause. Within Telegram's free limit (~30/s) keep
    it to a tenth of a second, so no second ever carries much more than the cap; at paid
    broadcast rates a quarter second absorbs the sender's own database pauses."""
    return max(1.0, rate / 10 if rate < 100 else rate / 4)


# ---------------------------------------------------------------- AIMD, pure


@dataclass(frozen=True)
class Aimd:
    """How the send rate adapts: cut by `decrease` on a 429, grow by `step` msg/s for every
    second of sending without one, never above `ceiling` (the configured rate) nor below `floor`.
    429s that arrive within `hold` seconds of a cut, or while paused, answer requests already in
    flight when the first one came back: they extend the pause but do not cut again."""

    ceiling: float
    floor: float = 1.0
    decrease: float = 0.5
    increase: float | None = None  # msg/s per second of sending; default max(0.5, ceiling / 100)
    hold: float = 1.0

    @property
    def step(self) -> float:
        return self.increase if self.increase is not None else max(0.5, self.ceiling / 100)

    def clamp(self, rate: float) -> float:
        return min(self.ceiling, max(min(self.floor, self.ceiling), rate))


def rate_after_429(rate: float, *, aimd: Aimd, since_cut: float | None, paused: bool) -> float:
    """The rate after a 429: halved (×decrease) unless this 429 belongs to a burst already cut
    for (`since_cut` seconds since the last cut < hold, or the budget is still paused)."""
    if paused or (since_cut is not None and since_cut < aimd.hold):
        return aimd.clamp(rate)
    return aimd.clamp(min(rate, aimd.ceiling) * aimd.decrease)


def rate_after_sent(rate: float, *, aimd: Aimd, sent: int) -> float:
    """The rate after `sent` sends went through: +step/rate each, i.e. +step msg/s for every
    second of sending at that rate (slow, additive recovery toward the ceiling)."""
    if sent <= 0:
        return aimd.clamp(rate)
    r = aimd.clamp(rate)
    return aimd.clamp(r + aimd.step * sent / r)


# ---------------------------------------------------------------- the local bucket


class TokenBucket:
    """One process's send budget: tokens at the current (adapted) rate, a burst of `burst`
    tokens, lane 0 served before any other lane, and — with `window_guard` — never more than
    ⌊rate⌋ sends in any (1 s + window_guard), which is how Telegram counts "30 per second"."""

    def __init__(
        self, rate: float, *, burst: float | None = None, monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep, aimd: Aimd | None = None, window_guard: float | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.aimd = aimd or Aimd(ceiling=rate)
        self.rate = self.aimd.clamp(rate)
        self.capacity = burst if burst is not None else default_burst(rate)
        self.tokens = self.capacity
        self.window_guard = window_guard
        self._monotonic = monotonic
        self._sleep = sleep
        self._last = monotonic()
        self._paused_until = 0.0
        self._cut_at: float | None = None
        self._lock = asyncio.Lock()  # bulk lanes queue here, one at a time
        self._urgent_waiting = 0
        self._log: deque[float] = deque(maxlen=max(1, math.ceil(self.aimd.ceiling)))
        self.cuts = 0  # multiplicative decreases so far (for benchmarks and /healthz)

    # ------------------------------------------------------------ pause and adaptation

    def _refill(self) -> None:
        now = self._monotonic()
        if now > self._last:  # during a pause _last is its end: no tokens pile up meanwhile
            self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
            self._last = now

    def pause(self, seconds: float) -> None:
        """Nobody sends until `seconds` have passed (no rate cut)."""
        self._refill()
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)
        self._last = max(self._last, self._paused_until)
        self.tokens = 0.0

    def paused_for(self) -> float:
        """Seconds until sending may resume; 0.0 when not paused."""
        return max(0.0, self._paused_until - self._monotonic())

    async def wait_unpaused(self) -> None:
        while (left := self.paused_for()) > 0:
            await self._sleep(left)

    def _cut(self) -> None:
        now = self._monotonic()
        since = None if self._cut_at is None else now - self._cut_at
        paused = now < self._paused_until
        if not paused and (since is None or since >= self.aimd.hold):  # the first 429 of a burst
            self._cut_at = now
            self.cuts += 1
        self._refill()
        self.rate = rate_after_429(self.rate, aimd=self.aimd, since_cut=since, paused=paused)

    async def rate_limited(self, retry_after: float) -> None:
        """Telegram said 429: cut the rate (once per burst of 429s) and pause for retry_after."""
        self._cut()
        self.pause(max(retry_after, 0.0))

    def sent(self, n: int = 1) -> None:
        """`n` sends went through: the rate creeps back toward the ceiling."""
        if self.rate < self.aimd.ceiling:
            self._refill()
            self.rate = rate_after_sent(self.rate, aimd=self.aimd, sent=n)

    # ------------------------------------------------------------ acquiring

    def _wait(self, now: float) -> float:
        """Seconds until the next send may start (0: now)."""
        if now < self._paused_until:
            return self._paused_until - now
        self._refill()
        wait = 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate  # tolerate float rounding
        if self.window_guard is not None:
            limit = max(1, math.floor(self.rate + 1e-9))
            if len(self._log) >= limit:
                wait = max(wait, self._log[-limit] + 1.0 + self.window_guard - now)
        return wait

    def _take(self, now: float) -> None:
        self.tokens = max(0.0, self.tokens - 1)
        self._log.append(now)

    async def _turn(self, *, urgent: bool) -> None:
        while True:
            now = self._monotonic()
            wait = self._wait(now)
            if wait <= 0:
                if urgent or not self._urgent_waiting:
                    self._take(now)
                    return
                wait = 1e-3  # a lane-0 send is waiting for this slot: let it go first
            await self._sleep(max(wait, 1e-6))

    async def acquire(self, *, lane: int = 2) -> None:
        """Wait for a send slot. Lane 0 never queues behind other lanes: it takes the next slot."""
        if lane == LANE_URGENT:
            self._urgent_waiting += 1
            try:
                await self._turn(urgent=True)
            finally:
                self._urgent_waiting -= 1
            return
        async with self._lock:
            await self._turn(urgent=False)
