"""Endpoints: where a guardian or a staff member is reached, in their order of preference.

An address is "<channel>:<id on the channel>" (core.models.endpoint). Only this module changes
an endpoint's state, and with it the person-level summary `Guardian.unreachable_at` (set when
no endpoint is left, cleared when they write again).

An endpoint that opens again (they wrote from it, or it was added again) takes back what waits
for them further down their order: rows planned for a fallback (an SMS after their chat app's
window closed) that nobody has claimed yet go to their first usable endpoint, where they are
talking again, instead of as paid notices (`_take_back`)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.errors import Conflict
from core.messages import EDIT_KINDS
from core.models import Delivery, Endpoint, Guardian, Staff
from core.models.delivery import CANCELLED, PENDING, SENDING, SENT

ACTIVE, BLOCKED, WINDOW_CLOSED, QUOTA_EXHAUSTED = "active", "blocked", "window_closed", "quota_exhausted"
# What a channel answered → the endpoint's state: the sender moves the row to the next endpoint.
REFUSALS = (BLOCKED, WINDOW_CLOSED, QUOTA_EXHAUSTED)
GUARDIAN, STAFF = "guardian", "staff"
# A provider's daily quota: the endpoint is tried again a day after it ran out.
QUOTA_RESET = timedelta(days=1)
# The states in which a row is, or is about to be, at its address.
_THERE = (PENDING, SENDING, SENT)


def channel_of(address: str) -> str:
    return address.partition(":")[0]


def local_id(address: str) -> str:
    return address.partition(":")[2]


def _person(guardian_id: int | None, staff_id: int | None) -> Any:
    if (guardian_id is None) == (staff_id is None):
        raise ValueError("an endpoint belongs to exactly one guardian or staff member")
    if guardian_id is not None:
        return and_(Endpoint.owner == GUARDIAN, Endpoint.guardian_id == guardian_id)
    return and_(Endpoint.owner == STAFF, Endpoint.staff_id == staff_id)


def _usable(now: datetime | None) -> Any:
    """Endpoints worth sending to: active ones, and those whose quota has had a day to reset."""
    if now is None:
        return Endpoint.state == ACTIVE
    return or_(Endpoint.state == ACTIVE,
               and_(Endpoint.state == QUOTA_EXHAUSTED, Endpoint.state_changed_at <= now - QUOTA_RESET))


def usable(endpoint: Endpoint, now: datetime) -> bool:
    """The same rule as `_usable`, for a loaded row."""
    return endpoint.state == ACTIVE or (
        endpoint.state == QUOTA_EXHAUSTED and endpoint.state_changed_at <= now - QUOTA_RESET)


# ---------------------------------------------------------------- who is at an address


async def guardian_at(session: AsyncSession, *, address: str) -> Guardian | None:
    return await session.scalar(
        select(Guardian).join(Endpoint, and_(Endpoint.guardian_id == Guardian.id, Endpoint.owner == GUARDIAN))
        .where(Endpoint.address == address)
    )


async def staff_at(session: AsyncSession, *, address: str, active_only: bool = True) -> Staff | None:
    query = (select(Staff).join(Endpoint, and_(Endpoint.staff_id == Staff.id, Endpoint.owner == STAFF))
             .where(Endpoint.address == address))
    if active_only:
        query = query.where(Staff.active.is_(True))
    return await session.scalar(query)


# ---------------------------------------------------------------- a person's endpoints


async def endpoints_of(session: AsyncSession, *, guardian_id: int | None = None,
                       staff_id: int | None = None) -> list[Endpoint]:
    return list((await session.scalars(
        select(Endpoint).where(_person(guardian_id, staff_id)).order_by(Endpoint.rank, Endpoint.id))).all())


async def first_address(session: AsyncSession, *, guardian_id: int | None = None, staff_id: int | None = None,
                        now: datetime | None = None) -> str | None:
    """Where to send first: the person's most preferred usable endpoint, or None."""
    return await session.scalar(
        select(Endpoint.address).where(_person(guardian_id, staff_id), _usable(now))
        .order_by(Endpoint.rank, Endpoint.id).limit(1))


async def first_addresses(session: AsyncSession, *, guardian_ids: Any = (), staff_ids: Any = ()) -> dict[int, str]:
    """Many people's first active address at once: person id → address (guardians' ids if
    guardian_ids is given, else staff ids). People with none are left out."""
    owner, column, ids = ((GUARDIAN, Endpoint.guardian_id, list(guardian_ids)) if guardian_ids
                          else (STAFF, Endpoint.staff_id, list(staff_ids)))
    out: dict[int, str] = {}
    for start in range(0, len(ids), 5000):
        rows = await session.execute(
            select(column, Endpoint.address)
            .where(Endpoint.owner == owner, column.in_(ids[start:start + 5000]), Endpoint.state == ACTIVE)
            .order_by(column, Endpoint.rank, Endpoint.id))
        for person, address in rows:
            if person is not None:  # always, by the query
                out.setdefault(person, address)
    return out


