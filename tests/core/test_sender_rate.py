"""The sender respects the real cap: the rate adapts to 429s (AIMD, table tests of the pure
maths), lane 0 keeps its slot through a 429 storm on the bulk lanes, a dead sender's lane-0 rows
are reclaimed within 15 s while bulk rows keep their long lease, and the shared budget cuts and
recovers one rate for every process. Injected clocks only: nothing here sleeps."""
from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.delivery.budget import SharedTokenBucket, note_rate_limited, pause_left, take_tokens
from core.delivery.outbox import claim, enqueue, renew_leases
from core.delivery.ratelimit import Aimd, TokenBucket, rate_after_429, rate_after_sent
from core.flows.delivery import sender_hooks
from core.delivery.sender import Sender, SenderConfig
from core.models import Delivery, SendBudget
from core.ports import SendOutcome
from tests.core.outbox_fixtures import ScriptedMessenger, seed_cohort, seed_library
from tests.core.test_outbox import FakeTime
from tests.endpoints import tg

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
DIRECTOR = 900_001

# ---------------------------------------------------------------- AIMD maths (pure)


@pytest.mark.parametrize(
    ("rate", "since_cut", "paused", "expected"),
    [
        (30.0, None, False, 15.0),  # the first 429 ever: halve
        (80.0, 5.0, False, 40.0),  # a new burst, long after the last cut: halve
        (15.0, 0.2, False, 15.0),  # an answer to a request already in flight: no second cut
        (15.0, 9.0, True, 15.0),  # still paused (retry_after): no second cut
        (1.5, None, False, 1.0),  # never below the floor
        (400.0, None, False, 50.0),  # a rate above the ceiling is first brought to it
    ],
)
def test_multiplicative_decrease(rate: float, since_cut: float | None, paused: bool, expected: float) -> None:
    aimd = Aimd(ceiling=100.0, floor=1.0, decrease=0.5, hold=1.0)
    assert rate_after_429(rate, aimd=aimd, since_cut=since_cut, paused=paused) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rate", "accepted", "expected"),
    [
        (300.0, 30.0, 30.0),  # the server let 30 through in the last second: straight to 30
        (32.0, 30.0, 16.0),  # it let through about what we sent: halve as usual
        (300.0, 0.0, 1.0),  # nothing went through: the floor
    ],
)
def test_decrease_uses_what_the_server_accepted_when_known(rate: float, accepted: float, expected: float) -> None:
    aimd = Aimd(ceiling=300.0)
    assert rate_after_429(rate, aimd=aimd, since_cut=None, paused=False, accepted=accepted) == expected


@pytest.mark.parametrize(
    ("rate", "sent", "expected"),
    [
        (15.0, 15, 16.0),  # one second of sending at 15/s: +1 msg/s (step = 1)
        (15.0, 150, 25.0),  # ten seconds: +10
        (99.5, 100, 100.0),  # never above the ceiling
        (40.0, 0, 40.0),  # nothing sent, nothing learnt
        (0.2, 1, 2.0),  # from below the floor: floor + step
    ],
)
def test_additive_increase(rate: float, sent: int, expected: float) -> None:
    aimd = Aimd(ceiling=100.0, floor=1.0, increase=1.0)
    assert rate_after_sent(rate, aimd=aimd, sent=sent) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rate", "sent", "cut_from", "expected"),
    [
        (15.0, 15, 30.0, 18.0),  # after a cut at 30: +3 msg/s a second up to 0.85 × 30…
        (26.0, 26, 30.0, 26.3),  # …then the slow creep, +0.3 msg/s a second near the limit
        (150.0, 150, 300.0, 180.0),  # the same shape at any scale
        (20.0, 20, None, 20.3),  # never cut, started at the ceiling: the slow step (30 / 100)
    ],
)
def test_recovery_is_quick_far_below_the_last_429_and_slow_near_it(
    rate: float, sent: int, cut_from: float | None, expected: float
) -> None:
    aimd = Aimd(ceiling=30.0 if cut_from != 300.0 else 300.0)
    assert rate_after_sent(rate, aimd=aimd, sent=sent, cut_from=cut_from) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rate", "sent", "cut_from", "expected"),
    [
        (30.0, 30, None, 60.0),  # never refused: slow start doubles each second…
        (200.0, 200, None, 300.0),  # …up to the ceiling
        (30.0, 30, 31.0, 30.31),  # once refused, it is over: the slow creep (31 / 100)
    ],
)
def test_slow_start_above_the_starting_rate(rate: float, sent: int, cut_from: float | None, expected: float) -> None:
    aimd = Aimd(ceiling=300.0, start=30.0)
    assert rate_after_sent(rate, aimd=aimd, sent=sent, cut_from=cut_from) == pytest.approx(expected)


