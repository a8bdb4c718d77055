"""One send path: rows sent at once (core.delivery.sender.deliver_now) are claimed, sent through
the Messenger port and recorded exactly as the sender records its batches; what fails stays in
the outbox for the sender. Lane-aware leases: a lane-0 row whose holder died is sent again
within 15 s, a bulk row keeps the bulk lease, and a row a sender took over is never sent twice."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.delivery.outbox import BULK_LEASE, LANE_LESSON, LANE_URGENT, URGENT_LEASE, claim, send_now
from core.delivery.ratelimit import TokenBucket
from core.delivery.sender import Sender, SenderConfig, at_once_timeout, deliver_now
from core.flows.delivery import sender_hooks
from core.models import Delivery
from core.ports import Outgoing, SendOutcome
from tests.core.outbox_fixtures import ScriptedMessenger
from tests.endpoints import tg
from tests.core.test_outbox import FakeTime

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
CHAT = 20_000



def make_sender(sessionmaker: async_sessionmaker[AsyncSession], messenger: object, clock: FrozenClock) -> Sender:
    fake = FakeTime()
    config = SenderConfig()
    return Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock, config=config,  # type: ignore[arg-type]
                  bucket=TokenBucket(config.rate, monotonic=fake.monotonic, sleep=fake.sleep))


async def reserve(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *, lane: int = LANE_URGENT,
                  address: str | None = None, ref: str = "text:1") -> Delivery:
    """A row reserved by a handler (born 'sending' under its lane's lease), committed."""
    async with sessionmaker() as session, session.begin():
        row = await send_now(session, address=address or tg(CHAT), kind="campaign", ref=ref, cycle="1", lane=lane,
                             now=clock(), payload={"text": "hello", "locale": "en"})
        assert row is not None
        return row


async def row_of(sessionmaker: async_sessionmaker[AsyncSession], delivery_id: int) -> Delivery:
    async with sessionmaker() as session:
        row = await session.get(Delivery, delivery_id)
        assert row is not None
        return row


# ------------------------------------------------------------------ lane-aware leases


async def test_a_lane0_row_reserved_by_a_dead_handler_is_sent_within_15_seconds(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    clock.set(T0)
    row = await reserve(sessionmaker, clock)  # the handler dies before sending it
    assert row.lease_until == T0 + URGENT_LEASE and URGENT_LEASE <= timedelta(seconds=15)
    messenger = ScriptedMessenger()
    sender = make_sender(sessionmaker, messenger, clock)
    clock.set(T0 + URGENT_LEASE - timedelta(seconds=1))
    assert (await sender.drain_once()).claimed == 0  # still the handler's: no second copy
    assert messenger.sent == []
    clock.set(T0 + timedelta(seconds=15))
    assert (await sender.drain_once()).sent == 1
    assert [o.delivery_id for o in messenger.sent] == [row.id]
    assert (await row_of(sessionmaker, row.id)).state == "sent"


async def test_a_bulk_lane_reservation_keeps_the_bulk_lease(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    clock.set(T0)
    row = await reserve(sessionmaker, clock, lane=LANE_LESSON)
    assert row.lease_until == T0 + BULK_LEASE == T0 + timedelta(minutes=2)
    messenger = ScriptedMessenger()
    sender = make_sender(sessionmaker, messenger, clock)
    clock.set(T0 + timedelta(seconds=15))
    assert (await sender.drain_once()).claimed == 0
    clock.set(T0 + BULK_LEASE + timedelta(seconds=1))
    assert (await sender.drain_once()).sent == 1


# ------------------------------------------------------------------ deliver_now


async def test_sent_at_once_and_recorded_as_the_sender_records(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    clock.set(T0)
    row = await reserve(sessionmaker, clock)
    messenger = ScriptedMessenger()
    async with sessionmaker() as session:
        outcomes = await deliver_now(session, messenger, [row], hooks=sender_hooks(), clock=clock)
    [outcome] = outcomes.values()
    assert outcome.status == "sent" and [o.content["text"] for o in messenger.sent] == ["hello"]
    stored = await row_of(sessionmaker, row.id)
    assert (stored.state, stored.provider_message_id, stored.attempts, stored.lease_until, stored.sent_at) == (
        "sent", outcome.message_id, 1, None, T0)
    clock.set(T0 + timedelta(minutes=5))
    assert (await make_sender(sessionmaker, messenger, clock).drain_once()).claimed == 0  # nothing twice
    assert len(messenger.sent) == 1


async def test_a_failed_send_stays_in_the_outbox_and_the_sender_retries_it(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    clock.set(T0)
    row = await reserve(sessionmaker, clock)
    messenger = ScriptedMessenger()
    messenger.then(CHAT, SendOutcome(status="transient", error="network_error"))
    async with sessionmaker() as session:
        outcomes = await deliver_now(session, messenger, [row], hooks=sender_hooks(), clock=clock)
    assert outcomes[row.id].status == "transient"
    stored = await row_of(sessionmaker, row.id)
    assert (stored.state, stored.last_error, stored.lease_until) == ("pending", "network_error", None)
    sender = make_sender(sessionmaker, messenger, clock)
    assert (await sender.drain_once()).claimed == 0  # after its backoff, like any failed send
    clock.set(stored.due_at)
    assert (await sender.drain_once()).sent == 1
    assert [o.delivery_id for o in messenger.sent] == [row.id, row.id]  # the failed try, then the one that went
    assert (await row_of(sessionmaker, row.id)).state == "sent"


async def test_a_row_a_sender_took_over_is_not_sent_again(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """The handler was too slow: its lease ran out and a sender claimed the row. The handler's
    late deliver_now leaves it to that sender."""
    clock.set(T0)
    row = await reserve(sessionmaker, clock)
    clock.set(T0 + timedelta(seconds=11))
    async with sessionmaker() as session, session.begin():
        [taken] = await claim(session, now=clock(), limit=10, urgent_lease=URGENT_LEASE)
        assert taken.delivery.id == row.id
    messenger = ScriptedMessenger()
    async with sessionmaker() as session:
        assert await deliver_now(session, messenger, [row], hooks=sender_hooks(), clock=clock) == {}
    assert messenger.sent == []
    assert (await row_of(sessionmaker, row.id)).state == "sending"  # still the sender's


class Hanging:
    """A channel that never answers."""

    def __init__(self) -> None:
        self.tried: list[Outgoing] = []

    async def deliver(self, item: Outgoing) -> SendOutcome:
        self.tried.append(item)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_slow_send_is_cut_off_below_its_lease(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """A send at once never outlives its row's lease, so no sender takes the row over while the
    handler still waits for Telegram: cut off, it is a failed try the sender retries."""
    config = SenderConfig()
    assert at_once_timeout(LANE_URGENT, config) < URGENT_LEASE.total_seconds()
    assert at_once_timeout(LANE_LESSON, config) < BULK_LEASE.total_seconds()
    clock.set(T0)
    row = await reserve(sessionmaker, clock)
    hanging = Hanging()
    async with sessionmaker() as session:
        outcomes = await deliver_now(session, hanging, [row], hooks=sender_hooks(), clock=clock, timeout=0.01)
    assert outcomes[row.id] == SendOutcome(status="transient", error="timeout") and len(hanging.tried) == 1
    stored = await row_of(sessionmaker, row.id)
    assert (stored.state, stored.last_error) == ("pending", "timeout")


async def test_rows_for_another_channel_go_to_the_sender_at_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    clock.set(T0)
    row = await reserve(sessionmaker, clock, address="sms:+8613800000000")
    messenger = ScriptedMessenger()
    async with sessionmaker() as session:
        assert await deliver_now(session, messenger, [row], hooks=sender_hooks(), clock=clock,
                                 channels=("telegram",)) == {}
    assert messenger.sent == []
    assert (await row_of(sessionmaker, row.id)).state == "pending"
    assert (await make_sender(sessionmaker, messenger, clock).drain_once()).sent == 1  # at once, not after a lease
