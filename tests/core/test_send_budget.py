"""One send rate for several sender processes: two senders sharing the database budget
together send no faster than the configured rate, and a 429 seen by one pauses both."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.delivery.budget import SharedTokenBucket
from core.delivery.ratelimit import TokenBucket
from tests.core.test_outbox import FakeTime

BASE = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def shared(sessionmaker: async_sessionmaker[AsyncSession], fake: FakeTime, rate: float) -> SharedTokenBucket:
    return SharedTokenBucket(sessionmaker, rate, clock=lambda: BASE + timedelta(seconds=fake.t),
                             monotonic=fake.monotonic, sleep=fake.sleep)


async def test_two_senders_share_one_rate(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    fake = FakeTime()
    a, b = shared(sessionmaker, fake, 10), shared(sessionmaker, fake, 10)

    async def spend(bucket: TokenBucket, n: int) -> None:
        for _ in range(n):
            await bucket.acquire()

    await asyncio.gather(spend(a, 50), spend(b, 50))
    # 100 sends at a shared 10/s take about 10 s; two independent buckets would take 5 s.
    assert fake.t >= 9.0


async def test_a_429_pauses_every_sender(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    fake = FakeTime()
    a, b = shared(sessionmaker, fake, 10), shared(sessionmaker, fake, 10)
    await a.acquire()
    await b.acquire()
    started = fake.t
    a.pause(30)  # sender a got 429 retry_after=30…
    await a.share_pause()
    await b.acquire()  # …so sender b waits too
    assert started < 1 and fake.t >= 30
