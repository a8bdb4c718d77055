"""The safety floor: admins set the most lenient escalation times and the least frequent
check-ins any cohort may have; directors (and admins editing a cohort) may tighten a cohort,
never loosen it past the floor. Escalation exists to catch a cohort whose alerts nobody
handles, so the people it watches must not be able to switch it off.

- `ack_minutes`: per severity, the longest a cohort's `alert_policy.ack_minutes` may be.
- `checkins_at_least`: the cohort's calendar must send at least one questionnaire this often
  (week / month / quarter); an empty calendar (no check-ins at all) is beyond the floor unless
  it says `none`.

No row: the default floor (red 2 h, orange 2 days, yellow 7 days; at least monthly check-ins),
which every cohort created with the defaults meets. Raising the floor above what a cohort has
is refused (409) with the cohorts named: tighten them first, so nothing changes unseen.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.alerts.policy import AlertPolicy
from core.checkin.schedule import EVERY
from core.errors import Conflict, InvalidFields
from core.models import Cohort, SafetyFloorRow

FLOOR_ID = 1
SEVERITIES = ("red", "orange", "yellow")


class FloorAckMinutes(BaseModel):
    """The most minutes a cohort may let an unacknowledged alert of each severity wait."""

    model_config = ConfigDict(extra="forbid")

    red: int = Field(default=2 * 60, ge=5, le=7 * 24 * 60)
    orange: int = Field(default=2 * 24 * 60, ge=5, le=14 * 24 * 60)
    yellow: int = Field(default=7 * 24 * 60, ge=5, le=30 * 24 * 60)


class SafetyFloor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ack_minutes: FloorAckMinutes = Field(default_factory=FloorAckMinutes)
    # The least frequent calendar a cohort may have; "none" lets a cohort stop check-ins.
    checkins_at_least: Literal["week", "month", "quarter", "none"] = "month"


class SafetyFloorRead(SafetyFloor):
    updated_at: datetime | None  # None: never set, the defaults apply
    updated_by_staff_id: int | None


class BeyondSafetyFloor(InvalidFields):
    code = "beyond_safety_floor"


def _duration(minutes: int) -> str:
    if minutes % (24 * 60) == 0 and minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def alert_policy_problems(policy: AlertPolicy | dict[str, Any] | None, floor: SafetyFloor) -> list[tuple[str, str]]:
    """(field, reason) for every escalation time more lenient than the floor allows."""
    policy = policy if isinstance(policy, AlertPolicy) else AlertPolicy.of(policy)
    problems = []
    for severity in SEVERITIES:
        asked, most = getattr(policy.ack_minutes, severity), getattr(floor.ack_minutes, severity)
        if asked > most:
            problems.append((f"alert_policy.ack_minutes.{severity}",
                             f"the safety floor allows at most {_duration(most)} for {severity} escalation "
                             f"({most} minutes); {asked} asked"))
    return problems


def checkin_schedule_problems(schedule: dict[str, Any] | None, floor: SafetyFloor) -> list[tuple[str, str]]:
    """(field, reason) when the calendar sends check-ins less often than the floor allows."""
    if floor.checkins_at_least == "none":
        return []
    if not schedule:
        return [("checkin_schedule", f"the safety floor does not allow stopping every check-in: at least one "
                                     f"every {floor.checkins_at_least} is needed")]
    most_often = min(EVERY.index(entry["every"]) for entry in schedule.values())
    if most_often > EVERY.index(floor.checkins_at_least):
        return [("checkin_schedule", f"the safety floor needs at least one check-in every "
                                     f"{floor.checkins_at_least}; the most frequent here is every {EVERY[most_often]}")]
    return []


def check_cohort(floor: SafetyFloor, *, alert_policy: Any = None, checkin_schedule: Any = None,
                 check_policy: bool = True, check_schedule: bool = True) -> None:
    """Raise BeyondSafetyFloor (422, every problem named) when a cohort's settings pass the floor."""
    problems = []
    if check_policy:
        problems += alert_policy_problems(alert_policy, floor)
    if check_schedule:
        problems += checkin_schedule_problems(checkin_schedule, floor)
    if problems:
        raise BeyondSafetyFloor(problems)


async def _row(session: AsyncSession) -> SafetyFloorRow | None:
    return await session.get(SafetyFloorRow, FLOOR_ID)


async def get_floor(session: AsyncSession) -> SafetyFloor:
    row = await _row(session)
    return SafetyFloor() if row is None else SafetyFloor.model_validate(row.rules)


async def read_floor(session: AsyncSession) -> SafetyFloorRead:
    """Every staff member may read the floor (directors need to know what they may set)."""
    row = await _row(session)
    floor = SafetyFloor() if row is None else SafetyFloor.model_validate(row.rules)
    return SafetyFloorRead(**floor.model_dump(), updated_at=row.updated_at if row else None,
                           updated_by_staff_id=row.updated_by_staff_id if row else None)


async def set_floor(session: AsyncSession, *, scope: Scope, floor: SafetyFloor, now: datetime) -> SafetyFloorRead:
    """Admins only; audited. A floor stricter than a cohort's current settings is a 409 naming
    the cohorts (at most 10) — they are tightened first, deliberately."""
    scope.require_admin()
    offenders = []
    for cohort in (await session.scalars(select(Cohort).order_by(Cohort.id))).all():
        problems = alert_policy_problems(cohort.alert_policy, floor) + checkin_schedule_problems(
            cohort.checkin_schedule, floor)
        if problems:
            offenders.append(f"cohort {cohort.id}: " + ", ".join(field for field, _ in problems))
    if offenders:
        shown = "; ".join(offenders[:10]) + (f"; and {len(offenders) - 10} more" if len(offenders) > 10 else "")
        raise Conflict(f"these cohorts are beyond the new floor; tighten them first: {shown}",
                       field="safety_floor", code="cohorts_beyond_floor")
    row = await _row(session)
    rules = floor.model_dump()
    before = {} if row is None else row.rules
    if row is None:
        row = SafetyFloorRow(id=FLOOR_ID, rules=rules, updated_at=now, updated_by_staff_id=scope.staff_id)
        session.add(row)
    else:
        row.rules, row.updated_at, row.updated_by_staff_id = rules, now, scope.staff_id
    await session.flush()
    audit.record(session, staff_id=scope.staff_id, action="update", entity="safety_floor", entity_id=FLOOR_ID,
                 now=now, before=before, after=rules)
    return await read_floor(session)
