"""The per-day pre-aggregate of deliveries (delivery_day_counts, kept by triggers on SQLite only,
migration 0022d) against a count of the outbox itself, after the real planner and sender did
their work (plan, claim, sent, transient then retried, failed, blocked, moved to the next
endpoint), after raw updates of every counted column and after deletes (one row, and a
guardian's rows by cascade); and delivery statistics over periods cut anywhere in a day against
the same counts taken straight from the outbox, on SQLite (pre-aggregate and edges) and
PostgreSQL (the outbox alone). On PostgreSQL, two senders writing outcomes of mixed kinds and
days at once do not deadlock (no shared counter rows there)."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.access import Scope
from core.clock import FrozenClock
from core.delivery.planning import plan_due_lessons
from core.delivery.stats import _counts, delivery_stats
from core.endpoints.service import add_endpoint
from core.models import Cohort, Delivery, DeliveryDayCount, Guardian
from core.ports import SendOutcome
from tests.core.outbox_fixtures import ScriptedMessenger, seed_cohort, seed_library
from tests.core.test_outbox import CHAT, MON_20_SH, make_sender
from tests.endpoints import tg

SMS = "sms:+8613800000001"


async def from_outbox(session: AsyncSession) -> dict[tuple[int, str, str, str, str], int]:
    rows = (await session.execute(select(Delivery.cohort_id, Delivery.created_at, Delivery.kind, Delivery.state,
                                         Delivery.lesson_id).where(Delivery.cohort_id.is_not(None)))).all()
    counts: dict[tuple[int, str, str, str, str], int] = {}
    for cohort_id, created_at, kind, state, lesson_id in rows:
        key = (cohort_id, created_at.astimezone(timezone.utc).date().isoformat(), kind, state, lesson_id or "")
        counts[key] = counts.get(key, 0) + 1
    return counts


async def from_aggregate(session: AsyncSession) -> dict[tuple[int, str, str, str, str], int]:
    rows = (await session.execute(select(DeliveryDayCount))).scalars().all()
    return {(r.cohort_id, r.day.isoformat(), r.kind, r.state, r.lesson_id): r.n for r in rows if r.n}


async def assert_exact(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[tuple[int, str, str, str, str], int]:
    async with sessionmaker() as session:
        expected = await from_outbox(session)
        assert await from_aggregate(session) == expected
        assert all(r.n >= 0 for r in (await session.scalars(select(DeliveryDayCount))).all())
        return expected


async def test_the_day_counts_follow_every_change_of_the_outbox(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the pre-aggregate is kept on SQLite only (migration 0022d)")
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        cohort = await seed_cohort(session, now=clock(), guardians=5)
        other = await seed_cohort(session, now=clock(), guardians=1, first_chat=20_000)
        guardian_ids = list((await session.scalars(select(Guardian.id).order_by(Guardian.id))).all())
        await add_endpoint(session, address=SMS, now=clock(), guardian_id=guardian_ids[3])
        cohort_id, other_id = cohort.id, other.id
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())  # plan: pending rows
    planned = await assert_exact(sessionmaker)
    assert sum(planned.values()) >= 6

    messenger = ScriptedMessenger()
    err = SendOutcome(status="transient", error="server_error_502")
    messenger.then(CHAT, err)  # transient: back to pending, then sent on the retry
    messenger.then(CHAT + 1, err, err, err)  # transient until it fails
    messenger.then(CHAT + 2, SendOutcome(status="blocked", error="blocked"))  # no other endpoint: ends
    messenger.then(CHAT + 3, SendOutcome(status="blocked", error="blocked"))  # moved on to SMS
    sender = make_sender(sessionmaker, messenger, clock, max_attempts=3)
    for _ in range(5):
        await sender.drain_once()
        await assert_exact(sessionmaker)
        clock.advance(minutes=5)
    async with sessionmaker() as session:
        states = set((await session.scalars(select(Delivery.state))).all())
        addresses = set((await session.scalars(select(Delivery.address))).all())
    assert {"sent", "failed"} <= states and SMS in addresses

    # Three days later the next lessons are planned (another day's keys), then claimed only.
    clock.set(MON_20_SH + timedelta(days=3))
    await plan_due_lessons(sessionmaker, now=clock())
    await assert_exact(sessionmaker)

    # Raw changes of every counted column, a no-op update, and deletes (one row; a guardian's by cascade).
    async with sessionmaker() as session, session.begin():
        ids = list((await session.scalars(select(Delivery.id).order_by(Delivery.id))).all())
        await session.execute(update(Delivery).where(Delivery.id == ids[0]).values(kind="campaign"))
        await session.execute(update(Delivery).where(Delivery.id == ids[1])
                              .values(created_at=MON_20_SH - timedelta(days=40)))
        await session.execute(update(Delivery).where(Delivery.id == ids[2]).values(cohort_id=other_id))
        await session.execute(update(Delivery).where(Delivery.id == ids[3]).values(lesson_id=None))
        await session.execute(update(Delivery).where(Delivery.id == ids[4]).values(cohort_id=None))
        await session.execute(update(Delivery).where(Delivery.id.in_(ids[5:7])).values(state="cancelled"))
        await session.execute(update(Delivery).where(Delivery.id == ids[7]).values(attempts=9))  # not counted
        await session.execute(delete(Delivery).where(Delivery.id == ids[8]))
    await assert_exact(sessionmaker)
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(Guardian).where(Guardian.id == guardian_ids[0]))  # cascades to its rows
    counts = await assert_exact(sessionmaker)
    assert {key[0] for key in counts} == {cohort_id, other_id}
    async with sessionmaker() as session, session.begin():  # a rolled-back change leaves no trace
        await session.execute(update(Delivery).values(state="skipped"))
        await session.rollback()
    await assert_exact(sessionmaker)


async def test_statistics_over_any_period_equal_a_count_of_the_outbox(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Whole days from the aggregate, partial days from the outbox: the sum is a plain count."""
    rnd = random.Random(7)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        cohort = await seed_cohort(session, now=clock(), guardians=2)
        guardian_id = await session.scalar(select(func.min(Guardian.id)))
        cohort_id = cohort.id
        session.add_all([
            Delivery(address=tg(CHAT), guardian_id=guardian_id, cohort_id=cohort_id,
                     kind=rnd.choice(["lesson", "lesson_followup", "campaign", "checkin"]), ref=f"r{n}",
                     cycle="c", lane=2, state=rnd.choice(["pending", "sent", "sent", "failed", "blocked"]),
                     due_at=start, attempts=0, payload={}, lesson_id=rnd.choice([None, "lesson_1", "lesson_2"]),
                     created_at=start + timedelta(minutes=rnd.randint(0, 10 * 24 * 60)))
            for n in range(300)
        ])
    async with sessionmaker() as session:
        cohort_row = await session.get(Cohort, cohort_id)
        assert cohort_row is not None
        for _ in range(25):
            since = start + timedelta(minutes=rnd.randint(-600, 6 * 24 * 60))
            until = since + timedelta(minutes=rnd.choice([1, 90, 24 * 60, rnd.randint(1, 8 * 24 * 60)]))
            if rnd.random() < 0.3:  # at midnight exactly
                since = since.replace(hour=0, minute=0)
            expected: dict[tuple[str, str, str | None], int] = {}
            for kind, state, lesson_id, n in await session.execute(
                select(Delivery.kind, Delivery.state, Delivery.lesson_id, func.count())
                .where(Delivery.cohort_id == cohort_id, Delivery.created_at >= since, Delivery.created_at < until)
                .group_by(Delivery.kind, Delivery.state, Delivery.lesson_id)
            ):
                expected[(kind, state, lesson_id)] = n
            assert await _counts(session, cohort_id, since, until) == expected, (since, until)
        # And through the report: the per-kind table and the lessons sent.
        since, until = start + timedelta(hours=5), start + timedelta(days=7, hours=3)
        stats = await delivery_stats(session, scope=Scope(staff_id=0, role="admin", cohort_ids=None), cohort_id=cohort_id, since=since, until=until)
        lessons = await session.execute(
            select(Delivery.lesson_id, func.count()).where(
                Delivery.cohort_id == cohort_id, Delivery.created_at >= since, Delivery.created_at < until,
                Delivery.kind == "lesson", Delivery.state == "sent", Delivery.lesson_id.is_not(None))
            .group_by(Delivery.lesson_id))
        assert {x.lesson_id: x.sent for x in stats.lessons} == dict(lessons.all())
        total = await session.scalar(select(func.count()).where(
            Delivery.cohort_id == cohort_id, Delivery.created_at >= since, Delivery.created_at < until))
        assert sum(stats.totals.values()) == total


