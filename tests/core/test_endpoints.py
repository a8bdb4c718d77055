"""Endpoints: a guardian reachable only by SMS is stored and sent to; a channel that refuses a
message (blocked, window closed, quota exhausted) moves it to the person's next endpoint; lane 0
tries every endpoint until one delivers; pacing is per endpoint."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.delivery.channels import ByChannel
from core.delivery.outbox import LANE_URGENT, enqueue
from core.delivery.planning import plan_due_lessons
from core.endpoints.service import add_endpoint, guardian_at, heard_from
from core.errors import Conflict
from core.models import Child, Delivery, Endpoint, Guardian, Household
from core.ports import SendOutcome
from tests.core.outbox_fixtures import ScriptedMessenger, seed_cohort, seed_library
from tests.core.test_outbox import MON_20_SH, make_sender

TG, SMS, WEB = "telegram:10000", "sms:+8613800000000", "web:7f3a"


async def _guardian(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *addresses: str) -> int:
    """One guardian in a cohort with lessons on Monday 20:00, reached at these addresses in order."""
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        cohort = await seed_cohort(session, now=clock(), guardians=0)
        household = Household(cohort_id=cohort.id, created_at=clock())
        session.add(household)
        await session.flush()
        session.add(Child(household_id=household.id, nickname="c", birth_year=2017, birth_month=5,
                          created_at=clock(), updated_at=clock()))
        guardian = Guardian(household_id=household.id, locale="zh-Hans", relationship="grandmother",
                            lives_with_children=True, status="active", consent_version=1, consented_at=clock(),
                            created_at=clock(), updated_at=clock())
        session.add(guardian)
        await session.flush()
        for address in addresses:
            await add_endpoint(session, address=address, now=clock(), guardian_id=guardian.id)
        return guardian.id


async def _rows(sessionmaker: async_sessionmaker[AsyncSession], model: type, *where: object) -> list:
    async with sessionmaker() as session:
        return list((await session.scalars(select(model).where(*where).order_by(model.id))).all())


async def test_a_guardian_reachable_only_by_sms_is_stored_planned_and_sent_to(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    guardian_id = await _guardian(sessionmaker, clock, SMS)
    async with sessionmaker() as session:
        found = await guardian_at(session, address=SMS)
        assert found is not None and found.id == guardian_id
        assert await guardian_at(session, address=TG) is None
    clock.set(MON_20_SH)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1
    messenger = ScriptedMessenger()
    assert (await make_sender(sessionmaker, messenger, clock).drain_once()).sent == 1
    [item] = messenger.sent
    assert (item.address, item.channel, item.kind) == (SMS, "sms", "lesson")
    [row] = await _rows(sessionmaker, Delivery, Delivery.kind == "lesson")
    assert (row.address, row.state, row.provider_message_id) == (SMS, "sent", "2")


async def test_one_address_is_never_two_guardians(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    first = await _guardian(sessionmaker, clock, SMS)
    async with sessionmaker() as session, session.begin():
        other = Guardian(household_id=(await session.get(Guardian, first)).household_id, locale="zh-Hans",
                         relationship="father", lives_with_children=False, status="active", consent_version=1,
                         consented_at=clock(), created_at=clock(), updated_at=clock())
        session.add(other)
        await session.flush()
        with pytest.raises(Conflict):
            await add_endpoint(session, address=SMS, now=clock(), guardian_id=other.id)


@pytest.mark.parametrize("refusal", ["blocked", "window_closed", "quota_exhausted"])
async def test_a_refusing_channel_moves_the_message_to_the_next_endpoint(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, refusal: str
) -> None:
    guardian_id = await _guardian(sessionmaker, clock, TG, SMS)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    messenger = ScriptedMessenger()
    messenger.then(TG, SendOutcome(status=refusal, error=refusal))  # type: ignore[arg-type]
    sender = make_sender(sessionmaker, messenger, clock)
    stats = await sender.drain_once()
    assert (stats.sent, stats.extra.get("moved")) == (0, 1)
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.address, row.state, row.due_at) == (SMS, "pending", clock())  # not the same endpoint again
    await sender.drain_once()  # another address: no per-chat pause
    assert [o.address for o in messenger.sent] == [TG, SMS]
    [row] = await _rows(sessionmaker, Delivery, Delivery.kind == "lesson")
    assert (row.address, row.state) == (SMS, "sent")
    endpoints = {e.address: e.state for e in await _rows(sessionmaker, Endpoint)}
    assert endpoints == {TG: refusal, SMS: "active"}
    [guardian] = await _rows(sessionmaker, Guardian, Guardian.id == guardian_id)
    assert guardian.unreachable_at is None  # still reachable by SMS
    # The next lesson is planned straight for SMS; writing from Telegram opens it again.
    clock.set(MON_20_SH + timedelta(days=3))
    await plan_due_lessons(sessionmaker, now=clock())
    assert [r.address for r in await _rows(sessionmaker, Delivery)] == [SMS, SMS, SMS]  # lesson, follow-up, lesson
    async with sessionmaker() as session, session.begin():
        await heard_from(session, address=TG, now=clock())
    assert {e.address: e.state for e in await _rows(sessionmaker, Endpoint)} == {TG: "active", SMS: "active"}


async def test_with_no_endpoint_left_a_refusal_ends_the_row_and_the_guardian_is_unreachable(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    guardian_id = await _guardian(sessionmaker, clock, SMS)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    messenger = ScriptedMessenger()
    messenger.then(SMS, SendOutcome(status="window_closed"))
    await make_sender(sessionmaker, messenger, clock).drain_once()
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.state, row.last_error) == ("failed", "window_closed")
    [guardian] = await _rows(sessionmaker, Guardian, Guardian.id == guardian_id)
    assert guardian.unreachable_at == MON_20_SH


async def test_a_pending_row_for_an_endpoint_closed_meanwhile_goes_to_the_next_one(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    guardian_id = await _guardian(sessionmaker, clock, TG, SMS)
    clock.set(MON_20_SH)
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address=TG, kind="campaign", ref="campaign:1", cycle="1", lane=2, due_at=clock(),
                      now=clock(), guardian_id=guardian_id, payload={"text": "hi", "locale": "zh-Hans"})
        await enqueue(session, address=TG, kind="campaign", ref="campaign:2", cycle="1", lane=2,
                      due_at=clock() + timedelta(seconds=5), now=clock(), guardian_id=guardian_id,
                      payload={"text": "hi", "locale": "zh-Hans"})
    messenger = ScriptedMessenger()
    messenger.then(TG, SendOutcome(status="blocked"))
    sender = make_sender(sessionmaker, messenger, clock)
    await sender.drain_once()  # campaign 1: blocked on Telegram, moved to SMS
    clock.advance(seconds=5)
    await sender.drain_once()  # both now go to SMS (campaign 2 rerouted at claim), one per second
    clock.advance(seconds=1)
    await sender.drain_once()
    assert [o.address for o in messenger.sent] == [TG, SMS, SMS]
    assert {(r.ref, r.address, r.state) for r in await _rows(sessionmaker, Delivery)} == {
        ("campaign:1", SMS, "sent"), ("campaign:2", SMS, "sent")}


async def test_lane_0_tries_every_endpoint_until_one_delivers(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """A safety message: Telegram is down (transient), SMS refuses it for good (permanent) — both
    would have meant a retry on the same endpoint before; it goes out on the web endpoint."""
    guardian_id = await _guardian(sessionmaker, clock, TG, SMS, WEB)
    clock.set(MON_20_SH)
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address=TG, kind="safety", ref="checkin:1:safety", cycle="1", lane=LANE_URGENT,
                      due_at=clock(), now=clock(), guardian_id=guardian_id, payload={"safety": {}})
    messenger = ScriptedMessenger()
    messenger.then(TG, SendOutcome(status="transient", error="network_error"))
    messenger.then(SMS, SendOutcome(status="permanent", error="bad_request"))
    sender = make_sender(sessionmaker, messenger, clock)
    for _ in range(3):
        await sender.drain_once()
    assert [o.address for o in messenger.sent] == [TG, SMS, WEB]
    assert all("_tried" not in o.content for o in messenger.sent)
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.address, row.state, row.payload) == (WEB, "sent", {"safety": {}})
    # Failures that are not refusals leave the endpoints open.
    assert {e.state for e in await _rows(sessionmaker, Endpoint)} == {"active"}


async def test_lane_0_starts_a_new_round_after_every_endpoint_failed_and_bulk_rows_stay_put(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    guardian_id = await _guardian(sessionmaker, clock, TG, SMS)
    clock.set(MON_20_SH)
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address=TG, kind="safety", ref="checkin:1:safety", cycle="1", lane=LANE_URGENT,
                      due_at=clock(), now=clock(), guardian_id=guardian_id, payload={"safety": {}})
        await enqueue(session, address=TG, kind="campaign", ref="campaign:1", cycle="1", lane=2, due_at=clock(),
                      now=clock(), guardian_id=guardian_id, payload={"text": "hi", "locale": "zh-Hans"})
    messenger = ScriptedMessenger()
    down = SendOutcome(status="transient", error="network_error")
    messenger.then(TG, down, down)
    messenger.then(SMS, down)
    sender = make_sender(sessionmaker, messenger, clock)
    await sender.drain_once()  # safety → TG fails; the campaign waits its second (same chat)
    await sender.drain_once()  # safety → SMS fails: every endpoint tried
    safety, campaign = await _rows(sessionmaker, Delivery)
    assert (safety.address, safety.state, safety.payload) == (TG, "pending", {"safety": {}})
    assert safety.due_at > clock()  # the backoff, then a new round from the first endpoint
    clock.advance(seconds=1)
    await sender.drain_once()  # the campaign: one network error on TG, retried there later
    _, campaign = await _rows(sessionmaker, Delivery)
    assert (campaign.address, campaign.state) == (TG, "pending")


async def test_pacing_is_per_endpoint(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """One message per second to an endpoint; two endpoints of the same person are two endpoints."""
    guardian_id = await _guardian(sessionmaker, clock, TG, SMS)
    clock.set(MON_20_SH)
    async with sessionmaker() as session, session.begin():
        for n, address in enumerate((TG, TG, SMS)):
            await enqueue(session, address=address, kind="campaign", ref=f"campaign:{n}", cycle="1", lane=2,
                          due_at=clock(), now=clock(), guardian_id=guardian_id,
                          payload={"text": "hi", "locale": "zh-Hans"})
    messenger = ScriptedMessenger()
    stats = await make_sender(sessionmaker, messenger, clock).drain_once()
    assert (stats.sent, stats.deferred) == (2, 1)
    assert sorted(o.address for o in messenger.sent) == sorted([TG, SMS])


async def test_each_row_goes_to_the_adapter_of_its_channel(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    guardian_id = await _guardian(sessionmaker, clock, TG, SMS)
    clock.set(MON_20_SH)
    async with sessionmaker() as session, session.begin():
        for n, address in enumerate((TG, SMS)):
            await enqueue(session, address=address, kind="campaign", ref=f"campaign:{n}", cycle="1", lane=2,
                          due_at=clock(), now=clock(), guardian_id=guardian_id,
                          payload={"text": "hi", "locale": "zh-Hans"})
        await enqueue(session, address=WEB, kind="campaign", ref="campaign:9", cycle="1", lane=2, due_at=clock(),
                      now=clock(), payload={"text": "hi", "locale": "zh-Hans"})
    telegram, sms = ScriptedMessenger(), ScriptedMessenger()
    await make_sender(sessionmaker, ByChannel({"telegram": telegram, "sms": sms}), clock).drain_once()
    assert ([o.address for o in telegram.sent], [o.address for o in sms.sent]) == ([TG], [SMS])
    [web] = await _rows(sessionmaker, Delivery, Delivery.address == WEB)
    assert (web.state, web.last_error) == ("pending", "no adapter for channel web")  # waits, is not refused


# ------------------------------------------------------------------ an endpoint that opens again


async def _campaign(session: AsyncSession, clock: FrozenClock, guardian_id: int, address: str, n: int, *,
                    state: str = "pending", last_error: str | None = None, kind: str = "campaign") -> None:
    row = await enqueue(session, address=address, kind=kind, ref=f"campaign:{n}", cycle="1",  # type: ignore[arg-type]
                        lane=2, due_at=clock(), now=clock(), guardian_id=guardian_id,
                        payload={"text": "hi", "locale": "zh-Hans", "message_id": "5"})
    assert row is not None
    row.state, row.last_error = state, last_error
    if state == "sending":
        row.lease_until = clock() + timedelta(minutes=5)


def _ref(row: Delivery) -> str:
    return "delivery" if row.ref_kind == "delivery" else row.ref  # a follow-up's: "delivery:<lesson's id>"


async def test_rows_waiting_on_the_fallback_come_back_when_the_first_endpoint_opens_again(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Telegram's window closed: Monday's lesson went by SMS, and what came after was planned for
    SMS. She writes on Telegram again: what nobody has claimed yet goes there; what was sent, what
    a sender holds, an edit and what Telegram cannot carry stay; nothing is sent twice."""
    guardian_id = await _guardian(sessionmaker, clock, TG, SMS)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    messenger = ScriptedMessenger()
    messenger.then(TG, SendOutcome(status="window_closed", error="window_closed"))
    sender = make_sender(sessionmaker, messenger, clock)
    await sender.drain_once()  # refused on Telegram: moved to SMS
    await sender.drain_once()  # sent by SMS; its follow-up is planned for SMS
    clock.set(MON_20_SH + timedelta(days=3))
    await plan_due_lessons(sessionmaker, now=clock())  # Thursday's lesson: planned straight for SMS
    async with sessionmaker() as session, session.begin():
        await _campaign(session, clock, guardian_id, SMS, 1, state="sending")  # a sender holds it
        await _campaign(session, clock, guardian_id, SMS, 2, last_error="unsupported at telegram")
        await _campaign(session, clock, guardian_id, SMS, 3, kind="checkin_taken")  # an edit
        await _campaign(session, clock, guardian_id, TG, 4, state="sent")  # already there…
        await _campaign(session, clock, guardian_id, SMS, 4)  # …so this copy is not needed
        await _campaign(session, clock, guardian_id, TG, 5, state="failed", last_error="window_closed")
        await _campaign(session, clock, guardian_id, SMS, 5)  # the only live copy: stays
    before = {(r.kind, _ref(r), r.address, r.state) for r in await _rows(sessionmaker, Delivery)}
    assert {("lesson", "schedule", SMS, "sent"), ("lesson_followup", "delivery", SMS, "pending"),
            ("lesson", "schedule", SMS, "pending")} <= before

    async with sessionmaker() as session, session.begin():
        # Her clock's time zone, not UTC: the same instant, stored as UTC on SQLite too.
        await heard_from(session, address=TG, now=clock().astimezone(timezone(timedelta(hours=8))))
    [telegram] = await _rows(sessionmaker, Endpoint, Endpoint.address == TG)
    assert (telegram.state, telegram.state_changed_at) == ("active", clock())

    after = {(r.kind, _ref(r), r.address, r.state, r.last_error) for r in await _rows(sessionmaker, Delivery)}
    assert after == {
        ("lesson", "schedule", SMS, "sent", None),  # sent: never moves
        ("lesson_followup", "delivery", TG, "pending", None),  # back where she is talking
        ("lesson", "schedule", TG, "pending", None),
        ("campaign", "campaign:1", SMS, "sending", None),
        ("campaign", "campaign:2", SMS, "pending", "unsupported at telegram"),
        ("checkin_taken", "campaign:3", SMS, "pending", None),
        ("campaign", "campaign:4", TG, "sent", None),
        ("campaign", "campaign:4", SMS, "cancelled", "already at telegram"),
        ("campaign", "campaign:5", TG, "failed", "window_closed"),
        ("campaign", "campaign:5", SMS, "pending", None),
    }

    # The sender sends each message once, Thursday's lesson on Telegram.
    sent_before = len(messenger.sent)
    for _ in range(5):
        await sender.drain_once()
        clock.advance(seconds=1)
    sent = [(o.address, o.kind, o.content.get("text")) for o in messenger.sent[sent_before:]]
    assert ("telegram:10000", "lesson") in {(a, k) for a, k, _ in sent}
    assert sorted(k for a, k, _ in sent if a == SMS) == ["campaign", "campaign", "checkin_taken"]  # 2, 5, edit
    keys = [(r.kind, r.ref, r.cycle) for r in await _rows(sessionmaker, Delivery, Delivery.state == "sent")]
    assert len(keys) == len(set(keys))  # no message went out at two endpoints
    [guardian] = await _rows(sessionmaker, Guardian, Guardian.id == guardian_id)
    assert guardian.unreachable_at is None


