"""Several sender processes on one database share the provider's "N per second" as a sliding
window: together they never send more than the cap within any one second, still reach 95% of it,
and lane 0 keeps its share under a bulk flood (issue #16 item 8). Virtual time: a sleep only
moves the clock, and the clock moves only when every simulated sender is asleep."""
from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.delivery.budget import PAID_BUDGET, SharedTokenBucket, parse_grants, take_tokens, window_free
from core.delivery.ratelimit import Aimd
from core.models import SendBudget

BASE = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


class VirtualTime:
    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.t

    def clock(self) -> datetime:
        return BASE + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + max(seconds, 0.0), next(self._seq), fut))
        await fut

    async def run(self, *workers: Awaitable[None]) -> None:
        tasks = [asyncio.ensure_future(w) for w in workers]
        while not all(task.done() for task in tasks):
            running = sum(not task.done() for task in tasks)
            if self._sleepers and len(self._sleepers) >= running:
                target = self._sleepers[0][0]
                self.t = max(self.t, target)
                while self._sleepers and self._sleepers[0][0] <= self.t:
                    heapq.heappop(self._sleepers)[2].set_result(None)
            await asyncio.sleep(0)
            if len(self._sleepers) < running:
                await asyncio.sleep(0.0002)  # a sender waits for the database (real I/O)
        for task in tasks:
            task.result()


def bucket(sessionmaker: async_sessionmaker[AsyncSession], vt: VirtualTime, rate: float, **kw: object) -> SharedTokenBucket:
    return SharedTokenBucket(sessionmaker, rate, clock=vt.clock, monotonic=vt.monotonic, sleep=vt.sleep,
                             window_guard=0.005, **kw)  # type: ignore[arg-type]


def busiest_second(times: list[float]) -> int:
    """The most sends within any one-second window [a, a + 1)."""
    times, best, lo = sorted(times), 0, 0
    for hi, at in enumerate(times):
        while times[lo] <= at - 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def flood(vt: VirtualTime, b: SharedTokenBucket, until: float, times: list[float], lane: int = 2) -> None:
    while vt.t < until:
        await b.acquire(lane=lane)
        times.append(vt.t)
        b.sent()


async def run_senders(sessionmaker: async_sessionmaker[AsyncSession], senders: int, rate: float,
                      seconds: float) -> tuple[list[float], int]:
    vt = VirtualTime()
    buckets = [bucket(sessionmaker, vt, rate, name=PAID_BUDGET, reserve=0.0) for _ in range(senders)]
    times: list[float] = []
    await vt.run(*(flood(vt, b, seconds, times) for b in buckets))
    return times, busiest_second(times)


async def test_three_senders_never_exceed_the_cap_in_any_second_and_reach_95_percent(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Each process alone may send 1,000/s with a burst of 250: without the shared window the
    # token bucket let 1,250 through in a second.
    times, busiest = await run_senders(sessionmaker, 3, 1000, 4.0)
    assert busiest <= 1000
    steady = [t for t in times if 1.0 <= t < 4.0]
    assert len(steady) / 3.0 >= 950, len(steady)


async def test_two_senders_at_a_free_rate_stay_under_it(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    times, busiest = await run_senders(sessionmaker, 2, 30, 6.0)
    assert busiest <= 30
    assert len([t for t in times if 1.0 <= t < 6.0]) >= 0.95 * 30 * 5


async def test_lane_0_keeps_its_share_under_a_bulk_flood(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Two processes flood the bulk lane of the free budget; a third sends an alert card every
    0.2 s: each gets its slot at once, and all of it together still stays under the cap."""
    vt = VirtualTime()
    bulk = [bucket(sessionmaker, vt, 100) for _ in range(2)]
    alerts = bucket(sessionmaker, vt, 100)
    bulk_times: list[float] = []
    waits: list[float] = []
    alert_times: list[float] = []

    async def cards() -> None:
        while vt.t < 4.0:
            asked = vt.t
            await alerts.acquire(lane=0)
            waits.append(vt.t - asked)
            alert_times.append(vt.t)
            alerts.sent()
            await vt.sleep(0.2)

    await vt.run(*(flood(vt, b, 4.0, bulk_times) for b in bulk), cards())
    assert len(waits) >= 19
    assert max(waits) <= 0.02, max(waits)
    assert busiest_second(bulk_times + alert_times) <= 100
    assert len([t for t in bulk_times if 1.0 <= t < 4.0]) >= 0.8 * 100 * 3  # bulk leaves only the reserve


async def test_unused_grants_leave_the_window_and_a_full_window_says_how_long_to_wait(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    aimd = Aimd(ceiling=10)
    async with sessionmaker() as session, session.begin():
        first = await take_tokens(session, name="w", wanted=8, aimd=aimd, burst=100, now=BASE)
    assert first.granted == 8
    later = BASE + timedelta(seconds=0.5)
    async with sessionmaker() as session, session.begin():
        second = await take_tokens(session, name="w", wanted=8, aimd=aimd, burst=100, now=later)
    assert second.granted == 2  # the window holds 10 per second, whatever the bucket has
    async with sessionmaker() as session, session.begin():
        full = await take_tokens(session, name="w", wanted=1, aimd=aimd, burst=100, now=later)
        # the first block leaves the window 1 s + use_within + jitter after it was granted
    assert full.granted == 0 and abs(full.wait - 0.538) < 1e-6
    async with sessionmaker() as session, session.begin():
        back = await take_tokens(session, name="w", wanted=5, aimd=aimd, burst=100, now=later,
                                 unused=((first.at, 3),))
    assert back.granted == 3
    async with sessionmaker() as session:
        row = await session.scalar(select(SendBudget).where(SendBudget.name == "w"))
        assert row is not None and sum(n for _, n in parse_grants(row.grants)) == 10


def test_window_free_counts_blocks_stamped_later_than_now() -> None:
    blocks = [(1_000_000, 4), (2_000_000, 5)]
    assert window_free(blocks, limit=10, now=1_500_000, span=1.0) == (1, 0.0)
    assert window_free(blocks, limit=9, now=1_500_000, span=1.0) == (0, 0.5)
    assert window_free(blocks, limit=9, now=2_100_000, span=1.0) == (4, 0.0)
