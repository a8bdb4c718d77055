"""Programmes: ordered lesson sequences per audience and age band. Everyone reads; admins write."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import MAX_ID, ContentIdPath, Now, ScopeDep, SessionDep
from core.catalog import authoring
from core.catalog.schemas import ProgrammeRead
from core.catalog.service import get_programme, latest_programmes
from core.content.lessons import ProgrammeSpec

router = APIRouter(prefix="/programmes", tags=["lessons"])


@router.get("", response_model=list[ProgrammeRead])
async def list_programmes(session: SessionDep, _scope: ScopeDep, include_retired: bool = False) -> list[ProgrammeRead]:
    rows = await latest_programmes(session, include_retired=include_retired)
    return [ProgrammeRead.model_validate(r) for r in rows]


@router.get("/{programme_id}", response_model=ProgrammeRead)
async def read_programme(programme_id: ContentIdPath, session: SessionDep, _scope: ScopeDep) -> ProgrammeRead:
    return ProgrammeRead.model_validate(await get_programme(session, programme_id=programme_id))


@router.get("/{programme_id}/versions/{version}", response_model=ProgrammeRead)
async def read_programme_version(
    programme_id: ContentIdPath, version: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep,
    _scope: ScopeDep,
) -> ProgrammeRead:
    return ProgrammeRead.model_validate(await get_programme(session, programme_id=programme_id, version=version))


@router.post("", response_model=ProgrammeRead, status_code=status.HTTP_201_CREATED)
async def create_programme(data: ProgrammeSpec, session: SessionDep, scope: ScopeDep, now: Now) -> ProgrammeRead:
    scope.require_admin()
    return ProgrammeRead.model_validate(
        await authoring.create_programme(session, spec=data, actor_id=scope.staff_id, now=now)
    )


@router.put("/{programme_id}", response_model=ProgrammeRead)
async def update_programme(
    programme_id: ContentIdPath, data: ProgrammeSpec, session: SessionDep, scope: ScopeDep, now: Now
) -> ProgrammeRead:
    scope.require_admin()
    programme = await authoring.update_programme(
        session, programme_id=programme_id, spec=data, actor_id=scope.staff_id, now=now
    )
    return ProgrammeRead.model_validate(programme)


@router.post("/{programme_id}/retire", response_model=ProgrammeRead)
async def retire_programme(programme_id: ContentIdPath, session: SessionDep, scope: ScopeDep, now: Now) -> ProgrammeRead:
    scope.require_admin()
    return ProgrammeRead.model_validate(
        await authoring.retire_programme(session, programme_id=programme_id, actor_id=scope.staff_id, now=now)
    )
