"""The sender knows outbox rows, not the domains above it (core.delivery.hooks): what fills in a
row's content, which kinds are retried until delivered, and what happens once a row is settled
all come in as hooks. Here a kind no domain hooks into is handled end to end with hooks alone."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.delivery.hooks import SenderHooks
from core.delivery.outbox import FAILED, LANE_URGENT, SENT, enqueue
from core.delivery.ratelimit import TokenBucket
from core.delivery.sender import Sender, SenderConfig
from core.messages import MessageKind
from core.models import Delivery
from core.ports import SendOutcome
from tests.core.outbox_fixtures import ScriptedMessenger
from tests.core.test_outbox import FakeTime

PING = MessageKind.INVITE_USED  # a kind whose sending no domain hooks into


async def test_a_kind_is_resolved_retried_and_settled_through_hooks_only(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    settled: list[tuple[str, str, str | None]] = []

    async def resolve(session: AsyncSession, *, items: Any, now: Any) -> dict[int, dict[str, Any]]:
        return {i.delivery.id: {"text": f"hello {i.delivery.ref}"} for i in items if i.delivery.kind == PING}

    async def on_ping(session: AsyncSession, *, delivery: Delivery, state: str, error: str | None, now: Any) -> None:
        settled.append((delivery.ref, state, error))

    hooks = SenderHooks(resolvers=(resolve,), persistent_kinds=frozenset({PING}), on_settled={PING: on_ping})
    messenger = ScriptedMessenger()
    fake = FakeTime()
    config = SenderConfig(max_attempts=1, backoff_base=timedelta(seconds=1))
    sender = Sender(sessionmaker, messenger, hooks=hooks, clock=clock, config=config,
                    bucket=TokenBucket(config.rate, monotonic=fake.monotonic, sleep=fake.sleep))
    async with sessionmaker() as session, session.begin():
        for chat, ref in ((701, "a"), (702, "b")):
            await enqueue(session, address=f"telegram:{chat}", kind=PING, ref=ref, cycle="1", lane=LANE_URGENT, due_at=clock(),
                          now=clock())
    messenger.then(702, SendOutcome(status="transient", error="timeout"), SendOutcome(status="failed", error="bad"))

    await sender.drain_once()
    assert {o.content.get("text") for o in messenger.sent} == {"hello a", "hello b"}  # the resolver's content
    assert settled == [("a", SENT, None)]  # "b" failed once: persistent, so retried despite max_attempts=1
    clock.advance(minutes=1)
    await sender.drain_once()
    assert settled == [("a", SENT, None), ("b", FAILED, "bad")]

    empty = Sender(sessionmaker, messenger, hooks=SenderHooks(), clock=clock, config=config,
                   bucket=TokenBucket(config.rate, monotonic=fake.monotonic, sleep=fake.sleep))
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address="telegram:703", kind=PING, ref="c", cycle="1", lane=LANE_URGENT, due_at=clock(),
                      now=clock())
    await empty.drain_once()  # without hooks the row still goes out, with no content added and no reaction
    assert messenger.sent[-1].content.get("text") is None and len(settled) == 2
