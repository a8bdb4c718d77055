"""Delivery statistics of a cohort: counts only, scoped like the cohort itself."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import IdPath, Now, ReportSlot, ScopeDep, SessionDep
from core.delivery.stats import DeliveryStats, delivery_stats
from core.inputs import Timestamp

router = APIRouter(tags=["deliveries"])

DEFAULT_PERIOD = timedelta(days=30)


@router.get("/cohorts/{cohort_id}/deliveries/stats", response_model=DeliveryStats)
async def read_delivery_stats(
    cohort_id: IdPath,
    _slot: ReportSlot,
    session: SessionDep,
    scope: ScopeDep,
    now: Now,
    # Aware only, like every time the API takes: a naive time means a different instant per server.
    since: Annotated[Timestamp | None, Query(description="default: 30 days before until")] = None,
    until: Annotated[Timestamp | None, Query(description="default: now; the period excludes it")] = None,
    top: Annotated[int, Query(ge=1, le=100, description="how many lessons to list")] = 10,
) -> DeliveryStats:
    until = until or now
    since = since or until - DEFAULT_PERIOD
    return await delivery_stats(session, scope=scope, cohort_id=cohort_id, since=since, until=until, top=top)
