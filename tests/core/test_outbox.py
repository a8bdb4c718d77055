"""The outbox: double ticks, crash between claim and send, 429, 403, 5xx then success,
quiet hours at send time, and lessons resolved in programme order."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.delivery.outbox import claim
from core.delivery.planning import plan_due_lessons
from core.delivery.ratelimit import TokenBucket
from core.flows.delivery import sender_hooks
from core.delivery.sender import Sender, SenderConfig
from core.models import Delivery
from core.ports import SendOutcome
from tests.core.outbox_fixtures import ScriptedMessenger, seed_cohort, seed_library
from tests.endpoints import guardian_of, tg

MON_20_SH = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # Monday 20:00 in Shanghai
CHAT = 10_000


class FakeTime:
    """Monotonic time and sleep for the token bucket: sleeping only moves the fake time."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.slept += seconds


def make_sender(sessionmaker: async_sessionmaker[AsyncSession], messenger: ScriptedMessenger, clock: FrozenClock,
                **config: object) -> Sender:
    fake = FakeTime()
    cfg = SenderConfig(**config)  # type: ignore[arg-type]
    return Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock, config=cfg,
                  bucket=TokenBucket(cfg.rate, monotonic=fake.monotonic, sleep=fake.sleep))


async def seed(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, guardians: int = 3) -> None:
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        await seed_cohort(session, now=clock(), guardians=guardians)


async def deliveries(sessionmaker: async_sessionmaker[AsyncSession], **where: object) -> list[Delivery]:
    async with sessionmaker() as session:
        query = select(Delivery).order_by(Delivery.id)
        for key, value in where.items():
            query = query.where(getattr(Delivery, key) == value)
        return list((await session.scalars(query)).all())


