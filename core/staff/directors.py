"""Who directs a cohort: the director guardians are told about (the primary one, else the first
active one), their name and — when they chose to show it to families — their phone number.
Read by enrolment, check-ins (the safety message), alerts (who is responsible) and the inbox."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Staff, StaffCohort
from core.models.enums import StaffRole
from core.people import display_phone


async def primary_director_name(session: AsyncSession, *, cohort_id: int) -> str | None:
    return await _primary_director(session, cohort_id=cohort_id, column=Staff.display_name)


async def primary_director_contact(session: AsyncSession, *, cohort_id: int) -> tuple[str | None, str | None]:
    """The name guardians see and, when that director chose to show it to families, their phone
    number (as dialled: 13812345678 for a mainland mobile)."""
    row = await _primary_director(session, cohort_id=cohort_id, column=Staff.id)
    if row is None:
        return None, None
    staff = await session.get(Staff, row)
    assert staff is not None
    phone = display_phone(staff.phone) if staff.phone_visible else None
    return staff.display_name, phone


async def primary_director_id(session: AsyncSession, *, cohort_id: int) -> int | None:
    return await _primary_director(session, cohort_id=cohort_id, column=Staff.id)


async def _primary_director(session: AsyncSession, *, cohort_id: int, column: Any) -> Any:
    """The name guardians see: the primary director, else the first active one."""
    row = await session.scalar(
        select(column)
        .join(StaffCohort, StaffCohort.staff_id == Staff.id)
        .where(
            StaffCohort.cohort_id == cohort_id,
            Staff.role == StaffRole.director,
            Staff.active.is_(True),
        )
        .order_by(StaffCohort.is_primary.desc(), Staff.id)
        .limit(1)
    )
    return row
