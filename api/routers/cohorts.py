"""Cohorts: admins create them; each staff member lists and reads their own; directors edit theirs."""
from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import IdPath, Now, ScopeDep, SessionDep
from core.cohorts import service
from core.cohorts.schemas import CheckinScheduleRead
from core.cohorts.schemas import CheckinScheduleField, CohortCreate, CohortRead, CohortUpdate, ScheduleRead

router = APIRouter(prefix="/cohorts", tags=["cohorts"])


@router.post("", response_model=CohortRead, status_code=status.HTTP_201_CREATED)
async def create_cohort(data: CohortCreate, session: SessionDep, scope: ScopeDep, now: Now) -> CohortRead:
    scope.require_admin()
    return CohortRead.model_validate(await service.create_cohort(session, data=data, now=now))


@router.get("", response_model=list[CohortRead])
async def list_cohorts(session: SessionDep, scope: ScopeDep) -> list[CohortRead]:
    return [CohortRead.model_validate(c) for c in await service.list_cohorts(session, scope=scope)]


@router.get("/{cohort_id}", response_model=CohortRead)
async def read_cohort(cohort_id: IdPath, session: SessionDep, scope: ScopeDep) -> CohortRead:
    return CohortRead.model_validate(await service.get_cohort(session, scope=scope, cohort_id=cohort_id))


@router.patch("/{cohort_id}", response_model=CohortRead)
async def update_cohort(
    cohort_id: IdPath, data: CohortUpdate, session: SessionDep, scope: ScopeDep, now: Now
) -> CohortRead:
    cohort = await service.update_cohort(session, scope=scope, cohort_id=cohort_id, data=data, now=now)
    return CohortRead.model_validate(cohort)


@router.get("/{cohort_id}/schedule", response_model=ScheduleRead)
async def read_schedule(cohort_id: IdPath, session: SessionDep, scope: ScopeDep, now: Now) -> ScheduleRead:
    """The lesson schedule (set it with PATCH) and its next slot."""
    cohort = await service.get_cohort(session, scope=scope, cohort_id=cohort_id)
    return service.lesson_schedule(cohort, now=now)


@router.get("/{cohort_id}/checkin-schedule", response_model=CheckinScheduleRead)
async def read_checkin_schedule(
    cohort_id: IdPath, session: SessionDep, scope: ScopeDep, now: Now
) -> CheckinScheduleRead:
    """Which questionnaires go out when: each one's next slot and cycle key."""
    cohort = await service.get_cohort(session, scope=scope, cohort_id=cohort_id)
    return await service.checkin_schedule(session, cohort=cohort, now=now)


@router.put("/{cohort_id}/checkin-schedule", response_model=CheckinScheduleRead)
async def replace_checkin_schedule(
    cohort_id: IdPath, data: CheckinScheduleField, session: SessionDep, scope: ScopeDep, now: Now
) -> CheckinScheduleRead:
    """Replace the whole calendar; {} stops the cohort's check-ins."""
    cohort = await service.set_checkin_schedule(session, scope=scope, cohort_id=cohort_id, schedule=data, now=now)
    return await service.checkin_schedule(session, cohort=cohort, now=now)
