from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.catalog.service import latest_programmes
from core.checkin import schedule as cal
from core.checkin.authoring import latest_questionnaires
from core.cohorts import floor as safety_floor
from core.cohorts.schemas import (
    CheckinScheduleEntry, CheckinScheduleField, CheckinScheduleRead, CheckinSlotRead, CohortCreate, CohortUpdate, ScheduleRead,
)
from core.delivery.schedule import WeeklySchedule, next_slot
from core.errors import Invalid, InvalidFields, NotFound
from core.models import Cohort

_schedule_json = TypeAdapter(CheckinScheduleField)


async def _check_programmes(session: AsyncSession, programme_ids: list[str]) -> list[str]:
    """Every chosen programme must exist and not be retired; order is kept, repeats dropped."""
    ids = list(dict.fromkeys(programme_ids))
    if ids:
        known = {p.id for p in await latest_programmes(session)}
        unknown = [pid for pid in ids if pid not in known]
        if unknown:
            raise Invalid(f"unknown or retired programme: {', '.join(unknown)}", field="programmes")
    return ids


async def _check_checkin_schedule(session: AsyncSession, schedule: dict[str, Any]) -> None:
    """Every scheduled questionnaire must be loaded and in use; all problems at once."""
    if not schedule:
        return
    rows = {q.id: q for q in await latest_questionnaires(session, include_retired=True)}
    problems = []
    for questionnaire_id in schedule:
        row = rows.get(questionnaire_id)
        if row is None:
            problems.append((f"checkin_schedule.{questionnaire_id}", f"unknown questionnaire {questionnaire_id!r}"))
        elif row.retired_at is not None:
            problems.append((f"checkin_schedule.{questionnaire_id}", f"questionnaire {questionnaire_id!r} is retired"))
    if problems:
        raise InvalidFields(problems)


async def create_cohort(session: AsyncSession, *, data: CohortCreate, now: datetime) -> Cohort:
    values = data.model_dump()
    values["programmes"] = await _check_programmes(session, values["programmes"])
    # The default calendar is not checked: a cohort can be set up before content is loaded
    # (the tick skips questionnaires that are not there yet).
    if "checkin_schedule" in data.model_fields_set:
        await _check_checkin_schedule(session, values["checkin_schedule"])
    safety_floor.check_cohort(await safety_floor.get_floor(session), alert_policy=values["alert_policy"],
                              checkin_schedule=values["checkin_schedule"])
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


async def require_cohort(session: AsyncSession, *, scope: Scope, cohort_id: int) -> None:
    """As get_cohort, when only its existence matters: one indexed id lookup, no row loaded."""
    if not scope.sees(cohort_id):
        raise NotFound("cohort not found", field="cohort_id")
    # A staff member's cohorts exist (staff_cohorts' foreign key; cohorts are never deleted):
    # only an admin's "every cohort" needs the lookup.
    if scope.cohort_ids is None and await session.scalar(select(Cohort.id).where(Cohort.id == cohort_id)) is None:
        raise NotFound("cohort not found", field="cohort_id")


async def update_cohort(
    session: AsyncSession, *, scope: Scope, cohort_id: int, data: CohortUpdate, now: datetime
) -> Cohort:
    cohort = await get_cohort(session, scope=scope, cohort_id=cohort_id)
    scope.require_change(cohort_id)
    changes = data.model_dump(exclude_unset=True)
    policy, schedule = changes.get("alert_policy"), changes.get("checkin_schedule")
    if policy is not None or schedule is not None:
        safety_floor.check_cohort(await safety_floor.get_floor(session), alert_policy=policy,
                                  checkin_schedule=schedule, check_policy=policy is not None,
                                  check_schedule=schedule is not None)
    changed = []
    for field, value in changes.items():
        if field == "programmes" and value is not None:
            value = await _check_programmes(session, value)
        if field == "checkin_schedule" and value is not None:
            await _check_checkin_schedule(session, value)
        if value is not None:
            setattr(cohort, field, value)
            changed.append(field)
    await session.flush()
    if changed:
        audit.record(session, staff_id=scope.staff_id, action="update", entity="cohort", entity_id=cohort.id,
                     cohort_id=cohort.id, now=now, fields=sorted(changed))
    return cohort


async def set_checkin_schedule(
    session: AsyncSession, *, scope: Scope, cohort_id: int, schedule: dict[str, CheckinScheduleEntry],
    now: datetime,
) -> Cohort:
    """Replace the cohort's check-in calendar; {} stops its check-ins. Rounds already planned
    go on; the next tick plans by the new calendar."""
    cohort = await get_cohort(session, scope=scope, cohort_id=cohort_id)
    scope.require_change(cohort_id)
    spec = _schedule_json.dump_python(schedule)
    await _check_checkin_schedule(session, spec)
    safety_floor.check_cohort(await safety_floor.get_floor(session), checkin_schedule=spec, check_policy=False)
    cohort.checkin_schedule = spec
    await session.flush()
    audit.record(session, staff_id=scope.staff_id, action="update", entity="cohort", entity_id=cohort.id,
                 cohort_id=cohort.id, now=now, fields=["checkin_schedule"])
    return cohort


async def checkin_schedule(session: AsyncSession, *, cohort: Cohort, now: datetime) -> CheckinScheduleRead:
    """Each scheduled questionnaire's next slot and cycle, and the version it would send."""
    tz = ZoneInfo(cohort.timezone)
    in_use = {q.id: q.version for q in await latest_questionnaires(session)}
    entries = []
    for questionnaire_id, spec in (cohort.checkin_schedule or {}).items():
        rule = cal.CheckinSlotRule.parse(spec)
        at = cal.next_slot(rule, tz, now)
        entries.append(CheckinSlotRead(
            questionnaire_id=questionnaire_id, questionnaire_version=in_use.get(questionnaire_id),
            entry=CheckinScheduleEntry.model_validate(spec), next_at=at, next_local=at.astimezone(tz),
            cycle=cal.cycle_key(rule, at, tz),
        ))
    entries.sort(key=lambda e: (e.next_at, e.questionnaire_id))
    return CheckinScheduleRead(cohort_id=cohort.id, timezone=cohort.timezone, entries=entries)


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
