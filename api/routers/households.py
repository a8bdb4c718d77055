"""Households: personal data, so every read is scoped and audited by the core service."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import IdPath, Now, ScopeDep, SessionDep
from core.cohorts.service import require_cohort
from core.households import service
from core.households.schemas import HouseholdRead

router = APIRouter(tags=["households"])


@router.get("/cohorts/{cohort_id}/households", response_model=list[HouseholdRead])
async def list_households(
    cohort_id: IdPath,
    session: SessionDep,
    scope: ScopeDep,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[HouseholdRead]:
    await require_cohort(session, scope=scope, cohort_id=cohort_id)  # unknown cohort: 404, not []
    return await service.list_households(
        session, scope=scope, cohort_id=cohort_id, now=now, limit=limit, offset=offset
    )


@router.get("/households/{household_id}", response_model=HouseholdRead)
async def read_household(household_id: IdPath, session: SessionDep, scope: ScopeDep, now: Now) -> HouseholdRead:
    household = await service.get_household(session, scope=scope, household_id=household_id, now=now)
    return HouseholdRead.of(household)
