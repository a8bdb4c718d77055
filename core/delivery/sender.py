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
guardian is marked unreachable, an alert escalates."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.delivery import outbox
from core.delivery.hooks import SenderHooks
from core.delivery.outbox import (
    BLOCKED, BULK_LEASE, CANCELLED, FAILED, LANE_URGENT, PENDING, SENT, URGENT_LEASE, Claimed, claim,
    defer_for_quiet_hours, lesson_content, lessons_by_key, recipient_problem, renew_leases, resolve_lessons,
)
from core.delivery.ratelimit import Aimd, TokenBucket
from core.endpoints.service import REFUSALS, first_address, next_address, refused, usable
from core.models import Delivery, Endpoint
from core.ports import Messenger, Outgoing, SendOutcome

log = logging.getLogger(__name__)

PER_ENDPOINT_INTERVAL = timedelta(seconds=1)  # Telegram: 1 message per second per chat
# Kinds that must reach a person (SenderHooks.persistent_kinds) are retried on network and server
# errors for as long as it takes, at most this far apart.
PERSISTENT_BACKOFF_CAP = timedelta(minutes=2)


BULK_LANES = (1, 2)
TRIED = "_tried"  # in a lane-0 row's payload: the addresses this round has tried


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
            await resolve_lessons(session, items=live, today=now.date())
            library = await lessons_by_key(session, deliveries=[i.delivery for i in live])
            resolved: dict[int, dict[str, Any]] = {}
            for resolve in self.hooks.resolvers:
                for delivery_id, found in (await resolve(session, items=live, now=now)).items():
                    resolved.setdefault(delivery_id, {}).update(found)
            for item in live:
                d = item.delivery
                if d.state != outbox.SENDING:
                    continue  # e.g. skipped: programme complete, check-in answered, alert handled
                found = resolved.get(d.id, {})
                locale = item.guardian.locale if item.guardian else (
                    found.get("locale") or (d.payload or {}).get("locale", "zh-Hans"))
                content = dict(d.payload or {})
                content.pop(TRIED, None)
                if d.kind in ("lesson", "lesson_followup", "campaign") and d.lesson_id:
                    content.update(lesson_content(library.get((d.lesson_id, d.lesson_version or 0)), locale=locale))
                content.update(found)
                ready.append((item, Outgoing(delivery_id=d.id, address=d.address, kind=d.kind, locale=locale,
                                             content=content, lane=d.lane,
                                             paid_broadcast=self.paid_bucket is not None and d.lane in BULK_LANES)))
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
            to = await first_address(session, guardian_id=d.guardian_id, staff_id=d.staff_id, now=now)
            if to is None or await _taken(session, d, to):
                d.state, d.last_error = CANCELLED, "unreachable" if to is None else "already at next"
            else:
                d.address = to

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
            await self.budget_for(item.lane).acquire(lane=item.lane)
            tasks.append(asyncio.create_task(one(item)))
        return list(await asyncio.gather(*tasks))

    async def _record(self, results: list[tuple[Claimed, SendOutcome]], stats: DrainStats) -> None:
        if not results:
            return
        now = self.clock()
        updates: list[dict[str, Any]] = []
        # Rows a channel refused, or lane-0 rows that failed: the next endpoint decides (below).
        elsewhere: list[tuple[Claimed, SendOutcome]] = []
        followups: list[Delivery] = []
        for item, outcome in results:
            d = item.delivery
            row: dict[str, Any] = {"id": d.id, "lease_until": None}
            if outcome.status == "sent":
                row.update(outbox.sent_values(message_id=outcome.message_id, now=now, error=outcome.error))
                if (d.payload or {}).get(TRIED):
                    row["payload"] = {k: v for k, v in d.payload.items() if k != TRIED}
                self._last_sent[d.address] = now
                stats.sent += 1
                if d.kind == "lesson":
                    followups.append(d)
            elif outcome.status == "rate_limited":
                wait = max(outcome.retry_after or 1.0, 0.0)  # the bucket was paused when it was answered
                row.update(state=PENDING, due_at=now + timedelta(seconds=wait), attempts=d.attempts - 1,
                           last_error="rate_limited")
                stats.retried += 1
            elif _has_person(d) and (outcome.status in REFUSALS or outcome.status == "permanent"
                                     or (d.lane == LANE_URGENT and d.kind not in self.hooks.edit_kinds)):
                # A permanent refusal says this channel cannot carry this message (an SMS template
                # or signature not approved, no SMS notice for the kind): the person's next
                # endpoint may; the endpoint itself stays usable. With none left it fails.
                elsewhere.append((item, outcome))
                continue
            else:
                row.update(self._failure(d, outcome, now=now, stats=stats))
            updates.append(row)
        if len(self._last_sent) > 50_000:
            cutoff = now - PER_ENDPOINT_INTERVAL
            self._last_sent = {k: v for k, v in self._last_sent.items() if v > cutoff}
        async with self._transaction() as session:
            after: list[tuple[Delivery, dict[str, Any], SendOutcome]] = []
            for item, outcome in elsewhere:
                row = {"id": item.delivery.id, "lease_until": None}
                row.update(await self._elsewhere(session, item.delivery, outcome, now=now, stats=stats))
                updates.append(row)
                after.append((item.delivery, row, outcome))
            await session.execute(update(Delivery), updates)
            await outbox.plan_followups(session, lessons=followups, now=now)
            by_id = {item.delivery.id: item.delivery for item, _ in results}
            outcomes = {item.delivery.id: outcome for item, outcome in results}
            for row in updates:
                d = by_id[row["id"]]
                await self._consequences(session, d, row, outcomes[d.id], now=now)

    def _failure(self, d: Delivery, outcome: SendOutcome, *, now: datetime, stats: DrainStats) -> dict[str, Any]:
        """A failure that no other endpoint can help with: retry later, or give up."""
        if outcome.status == "transient" and (d.attempts < self.config.max_attempts
                                                or d.kind in self.hooks.persistent_kinds):
            # Safety messages and alerts are retried until they are delivered, never dropped.
            cap = PERSISTENT_BACKOFF_CAP if d.kind in self.hooks.persistent_kinds else self.config.backoff_cap
            delay = min(self.config.backoff_base * (2 ** min(d.attempts - 1, 16)), cap)
            stats.retried += 1
            return {"state": PENDING, "due_at": now + delay, "last_error": outcome.error or "transient"}
        if outcome.status == "blocked":
            stats.blocked += 1
            return {"state": BLOCKED, "finished_at": now, "last_error": outcome.error or "blocked"}
        stats.failed += 1
        return {"state": FAILED, "finished_at": now, "last_error": outcome.error or outcome.status}

    async def _elsewhere(self, session: AsyncSession, d: Delivery, outcome: SendOutcome, *, now: datetime,
                         stats: DrainStats) -> dict[str, Any]:
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
        to = None if d.kind in self.hooks.edit_kinds else await next_address(
            session, guardian_id=d.guardian_id, staff_id=d.staff_id, now=now, after=d.address, skip=skip)
        if to is not None:
            stats.extra["moved"] = stats.extra.get("moved", 0) + 1
            if await _taken(session, d, to):
                # The same message already waits (or went) there: this copy is not needed.
                stats.cancelled += 1
                return {"state": CANCELLED, "finished_at": now, "last_error": f"{outcome.status}; already at next"}
            payload = {**(d.payload or {}), TRIED: tried} if d.lane == LANE_URGENT else d.payload
            return {"state": PENDING, "address": to, "due_at": now, "attempts": max(d.attempts - 1, 0),
                    "payload": payload, "last_error": f"{outcome.status} at {d.address.partition(':')[0]}"}
        row = self._failure(d, outcome if outcome.status != "window_closed" else
                            SendOutcome(status="permanent", error="window_closed"), now=now, stats=stats)
        if row["state"] == PENDING:
            # A new round for a lane-0 row: from the person's first endpoint, after the backoff.
            first = await first_address(session, guardian_id=d.guardian_id, staff_id=d.staff_id, now=now)
            row["payload"] = {k: v for k, v in (d.payload or {}).items() if k != TRIED}
            if first is not None and first != d.address and not await _taken(session, d, first):
                row["address"] = first
        return row

    async def _consequences(self, session: AsyncSession, d: Delivery, row: dict[str, Any], outcome: SendOutcome,
                            *, now: datetime) -> None:
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
            if d.staff_id is not None and self.hooks.on_staff_blocked is not None:
                await self.hooks.on_staff_blocked(session, staff_id=d.staff_id, payload=d.payload or {}, now=now)
        settled = self.hooks.on_settled.get(d.kind)
        if settled is not None and state in (SENT, BLOCKED, FAILED):
            # Nobody left to reach counts as blocked, whatever the channel called it.
            await settled(session, delivery=d, state=BLOCKED if unreachable else state,
                          error=outcome.error if state == SENT else row.get("last_error"), now=now)

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
