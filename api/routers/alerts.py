"""Alerts, for reading: scoped to the reader's cohorts and audited. Acting on them comes later."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import MAX_ID, CurrentStaff, IdPath, Now, ScopeDep, SessionDep
from core.alerts import service
from core.alerts.schemas import AlertRead

router = APIRouter(prefix="/alerts", tags=["alerts"])

Severity = Literal["red", "orange", "yellow"]
Status = Literal["open", "acknowledged", "resolved"]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("", response_model=list[AlertRead])
async def list_alerts(
    session: SessionDep,
    scope: ScopeDep,
    staff: CurrentStaff,
    now: Now,
    cohort_id: OptionalId = None,
    severity: Annotated[list[Severity] | None, Query(description="may repeat")] = None,
    status: Annotated[list[Status] | None, Query(description="may repeat; default: open and acknowledged")] = None,
    child_id: OptionalId = None,
    household_id: OptionalId = None,
    audience: Literal["child", "guardian"] | None = None,
    # Opened at or after; aware only, like every time the API takes.
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AlertRead]:
    """Most severe first, then newest."""
    rows = await service.list_alerts(
        session, scope=scope, now=now, cohort_id=cohort_id, severities=severity, statuses=status, child_id=child_id,
        household_id=household_id, audience=audience, since=since, limit=limit, offset=offset,
    )
    return await service.alert_reads(session, alerts=rows, locale=staff.locale)


@router.get("/{alert_id}", response_model=AlertRead)
async def read_alert(
    alert_id: IdPath, session: SessionDep, scope: ScopeDep, staff: CurrentStaff, now: Now
) -> AlertRead:
    alert = await service.get_alert(session, scope=scope, alert_id=alert_id, now=now)
    return (await service.alert_reads(session, alerts=[alert], locale=staff.locale))[0]
