"""Reports: aggregates only, scoped like the cohort (its directors and supervisors, and admins)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import IdPath, Now, ReportSlot, ScopeDep, SessionDep
from core.reports import funnel
from core.alerts.schemas import FunnelReport
from core.inputs import CalendarDate

router = APIRouter(tags=["reports"])


@router.get("/cohorts/{cohort_id}/reports/funnel", response_model=FunnelReport)
async def read_funnel(
    cohort_id: IdPath,
    _slot: ReportSlot,
    session: SessionDep,
    scope: ScopeDep,
    now: Now,
    date_from: Annotated[CalendarDate | None, Query(alias="from", description="YYYY-MM-DD in the cohort's time zone; "
                                                                      "default: 29 days before to")] = None,
    date_to: Annotated[CalendarDate | None, Query(alias="to", description="YYYY-MM-DD, inclusive; default: today")] = None,
) -> FunnelReport:
    """Screened → flagged → helped: check-ins sent and answered, alerts by severity and what was
    done about them, and how long acknowledging took. Definitions: core.reports."""
    return await funnel(session, scope=scope, cohort_id=cohort_id, now=now, date_from=date_from, date_to=date_to)
