"""The audit log: every staff read or change of personal data leaves a row."""
from __future__ import annotations

from datetime import datetime
from typing import Any

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
