"""The audit log, for admins: who read or changed which personal data, and when."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import MAX_ID, ScopeDep, SessionDep
from api.schemas import AuditEntryRead
from core import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryRead])
async def list_audit(
    session: SessionDep,
    scope: ScopeDep,
    staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    entity: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    # Aware only: a naive time would silently mean a different instant on each server.
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryRead]:
    scope.require_admin()
    rows = await audit.list_entries(session, staff_id=staff_id, entity=entity, since=since, limit=limit)
    return [AuditEntryRead.model_validate(r) for r in rows]