async def test_double_tick_plans_once(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await seed(sessionmaker, clock)
    clock.set(MON_20_SH)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 3
    assert await plan_due_lessons(sessionmaker, now=clock()) == 0
    clock.advance(minutes=5)
    assert await plan_due_lessons(sessionmaker, now=clock(), chunk=2) == 0  # restart, other chunking
    rows = await deliveries(sessionmaker)
    assert {(d.kind, d.cycle, d.due_at) for d in rows} == {("lesson", "2026-11-23T20:00", MON_20_SH)}


async def test_stale_slot_is_skipped_and_only_latest_slot_planned(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(sessionmaker, clock)
    clock.set(MON_20_SH + timedelta(days=2, minutes=1))  # Wednesday: Monday's slot is > 2 days old
    assert await plan_due_lessons(sessionmaker, now=clock()) == 0
    clock.set(MON_20_SH + timedelta(days=10))  # after downtime: only Thursday 3 Dec's slot
    assert await plan_due_lessons(sessionmaker, now=clock()) == 3
    assert {d.cycle for d in await deliveries(sessionmaker)} == {"2026-12-03T20:00"}


async def test_quiet_hours_move_due_time(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        await seed_cohort(session, now=clock(), guardians=2, schedule={"days": ["mon"], "time": "22:00"})
    clock.set(MON_20_SH + timedelta(hours=2, minutes=1))
    await plan_due_lessons(sessionmaker, now=clock())
    due = {d.due_at for d in await deliveries(sessionmaker)}
    assert due == {datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)}  # Tuesday 08:00 Shanghai


async def test_send_in_programme_order_and_followup(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(sessionmaker, clock, guardians=1)
    messenger = ScriptedMessenger()
    sender = make_sender(sessionmaker, messenger, clock)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    stats = await sender.drain_once()
    assert stats.sent == 1
    clock.set(MON_20_SH + timedelta(days=3))  # Thursday 20:00
    await plan_due_lessons(sessionmaker, now=clock())
    await sender.drain_once()  # the 'did you try it?' follow-up of lesson 1 falls due too…
    clock.advance(seconds=1)
    await sender.drain_once()  # …so the new lesson waits a second (one message per chat per second)
    assert [o.kind for o in messenger.sent] == ["lesson", "lesson_followup", "lesson"]
    sent_lessons = [o.content["lesson_id"] for o in messenger.sent if o.kind == "lesson"]
    assert sent_lessons == ["lesson_1", "lesson_2"]
    assert messenger.sent[0].content["title"] == "lesson_1 zh-Hans"
    followups = await deliveries(sessionmaker, kind="lesson_followup")
    assert [(f.lesson_id, f.due_at) for f in followups][0] == ("lesson_1", MON_20_SH + timedelta(days=3))


async def test_crash_between_claim_and_send_resends_after_lease(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(sessionmaker, clock, guardians=1)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    # A sender claims and commits, then dies before sending.
    async with sessionmaker() as session, session.begin():
        assert len(await claim(session, now=clock(), limit=10, lease=timedelta(minutes=2))) == 1
    messenger = ScriptedMessenger()
    sender = make_sender(sessionmaker, messenger, clock)
    assert (await sender.drain_once()).claimed == 0  # leased: nobody else takes it
    clock.advance(minutes=3)
    assert (await sender.drain_once()).sent == 1
    assert len(messenger.sent) == 1
    [row] = await deliveries(sessionmaker, kind="lesson")
    assert row.state == "sent" and row.attempts == 2


async def test_429_waits_retry_after_then_sends(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(sessionmaker, clock, guardians=1)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    messenger = ScriptedMessenger()
    messenger.then(CHAT, SendOutcome(status="rate_limited", retry_after=7))
    sender = make_sender(sessionmaker, messenger, clock)
    assert (await sender.drain_once()).retried == 1
    [row] = await deliveries(sessionmaker, kind="lesson")
    assert (row.state, row.due_at, row.attempts) == ("pending", MON_20_SH + timedelta(seconds=7), 0)
    assert sender.bucket._paused_until > 0  # the whole sender pauses, not just this chat
    assert (await sender.drain_once()).claimed == 0
    clock.advance(seconds=7)
    assert (await sender.drain_once()).sent == 1
    # The same lesson both times: it was fixed at the first claim.
    assert [o.content["lesson_id"] for o in messenger.sent] == ["lesson_1", "lesson_1"]


async def test_403_marks_unreachable_and_stops_sending(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(sessionmaker, clock, guardians=2)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    messenger = ScriptedMessenger()
    messenger.then(CHAT, SendOutcome(status="blocked", error="bot was blocked by the user"))
    sender = make_sender(sessionmaker, messenger, clock)
    stats = await sender.drain_once()
    assert (stats.sent, stats.blocked) == (1, 1)
    async with sessionmaker() as session:
        blocked = await session.scalar(guardian_of(CHAT))
        assert blocked is not None and blocked.unreachable_at == MON_20_SH
    # Next slot: the blocked guardian is not planned again.
    clock.set(MON_20_SH + timedelta(days=3))
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1


async def test_5xx_retries_with_backoff_then_succeeds_or_fails(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(sessionmaker, clock, guardians=2)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    messenger = ScriptedMessenger()
    err = SendOutcome(status="transient", error="server_error_502")
    messenger.then(CHAT, err, err)  # fails twice, then succeeds
    messenger.then(CHAT + 1, *([err] * 10))  # never succeeds
    sender = make_sender(sessionmaker, messenger, clock, max_attempts=3)
    for _ in range(6):
        await sender.drain_once()
        clock.advance(minutes=5)
    good = (await deliveries(sessionmaker, address=tg(CHAT), kind="lesson"))[0]
    bad = (await deliveries(sessionmaker, address=tg(CHAT + 1), kind="lesson"))[0]
    assert (good.state, good.attempts) == ("sent", 3)
    assert (bad.state, bad.attempts, bad.last_error) == ("failed", 3, "server_error_502")


async def test_paused_and_stopped_guardians_are_not_sent(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(sessionmaker, clock, guardians=2)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    async with sessionmaker() as session, session.begin():
        g = await session.scalar(guardian_of(CHAT))
        assert g is not None
        g.status = "paused"
    messenger = ScriptedMessenger()
    stats = await make_sender(sessionmaker, messenger, clock).drain_once()
    assert (stats.sent, stats.cancelled) == (1, 1)
    assert [o.address for o in messenger.sent] == [tg(CHAT + 1)]


async def test_quiet_hours_rechecked_at_send_time(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(sessionmaker, clock, guardians=1)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    clock.set(MON_20_SH + timedelta(hours=2))  # sender was down until 22:00: now quiet
    messenger = ScriptedMessenger()
    sender = make_sender(sessionmaker, messenger, clock)
    assert (await sender.drain_once()).deferred == 1
    [row] = await deliveries(sessionmaker, kind="lesson")
    assert row.due_at == datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc) and row.attempts == 0
    assert messenger.sent == []


async def test_one_message_per_second_per_chat(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    from core.delivery.outbox import enqueue

    await seed(sessionmaker, clock, guardians=1)
    clock.set(MON_20_SH)
    async with sessionmaker() as session, session.begin():
        for n in range(2):
            await enqueue(session, address=tg(CHAT), kind="campaign", ref=f"campaign:{n}", cycle="1", lane=2,
                          due_at=clock(), now=clock(), payload={"text": "hi", "locale": "zh-Hans"})
    messenger = ScriptedMessenger()
    sender = make_sender(sessionmaker, messenger, clock)
    stats = await sender.drain_once()
    assert (stats.sent, stats.deferred) == (1, 1)
    clock.advance(seconds=1)
    assert (await sender.drain_once()).sent == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "sent")) == 2


async def test_lesson_on_request_reuses_a_failed_try(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    from core.delivery.lessons import take_next_lesson

    await seed(sessionmaker, clock, guardians=1)
    async with sessionmaker() as session, session.begin():
        guardian = await session.scalar(guardian_of(CHAT))
        assert guardian is not None
        first = await take_next_lesson(session, guardian=guardian, address=tg(CHAT), now=clock())
        assert first is not None and first.delivery.lesson_id == "lesson_1"
        # A second request once the first is under way moves on to the next lesson…
        second = await take_next_lesson(session, guardian=guardian, address=tg(CHAT), now=clock())
        assert second is not None and second.delivery.lesson_id == "lesson_2"
        # …and a lesson whose sending failed is offered again on the same row.
        first.delivery.state, first.delivery.attempts, first.delivery.lease_until = "failed", 1, None
        again = await take_next_lesson(session, guardian=guardian, address=tg(CHAT), now=clock())
        assert again is not None and again.delivery.id == first.delivery.id
        # Reserved for the caller again (its lease held), the attempt it made still counted.
        assert (again.delivery.state, again.delivery.attempts) == ("sending", 1)
        assert again.delivery.lease_until is not None


async def test_two_senders_drain_together_without_sending_twice(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Several sender processes share the outbox: FOR UPDATE SKIP LOCKED on PostgreSQL (and the
    write lock on SQLite) give each row to exactly one of them."""
    import asyncio

    await seed(sessionmaker, clock, guardians=40)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    a, b = ScriptedMessenger(), ScriptedMessenger()
    senders = [make_sender(sessionmaker, m, clock, batch=7) for m in (a, b)]
    for _ in range(4):
        await asyncio.gather(*(s.drain_once() for s in senders))
    chats = [o.address for o in a.sent + b.sent]
    assert sorted(chats) == sorted(tg(c) for c in range(CHAT, CHAT + 40))  # every guardian once, nobody twice
    assert a.sent and b.sent  # and both senders did part of the work
