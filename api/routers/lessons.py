"""The lesson library: every staff member reads it; admins write it. An edit is a new version,
so what was sent keeps pointing at exactly what was sent."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from api.deps import MAX_ID, ContentIdPath, Now, ScopeDep, SessionDep, SettingsDep
from core.catalog import authoring
from core.catalog.schemas import LessonRead
from core.catalog.service import get_lesson
from core.content.lessons import ID_PATTERN, LessonSpec

router = APIRouter(prefix="/lessons", tags=["lessons"])

Audience = Literal["guardian", "migrant_parent"]
AgeBand = Literal["0-2", "3-6", "7-12", "13-17"]


@router.get("", response_model=list[LessonRead])
async def list_lessons(
    session: SessionDep,
    _scope: ScopeDep,
    include_retired: bool = False,
    audience: Audience | None = None,
    age_band: AgeBand | None = None,
    topic: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
) -> list[LessonRead]:
    rows = await authoring.list_lessons(
        session, include_retired=include_retired, audience=audience, age_band=age_band, topic=topic
    )
    return [LessonRead.model_validate(r) for r in rows]


@router.get("/{lesson_id}", response_model=LessonRead)
async def read_lesson(lesson_id: ContentIdPath, session: SessionDep, _scope: ScopeDep) -> LessonRead:
    return LessonRead.model_validate(await get_lesson(session, lesson_id=lesson_id))


@router.get("/{lesson_id}/versions/{version}", response_model=LessonRead)
async def read_lesson_version(
    lesson_id: ContentIdPath, version: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, _scope: ScopeDep
) -> LessonRead:
    return LessonRead.model_validate(await get_lesson(session, lesson_id=lesson_id, version=version))


@router.post("", response_model=LessonRead, status_code=status.HTTP_201_CREATED)
async def create_lesson(
    data: LessonSpec, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> LessonRead:
    scope.require_admin()
    lesson = await authoring.create_lesson(
        session, spec=data, media_dir=settings.content_dir / "media", actor_id=scope.staff_id, now=now
    )
    return LessonRead.model_validate(lesson)


@router.put("/{lesson_id}", response_model=LessonRead)
async def update_lesson(
    lesson_id: ContentIdPath, data: LessonSpec, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> LessonRead:
    """A new version; the same text as the latest version changes nothing."""
    scope.require_admin()
    lesson = await authoring.update_lesson(
        session, lesson_id=lesson_id, spec=data, media_dir=settings.content_dir / "media",
        actor_id=scope.staff_id, now=now,
    )
    return LessonRead.model_validate(lesson)


@router.post("/{lesson_id}/retire", response_model=LessonRead)
async def retire_lesson(lesson_id: ContentIdPath, session: SessionDep, scope: ScopeDep, now: Now) -> LessonRead:
    scope.require_admin()
    return LessonRead.model_validate(
        await authoring.retire_lesson(session, lesson_id=lesson_id, actor_id=scope.staff_id, now=now)
    )
