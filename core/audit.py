"""The audit log: every staff read or change of personal data leaves a row."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditLog


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


async def list_entries(
    session: AsyncSession,
    *,
    staff_id: int | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditLog]:
    """Newest first. Callers check that the reader is an admin."""
    query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    if staff_id is not None:
        query = query.where(AuditLog.staff_id == staff_id)
    if entity is not None:
        query = query.where(AuditLog.entity == entity)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    return list((await session.scalars(query)).all())
