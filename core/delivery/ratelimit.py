"""Pacing for the sender: a token bucket whose rate adapts to Telegram's answers (AIMD), with an
injectable clock and sleep, so tests run without real waiting and the benchmark runs on real time.

The send budget API (also for interactive replies that hit a 429):

    await budget.acquire(lane=0)            # wait for a send slot; lane 0 (safety, alerts) goes first
    budget.sent()                           # a send went through: the rate creeps back up (additive)
    budget.answered()                       # any other answer (403, 400, 5xx, network error)
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
IN_FLIGHT_STALE = 10.0  # seconds after which an unanswered send no longer counts toward the window


def default_burst(rate: float) -> float:
    """How many sends may go at once after a pause. Within Telegram's free limit (~30/s) keep
    it to a tenth of a second, so no second ever carries much more than the cap; at paid
    broadcast rates a quarter second absorbs the sender's own database pauses."""
    return max(1.0, rate / 10 if rate < 100 else rate / 4)


# ---------------------------------------------------------------- AIMD, pure


@dataclass(frozen=True)
class Aimd:
    """How the send rate adapts: cut by `decrease` on a 429, then grown additively, never above
    `ceiling` (the configured rate) nor below `floor`.

    Growth has two slopes, both additive. Below `fast_until` × the rate at which the last 429
    came (`cut_from`: the server accepted nearly that much moments ago) it climbs `fast` × cut_from
    msg/s per second of sending; above it, where the real limit lies, it creeps by `slow_step`
    (default max(0.2, cut_from / 100)). So a misconfigured rate settles just under what the server
    allows and probes it only rarely, and a single stray 429 costs seconds, not a minute.

    Before the first 429 a bucket started below its ceiling (`start`) grows by slow start: +1
    msg/s for every send that goes through, doubling each second, until the ceiling or a 429.

    429s that arrive within `hold` seconds of a cut, or while paused, answer requests already in
    flight when the first one came back: they extend the pause but do not cut again."""

    ceiling: float
    start: float | None = None  # the first rate (None: the ceiling); above it: slow start
    floor: float = 1.0
    decrease: float = 0.5
    increase: float | None = None  # the slow step (msg/s per second); default max(0.2, reference / 100)
    fast: float = 0.1
    fast_until: float = 0.85
    hold: float = 1.0

    def slow_step(self, cut_from: float | None = None) -> float:
        if self.increase is not None:
            return self.increase
        return max(0.2, (cut_from or self.ceiling) / 100)

    def clamp(self, rate: float) -> float:
        return min(self.ceiling, max(min(self.floor, self.ceiling), rate))


def rate_after_429(
    rate: float, *, aimd: Aimd, since_cut: float | None, paused: bool, accepted: float | None = None
) -> float:
    """The rate after a 429: halved (×decrease) unless this 429 belongs to a burst already cut
    for (`since_cut` seconds since the last cut < hold, or the budget is still paused).
    `accepted`: sends the server let through in the last second, when known — if that is less
    than half the rate, the rate drops to it at once (a rate configured ten times too high
    reaches the real limit in one step instead of four, each with its own 429 burst)."""
    if paused or (since_cut is not None and since_cut < aimd.hold):
        return aimd.clamp(rate)
    cut = min(rate, aimd.ceiling) * aimd.decrease
    if accepted is not None:
        cut = min(cut, accepted)
    return aimd.clamp(cut)


def rate_after_sent(rate: float, *, aimd: Aimd, sent: int, cut_from: float | None = None) -> float:
    """The rate after `sent` sends went through: +step/rate each, i.e. +step msg/s for every
    second of sending at that rate (additive recovery toward the ceiling; see Aimd for the two
    slopes). `cut_from`: the rate when the last 429 cut it (None: never cut)."""
    r = aimd.clamp(rate)
    if sent <= 0:
        return r
    if cut_from is None and aimd.start is not None and aimd.start < aimd.ceiling:
        return aimd.clamp(r + sent)  # slow start: never refused yet, double each second
    fast = cut_from is not None and r < aimd.fast_until * min(cut_from, aimd.ceiling)
    step = aimd.fast * min(cut_from, aimd.ceiling) if fast and cut_from else aimd.slow_step(cut_from)
    return aimd.clamp(r + step * sent / r)


# ---------------------------------------------------------------- the local bucket


