"""The outbox: planning due lessons into deliveries, claiming them for sending, and recording
what happened. Everything is a row with `due_at`; the unique key makes planning idempotent."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.service import LessonPlanner, audience_for, household_bands
from core.delivery.schedule import QuietHours, WeeklySchedule, cycle_key, latest_slot, next_allowed, parse_hhmm
from core.db import affected_rows, dialect_insert
from core.endpoints.service import guardian_address
from core.locales import localized
from core.messages import MessageKind
from core.models import Cohort, Delivery, Guardian, Household, Lesson
from core.models.delivery import (  # the states, re-exported: the outbox is where rows change state
    BLOCKED as BLOCKED,
    CANCELLED as CANCELLED,
    FAILED as FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    STATES as STATES,
    ref_columns,
)
from core.models.enums import GuardianStatus

LANE_URGENT, LANE_CHECKIN, LANE_LESSON = 0, 1, 2
STALE_AFTER = timedelta(days=2)  # a slot missed by more than this is skipped, not sent late
PLAN_CHUNK = 20_000  # guardians per planning transaction, so answers are never blocked for long

KEY = ["address", "kind", "ref", "cycle"]  # the outbox's unique key (uq_deliveries_key)


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return dialect_insert(session, Delivery)


def lesson_schedule(cohort: Cohort) -> WeeklySchedule | None:
    spec = cohort.lesson_schedule or {}
    if not spec.get("days") or not spec.get("time"):
        return None
    return WeeklySchedule.parse(spec["days"], spec["time"])


@dataclass(frozen=True)
class PlanGroup:
    """Guardians of a cohort who share a time zone and quiet hours share one due time."""

    timezone: str
    quiet_start: str
    quiet_end: str


async def plan_groups(session: AsyncSession, *, cohort: Cohort) -> list[PlanGroup]:
    tz = func.coalesce(Guardian.timezone, literal(cohort.timezone))
    rows = await session.execute(
        select(tz, Guardian.quiet_start, Guardian.quiet_end)
        .join(Household, Household.id == Guardian.household_id)
        .where(Household.cohort_id == cohort.id)
        .distinct()
    )
    return [PlanGroup(*row) for row in rows]


async def guardian_id_range(session: AsyncSession, *, cohort_id: int) -> tuple[int, int] | None:
    row = (
        await session.execute(
            select(func.min(Guardian.id), func.max(Guardian.id))
            .join(Household, Household.id == Guardian.household_id)
            .where(Household.cohort_id == cohort_id)
        )
    ).one()
    return None if row[0] is None else (row[0], row[1])


async def plan_lesson_chunk(
    session: AsyncSession,
    *,
    cohort: Cohort,
    group: PlanGroup,
    now: datetime,
    id_from: int,
    id_to: int,
) -> int:
    """Insert the latest due lesson slot for one group and id range. Returns rows added.

    One INSERT … SELECT … ON CONFLICT DO NOTHING: a second tick, a restart or another worker
    planning the same slot adds nothing, and nor does a tick after the guardian's slot went (or
    waits) at another of their endpoints. Only the latest slot is considered (never a backlog),
    and a slot older than STALE_AFTER is skipped.
    """
    schedule = lesson_schedule(cohort)
    if schedule is None:
        return 0
    tz = ZoneInfo(group.timezone)
    slot = latest_slot(schedule, tz, now)
    if slot is None or now - slot > STALE_AFTER:
        return 0
    quiet = QuietHours(parse_hhmm(group.quiet_start), parse_hhmm(group.quiet_end))
    due = next_allowed(quiet, tz, slot)
    cycle = cycle_key(slot, tz)
    tz_col = func.coalesce(Guardian.timezone, literal(cohort.timezone))
    address = guardian_address()
    source = (
        select(
            address,
            Guardian.id,
            literal(cohort.id),
            literal("lesson"),
            literal("schedule"),
            literal(cycle),
            literal(LANE_LESSON),
            literal(PENDING),
            literal(due, Delivery.due_at.type),
            literal(0),
            literal({}, Delivery.payload.type),
            literal(now, Delivery.created_at.type),
        )
        .join(Household, Household.id == Guardian.household_id)
        .where(
            Household.cohort_id == cohort.id,
            Guardian.status == GuardianStatus.active,
            Guardian.unreachable_at.is_(None),
            Guardian.created_at <= slot,  # enrolled after the slot: their first lesson is the next one
            tz_col == group.timezone,
            Guardian.quiet_start == group.quiet_start,
            Guardian.quiet_end == group.quiet_end,
            Guardian.id >= id_from,
            Guardian.id <= id_to,
            address.is_not(None),
            # Not already planned for them at another endpoint: the row moves (a refusal sent it
            # to SMS, their chat app opening again brings it back) while the slot is still
            # planned each tick, and the unique key only knows the address.
            ~exists().where(Delivery.guardian_id == Guardian.id, Delivery.kind == MessageKind.LESSON,
                            Delivery.ref == "schedule", Delivery.cycle == cycle),
        )
    )
    stmt = (
        _insert(session)
        .from_select(
            ["address", "guardian_id", "cohort_id", "kind", "ref", "cycle", "lane", "state", "due_at",
             "attempts", "payload", "created_at"],
            source,
        )
        .on_conflict_do_nothing(index_elements=KEY)
    )
    result = await session.execute(stmt)
    return max(affected_rows(result) or 0, 0)


async def _insert_once(session: AsyncSession, **values: Any) -> Delivery | None:
    """One delivery unless its key (address, kind, ref, cycle) exists: the new row, or None."""
    new_id = (await session.execute(
        _insert(session).values(**values, **ref_columns(values["ref"]))
        .on_conflict_do_nothing(index_elements=KEY)
        .returning(Delivery.id)
    )).scalar()
    return None if new_id is None else await session.get(Delivery, new_id)


async def enqueue(
    session: AsyncSession,
    *,
    address: str,
    kind: MessageKind,
    ref: str,
    cycle: str,
    lane: int,
    due_at: datetime,
    now: datetime,
    guardian_id: int | None = None,
    cohort_id: int | None = None,
    payload: dict[str, Any] | None = None,
    lesson: Lesson | None = None,
    staff_id: int | None = None,
) -> Delivery | None:
    """Add one delivery unless its key exists. Returns the new row, or None if it was there."""
    return await _insert_once(
        session, address=address, guardian_id=guardian_id, staff_id=staff_id, cohort_id=cohort_id, kind=kind,
        ref=ref, cycle=cycle, lane=lane, state=PENDING, due_at=due_at, attempts=0, payload=payload or {},
        created_at=now, lesson_id=lesson.id if lesson else None, lesson_version=lesson.version if lesson else None,
    )


async def send_now(
    session: AsyncSession,
    *,
    address: str,
    kind: MessageKind,
    ref: str,
    cycle: str,
    lane: int,
    now: datetime,
    guardian_id: int | None = None,
    cohort_id: int | None = None,
    payload: dict[str, Any] | None = None,
    staff_id: int | None = None,
) -> Delivery | None:
    """A message to go out right away (a reply that must not wait in the queue), reserved for
    the caller: the row is born 'sending' under its lane's lease (seconds for lane 0), so the
    sender leaves it alone while the caller delivers it (core.delivery.sender.deliver_now) and
    takes it over if the caller dies first. None when this key was already sent or is on its way."""
    return await _insert_once(
        session, address=address, guardian_id=guardian_id, staff_id=staff_id, cohort_id=cohort_id, kind=kind, ref=ref, cycle=cycle,
        lane=lane, state=SENDING, due_at=now, attempts=0, payload=payload or {}, created_at=now, claimed_at=now,
        lease_until=lease_until(lane=lane, now=now),
    )


def reserve(delivery: Delivery, *, now: datetime) -> None:
    """Hold an existing row for a caller that delivers it at once (as send_now does for a new one)."""
    delivery.state, delivery.claimed_at, delivery.finished_at = SENDING, now, None
    delivery.due_at, delivery.lease_until = now, lease_until(lane=delivery.lane, now=now)


def sent_values(*, message_id: str | None, now: datetime, error: str | None = None) -> dict[str, Any]:
    """What "sent" means for a row — the one definition, used by the sender's record of every
    outcome (core.delivery.sender), whether the row went out from the queue or at once."""
    return {"state": SENT, "sent_at": now, "finished_at": now, "provider_message_id": message_id,
            "lease_until": None, "last_error": error}


def mark_sent(delivery: Delivery, *, message_id: str | None, now: datetime) -> None:
    """A row shown by a web page itself (the safety page): no channel carried it, it is sent."""
    for column, value in sent_values(message_id=message_id, now=now).items():
        setattr(delivery, column, value)


FOLLOWUP_AFTER = timedelta(days=3)


async def plan_followups(session: AsyncSession, *, lessons: list[Delivery], now: datetime) -> None:
    """A gentle 'did you try it?' a few days after each sent lesson (one per lesson delivery)."""
    rows = [
        {"address": d.address, "guardian_id": d.guardian_id, "cohort_id": d.cohort_id, "kind": MessageKind.LESSON_FOLLOWUP,
         "ref": f"delivery:{d.id}", "ref_kind": "delivery", "ref_id": d.id, "cycle": "1", "lane": LANE_LESSON, "state": PENDING,
         "due_at": now + FOLLOWUP_AFTER, "attempts": 0, "payload": {"lesson_delivery_id": d.id},
         "lesson_id": d.lesson_id, "lesson_version": d.lesson_version, "created_at": now}
        for d in lessons
        if d.kind == MessageKind.LESSON and d.lesson_id
    ]
    if rows:
        # executemany of one cached statement: far cheaper than a giant multi-VALUES insert.
        await session.execute(
            _insert(session).on_conflict_do_nothing(index_elements=KEY), rows
        )


# ---------------------------------------------------------------- claiming


@dataclass
class Claimed:
    delivery: Delivery
    guardian: Guardian | None
    cohort_timezone: str | None
    cohort_programmes: list[str] | None = None


# Leases: how long a claimed row stays with the sender that claimed it before another may take
# it (the claimer died). Lane 0 — safety messages, alert cards, escalations — is reclaimed within
# seconds; a live sender renews the leases of what it holds (renew_leases), so a short lease
# does not mean a duplicate while the row waits out a 429 pause.
URGENT_LEASE = timedelta(seconds=10)
BULK_LEASE = timedelta(minutes=2)


def lease_until(*, lane: int, now: datetime, urgent_lease: timedelta = URGENT_LEASE,
                lease: timedelta = BULK_LEASE) -> datetime:
    return now + (urgent_lease if lane == LANE_URGENT else lease)


async def claim(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta = BULK_LEASE,
    urgent_lease: timedelta | None = None, lanes: tuple[int, ...] | None = None,
) -> list[Claimed]:
    """Claim due rows (and rows whose lease ran out: a sender crashed between claim and send),
    lane 0 first. Lane-0 rows get `urgent_lease` (default: the same as `lease`), the others
    `lease`; `lanes` limits the claim to some lanes (the sender's urgent loop takes lane 0 only).

    PostgreSQL: FOR UPDATE SKIP LOCKED, so several senders drain the outbox together.
    SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), which serialises claims.
    The caller commits the claim BEFORE sending, so the lease is visible to other senders.
    """
    due = or_(
        and_(Delivery.state == PENDING, Delivery.due_at <= now),
        and_(Delivery.state == SENDING, Delivery.lease_until < now),
    )
    query = select(Delivery.id).where(due)
    if lanes is not None:
        query = query.where(Delivery.lane.in_(lanes))
    ids = (
        await session.scalars(
            query.order_by(Delivery.lane, Delivery.due_at, Delivery.id).limit(limit).with_for_update(skip_locked=True)
        )
    ).all()
    if not ids:
        return []
    until: ColumnElement[Any] = literal(now + lease, Delivery.lease_until.type)
    if urgent_lease is not None and urgent_lease != lease:
        until = case((Delivery.lane == LANE_URGENT, literal(now + urgent_lease, Delivery.lease_until.type)),
                     else_=until)
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(state=SENDING, lease_until=until, claimed_at=now, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return await _load_claimed(session, ids)


async def _load_claimed(session: AsyncSession, ids: Sequence[int]) -> list[Claimed]:
    rows = (
        await session.execute(
            select(Delivery, Guardian, Cohort.timezone, Cohort.programmes)
            .outerjoin(Guardian, Guardian.id == Delivery.guardian_id)
            .outerjoin(Cohort, Cohort.id == Delivery.cohort_id)
            .where(Delivery.id.in_(ids))
            .order_by(Delivery.lane, Delivery.due_at, Delivery.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    return [Claimed(delivery=d, guardian=g, cohort_timezone=tz, cohort_programmes=progs) for d, g, tz, progs in rows]


async def claim_rows(session: AsyncSession, rows: Sequence[Delivery], *, now: datetime,
                     lease: timedelta = BULK_LEASE, urgent_lease: timedelta = URGENT_LEASE) -> list[Claimed]:
    """Claim these rows for a send at once (core.delivery.sender.deliver_now): each row that is
    due and waiting, or reserved by the caller (send_now, reserve) and still theirs. Every claim
    adds one to `attempts`, so a reserved row whose attempts have not moved was claimed by nobody
    since — a sender that took it over after its lease ran out is left to finish it. Rows not
    claimed are simply not returned (another sender has them, or they are settled)."""
    ids: list[int] = []
    for d in rows:
        waiting = and_(Delivery.state == PENDING, Delivery.due_at <= now)
        ours = and_(Delivery.state == SENDING, Delivery.attempts == d.attempts)
        result = await session.execute(
            update(Delivery)
            .where(Delivery.id == d.id, or_(waiting, ours))
            .values(state=SENDING, claimed_at=now, attempts=Delivery.attempts + 1,
                    lease_until=lease_until(lane=d.lane, now=now, urgent_lease=urgent_lease, lease=lease))
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result):
            ids.append(d.id)
    return await _load_claimed(session, ids) if ids else []


async def hand_over(session: AsyncSession, rows: Sequence[Delivery], *, now: datetime, error: str) -> None:
    """Rows reserved by a caller who will not send them after all (their channel is not the
    caller's): the sender takes them now, not after their lease. A row claimed by someone else
    since (its attempts moved) is left alone."""
    for d in rows:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == d.id, Delivery.state == SENDING, Delivery.attempts == d.attempts)
            .values(state=PENDING, due_at=now, lease_until=None, last_error=error)
            .execution_options(synchronize_session=False)
        )


async def due_edits(session: AsyncSession, *, kinds: Sequence[str], about: tuple[str, int],
                    now: datetime) -> list[Delivery]:
    """Edits of the messages about one thing (an alert's cards: about=("alert", 5)) waiting to
    go now — what an action just queued, for its caller to deliver at once."""
    return list((await session.scalars(
        select(Delivery).where(Delivery.kind.in_(kinds), Delivery.ref_kind == about[0],
                               Delivery.ref_id == about[1], Delivery.state == PENDING, Delivery.due_at <= now)
        .order_by(Delivery.id))).all())


async def renew_leases(session: AsyncSession, *, ids: list[int], until: datetime) -> int:
    """A live sender still holds these rows (waiting for a send slot or a 429 pause): push their
    lease out, so nobody else takes them. Rows already recorded are left alone, and so are rows
    whose result is being written right now (locked: PostgreSQL's SKIP LOCKED): they are leaving
    'sending' anyway, and waiting for them while the writer waits for a row this renewal holds
    was a deadlock between a sender's own two connections (three senders at 1,000 msg/s)."""
    if not ids:
        return 0
    held = (select(Delivery.id).where(Delivery.id.in_(ids), Delivery.state == SENDING)
            .with_for_update(skip_locked=True))
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(held.scalar_subquery()))
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return max(affected_rows(result) or 0, 0)


def defer_for_quiet_hours(item: Claimed, now: datetime) -> datetime | None:
    """Lessons and campaigns wait out quiet hours (checked again at send time); urgent lanes don't."""
    g = item.guardian
    if g is None or item.delivery.lane == LANE_URGENT:
        return None
    tz = ZoneInfo(g.timezone or item.cohort_timezone or "Asia/Shanghai")
    allowed = next_allowed(QuietHours(parse_hhmm(g.quiet_start), parse_hhmm(g.quiet_end)), tz, now)
    return None if allowed <= now else allowed


def recipient_problem(item: Claimed) -> str | None:
    g = item.guardian
    if item.delivery.guardian_id is not None and g is None:
        return "guardian_gone"
    if g is None:
        return None
    if g.unreachable_at is not None:
        return "unreachable"
    if g.status == GuardianStatus.stopped:
        return "stopped"
    if g.status == GuardianStatus.paused and item.delivery.kind in (MessageKind.LESSON, MessageKind.LESSON_FOLLOWUP):
        return "paused"
    return None


async def resolve_lessons(session: AsyncSession, *, items: list[Claimed], today: Any) -> None:
    """Fix which lesson each scheduled lesson delivery carries: the guardian's next unsent
    lesson. Stored with the claim, so a resend after a crash sends the same lesson."""
    todo = [i for i in items if i.delivery.kind == MessageKind.LESSON and i.delivery.lesson_id is None and i.guardian]
    if not todo:
        return
    planner = await LessonPlanner.load(session)
    guardian_ids = [i.guardian.id for i in todo]  # type: ignore[union-attr]
    done_rows = await session.execute(
        select(Delivery.guardian_id, Delivery.lesson_id).where(
            Delivery.guardian_id.in_(guardian_ids),
            Delivery.kind == MessageKind.LESSON,
            Delivery.lesson_id.is_not(None),
            Delivery.state.in_([SENT, SENDING, PENDING]),
        )
    )
    done: dict[int, set[str]] = {}
    for gid, lid in done_rows:
        if gid is not None and lid is not None:  # always, by the query
            done.setdefault(gid, set()).add(lid)
    bands = await household_bands(session, household_ids=[i.guardian.household_id for i in todo], today=today)  # type: ignore[union-attr]
    for item in todo:
        g = item.guardian
        assert g is not None
        lesson = planner.next_lesson(
            audience=audience_for(g.lives_with_children), bands=bands.get(g.household_id, []),
            done=done.setdefault(g.id, set()), programmes=item.cohort_programmes,
        )
        if lesson is None:
            item.delivery.state = SKIPPED
            item.delivery.last_error = "programme_complete"
            continue
        item.delivery.lesson_id = lesson.id
        item.delivery.lesson_version = lesson.version
        done[g.id].add(lesson.id)


async def lessons_by_key(session: AsyncSession, *, deliveries: list[Delivery]) -> dict[tuple[str, int], Lesson]:
    """The exact lesson versions a batch of deliveries carries, in one query."""
    keys = {(d.lesson_id, d.lesson_version) for d in deliveries if d.lesson_id and d.lesson_version}
    if not keys:
        return {}
    ids = {k[0] for k in keys}
    rows = await session.scalars(select(Lesson).where(Lesson.id.in_(ids)))
    return {(row.id, row.version): row for row in rows if (row.id, row.version) in keys}


def lesson_content(lesson: Lesson | None, *, locale: str) -> dict[str, Any]:
    if lesson is None:
        return {}
    texts = localized(lesson.texts, locale, default={})
    return {
        "lesson_id": lesson.id,
        "version": lesson.version,
        "title": texts.get("title", ""),
        "body": texts.get("body", ""),
        "try_today": texts.get("try_today", ""),
        "media": lesson.media or {},
    }
