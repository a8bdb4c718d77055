from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.catalog.service import latest_programmes
from core.cohorts.schemas import CohortCreate, CohortUpdate, ScheduleRead
from core.delivery.schedule import WeeklySchedule, next_slot
from core.errors import Invalid, NotFound
from core.models import Cohort


async def _check_programmes(session: AsyncSession, programme_ids: list[str]) -> list[str]:
    """Every chosen programme must exist and not be retired; order is kept, repeats dropped."""
    ids = list(dict.fromkeys(programme_ids))
    if ids:
        known = {p.id for p in await latest_programmes(session)}
        unknown = [pid for pid in ids if pid not in known]
        if unknown:
            raise Invalid(f"unknown or retired programme: {', '.join(unknown)}", field="programmes")
    return ids


async def create_cohort(session: AsyncSession, *, data: CohortCreate, now: datetime) -> Cohort:
    values = data.model_dump()
    values["programmes"] = await _check_programmes(session, values["programmes"])
    cohort = Cohort(**values, created_at=now)
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
        if field == "programmes" and value is not None:
            value = await _check_programmes(session, value)
        if value is not None:
            setattr(cohort, field, value)
    await session.flush()
    return cohort


def lesson_schedule(cohort: Cohort, *, now: datetime) -> ScheduleRead:
    spec = cohort.lesson_schedule or {}
    tz = ZoneInfo(cohort.timezone)
    at = None
    if spec.get("days") and spec.get("time"):
        at = next_slot(WeeklySchedule.parse(spec["days"], spec["time"]), tz, now)
    return ScheduleRead(
        cohort_id=cohort.id, timezone=cohort.timezone, lesson_schedule=spec,
        next_lesson_at=at, next_lesson_local=at.astimezone(tz) if at else None,
    )
