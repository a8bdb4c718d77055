"""The audit log: every staff read or change of personal data leaves a row."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Alert, AuditLog, Case, Child, Cohort, Guardian, Household, Invitation


def record(
    session: AsyncSession,
    *,
    staff_id: int | None,
    action: str,
    entity: str,
    now: datetime,
    entity_id: int | None = None,
    cohort_id: int | None = None,
    **detail: Any,
) -> AuditLog:
    row = AuditLog(
        at=now,
        staff_id=staff_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        cohort_id=cohort_id,
        detail=detail,
    )
    session.add(row)
    return row


def _filtered(query: Select[Any], *, staff_id: int | None, entity: str | None, action: str | None,
              since: datetime | None, until: datetime | None) -> Select[Any]:
    if staff_id is not None:
        query = query.where(AuditLog.staff_id == staff_id)
    if entity is not None:
        query = query.where(AuditLog.entity == entity)
    if action is not None:
        query = query.where(AuditLog.action == action)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if until is not None:
        query = query.where(AuditLog.at < until)
    return query


async def list_entries(
    session: AsyncSession,
    *,
    staff_id: int | None = None,
    entity: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 100,
) -> list[Row[Any]]:
    """Newest first, in [since, until). `before` is a page's cursor: the (at, id) of the last
    row of the previous page — keyset paging, so rows written meanwhile never shift a page.
    Callers check that the reader is an admin."""
    # Rows of its columns (read by the same names), not AuditLog objects: a page is up to 1,000.
    query = _filtered(select(*AuditLog.__table__.c), staff_id=staff_id, entity=entity, action=action, since=since,
                      until=until)
    if before is not None:
        at, row_id = before
        query = query.where(or_(AuditLog.at < at, and_(AuditLog.at == at, AuditLog.id < row_id)))
    query = query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    return list((await session.execute(query)).all())


async def count_entries(
    session: AsyncSession,
    *,
    staff_id: int | None = None,
    entity: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many rows the same filters match over all pages."""
    query = _filtered(select(func.count()).select_from(AuditLog), staff_id=staff_id, entity=entity, action=action,
                      since=since, until=until)
    return int(await session.scalar(query) or 0)


async def cohort_of(session: AsyncSession, *, entity: str, entity_id: int) -> int | None:
    """The cohort a thing named by a route (case 5, child 9 …) belongs to, if it exists: what
    makes a refused request a cross-cohort attempt in the audit log."""
    direct: dict[str, type[Case] | type[Alert] | type[Household] | type[Invitation]] = {
        "case": Case, "alert": Alert, "household": Household, "invitation": Invitation}
    if entity == "cohort":
        return entity_id if await session.get(Cohort, entity_id) is not None else None
    if entity in direct:
        model = direct[entity]
        return await session.scalar(select(model.cohort_id).where(model.id == entity_id))
    if entity in ("child", "guardian"):
        member: type[Child] | type[Guardian] = Child if entity == "child" else Guardian
        return await session.scalar(select(Household.cohort_id).join(member, member.household_id == Household.id)
                                    .where(member.id == entity_id))
    return None
