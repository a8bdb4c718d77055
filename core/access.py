"""Who may see and change what. Staff see only their cohorts; admins see all.

Things outside a staff member's scope are reported as *not found*, never *forbidden*,
so one cohort's staff cannot even learn that another cohort's household exists.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Forbidden, NotFound
from core.models import Staff, StaffCohort
from core.models.enums import StaffRole


@dataclass(frozen=True)
class Scope:
    staff_id: int
    role: str
    cohort_ids: frozenset[int] | None  # None: every cohort (admin)

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.admin

    def sees(self, cohort_id: int) -> bool:
        return self.cohort_ids is None or cohort_id in self.cohort_ids

    def require_visible(self, cohort_id: int, what: str = "cohort") -> None:
        if not self.sees(cohort_id):
            raise NotFound(f"{what} not found")

    def require_change(self, cohort_id: int) -> None:
        """Directors change their own cohorts' data; supervisors only read; admins do all."""
        self.require_visible(cohort_id)
        if self.role == StaffRole.supervisor:
            raise Forbidden("supervisors can read this cohort's data but not change it")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("only admins can do this")


async def scope_for(session: AsyncSession, staff: Staff) -> Scope:
    if staff.role == StaffRole.admin:
        return Scope(staff_id=staff.id, role=staff.role, cohort_ids=None)
    rows = await session.scalars(select(StaffCohort.cohort_id).where(StaffCohort.staff_id == staff.id))
    return Scope(staff_id=staff.id, role=staff.role, cohort_ids=frozenset(rows.all()))