class TokenBucket:
    """One process's send budget: tokens at the current (adapted) rate, a burst of `burst`
    tokens, lane 0 served before any other lane, and — with `window_guard` — never more than
    ⌊rate⌋ sends that could arrive within one second, which is how Telegram counts "30 per
    second": a send counts from the moment it goes out until `window_guard` past one second
    after its answer came back (it reached the server before its answer did), so neither network
    jitter nor a busy event loop can squeeze one more into a second. The sender reports every
    answer (`sent`, `rate_limited`, `answered`); a send never answered stops counting after
    IN_FLIGHT_STALE seconds."""

    def __init__(
        self, rate: float, *, burst: float | None = None, monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep, aimd: Aimd | None = None, window_guard: float | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.aimd = aimd or Aimd(ceiling=rate)
        self.rate = self.aimd.clamp(self.aimd.start if self.aimd.start is not None else rate)
        self._burst = burst
        self.tokens = min(self.capacity, 1.0)  # a (re)started sender starts gently, not with a burst
        self.window_guard = window_guard
        self._monotonic = monotonic
        self._sleep = sleep
        self._last = monotonic()
        self._paused_until = 0.0
        self._cut_at: float | None = None
        self.cut_from: float | None = None  # the rate when the last 429 burst cut it
        self._lock = asyncio.Lock()  # bulk lanes queue here, one at a time
        self._urgent_waiting = 0
        self._answers: deque[float] = deque()  # when recent answers came back
        self._in_flight: deque[float] = deque()  # when unanswered sends went out
        self._accepted: deque[float] = deque()  # when sends that went through were answered
        self.cuts = 0  # multiplicative decreases so far (for benchmarks and /healthz)
        self.cut_log: deque[tuple[float, float]] = deque(maxlen=100)  # (when, rate cut from)

    @property
    def capacity(self) -> float:
        """The burst: fixed when given, else a tenth (or quarter) second at the current rate."""
        return self._burst if self._burst is not None else default_burst(self.rate)

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
        accepted = self.accepted_last_second(now) if self.window_guard is not None else None
        if not paused and (since is None or since >= self.aimd.hold):  # the first 429 of a burst
            self._cut_at = now
            self.cut_from = self.rate if accepted is None else min(self.rate, max(accepted, 1.0))
            self.cuts += 1
            self.cut_log.append((now, self.rate))
        self._refill()
        self.rate = rate_after_429(self.rate, aimd=self.aimd, since_cut=since, paused=paused, accepted=accepted)

    def accepted_last_second(self, now: float) -> float | None:
        while self._accepted and self._accepted[0] <= now - 1.0:
            self._accepted.popleft()
        return float(len(self._accepted))

    async def rate_limited(self, retry_after: float) -> None:
        """Telegram said 429: cut the rate (once per burst of 429s) and pause for retry_after."""
        if self._in_flight:
            self._in_flight.popleft()  # refused: it does not count toward the server's window
        self._cut()
        self.pause(max(retry_after, 0.0))

    def answered(self, n: int = 1) -> None:
        """`n` sends were answered (any answer): they count toward the window until one second
        (plus the guard) from now."""
        if self.window_guard is not None:
            now = self._monotonic()
            for _ in range(n):
                if self._in_flight:
                    self._in_flight.popleft()
                self._answers.append(now)

    def sent(self, n: int = 1) -> None:
        """`n` sends went through: the rate creeps back toward the ceiling."""
        self.answered(n)
        if self.window_guard is not None:
            self._accepted.extend([self._monotonic()] * n)
        if self.rate < self.aimd.ceiling:
            self._refill()
            self.rate = rate_after_sent(self.rate, aimd=self.aimd, sent=n, cut_from=self.cut_from)

    # ------------------------------------------------------------ acquiring

    def _wait(self, now: float) -> float:
        """Seconds until the next send may start (0: now)."""
        if now < self._paused_until:
            return self._paused_until - now
        self._refill()
        wait = 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate  # tolerate float rounding
        if self.window_guard is not None:
            limit = max(1, math.floor(self.rate + 1e-9))
            horizon = now - 1.0 - self.window_guard
            while self._answers and self._answers[0] <= horizon:
                self._answers.popleft()
            while self._in_flight and self._in_flight[0] <= now - IN_FLIGHT_STALE:
                self._in_flight.popleft()
            if len(self._answers) + len(self._in_flight) >= limit:
                wait = max(wait, self._answers[0] - horizon if self._answers else 1e-3)
        return wait

    def _take(self, now: float) -> None:
        self.tokens = max(0.0, self.tokens - 1)
        if self.window_guard is not None:
            self._in_flight.append(now)

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
