"""Delivery statistics of a cohort: counts only, scoped like the cohort itself."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import IdPath, Now, ScopeDep, SessionDep, cached_report
from core.delivery.stats import DeliveryStats, delivery_stats
from core.errors import NotFound
from core.inputs import Timestamp

router = APIRouter(tags=["deliveries"])

DEFAULT_PERIOD = timedelta(days=30)


@router.get("/cohorts/{cohort_id}/deliveries/stats", response_model=DeliveryStats)
async def read_delivery_stats(
    cohort_id: IdPath,
    request: Request,
    session: SessionDep,
    scope: ScopeDep,
    now: Now,
    # Aware only, like every time the API takes: a naive time means a different instant per server.
    since: Annotated[Timestamp | None, Query(description="default: 30 days before until")] = None,
    until: Annotated[Timestamp | None, Query(description="default: now; the period excludes it")] = None,
    top: Annotated[int, Query(ge=1, le=100, description="how many lessons to list")] = 10,
) -> DeliveryStats:
    if not scope.sees(cohort_id):
        raise NotFound("cohort not found", field="cohort_id")
    key = ("delivery_stats", cohort_id, since, until, top)  # as asked: "until now" is now, give or take seconds
    until = until or now
    since = since or until - DEFAULT_PERIOD
    # Figures up to a few seconds old (core.report_cache says why that is fine for a report).
    return await cached_report(request, key, now, lambda: delivery_stats(
        session, scope=scope, cohort_id=cohort_id, since=since, until=until, top=top))
