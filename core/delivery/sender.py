"""The sender drains the outbox through a Messenger, paced by a global token bucket and at most
one message per second per endpoint (address). Claims are committed before any HTTP call (the lease), results
are written after; delivery is at-least-once with at most one duplicate per crash.

Lane 0 (safety, alert cards, escalations) has its own loop, a 10-second lease and the first
send slot of the bucket, so it never waits behind a lesson batch. A 429 pauses the bucket for
retry_after and cuts its rate (AIMD; see core.delivery.ratelimit) the moment it is answered, not
after the batch. With paid broadcast on, lanes 1–2 go through their own bucket at the paid rate
with Telegram's allow_paid_broadcast; lane 0 stays on the free budget.

Endpoints: a channel that refuses a row (blocked, window closed, quota exhausted) closes that
endpoint and the row moves to the person's next one; lane-0 rows also move on any other failure,
so a safety message or an alert card tries every endpoint of the person until one delivers. A
person with no endpoint left is handled as before endpoints: the row is blocked (or failed), a
guardian is marked unreachable, an alert escalates.

One send path: a message that must go out at once (the safety message, /lesson, a card redrawn
for the staff member who tapped) is an outbox row too, sent by `deliver_now` through the same
Messenger port; `record` writes every outcome, of a batch or of a send at once, so "sent",
retries and fallback are decided in one place.

Capabilities (core.ports.Capabilities, per channel through ByChannel.capabilities_of): a row whose
kind its address's channel declares unsupported is not handed to the adapter; it moves to the
person's next endpoint as a refused one does (the endpoint itself stays open: it still carries
other kinds), or fails "unsupported on <channel>" with none left. A row moving on (a refusal, a
lane-0 round) skips the endpoints that cannot carry its kind. An edit (core.messages.EDIT_KINDS)
for a channel that cannot edit becomes a new message, or is settled (INSTEAD_OF_EDIT)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.delivery import outbox
from core.delivery.channels import ByChannel
from core.delivery.hooks import SenderHooks
from core.delivery.outbox import (
    BLOCKED, BULK_LEASE, CANCELLED, FAILED, LANE_URGENT, PENDING, SENT, SKIPPED, URGENT_LEASE, Claimed, claim,
    defer_for_quiet_hours, lesson_content, lessons_by_key, recipient_problem, renew_leases, resolve_lessons,
)
from core.delivery.ratelimit import Aimd, TokenBucket
from core.endpoints.service import REFUSALS, first_address, next_address, refused, usable
from core.messages import EDIT_KINDS, LESSON_KINDS, MessageKind
from core.models import Delivery, Endpoint
from core.ports import Capabilities, Messenger, Outgoing, SendOutcome

log = logging.getLogger(__name__)

PER_ENDPOINT_INTERVAL = timedelta(seconds=1)  # Telegram: 1 message per second per chat
# Kinds that must reach a person (SenderHooks.persistent_kinds) are retried on network and server
# errors for as long as it takes, at most this far apart.
PERSISTENT_BACKOFF_CAP = timedelta(minutes=2)


BULK_LANES = (1, 2)
TRIED = "_tried"  # in a lane-0 row's payload: the addresses this round has tried
UNSUPPORTED: Final = "unsupported"  # SendOutcome.status when the channel declares the kind unsupported

# What an edit becomes on a channel that cannot edit (Capabilities.can_edit false). The edit only
# means something where the first message is, so it never moves to another endpoint; instead:
# - alert_update: the card as it stands now, as a new alert card on the same endpoint. A director
#   acts on the card's state (acknowledged, who is on it); a stale card there is worse than one
#   more message. The resolver already drew the current card into the content.
# - inbox_update: the item's card as it stands now, as a new card without the guardian's message
#   copied again (an inbox_forward with no copy): the same reason, an inbox item's state.
# - checkin_taken: nothing. It only greys out another guardian's question; as a new message
#   ("someone else is answering") it would be noise, and that guardian's next tap is answered by
#   the check-in flow anyway. Settled as skipped.
# When the replacement kind is itself unsupported there, the row is skipped too.
INSTEAD_OF_EDIT: dict[MessageKind, MessageKind | None] = {
    MessageKind.ALERT_UPDATE: MessageKind.ALERT,
    MessageKind.INBOX_UPDATE: MessageKind.INBOX_FORWARD,
    MessageKind.CHECKIN_TAKEN: None,
}
assert set(INSTEAD_OF_EDIT) == EDIT_KINDS

# The capabilities of a channel's adapter, or None when the sender cannot tell (no adapter for it
# in this process: ByChannel answers such rows as transient).
CapabilitiesOf = Callable[[str], "Capabilities | None"]


def capabilities_in(messenger: Messenger) -> CapabilitiesOf:
    """How to ask `messenger` what a channel can carry."""
    if isinstance(messenger, ByChannel):
        return messenger.capabilities_of
    # A messenger that declares nothing (a test double) is taken to carry everything.
    caps: Capabilities | None = getattr(messenger, "capabilities", None)
    return lambda _channel: caps


def _cannot_carry(caps_of: CapabilitiesOf, address: str, kind: str) -> bool:
    caps = caps_of(address.partition(":")[0])
    return caps is not None and kind in caps.unsupported


async def _next_for(session: AsyncSession, d: Delivery, caps_of: CapabilitiesOf, *, now: datetime, after: str,
                    skip: tuple[str, ...] = ()) -> str | None:
    """The person's next usable endpoint after `after` whose channel can carry the row's kind."""
    while (to := await next_address(session, guardian_id=d.guardian_id, staff_id=d.staff_id, now=now,
                                     after=after, skip=skip)) is not None:
        if not _cannot_carry(caps_of, to, d.kind):
            return to
        skip = (*skip, to)
    return None


async def _first_for(session: AsyncSession, d: Delivery, caps_of: CapabilitiesOf, *, now: datetime) -> str | None:
    """The person's first usable endpoint whose channel can carry the row's kind."""
    first = await first_address(session, guardian_id=d.guardian_id, staff_id=d.staff_id, now=now)
    if first is None or not _cannot_carry(caps_of, first, d.kind):
        return first
    return await _next_for(session, d, caps_of, now=now, after=first)


def _has_person(d: Delivery) -> bool:
    """Rows to a guardian or a staff member have endpoints to fall back on; a reply to someone
    not enrolled yet (a draft's chat) has only its address."""
    return d.guardian_id is not None or d.staff_id is not None


async def _taken(session: AsyncSession, d: Delivery, address: str) -> bool:
    """Does the outbox already hold this message (same kind, ref, cycle) for that address?"""
    return await session.scalar(select(Delivery.id).where(
        Delivery.address == address, Delivery.kind == d.kind, Delivery.ref == d.ref, Delivery.cycle == d.cycle,
        Delivery.id != d.id)) is not None


@dataclass
class SenderConfig:
    rate: float = 25.0  # messages per second for the whole bot (Telegram allows ~30)
    # Rows claimed at a time. By default about two seconds of sending at the bucket's current
    # (adapted) rate, so a batch never outlasts its lease when 429s cut the rate.
    batch: int | None = None
    lease: timedelta = BULK_LEASE  # lanes 1–2
    urgent_lease: timedelta = URGENT_LEASE  # lane 0: a dead sender's alert is reclaimed in seconds
    urgent_poll: float = 0.5  # seconds between looks for lane-0 rows when there are none
    max_attempts: int = 5
    backoff_base: timedelta = timedelta(seconds=10)
    backoff_cap: timedelta = timedelta(minutes=30)
    concurrency: int = 64
    # Paid broadcast: lanes 1–2 carry allow_paid_broadcast and are paced at paid_rate.
    paid_broadcast: bool = False
    paid_rate: float = 1000.0
    # Never more than ⌊rate⌋ sends that could reach Telegram within one second (see TokenBucket).
    window_guard: float | None = 0.005
    # The free budget starts at Telegram's documented limit and only goes above it by slow start
    # (doubling each second until a 429): a rate set too high never opens with a burst.
    start_rate: float | None = 30.0

    def free_aimd(self) -> Aimd:
        start = None if self.start_rate is None or self.start_rate >= self.rate else self.start_rate
        return Aimd(ceiling=self.rate, start=start)

    def batch_for(self, rate: float) -> int:
        return self.batch if self.batch is not None else max(20, min(500, int(rate * 2)))


@dataclass
class DrainStats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    retried: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Sender:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        messenger: Messenger,
        *,
        clock: Clock,
        config: SenderConfig | None = None,
        bucket: TokenBucket | None = None,
        paid_bucket: TokenBucket | None = None,
        hooks: SenderHooks,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.hooks = hooks  # what the alert, check-in and inbox domains do around a send
        self.messenger = messenger
        self.clock = clock
        self.config = config or SenderConfig()
        self.bucket = bucket or TokenBucket(self.config.rate, window_guard=self.config.window_guard,
                                            aimd=self.config.free_aimd())
        self.paid_bucket = paid_bucket
        if self.paid_bucket is None and self.config.paid_broadcast:
            self.paid_bucket = TokenBucket(self.config.paid_rate, window_guard=self.config.window_guard)
        self._last_sent: dict[str, datetime] = {}  # address → last send
        self._in_flight: set[str] = set()  # addresses claimed and not yet recorded (pipelined batches)
        self._held: dict[int, int] = {}  # delivery id → lane, claimed and not yet recorded
        # SQLite has one writer and no queue: its busy handler lets a writer that retries at once
        # (the bulk loop) starve one that sleeps (the lane-0 loop: "database is locked" after 15 s
        # at 1,000 msg/s). The sender's own transactions take turns here instead, lane 0 first.
        bind = getattr(sessionmaker, "kw", {}).get("bind")
        self._serial = bind is not None and bind.dialect.name == "sqlite"
        self._gate = asyncio.Lock()
        self._urgent_waiting = 0

    @contextlib.asynccontextmanager
    async def _transaction(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        if not self._serial:
            async with self.sessionmaker() as session, session.begin():
                yield session
            return
        if urgent:
            self._urgent_waiting += 1
        try:
            while True:
                await self._gate.acquire()
                if urgent or not self._urgent_waiting:
                    break
                self._gate.release()  # a lane-0 claim is waiting: let it in first
                await asyncio.sleep(0.001)
        finally:
            if urgent:
                self._urgent_waiting -= 1
        try:
            async with self.sessionmaker() as session, session.begin():
                yield session
        finally:
            self._gate.release()

    def budget_for(self, lane: int) -> TokenBucket:
        """Lanes 1–2 use the paid budget when paid broadcast is on; lane 0 never does."""
        if self.paid_bucket is not None and lane in BULK_LANES:
            return self.paid_bucket
        return self.bucket

    def _claim_size(self, lanes: tuple[int, ...] | None) -> int:
        if lanes == (LANE_URGENT,):
            return self.config.batch_for(self.bucket.rate)
        return self.config.batch_for(self.budget_for(BULK_LANES[0]).rate)

    # -------------------------------------------------------------- one batch

    async def drain_once(self) -> DrainStats:
        """Claim one batch, send it, record the results (sequentially; `run` overlaps them)."""
        stats, ready = await self._prepare()
        await self._send_and_record(ready, stats)
        return stats

    async def _prepare(
        self, lanes: tuple[int, ...] | None = None
    ) -> tuple[DrainStats, list[tuple[Claimed, Outgoing]]]:
        """Claim a batch and commit the claim (state, lease, resolved lesson) before any send."""
        stats = DrainStats()
        now = self.clock()
        ready: list[tuple[Claimed, Outgoing]] = []
        async with self._transaction(urgent=lanes == (LANE_URGENT,)) as session:
            items = await claim(session, now=now, limit=self._claim_size(lanes), lease=self.config.lease,
                                urgent_lease=self.config.urgent_lease, lanes=lanes)
            stats.claimed = len(items)
            if not items:
                return stats, ready
            seen: set[str] = set()
            live: list[Claimed] = []
            await self._reroute(session, items=items, now=now)
            for item in items:
                d = item.delivery
                problem = recipient_problem(item) or (d.state == CANCELLED and d.last_error) or None
                if problem:
                    d.state, d.last_error, d.finished_at, d.lease_until = CANCELLED, problem, now, None
                    stats.cancelled += 1
                    continue
                later = defer_for_quiet_hours(item, now)
                last = self._last_sent.get(d.address)
                recent = d.address in seen or d.address in self._in_flight or (
                    last is not None and now - last < PER_ENDPOINT_INTERVAL)
                if later is None and recent:
                    later = now + PER_ENDPOINT_INTERVAL
                if later is not None:
                    d.state, d.due_at, d.lease_until = PENDING, later, None
                    d.attempts -= 1  # waiting is not a failed attempt
                    stats.deferred += 1
                    continue
                seen.add(d.address)
                live.append(item)
            ready = await outgoing_for(session, live, hooks=self.hooks, now=now, caps_of=self.capabilities_of,
                                       paid=self.paid_bucket is not None, stats=stats)
        self._in_flight.update(o.address for _, o in ready)
        self._held.update((o.delivery_id, o.lane) for _, o in ready)
        return stats, ready

    async def _reroute(self, session: AsyncSession, *, items: list[Claimed], now: datetime) -> None:
        """Rows planned for an endpoint that has since closed (another row found it blocked,
        its window closed) go to the person's first usable endpoint instead; with none left
        they are cancelled ("unreachable"), as rows to a blocked chat always were."""
        addresses = {i.delivery.address for i in items
                     if _has_person(i.delivery) and i.delivery.kind not in self.hooks.edit_kinds}
        if not addresses:
            return
        closed = {(e.owner, e.guardian_id or e.staff_id, e.address) for e in (await session.scalars(
            select(Endpoint).where(Endpoint.address.in_(addresses)))).all() if not usable(e, now)}
        if not closed:
            return
        for item in items:
            d = item.delivery
            if not _has_person(d) or d.kind in self.hooks.edit_kinds:
                continue
            owner, person = ("guardian", d.guardian_id) if d.guardian_id is not None else ("staff", d.staff_id)
            if (owner, person, d.address) not in closed:
                continue
            to = await _first_for(session, d, self.capabilities_of, now=now)
            if to is None or await _taken(session, d, to):
                d.state, d.last_error = CANCELLED, "unreachable" if to is None else "already at next"
            else:
                d.address = to

    def capabilities_of(self, channel: str) -> Capabilities | None:
        """What the adapter for `channel` can carry; None when the sender cannot tell."""
        return capabilities_in(self.messenger)(channel)

    def _unsupported(self, item: Outgoing) -> bool:
        return _cannot_carry(self.capabilities_of, item.address, item.kind)

    def _release(self, ready: list[tuple[Claimed, Outgoing]]) -> None:
        self._in_flight.difference_update(o.address for _, o in ready)
        for _, o in ready:
            self._held.pop(o.delivery_id, None)

    async def _send_and_record(self, ready: list[tuple[Claimed, Outgoing]], stats: DrainStats) -> None:
        try:
            outcomes = await self._send_all([o for _, o in ready])
            await self._record([(c, o) for (c, _), o in zip(ready, outcomes)], stats)
        finally:
            self._release(ready)

    async def _send_all(self, items: list[Outgoing]) -> list[SendOutcome]:
        semaphore = asyncio.Semaphore(self.config.concurrency)

        async def one(item: Outgoing) -> SendOutcome:
            if self._unsupported(item):  # not the adapter's to refuse: it declared it cannot
                return SendOutcome(status=UNSUPPORTED, error=f"unsupported on {item.channel}")
            async with semaphore:
                # A 429 may have come back since this send got its slot: it waits out the pause
                # rather than hit a server that is refusing everything meanwhile.
                await self.budget_for(item.lane).wait_unpaused()
                try:
                    outcome = await self.messenger.deliver(item)
                except Exception as exc:  # noqa: BLE001 — a messenger bug must not lose the batch
                    log.exception("messenger failed for delivery %s", item.delivery_id)
                    self.budget_for(item.lane).answered()
                    return SendOutcome(status="transient", error=type(exc).__name__)
            budget = self.budget_for(item.lane)
            if outcome.status == "rate_limited":
                # At once, not after the batch: everyone pauses and the rate is cut.
                try:
                    await budget.rate_limited(outcome.retry_after if outcome.retry_after is not None else 1.0)
                except Exception:  # noqa: BLE001 — the local pause holds even if sharing it failed
                    log.exception("sharing a 429 pause failed")
            elif outcome.status == "sent":
                budget.sent()
            else:
                budget.answered()
            return outcome

        tasks = []
        for item in items:
            if not self._unsupported(item):  # nothing goes out for those: no send slot
                await self.budget_for(item.lane).acquire(lane=item.lane)
            tasks.append(asyncio.create_task(one(item)))
        return list(await asyncio.gather(*tasks))

    async def _record(self, results: list[tuple[Claimed, SendOutcome]], stats: DrainStats) -> None:
        if not results:
            return
        now = self.clock()
        async with self._transaction() as session:
            await record(session, results, hooks=self.hooks, config=self.config, now=now, stats=stats,
                         caps_of=self.capabilities_of)
        for item, outcome in results:
            if outcome.status == "sent":
                self._last_sent[item.delivery.address] = now
        if len(self._last_sent) > 50_000:
            cutoff = now - PER_ENDPOINT_INTERVAL
            self._last_sent = {k: v for k, v in self._last_sent.items() if v > cutoff}

    # -------------------------------------------------------------- forever

    async def run(self, stop: asyncio.Event, *, idle: float = 1.0) -> None:
        """Drain until `stop` is set: lanes 1–2 in pipelined batches (the next batch is claimed
        while the current one is being sent, so database time does not eat into the send rate),
        lane 0 in its own loop that looks every `urgent_poll` seconds and takes the bucket's next
        slot, and a keeper that renews the leases of every row this sender holds."""
        tasks = [
            asyncio.create_task(self._run_bulk(stop, idle=idle)),
            asyncio.create_task(self._run_urgent(stop)),
            asyncio.create_task(self._keep_leases(stop)),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def _run_urgent(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                stats, ready = await self._prepare(lanes=(LANE_URGENT,))
                if ready:
                    await self._send_and_record(ready, stats)
            except Exception:  # noqa: BLE001 — keep looking; the short lease makes a retry safe
                log.exception("sender: lane 0 batch failed")
                stats = DrainStats()
            if not stats.claimed:
                await self._pause(stop, self.config.urgent_poll)

    async def _keep_leases(self, stop: asyncio.Event) -> None:
        every = max(min(self.config.urgent_lease, self.config.lease).total_seconds() / 3, 0.05)
        while not stop.is_set():
            await self._pause(stop, every)
            held = dict(self._held)
            if not held:
                continue
            now = self.clock()
            try:
                async with self._transaction() as session:
                    for urgent in (True, False):
                        ids = [i for i, lane in held.items() if (lane == LANE_URGENT) == urgent]
                        lease = self.config.urgent_lease if urgent else self.config.lease
                        await renew_leases(session, ids=ids, until=now + lease)
            except Exception:  # noqa: BLE001 — the next round tries again
                log.exception("sender: renewing leases failed")

    async def _run_bulk(self, stop: asyncio.Event, *, idle: float) -> None:
        queue: asyncio.Queue[tuple[DrainStats, list[tuple[Claimed, Outgoing]]] | None] = asyncio.Queue(maxsize=1)

        async def produce() -> None:
            try:
                while not stop.is_set():
                    try:
                        stats, ready = await self._prepare(lanes=BULK_LANES)
                    except Exception:  # noqa: BLE001 — keep draining; the lease makes a retry safe
                        log.exception("sender claim failed")
                        stats, ready = DrainStats(), []
                    if ready or stats.claimed:
                        await queue.put((stats, ready))
                        continue
                    await self._pause(stop, idle)
            finally:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        recording: list[asyncio.Task[None]] = []
        try:
            while (batch := await queue.get()) is not None:
                stats, ready = batch
                try:
                    outcomes = await self._send_all([o for _, o in ready])
                except Exception:  # noqa: BLE001 — the leases expire and the rows are retried
                    log.exception("sender batch failed")
                    self._release(ready)
                    continue
                # Write the results while the next batch is being sent; at most two writes pending.
                recording.append(asyncio.create_task(self._record_and_release(ready, outcomes, stats)))
                while len(recording) > 2 or (recording and recording[0].done()):
                    await recording.pop(0)
        finally:
            producer.cancel()
            await asyncio.gather(producer, *recording, return_exceptions=True)

    async def _record_and_release(
        self, ready: list[tuple[Claimed, Outgoing]], outcomes: list[SendOutcome], stats: DrainStats
    ) -> None:
        try:
            await self._record([(c, o) for (c, _), o in zip(ready, outcomes)], stats)
        except Exception:  # noqa: BLE001 — unrecorded rows are sent again after their lease
            log.exception("recording a sender batch failed")
        finally:
            self._release(ready)


# ------------------------------------------------------------------ shared by every send path


async def outgoing_for(session: AsyncSession, live: list[Claimed], *, hooks: SenderHooks, now: datetime,
                       caps_of: CapabilitiesOf, paid: bool = False,
                       stats: DrainStats | None = None) -> list[tuple[Claimed, Outgoing]]:
    """What each claimed row says, fixed now: the lesson it carries, what the domains' resolvers
    fill in (a card as it stands, the current question) in the reader's language. Rows a
    resolver found no longer worth sending are left out (marked skipped by it), and so are edits
    for a channel that cannot edit and have nothing to say instead (INSTEAD_OF_EDIT)."""
    stats = stats if stats is not None else DrainStats()
    ready: list[tuple[Claimed, Outgoing]] = []
    await resolve_lessons(session, items=live, today=now.date())
    library = await lessons_by_key(session, deliveries=[i.delivery for i in live])
    resolved: dict[int, dict[str, Any]] = {}
    for resolve in hooks.resolvers:
        for delivery_id, found in (await resolve(session, items=live, now=now)).items():
            resolved.setdefault(delivery_id, {}).update(found)
    for item in live:
        d = item.delivery
        if d.state != outbox.SENDING:
            continue  # e.g. skipped: programme complete, check-in answered, alert handled
        try:
            kind = MessageKind(d.kind)
        except ValueError:  # a row from a newer version, or a bug: no adapter can render it
            d.state, d.last_error, d.finished_at, d.lease_until = FAILED, f"unknown kind {d.kind}"[:120], now, None
            stats.failed += 1
            continue
        found = resolved.get(d.id, {})
        locale = item.guardian.locale if item.guardian else (
            found.get("locale") or (d.payload or {}).get("locale", "zh-Hans"))
        content = dict(d.payload or {})
        content.pop(TRIED, None)
        if kind in LESSON_KINDS and d.lesson_id:
            content.update(lesson_content(library.get((d.lesson_id, d.lesson_version or 0)), locale=locale))
        content.update(found)
        if kind in EDIT_KINDS:
            caps = caps_of(d.address.partition(":")[0])
            if caps is not None and not caps.can_edit:
                instead = INSTEAD_OF_EDIT[kind]
                if instead is None or instead in caps.unsupported:
                    d.state, d.finished_at, d.lease_until = SKIPPED, now, None
                    d.last_error = f"cannot edit on {d.address.partition(':')[0]}"
                    stats.extra["not_edited"] = stats.extra.get("not_edited", 0) + 1
                    continue
                kind = instead
                content.pop("message_id", None)
                if kind == MessageKind.INBOX_FORWARD:
                    content["copy"] = None
        ready.append((item, Outgoing(delivery_id=d.id, address=d.address, kind=kind, locale=locale,
                                     content=content, lane=d.lane, paid_broadcast=paid and d.lane in BULK_LANES)))
    return ready


async def record(session: AsyncSession, results: list[tuple[Claimed, SendOutcome]], *, hooks: SenderHooks,
                 config: SenderConfig, now: datetime, stats: DrainStats, caps_of: CapabilitiesOf) -> None:
    """Write what the channel answered for each row — the one place that records a send, for the
    sender's batches and for deliver_now alike: sent (outbox.sent_values, a lesson's follow-up
    planned), a 429 (back to the queue after the pause), a refusal or a failed lane-0 row (the
    person's next endpoint), any other failure (retried with backoff, or given up), and what a
    row's end means elsewhere (SenderHooks)."""
    if not results:
        return
    updates: list[dict[str, Any]] = []
    followups: list[Delivery] = []
    after: list[tuple[Claimed, SendOutcome]] = []  # refused rows, or lane-0 rows that failed
    for item, outcome in results:
        d = item.delivery
        row: dict[str, Any] = {"id": d.id, "lease_until": None}
        if outcome.status == "sent":
            row.update(outbox.sent_values(message_id=outcome.message_id, now=now, error=outcome.error))
            if (d.payload or {}).get(TRIED):
                row["payload"] = {k: v for k, v in d.payload.items() if k != TRIED}
            stats.sent += 1
            if d.kind == MessageKind.LESSON:
                followups.append(d)
        elif outcome.status == "rate_limited":
            wait = max(outcome.retry_after or 1.0, 0.0)  # the bucket was paused when it was answered
            row.update(state=PENDING, due_at=now + timedelta(seconds=wait), attempts=d.attempts - 1,
                       last_error="rate_limited")
            stats.retried += 1
        elif _has_person(d) and (outcome.status in REFUSALS or outcome.status in (UNSUPPORTED, "permanent")
                                 or (d.lane == LANE_URGENT and d.kind not in hooks.edit_kinds)):
            # A permanent refusal says this channel cannot carry this message (an SMS template or
            # signature not approved): the person's next endpoint may; the endpoint itself stays
            # usable. With none left it fails.
            after.append((item, outcome))
            continue
        else:
            row.update(_failure(d, outcome, now=now, stats=stats, hooks=hooks, config=config))
        updates.append(row)
    for item, outcome in after:
        row = {"id": item.delivery.id, "lease_until": None}
        row.update(await _elsewhere(session, item.delivery, outcome, now=now, stats=stats, hooks=hooks,
                                    config=config, caps_of=caps_of))
        updates.append(row)
    await session.execute(update(Delivery), updates)
    await outbox.plan_followups(session, lessons=followups, now=now)
    by_id = {item.delivery.id: item.delivery for item, _ in results}
    outcomes = {item.delivery.id: outcome for item, outcome in results}
    for row in updates:
        d = by_id[row["id"]]
        await _consequences(session, d, row, outcomes[d.id], now=now, hooks=hooks)


def _failure(d: Delivery, outcome: SendOutcome, *, now: datetime, stats: DrainStats, hooks: SenderHooks,
             config: SenderConfig) -> dict[str, Any]:
    """A failure that no other endpoint can help with: retry later, or give up."""
    if outcome.status == "transient" and (d.attempts < config.max_attempts or d.kind in hooks.persistent_kinds):
        # Safety messages and alerts are retried until they are delivered, never dropped.
        cap = PERSISTENT_BACKOFF_CAP if d.kind in hooks.persistent_kinds else config.backoff_cap
        delay = min(config.backoff_base * (2 ** min(max(d.attempts - 1, 0), 16)), cap)
        stats.retried += 1
        return {"state": PENDING, "due_at": now + delay, "last_error": outcome.error or "transient"}
    if outcome.status == "blocked":
        stats.blocked += 1
        return {"state": BLOCKED, "finished_at": now, "last_error": outcome.error or "blocked"}
    stats.failed += 1
    return {"state": FAILED, "finished_at": now, "last_error": outcome.error or outcome.status}


async def _elsewhere(session: AsyncSession, d: Delivery, outcome: SendOutcome, *, now: datetime, stats: DrainStats,
                     hooks: SenderHooks, config: SenderConfig, caps_of: CapabilitiesOf) -> dict[str, Any]:
    """Move a refused row to the person's next endpoint; a lane-0 row that failed any other
    way moves on too, remembering where it has been, so it tries every endpoint. With nowhere
    left: a refusal ends the row (blocked, or failed for a closed window or a quota), a
    lane-0 row starts the round again after its backoff (or fails if it was permanent)."""
    if outcome.status in REFUSALS:
        await refused(session, address=d.address, guardian_id=d.guardian_id, staff_id=d.staff_id,
                      state=outcome.status, now=now)
    tried = list((d.payload or {}).get(TRIED) or [])
    if d.lane == LANE_URGENT and d.address not in tried:
        tried.append(d.address)
    skip = tuple(tried) if d.lane == LANE_URGENT else ()
    to = None if d.kind in hooks.edit_kinds else await _next_for(
        session, d, caps_of, now=now, after=d.address, skip=skip)
    if to is not None:
        stats.extra["moved"] = stats.extra.get("moved", 0) + 1
        if await _taken(session, d, to):
            # The same message already waits (or went) there: this copy is not needed.
            stats.cancelled += 1
            return {"state": CANCELLED, "finished_at": now, "last_error": f"{outcome.status}; already at next"}
        payload = {**(d.payload or {}), TRIED: tried} if d.lane == LANE_URGENT else d.payload
        return {"state": PENDING, "address": to, "due_at": now, "attempts": max(d.attempts - 1, 0),
                "payload": payload, "last_error": f"{outcome.status} at {d.address.partition(':')[0]}"}
    row = _failure(d, outcome if outcome.status != "window_closed" else
                   SendOutcome(status="permanent", error="window_closed"), now=now, stats=stats, hooks=hooks,
                   config=config)
    if row["state"] == PENDING:
        # A new round for a lane-0 row: from the person's first endpoint, after the backoff.
        first = await _first_for(session, d, caps_of, now=now)
        row["payload"] = {k: v for k, v in (d.payload or {}).items() if k != TRIED}
        if first is not None and first != d.address and not await _taken(session, d, first):
            row["address"] = first
    return row


async def _consequences(session: AsyncSession, d: Delivery, row: dict[str, Any], outcome: SendOutcome, *,
                        now: datetime, hooks: SenderHooks) -> None:
    """What a row's end means elsewhere: nobody left to reach (nothing else waits for that
    address; a staff member's cohort needs someone else), and each kind's own hook once
    settled (an alert card that did not go out, an inbox card that did or did not arrive)."""
    state = row.get("state")
    unreachable = state == BLOCKED or (state == FAILED and outcome.status in REFUSALS)
    if unreachable:
        await session.execute(
            update(Delivery)
            .where(Delivery.address == d.address, Delivery.state == PENDING)
            .values(state=CANCELLED, finished_at=now, last_error="unreachable")
        )
        if d.staff_id is not None and hooks.on_staff_blocked is not None:
            await hooks.on_staff_blocked(session, staff_id=d.staff_id, payload=d.payload or {}, now=now)
    settled = hooks.on_settled.get(d.kind)
    if settled is not None and state in (SENT, BLOCKED, FAILED):
        # Nobody left to reach counts as blocked, whatever the channel called it.
        await settled(session, delivery=d, state=BLOCKED if unreachable else state,
                      error=outcome.error if state == SENT else row.get("last_error"), now=now)


# ------------------------------------------------------------------ at once


# A send at once is given this share of its row's lease: the lease outlives a slow send, so no
# sender takes the row over while its holder is still waiting for the answer.
AT_ONCE_SHARE = 0.8


def at_once_timeout(lane: int, config: SenderConfig) -> float:
    """Seconds a send at once may take: below its row's lease (8 s for lane 0's 10)."""
    return (config.urgent_lease if lane == LANE_URGENT else config.lease).total_seconds() * AT_ONCE_SHARE


async def deliver_now(session: AsyncSession, messenger: Messenger, rows: Sequence[Delivery], *, hooks: SenderHooks,
                      clock: Clock, config: SenderConfig | None = None,
                      channels: Collection[str] | None = None,
                      timeout: float | None = None) -> dict[int, SendOutcome]:
    """Send these outbox rows through `messenger` now — a reply that must not wait in the queue
    (the safety message, /lesson, a card redrawn for the person who tapped) — and record the
    outcome exactly as the sender does (`record`): a row that fails stays in the outbox and the
    sender retries it, edits included.

    The rows are claimed under their lane's lease (those a sender already took are left to it)
    and COMMITTED before any send, with whatever the caller wrote in the same transaction; the
    outcomes are written and committed after. Rows addressed to channels other than `channels`
    (when given) are handed to the sender at once. Each send is cut off below its lease
    (`timeout`, by default at_once_timeout), so a slow send is never sent twice. Returns the
    outcome of each row sent here, by delivery id."""
    config = config or SenderConfig()
    now = clock()
    mine = [d for d in rows if channels is None or d.address.partition(":")[0] in channels]
    await outbox.hand_over(session, [d for d in rows if d not in mine], now=now, error="other_channel")
    items = await outbox.claim_rows(session, mine, now=now, lease=config.lease, urgent_lease=config.urgent_lease)
    caps_of = capabilities_in(messenger)
    ready = await outgoing_for(session, items, hooks=hooks, now=now, caps_of=caps_of)
    await session.commit()  # the claim (and the caller's work) is visible before anything is sent
    if not ready:
        return {}

    async def one(item: Outgoing) -> SendOutcome:
        if _cannot_carry(caps_of, item.address, item.kind):
            return SendOutcome(status=UNSUPPORTED, error=f"unsupported on {item.channel}")
        try:
            return await asyncio.wait_for(messenger.deliver(item),
                                          timeout if timeout is not None else at_once_timeout(item.lane, config))
        except asyncio.TimeoutError:
            return SendOutcome(status="transient", error="timeout")
        except Exception as exc:  # noqa: BLE001 — a messenger bug must not lose the row
            log.exception("messenger failed for delivery %s", item.delivery_id)
            return SendOutcome(status="transient", error=type(exc).__name__)

    outcomes = await asyncio.gather(*(one(o) for _, o in ready))
    await record(session, [(c, o) for (c, _), o in zip(ready, outcomes)], hooks=hooks, config=config,
                 now=clock(), stats=DrainStats(), caps_of=caps_of)
    await session.commit()
    return {o.delivery_id: outcome for (_, o), outcome in zip(ready, outcomes)}
