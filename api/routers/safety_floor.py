"""The safety floor (core.cohorts.floor): every staff member reads it; admins set it (audited)."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import Now, ScopeDep, SessionDep
from core.cohorts import floor

router = APIRouter(prefix="/safety-floor", tags=["safety floor"])


@router.get("", response_model=floor.SafetyFloorRead)
async def read_safety_floor(session: SessionDep, scope: ScopeDep) -> floor.SafetyFloorRead:
    """The most lenient escalation times and the least frequent check-ins any cohort may have."""
    return await floor.read_floor(session)


@router.put("", response_model=floor.SafetyFloorRead)
async def set_safety_floor(data: floor.SafetyFloor, session: SessionDep, scope: ScopeDep,
                           now: Now) -> floor.SafetyFloorRead:
    """Admins only. 409 when a cohort's current settings are beyond the new floor (named)."""
    return await floor.set_floor(session, scope=scope, floor=data, now=now)