def guardian_address() -> Any:
    """A correlated scalar subquery: the guardian's first active address, for the set-based
    planners' INSERT … SELECT (NULL when they have none)."""
    return (select(Endpoint.address)
            .where(Endpoint.owner == GUARDIAN, Endpoint.guardian_id == Guardian.id, Endpoint.state == ACTIVE)
            .order_by(Endpoint.rank, Endpoint.id).limit(1).correlate(Guardian).scalar_subquery())


def staff_reachable() -> Any:
    """A condition on Staff: they have an active endpoint (alerts can reach them)."""
    return exists().where(Endpoint.owner == STAFF, Endpoint.staff_id == Staff.id, Endpoint.state == ACTIVE)


async def next_address(session: AsyncSession, *, guardian_id: int | None, staff_id: int | None, now: datetime,
                       after: str, skip: tuple[str, ...] = ()) -> str | None:
    """The next usable endpoint after `after` in the person's order (wrapping round to the
    ones before it), leaving out `skip`; None when there is none."""
    rows = list((await session.execute(
        select(Endpoint.address, Endpoint.rank, Endpoint.id)
        .where(_person(guardian_id, staff_id), _usable(now), Endpoint.address.not_in([after, *skip]))
        .order_by(Endpoint.rank, Endpoint.id))).all())
    if not rows:
        return None
    here = await session.scalar(select(func.min(Endpoint.rank)).where(_person(guardian_id, staff_id),
                                                                      Endpoint.address == after))
    later = [r for r in rows if here is None or r.rank >= here]
    return (later or rows)[0].address


async def add_endpoint(session: AsyncSession, *, address: str, now: datetime, guardian_id: int | None = None,
                       staff_id: int | None = None, rank: int | None = None) -> Endpoint:
    """Give a person an endpoint (or reopen the one they had there). A new one goes last in
    their order unless `rank` says otherwise. Another guardian already at this address is a
    conflict: one address never stands for two guardians (or two staff members)."""
    owner = GUARDIAN if guardian_id is not None else STAFF
    _person(guardian_id, staff_id)
    taken = await session.scalar(select(Endpoint).where(Endpoint.owner == owner, Endpoint.address == address))
    if taken is not None:
        if (taken.guardian_id, taken.staff_id) != (guardian_id, staff_id):
            raise Conflict("this address belongs to someone else", code="address_taken")
        if taken.state != ACTIVE:
            taken.state, taken.state_changed_at = ACTIVE, now
            await session.flush()
            await _take_back(session, guardian_id=guardian_id, staff_id=staff_id, now=now)
        return taken
    if rank is None:
        last = await session.scalar(select(func.max(Endpoint.rank)).where(_person(guardian_id, staff_id)))
        rank = 0 if last is None else last + 1
    endpoint = Endpoint(owner=owner, guardian_id=guardian_id, staff_id=staff_id, channel=channel_of(address),
                        address=address, state=ACTIVE, rank=rank, state_changed_at=now, created_at=now)
    session.add(endpoint)
    await session.flush()
    if guardian_id is not None:
        await session.execute(update(Guardian).where(Guardian.id == guardian_id, Guardian.unreachable_at.is_not(None))
                              .values(unreachable_at=None))
    return endpoint


async def move_staff_address(session: AsyncSession, *, staff_id: int, address: str, now: datetime) -> Endpoint:
    """Link a staff member to an address: one address, one staff record — the newest link wins
    (an older staff record at the same chat loses it)."""
    await session.execute(delete(Endpoint).where(
        Endpoint.owner == STAFF, Endpoint.address == address, Endpoint.staff_id != staff_id))
    return await add_endpoint(session, address=address, now=now, staff_id=staff_id, rank=0)


# ---------------------------------------------------------------- what channels said


