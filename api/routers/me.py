"""GET /me: who the token belongs to."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentStaff, SessionDep
from core.staff import service
from core.staff.schemas import StaffRead

router = APIRouter(tags=["staff"])


@router.get("/me", response_model=StaffRead)
async def read_me(session: SessionDep, staff: CurrentStaff) -> StaffRead:
    staff = await service.get_staff(session, staff_id=staff.id)  # with memberships loaded
    return StaffRead.model_validate(staff)
