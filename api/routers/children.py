"""Children: directors (and admins) correct a child's details; supervisors only read them."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import IdPath, Now, ScopeDep, SessionDep
from core.households import service
from core.households.schemas import ChildRead, ChildUpdate

router = APIRouter(prefix="/children", tags=["households"])


@router.patch("/{child_id}", response_model=ChildRead)
async def update_child(
    child_id: IdPath, data: ChildUpdate, session: SessionDep, scope: ScopeDep, now: Now
) -> ChildRead:
    child = await service.update_child(session, scope=scope, child_id=child_id, data=data, now=now)
    return ChildRead.model_validate(child)