def test_a_misconfigured_rate_converges_below_the_real_cap() -> None:
    """Simulated: configured 300/s, the server allows 30/s. Every second at a rate above 30 ends
    in one 429 burst; the rate falls below the cap within seconds and then saws gently under
    it — 429 bursts become rare (a few a minute) instead of one every second."""
    aimd, rate, cuts, cut_from = Aimd(ceiling=300.0), 300.0, 0, None
    history = []
    for second in range(600):
        if rate > 30:
            cut_from = rate
            rate = rate_after_429(rate, aimd=aimd, since_cut=None, paused=False)
            cuts += 1
        else:
            rate = rate_after_sent(rate, aimd=aimd, sent=int(rate), cut_from=cut_from)
        history.append(rate)
    assert max(history[10:]) <= 31  # within ten seconds it stays near or under the cap
    assert cuts <= 600 / 10  # a 429 burst every ten seconds or less often
    assert sum(history[10:]) / len(history[10:]) > 0.85 * 30  # and it sends at most of what is allowed


# ---------------------------------------------------------------- the bucket


class VirtualTime:
    """Time for several coroutines at once: sleep() parks a coroutine until `run` moves the
    clock to its wake-up time; `run` advances only when every coroutine is parked."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + max(seconds, 0.0), next(self._seq), fut))
        await fut

    async def run(self, until: float) -> None:
        while self.t < until:
            for _ in range(20):  # let every runnable coroutine reach its next sleep
                await asyncio.sleep(0)
            if not self._sleepers:
                return
            when, _, fut = heapq.heappop(self._sleepers)
            self.t = max(self.t, when)
            fut.set_result(None)


async def test_lane_zero_keeps_its_slot_through_a_bulk_429_storm() -> None:
    """A bulk lane hammers the bucket and every one of its sends is answered 429 (retry_after
    1 s). Red alerts raised during the storm still get a slot within the pause plus one send
    interval; the storm cuts the rate instead of re-bursting at the configured one."""
    vt = VirtualTime()
    bucket = TokenBucket(300, monotonic=vt.monotonic, sleep=vt.sleep, window_guard=0.005)  # 10× the cap
    bulk_sent: list[float] = []
    alert_latency: list[float] = []

    async def bulk() -> None:
        for _ in range(10_000):
            await bucket.acquire(lane=2)
            bulk_sent.append(vt.t)
            await bucket.rate_limited(1)  # the storm: every bulk send is refused

    async def alerts() -> None:
        for k in range(5):
            await vt.sleep(7.3)
            raised = vt.t
            await bucket.acquire(lane=0)
            alert_latency.append(vt.t - raised)
            bucket.sent()  # the card went through

    tasks = [asyncio.create_task(bulk()), asyncio.create_task(alerts())]
    await vt.run(until=60)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert len(alert_latency) == 5
    assert max(alert_latency) <= 1.0 + 1 / bucket.aimd.floor
    assert bucket.rate == bucket.aimd.floor  # the storm drove the rate down to the floor
    assert len(bulk_sent) <= 61  # honouring retry_after: one try a second, not 300


async def test_lane_zero_goes_before_waiting_bulk_sends() -> None:
    vt = VirtualTime()
    bucket = TokenBucket(10, burst=1, monotonic=vt.monotonic, sleep=vt.sleep)
    order: list[str] = []

    async def take(lane: int, label: str, after: float) -> None:
        await vt.sleep(after)
        await bucket.acquire(lane=lane)
        order.append(label)

    tasks = [asyncio.create_task(take(2, f"bulk{i}", 0.0)) for i in range(5)]
    tasks.append(asyncio.create_task(take(0, "alert", 0.05)))
    await vt.run(until=5)
    await asyncio.gather(*tasks)
    assert order.index("alert") == 1  # the next slot after it asked, ahead of 3 waiting bulk sends


async def test_window_guard_keeps_every_second_under_the_cap() -> None:
    fake = FakeTime()
    """Each send takes a while to be answered (0 to 40 ms, varying): it counts from when it went
    out until a second after its answer, so no second carries more than 30 arrivals whenever
    within its round trip the server counted it — and the rate still holds ≥ 95% of the cap."""
    fake = FakeTime()
    bucket = TokenBucket(30, monotonic=fake.monotonic, sleep=fake.sleep, window_guard=0.005)
    sent_at, answered_at = [], []
    for n in range(600):
        await bucket.acquire()
        sent_at.append(fake.t)
        fake.t += (n * 7 % 5) * 0.01  # this send's round trip
        answered_at.append(fake.t)
        bucket.sent()
    for arrival in (sent_at, answered_at):  # the server counted it somewhere in between
        worst = max(sum(1 for t in arrival if start <= t < start + 1.0) for start in arrival)
        assert worst <= 30
    assert 600 / answered_at[-1] >= 0.95 * 30


# ---------------------------------------------------------------- leases


async def _seed_urgent_and_bulk(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        await seed_cohort(session, now=clock(), guardians=1)
        await enqueue(session, address=tg(DIRECTOR), kind="campaign", ref="alert:1", cycle="1", lane=0,
                      due_at=clock(), now=clock(), payload={"text": "red", "locale": "zh-Hans"})
        await enqueue(session, address=tg(10_000), kind="campaign", ref="campaign:1", cycle="1", lane=2,
                      due_at=clock(), now=clock(), payload={"text": "hi", "locale": "zh-Hans"})


def _sender(sessionmaker: async_sessionmaker[AsyncSession], messenger: ScriptedMessenger, clock: FrozenClock,
            **config: object) -> Sender:
    fake = FakeTime()
    cfg = SenderConfig(**config)  # type: ignore[arg-type]
    return Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock, config=cfg,
                  bucket=TokenBucket(cfg.rate, monotonic=fake.monotonic, sleep=fake.sleep))


async def test_dead_senders_lane_zero_rows_are_reclaimed_within_15_s(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    clock.set(T0)
    await _seed_urgent_and_bulk(sessionmaker, clock)
    dead = _sender(sessionmaker, ScriptedMessenger(), clock)
    stats, ready = await dead._prepare()  # claimed and committed… and then the process dies
    assert stats.claimed == 2 and {o.lane for _, o in ready} == {0, 2}

    messenger = ScriptedMessenger()
    alive = _sender(sessionmaker, messenger, clock)
    clock.advance(seconds=9)
    assert (await alive.drain_once()).claimed == 0  # still leased to the dead sender
    clock.advance(seconds=2)  # 11 s after the claim: the alert is free again
    stats = await alive.drain_once()
    assert (stats.claimed, stats.sent) == (1, 1)
    assert [o.address for o in messenger.sent] == [tg(DIRECTOR)]
    clock.advance(seconds=60)
    assert (await alive.drain_once()).claimed == 0  # the lesson keeps its 2-minute lease…
    clock.advance(seconds=50)
    assert (await alive.drain_once()).sent == 1  # …and is sent after it


async def test_a_live_sender_renews_its_leases(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    clock.set(T0)
    await _seed_urgent_and_bulk(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        [urgent, bulk] = await claim(session, now=clock(), limit=10, lease=timedelta(minutes=2),
                                     urgent_lease=timedelta(seconds=10))
        assert urgent.delivery.lease_until == T0 + timedelta(seconds=10)
        assert bulk.delivery.lease_until == T0 + timedelta(minutes=2)
    clock.advance(seconds=8)  # e.g. waiting out a 429 pause: the keeper pushes the lease out
    async with sessionmaker() as session, session.begin():
        assert await renew_leases(session, ids=[urgent.delivery.id], until=clock() + timedelta(seconds=10)) == 1
    clock.advance(seconds=8)
    async with sessionmaker() as session, session.begin():
        assert await claim(session, now=clock(), limit=10, lease=timedelta(minutes=2)) == []


async def test_sender_lane_loop_claims_only_lane_zero(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    clock.set(T0)
    await _seed_urgent_and_bulk(sessionmaker, clock)
    sender = _sender(sessionmaker, ScriptedMessenger(), clock)
    stats, ready = await sender._prepare(lanes=(0,))
    assert [o.address for _, o in ready] == [tg(DIRECTOR)]
    async with sessionmaker() as session:
        states = dict((await session.execute(select(Delivery.lane, Delivery.state))).all())
    assert states == {0: "sending", 2: "pending"}


async def test_a_429_is_acted_on_when_answered_not_after_the_batch(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """The old sender paused only when it recorded the batch: every send of the batch had gone
    out (and been refused) by then. Now the first 429 pauses the bucket before the next send."""
    clock.set(T0)
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        await seed_cohort(session, now=clock(), guardians=20)
        for i in range(20):
            await enqueue(session, address=tg(10_000 + i), kind="campaign", ref="campaign:1", cycle="1", lane=2,
                          due_at=clock(), now=clock(), payload={"text": "hi", "locale": "zh-Hans"})
    messenger = ScriptedMessenger()
    messenger.then(10_000, SendOutcome(status="rate_limited", retry_after=3))
    fake = FakeTime()

    async def sleep(seconds: float) -> None:  # fake time, but other tasks get their turn
        await fake.sleep(seconds)
        await asyncio.sleep(0)

    bucket = TokenBucket(100, burst=1, monotonic=fake.monotonic, sleep=sleep)
    sender = Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock, config=SenderConfig(rate=100, concurrency=1),
                    bucket=bucket)
    stats = await sender.drain_once()
    assert (stats.sent, stats.retried) == (19, 1)
    assert fake.t >= 3.0  # the 19 others waited out retry_after
    assert bucket.cuts == 1 and 50.0 < bucket.rate < 55.0  # halved, then growing back (+10 msg/s per s)


# ---------------------------------------------------------------- the shared budget


async def test_shared_rate_is_cut_once_per_burst_and_recovers(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    aimd = Aimd(ceiling=300.0, hold=1.0)
    now = T0
    async with sessionmaker() as session, session.begin():
        until = await note_rate_limited(session, name="t", retry_after=2, aimd=aimd, now=now)
        assert until == now + timedelta(seconds=2)
        # Two more 429s answering requests that were already in flight: no further cut.
        await note_rate_limited(session, name="t", retry_after=2, aimd=aimd, now=now + timedelta(milliseconds=50))
        assert await pause_left(session, name="t", now=now + timedelta(seconds=1)) == pytest.approx(1.05)
    async with sessionmaker() as session, session.begin():
        grant = await take_tokens(session, name="t", wanted=10, aimd=aimd, burst=10, now=now + timedelta(seconds=1))
        assert (grant.granted, grant.rate) == (0, 150.0)  # paused, and cut once: 300 → 150
        grant = await take_tokens(session, name="t", wanted=10, aimd=aimd, burst=10,
                                  now=now + timedelta(seconds=3), sent=150)
        assert grant.granted == 10 and grant.rate == pytest.approx(180.0)  # a second at 150/s: +0.1 × 300
    async with sessionmaker() as session:
        row = await session.get(SendBudget, "t")
        assert row is not None and row.rate == pytest.approx(180.0) and row.cut_from == 300.0


async def test_bulk_cannot_take_the_lane_zero_reserve(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    aimd = Aimd(ceiling=30.0)
    async with sessionmaker() as session, session.begin():
        bulk = await take_tokens(session, name="r", wanted=10, aimd=aimd, burst=6, keep=3, now=T0)
        assert bulk.granted == 3  # 6 in the bucket, 3 kept for lane 0
        again = await take_tokens(session, name="r", wanted=10, aimd=aimd, burst=6, keep=3, now=T0)
        assert again.granted == 0 and again.wait > 0
        urgent = await take_tokens(session, name="r", wanted=1, aimd=aimd, burst=6, keep=0, now=T0)
        assert urgent.granted == 1


async def test_a_429_in_one_sender_cuts_the_rate_of_another(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    fake = FakeTime()

    def shared() -> SharedTokenBucket:
        return SharedTokenBucket(sessionmaker, 300, clock=lambda: T0 + timedelta(seconds=fake.t),
                                 monotonic=fake.monotonic, sleep=fake.sleep)

    a, b = shared(), shared()
    await a.acquire()
    await b.acquire()
    await a.rate_limited(2)  # a saw the 429…
    started = fake.t
    for _ in range(b.chunk + 1):  # …b's next take from the database brings the pause and the cut
        await b.acquire()
    assert fake.t - started >= 2.0 and b.rate == 150.0


async def test_renewing_leases_skips_rows_whose_result_is_being_written(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, db_url: str
) -> None:
    """PostgreSQL: a row another transaction has locked (its result being recorded) is not
    waited for — waiting there deadlocked a sender's keeper against its own recording."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: no row locks to skip")
    clock.set(T0)
    await _seed_urgent_and_bulk(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        [urgent, bulk] = await claim(session, now=clock(), limit=10, lease=timedelta(minutes=2),
                                     urgent_lease=timedelta(seconds=10))
    async with sessionmaker() as recording, recording.begin():
        await recording.execute(select(Delivery.id).where(Delivery.id == urgent.delivery.id).with_for_update())
        async with sessionmaker() as keeper, keeper.begin():
            renewed = await asyncio.wait_for(renew_leases(
                keeper, ids=[urgent.delivery.id, bulk.delivery.id], until=clock() + timedelta(minutes=5)), timeout=5)
        assert renewed == 1  # the bulk row; the locked one is left to its writer
    async with sessionmaker() as session:
        leases = dict((await session.execute(select(Delivery.id, Delivery.lease_until))).all())
    assert leases[bulk.delivery.id] == T0 + timedelta(minutes=5)
    assert leases[urgent.delivery.id] == T0 + timedelta(seconds=10)