async def test_an_endpoint_added_again_takes_its_rows_back_and_a_plain_write_moves_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    from sqlalchemy import event, update

    guardian_id = await _guardian(sessionmaker, clock, TG, SMS)
    clock.set(MON_20_SH)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Endpoint).where(Endpoint.address == TG).values(state="blocked"))
        await _campaign(session, clock, guardian_id, SMS, 1)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = sessionmaker.kw["bind"].sync_engine
    # A write from the SMS endpoint, open all along: nothing moves, no more statements than before.
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with sessionmaker() as session, session.begin():
            await heard_from(session, address=SMS, now=clock())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith(("UPDATE", "SELECT"))]) == 2
    [row] = await _rows(sessionmaker, Delivery)
    assert row.address == SMS
    # Linked again (as enrolment or the web pages do): the endpoint reopens, the row comes back.
    async with sessionmaker() as session, session.begin():
        await add_endpoint(session, address=TG, now=clock(), guardian_id=guardian_id)
    [row] = await _rows(sessionmaker, Delivery)
    assert (row.address, row.state) == (TG, "pending")


async def test_a_slot_sent_by_the_fallback_is_not_planned_again_when_the_first_endpoint_opens(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """The planner plans the latest slot on every tick for two days: once Telegram opens again it
    must not plan Monday's lesson a second time there, after it went by SMS."""
    await _guardian(sessionmaker, clock, TG, SMS)
    clock.set(MON_20_SH)
    await plan_due_lessons(sessionmaker, now=clock())
    messenger = ScriptedMessenger()
    messenger.then(TG, SendOutcome(status="window_closed", error="window_closed"))
    sender = make_sender(sessionmaker, messenger, clock)
    await sender.drain_once()
    await sender.drain_once()
    clock.advance(hours=12)
    async with sessionmaker() as session, session.begin():
        await heard_from(session, address=TG, now=clock())
    assert await plan_due_lessons(sessionmaker, now=clock()) == 0
    await sender.drain_once()
    assert [(r.address, r.state) for r in await _rows(sessionmaker, Delivery, Delivery.kind == "lesson")] == [
        (SMS, "sent")]
    assert [o.kind for o in messenger.sent].count("lesson") == 2  # refused on Telegram, sent by SMS: once