async def heard_from(session: AsyncSession, *, address: str, now: datetime) -> None:
    """The person wrote from this address: its endpoints (a guardian's, a staff member's) work
    again whatever they said before, and a reply window opens; a guardian who had no endpoint
    left is reachable again, and what waits for them on a fallback comes back (`_take_back`).
    One UPDATE per inbound event (plus one when they were unreachable, and three when an
    endpoint opened again)."""
    touched = (await session.execute(
        update(Endpoint).where(Endpoint.address == address)
        .values(state=ACTIVE, last_inbound_at=now,
                # Typed as the column, so SQLite stores it as UTC like every other timestamp (a bare
                # value inside CASE skipped the column's conversion: local wall time, zone dropped).
                state_changed_at=case((Endpoint.state != ACTIVE, literal(now, Endpoint.state_changed_at.type)),
                                      else_=Endpoint.state_changed_at))
        .returning(Endpoint.guardian_id, Endpoint.staff_id, Endpoint.state_changed_at)
        .execution_options(synchronize_session=False))).all()
    for guardian_id, staff_id, changed_at in touched:
        if changed_at == now:  # it was closed (blocked, window closed, out of quota) until now
            await _take_back(session, guardian_id=guardian_id, staff_id=staff_id, now=now)
    await session.execute(
        update(Guardian).where(Guardian.unreachable_at.is_not(None), Guardian.id.in_(
            select(Endpoint.guardian_id).where(Endpoint.owner == GUARDIAN, Endpoint.address == address)))
        .values(unreachable_at=None, updated_at=now).execution_options(synchronize_session=False))


async def refused(session: AsyncSession, *, address: str, guardian_id: int | None, staff_id: int | None,
                  state: str, now: datetime) -> bool:
    """A channel refused a message at this address (blocked, window closed, quota exhausted):
    the endpoint takes that state. Returns True when the person has no usable endpoint left
    (then a guardian is marked unreachable: nothing is planned for them until they write)."""
    assert state in REFUSALS
    await session.execute(
        update(Endpoint).where(_person(guardian_id, staff_id), Endpoint.address == address)
        .values(state=state, state_changed_at=now).execution_options(synchronize_session=False))
    left = await first_address(session, guardian_id=guardian_id, staff_id=staff_id, now=now)
    if left is None and guardian_id is not None:
        await session.execute(update(Guardian).where(Guardian.id == guardian_id, Guardian.unreachable_at.is_(None))
                              .values(unreachable_at=now).execution_options(synchronize_session=False))
    return left is None


async def _take_back(session: AsyncSession, *, guardian_id: int | None, staff_id: int | None,
                     now: datetime) -> None:
    """One of the person's endpoints opened again: their rows still waiting at an endpoint ranked
    below their first usable one (planned for SMS, or moved there after a refusal) go to that
    first one — a lesson or a notice comes where they are talking, not as a paid fallback.

    Only rows no sender holds move ('pending': never one claimed, being sent or sent), never an
    edit (it edits the message where it is), never a row a channel could not carry at the first
    endpoint ("permanent at …", "unsupported at …": it would only bounce back). When the first
    endpoint already has the same message (kind, ref, cycle) waiting, going or gone, the copy
    below is cancelled rather than sent twice; when it has it only as a row that ended (failed,
    cancelled), the copy below stays where it is. Set-based: a SELECT and two UPDATEs."""
    first = (await session.execute(
        select(Endpoint.address, Endpoint.channel, Endpoint.rank, Endpoint.id)
        .where(_person(guardian_id, staff_id), _usable(now)).order_by(Endpoint.rank, Endpoint.id).limit(1))).first()
    if first is None:
        return
    below = select(Endpoint.address).where(
        _person(guardian_id, staff_id),
        or_(Endpoint.rank > first.rank, and_(Endpoint.rank == first.rank, Endpoint.id > first.id)))
    twin = aliased(Delivery)
    same_message = and_(twin.address == first.address, twin.kind == Delivery.kind, twin.ref == Delivery.ref,
                        twin.cycle == Delivery.cycle)
    waiting_below = and_(
        Delivery.guardian_id == guardian_id if guardian_id is not None else Delivery.staff_id == staff_id,
        Delivery.state == PENDING,
        Delivery.address.in_(below),
        Delivery.kind.not_in(sorted(EDIT_KINDS)),
        or_(Delivery.last_error.is_(None), and_(
            Delivery.last_error != literal(f"permanent at {first.channel}"),
            Delivery.last_error != literal(f"unsupported at {first.channel}"))),
    )
    await session.execute(
        update(Delivery).where(waiting_below, exists().where(same_message, twin.state.in_(_THERE)))
        .values(state=CANCELLED, finished_at=now, last_error=f"already at {first.channel}")
        .execution_options(synchronize_session=False))
    await session.execute(
        update(Delivery).where(waiting_below, ~exists().where(same_message))
        .values(address=first.address)
        .execution_options(synchronize_session=False))
