"""Reports: aggregates only, scoped like the cohort (its directors and supervisors, and admins)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import MAX_ID, IdPath, Now, ReportSlot, ScopeDep, SessionDep, cached_report
from core.alerts.schemas import FunnelReport, FunnelTotal
from core.errors import NotFound
from core.reports import funnel, funnel_total
from core.inputs import CalendarDate

router = APIRouter(tags=["reports"])


@router.get("/cohorts/{cohort_id}/reports/funnel", response_model=FunnelReport)
async def read_funnel(
    cohort_id: IdPath,
    request: Request,
    session: SessionDep,
    scope: ScopeDep,
    now: Now,
    date_from: Annotated[CalendarDate | None, Query(alias="from", description="YYYY-MM-DD in the cohort's time zone; "
                                                                      "default: 29 days before to")] = None,
    date_to: Annotated[CalendarDate | None, Query(alias="to", description="YYYY-MM-DD, inclusive; default: today")] = None,
) -> FunnelReport:
    """Screened → flagged → helped: check-ins sent and answered, alerts by severity and what was
    done about them, and how long acknowledging took. Definitions: core.reports."""
    if not scope.sees(cohort_id):
        raise NotFound("cohort not found")
    # Figures up to a few seconds old (core.report_cache says why that is fine for a report).
    return await cached_report(
        request, ("funnel", cohort_id, date_from, date_to), now,
        lambda: funnel(session, scope=scope, cohort_id=cohort_id, now=now, date_from=date_from, date_to=date_to))


@router.get("/reports/funnel", response_model=FunnelTotal, summary="The screening funnel summed over cohorts")
async def read_funnel_total(
    _slot: ReportSlot,
    session: SessionDep,
    scope: ScopeDep,
    now: Now,
    cohort_id: Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]] | None, Query(
        description="may repeat; default: every cohort you can see (a supervisor's county)")] = None,
    date_from: Annotated[CalendarDate | None, Query(alias="from", description="YYYY-MM-DD in each cohort's time "
                                                                      "zone; default: 29 days before to")] = None,
    date_to: Annotated[CalendarDate | None, Query(alias="to", description="YYYY-MM-DD, inclusive; default: today")] = None,
) -> FunnelTotal:
    """The county's funnel: each cohort's funnel for the same local days, summed, with every
    cohort's own figures under `cohorts`. The median and 90th percentile of the minutes to
    acknowledge are over all the alerts acknowledged in those cohorts together."""
    return await funnel_total(session, scope=scope, cohort_ids=cohort_id, now=now, date_from=date_from,
                              date_to=date_to)
