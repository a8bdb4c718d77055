"""The sender reads each channel's capabilities (core.ports.Capabilities): a kind a channel
declares unsupported is never handed to it and moves to the person's next endpoint (or fails
"unsupported on <channel>"); an edit for a channel that cannot edit becomes a new message, or is
settled when a new message would say nothing useful."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.delivery.channels import ByChannel
from core.delivery.hooks import SenderHooks
from core.delivery.outbox import LANE_CHECKIN, LANE_URGENT, enqueue
from core.delivery.planning import plan_due_lessons
from core.messages import MessageKind
from core.models import Delivery, Endpoint, Guardian
from core.delivery.ratelimit import TokenBucket
from core.delivery.sender import Sender, SenderConfig
from core.ports import Capabilities, Messenger, SendOutcome
from tests.core.outbox_fixtures import ScriptedMessenger
from tests.core.test_endpoints import SMS, TG, WEB, _guardian, _rows
from tests.core.test_message_kinds import SAMPLES
from tests.core.test_outbox import MON_20_SH, FakeTime, make_sender


class Limited(ScriptedMessenger):
    """A channel like the web pages or a chat app with a reply window: no edits, no buttons."""

    def __init__(self, *unsupported: MessageKind) -> None:
        super().__init__()
        self.capabilities = Capabilities(can_edit=False, buttons=False, max_text=1000, media=frozenset(),
                                         reply_window=timedelta(hours=48), unsupported=frozenset(unsupported))


def bare_sender(sessionmaker: async_sessionmaker[AsyncSession], messenger: Messenger, clock: FrozenClock) -> Sender:
    """A sender with no domain hooks: the rows' payloads go out as they are (default edit kinds)."""
    fake = FakeTime()
    return Sender(sessionmaker, messenger, hooks=SenderHooks(), clock=clock, config=SenderConfig(),
                  bucket=TokenBucket(25.0, monotonic=fake.monotonic, sleep=fake.sleep))


async def test_an_unsupported_kind_moves_to_the_next_endpoint_without_asking_the_channel(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _guardian(sessionmaker, clock, WEB, TG)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    web, telegram = Limited(MessageKind.LESSON), ScriptedMessenger()
    sender = make_sender(sessionmaker, ByChannel({"web": web, "telegram": telegram}), clock)  # type: ignore[arg-type]
    stats = await sender.drain_once()
    assert (stats.sent, stats.extra.get("moved")) == (0, 1)
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.address, row.state, row.last_error) == (TG, "pending", "unsupported at web")
    await sender.drain_once()
    assert web.sent == [] and [(o.address, o.kind) for o in telegram.sent] == [(TG, MessageKind.LESSON)]
    [row] = await _rows(sessionmaker, Delivery, Delivery.kind == MessageKind.LESSON)
    assert (row.address, row.state) == (TG, "sent")
    # The web endpoint did nothing wrong: it stays open for the kinds it carries.
    assert {e.address: e.state for e in await _rows(sessionmaker, Endpoint)} == {WEB: "active", TG: "active"}


async def test_with_no_endpoint_left_an_unsupported_kind_fails_and_the_person_stays_reachable(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    guardian_id = await _guardian(sessionmaker, clock, SMS)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    sms = Limited(MessageKind.LESSON)
    stats = await make_sender(sessionmaker, ByChannel({"sms": sms}), clock).drain_once()  # type: ignore[arg-type]
    assert (stats.sent, stats.failed) == (0, 1) and sms.sent == []
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.state, row.last_error) == ("failed", "unsupported on sms")
    [guardian] = await _rows(sessionmaker, Guardian, Guardian.id == guardian_id)
    assert guardian.unreachable_at is None
    assert [e.state for e in await _rows(sessionmaker, Endpoint)] == ["active"]