async def test_two_senders_writing_mixed_outcomes_at_once_do_not_deadlock(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Two senders' transactions record outcomes the sender's way (one set-based UPDATE by id per
    batch), of lessons and campaigns created on two days, taking kinds in opposite orders and
    interleaved: A its lessons, B its campaigns, then A its campaigns while B its lessons. Their
    rows are disjoint, so nothing blocks. With a shared per-(cohort, day, kind, state) counter
    kept by row triggers (the first draft of 0022d on PostgreSQL) A would wait for B's campaign
    counter while B waits for A's lesson counter: PostgreSQL would abort one with a deadlock."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no concurrent senders")
    start = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    async with sessionmaker() as session, session.begin():
        cohort = await seed_cohort(session, now=clock(), guardians=1)
        guardian_id = await session.scalar(select(func.min(Guardian.id)))
        rows = [Delivery(address=tg(CHAT), guardian_id=guardian_id, cohort_id=cohort.id, kind=kind, ref=f"r{n}",
                         cycle="c", lane=2, state="sending", due_at=start, attempts=1, payload={},
                         lesson_id="lesson_1" if kind == "lesson" else None,
                         created_at=start + timedelta(days=n // 2 % 2))
                for n, kind in enumerate(["lesson", "campaign"] * 8)]
        session.add_all(rows)
        await session.flush()
        ids = {kind: [r.id for r in rows if r.kind == kind] for kind in ("lesson", "campaign")}
    # Sender A took the first half of each kind, sender B the second (one day each, both days each).
    mine = {sender: {kind: ids[kind][:4] if sender == "A" else ids[kind][4:] for kind in ids} for sender in "AB"}

    def outcomes(delivery_ids: list[int]) -> list[dict[str, object]]:
        return [{"id": i, "state": "sent", "sent_at": start, "finished_at": start, "lease_until": None}
                for i in delivery_ids]

    async with sessionmaker() as a, sessionmaker() as b:
        await a.execute(update(Delivery), outcomes(mine["A"]["lesson"]))
        await b.execute(update(Delivery), outcomes(mine["B"]["campaign"]))
        await asyncio.wait_for(asyncio.gather(  # the crossing pair; a hang fails the test, not the run
            a.execute(update(Delivery), outcomes(mine["A"]["campaign"])),
            b.execute(update(Delivery), outcomes(mine["B"]["lesson"])),
        ), timeout=10)
        await a.commit()
        await b.commit()
    async with sessionmaker() as session:
        states = dict((await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))).all())
        stats = await delivery_stats(session, scope=Scope(staff_id=0, role="admin", cohort_ids=None),
                                     cohort_id=cohort.id, since=start - timedelta(days=1),
                                     until=start + timedelta(days=3))
    assert states == {"sent": 16}
    assert stats.deliveries["lesson"]["sent"] == 8 and stats.deliveries["campaign"]["sent"] == 8
