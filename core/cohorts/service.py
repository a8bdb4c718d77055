from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.cohorts.schemas import CohortCreate, CohortUpdate
from core.errors import NotFound
from core.models import Cohort


async def create_cohort(session: AsyncSession, *, data: CohortCreate, now: datetime) -> Cohort:
    cohort = Cohort(**data.model_dump(), created_at=now)
    session.add(cohort)
    await session.flush()
    return cohort


async def list_cohorts(session: AsyncSession, *, scope: Scope) -> list[Cohort]:
    query = select(Cohort).order_by(Cohort.id)
    if scope.cohort_ids is not None:
        query = query.where(Cohort.id.in_(scope.cohort_ids))
    return list((await session.scalars(query)).all())


async def get_cohort(session: AsyncSession, *, scope: Scope, cohort_id: int) -> Cohort:
    cohort = await session.get(Cohort, cohort_id)
    if cohort is None or not scope.sees(cohort_id):
        raise NotFound("cohort not found", field="cohort_id")
    return cohort


async def update_cohort(
    session: AsyncSession, *, scope: Scope, cohort_id: int, data: CohortUpdate
) -> Cohort:
    cohort = await get_cohort(session, scope=scope, cohort_id=cohort_id)
    scope.require_change(cohort_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(cohort, field, value)
    await session.flush()
    return cohort
