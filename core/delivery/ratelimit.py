"""Pacing for the sender: a token bucket with an injectable clock and sleep, so tests run
without real waiting and the benchmark runs on real time."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def default_burst(rate: float) -> float:
    """How many sends may go at once after a pause. Within Telegram's free limit (~30/s) keep
    it to a tenth of a second, so no second ever carries much more than the cap; at paid
    broadcast rates a quarter second absorbs the sender's own database pauses."""
    return max(1.0, rate / 10 if rate < 100 else rate / 4)


class TokenBucket:
    def __init__(
        self, rate: float, *, burst: float | None = None, monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else default_burst(rate)
        self.tokens = self.capacity
        self._monotonic = monotonic
        self._sleep = sleep
        self._last = monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
        self._last = now

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends until retry_after has passed."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)
        self.tokens = 0.0

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._monotonic()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    self._last = self._monotonic()
                    continue
                self._refill()
                if self.tokens >= 1 - 1e-9:  # tolerate float rounding, or we could wait forever
                    self.tokens = max(0.0, self.tokens - 1)
                    return
                await self._sleep(max((1 - self.tokens) / self.rate, 1e-6))
