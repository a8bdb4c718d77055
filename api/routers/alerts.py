"""Alerts: read (scoped to the reader's cohorts and audited), acknowledge and resolve. Directors
and supervisors of the cohort, and admins, may act — an escalated alert reaches the
supervisors precisely so that they can."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import MAX_ID, CurrentStaff, IdPath, Now, ReaderLocale, ScopeDep, SessionDep
from api.responses import json_list
from core.alerts import cases, service
from core.alerts.schemas import AlertRead, AlertResolve, AlertResolved
from core.flows import cases as case_flows
from core.inputs import Timestamp

router = APIRouter(prefix="/alerts", tags=["alerts"])

Severity = Literal["red", "orange", "yellow"]
Status = Literal["open", "acknowledged", "resolved"]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ChildAge = Annotated[int | None, Query(ge=0, le=25, description="years, on today's date in the cohort's time zone")]
MAX_MINUTES = 10 * 366 * 24 * 60


@router.get("", response_model=list[AlertRead])
async def list_alerts(
    session: SessionDep,
    scope: ScopeDep,
    locale: ReaderLocale,
    now: Now,
    cohort_id: OptionalId = None,
    severity: Annotated[list[Severity] | None, Query(description="may repeat")] = None,
    status: Annotated[list[Status] | None, Query(description="may repeat; default: open and acknowledged")] = None,
    child_id: OptionalId = None,
    household_id: OptionalId = None,
    audience: Literal["child", "guardian"] | None = None,
    # Opened at or after; aware only, like every time the API takes.
    since: Timestamp | None = None,
    open_longer_than_minutes: Annotated[
        int | None, Query(ge=0, le=MAX_MINUTES, description="opened at least this many minutes ago")] = None,
    child_age_min: ChildAge = None,
    child_age_max: ChildAge = None,
    order: Annotated[service.AlertOrder, Query(
        description="urgent: most severe first, then waiting longest (as /alerts on the phone); newest: newest first",
    )] = "urgent",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Most severe first, then the one waiting longest, unless `order=newest`. A child-age filter
    never matches an alert with no child."""
    rows = await service.list_alerts(
        session, scope=scope, now=now, cohort_id=cohort_id, severities=severity, statuses=status, child_id=child_id,
        household_id=household_id, audience=audience, since=since,
        open_longer_than=None if open_longer_than_minutes is None else timedelta(minutes=open_longer_than_minutes),
        child_age_min=child_age_min, child_age_max=child_age_max, order=order, limit=limit, offset=offset,
    )
    return json_list(AlertRead, await service.alert_rows(session, alerts=rows, locale=locale))


@router.get("/{alert_id}", response_model=AlertRead)
async def read_alert(
    alert_id: IdPath, session: SessionDep, scope: ScopeDep, locale: ReaderLocale, now: Now
) -> AlertRead:
    alert = await service.get_alert(session, scope=scope, alert_id=alert_id, now=now)
    return (await service.alert_reads(session, alerts=[alert], locale=locale))[0]


@router.post("/{alert_id}/acknowledge", response_model=AlertRead)
async def acknowledge_alert(
    alert_id: IdPath, session: SessionDep, scope: ScopeDep, staff: CurrentStaff, now: Now
) -> AlertRead:
    """Idempotent: an alert acknowledged already keeps its first acknowledger. A resolved one is 409."""
    done = await cases.acknowledge(session, scope=scope, alert_id=alert_id, now=now)
    return (await service.alert_reads(session, alerts=[done.alert], locale=staff.locale))[0]


@router.post("/{alert_id}/resolve", response_model=AlertResolved)
async def resolve_alert(
    alert_id: IdPath, data: AlertResolve, session: SessionDep, scope: ScopeDep, staff: CurrentStaff, now: Now
) -> AlertResolved:
    """The case closes, and its follow-up check-in is scheduled, when this was its last unresolved alert."""
    result = await case_flows.resolve_alert(session, scope=scope, alert_id=alert_id, outcome=data.outcome,
                                            note=data.note, now=now)
    assert result.alert is not None
    [read] = await service.alert_reads(session, alerts=[result.alert], locale=staff.locale)
    return AlertResolved(alert=read, case_id=result.case.id if result.case else None, case_closed=result.case_closed,
                         followup_check_in_ids=[c.id for c in result.followups])