async def test_a_message_moving_on_skips_the_endpoints_that_cannot_carry_it(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Lane 0: Telegram times out and SMS cannot carry a safety message, so the round ends at once
    and starts again at Telegram after its backoff, rather than the message going to SMS to fail
    there (or being given up)."""
    guardian_id = await _guardian(sessionmaker, clock, TG, SMS)
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address=TG, kind=MessageKind.SAFETY, ref="checkin:1", cycle="1", lane=LANE_URGENT,
                      due_at=clock(), now=clock(), guardian_id=guardian_id, payload=dict(SAMPLES[MessageKind.SAFETY]))
    telegram, sms = ScriptedMessenger(), Limited(MessageKind.SAFETY)
    telegram.then(TG, SendOutcome(status="transient", error="timeout"))
    sender = make_sender(sessionmaker, ByChannel({"telegram": telegram, "sms": sms}), clock)  # type: ignore[arg-type]
    await sender.drain_once()
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.address, row.state, row.last_error) == (TG, "pending", "timeout")
    clock.advance(minutes=5)
    await sender.drain_once()
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.address, row.state) == (TG, "sent") and sms.sent == []
    # A refusal skips it too: blocked on Telegram, nowhere left that carries it.
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address=TG, kind=MessageKind.SAFETY, ref="checkin:2", cycle="1", lane=LANE_URGENT,
                      due_at=clock(), now=clock(), guardian_id=guardian_id, payload=dict(SAMPLES[MessageKind.SAFETY]))
    telegram.then(TG, SendOutcome(status="blocked", error="forbidden"))
    clock.advance(seconds=5)
    await sender.drain_once()
    row = (await _rows(sessionmaker, Delivery))[-1]
    assert (row.address, row.state) == (TG, "blocked") and sms.sent == []


async def test_where_a_channel_cannot_edit_an_edit_becomes_a_new_message_or_is_settled(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    address = "web:director"
    async with sessionmaker() as session, session.begin():
        for kind in (MessageKind.ALERT_UPDATE, MessageKind.INBOX_UPDATE, MessageKind.CHECKIN_TAKEN):
            await enqueue(session, address=address, kind=kind, ref=f"{kind}:1", cycle="1", lane=LANE_CHECKIN,
                          due_at=clock(), now=clock(), payload=dict(SAMPLES[kind]))
    web = Limited()
    sender = bare_sender(sessionmaker, web, clock)
    for _ in range(3):  # one message a second per endpoint
        await sender.drain_once()
        clock.advance(seconds=2)
    # The alert's card as it stands now, and the inbox card, as new messages with no edit target.
    assert sorted(o.kind for o in web.sent) == [MessageKind.ALERT, MessageKind.INBOX_FORWARD]
    [card] = [o for o in web.sent if o.kind == MessageKind.ALERT]
    assert card.content["card"]["alert_id"] == 4 and "message_id" not in card.content
    [forward] = [o for o in web.sent if o.kind == MessageKind.INBOX_FORWARD]
    assert forward.content["card"]["item_id"] == 6 and forward.content["copy"] is None
    assert "message_id" not in forward.content
    rows = {r.kind: r for r in await _rows(sessionmaker, Delivery)}
    assert rows[MessageKind.ALERT_UPDATE].state == rows[MessageKind.INBOX_UPDATE].state == "sent"
    taken = rows[MessageKind.CHECKIN_TAKEN]
    assert (taken.state, taken.last_error) == ("skipped", "cannot edit on web")

    # The same rows to a channel that can edit go out as edits.
    telegram = ScriptedMessenger()
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address=TG, kind=MessageKind.CHECKIN_TAKEN, ref="checkin_taken:2", cycle="1",
                      lane=LANE_CHECKIN, due_at=clock(), now=clock(), payload=dict(SAMPLES[MessageKind.CHECKIN_TAKEN]))
    await bare_sender(sessionmaker, telegram, clock).drain_once()
    assert [(o.kind, o.content["message_id"]) for o in telegram.sent] == [(MessageKind.CHECKIN_TAKEN, "55")]


async def test_an_edit_whose_replacement_the_channel_cannot_carry_is_settled(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address=SMS, kind=MessageKind.ALERT_UPDATE, ref="alert:4:56", cycle="1",
                      lane=LANE_URGENT, due_at=clock(), now=clock(), payload=dict(SAMPLES[MessageKind.ALERT_UPDATE]))
    sms = Limited(MessageKind.ALERT, MessageKind.ALERT_UPDATE)
    await bare_sender(sessionmaker, ByChannel({"sms": sms}), clock).drain_once()
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.state, row.last_error) == ("skipped", "cannot edit on sms") and sms.sent == []


async def test_a_stored_kind_the_catalogue_does_not_know_fails_without_reaching_a_channel(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address=TG, kind="from_the_future", ref="x", cycle="1",  # type: ignore[arg-type]
                      lane=LANE_CHECKIN, due_at=clock(), now=clock())
    telegram = ScriptedMessenger()
    stats = await bare_sender(sessionmaker, telegram, clock).drain_once()
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.state, row.last_error, stats.failed) == ("failed", "unknown kind from_the_future", 1)
    assert telegram.sent == []


def test_by_channel_answers_for_each_channel_and_for_all_of_them() -> None:
    telegram, web = ScriptedMessenger(), Limited(MessageKind.SAFETY)
    both = ByChannel({"telegram": telegram, "web": web})  # type: ignore[dict-item]
    assert both.capabilities_of("telegram") is telegram.capabilities
    assert both.capabilities_of("web") is web.capabilities
    assert both.capabilities_of("wechat") is None  # no adapter here: the sender cannot tell
    common = both.capabilities
    assert (common.can_edit, common.buttons, common.max_text) == (False, False, 1000)
    assert (common.reply_window, common.unsupported) == (timedelta(hours=48), {MessageKind.SAFETY})
