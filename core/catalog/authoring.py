"""Writing the lesson library from the API: new lessons and programmes, new versions, retiring.

Versions are immutable: an edit is always a new version, so what was sent keeps pointing at
exactly what was sent. Files under content/ and the API share one version sequence per id.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.catalog.service import _sha, create_lesson_version, get_lesson, get_programme, latest_lessons
from core.content.lessons import LessonSpec, ProgrammeSpec, audio_problem
from core.errors import Conflict, Invalid, InvalidFields
from core.models import Lesson, Programme


async def list_lessons(
    session: AsyncSession,
    *,
    include_retired: bool = False,
    audience: str | None = None,
    age_band: str | None = None,
    topic: str | None = None,
) -> list[Lesson]:
    """The latest version of each lesson. Filters run here: they look inside JSON lists, which
    the two engines query differently, and the library is small."""
    return [
        lesson
        for lesson in await latest_lessons(session, include_retired=include_retired)
        if (audience is None or audience in lesson.audience)
        and (age_band is None or age_band in lesson.age_bands)
        and (topic is None or topic in lesson.topics)
    ]


def media_problems(spec: LessonSpec, *, media_dir: Path) -> list[tuple[str, str]]:
    """Like `content check`: every media file must be there before a lesson may point at it."""
    problems = []
    for kind in ("image", "voice"):
        name = getattr(spec.media, kind, None) if spec.media else None
        if name and not (media_dir / name).is_file():
            problems.append((f"media.{kind}", f"file not found: media/{name}"))
    for locale, name in ((spec.media.audio or {}) if spec.media else {}).items():
        file = media_dir / name
        if not file.is_file():
            problems.append((f"media.audio.{locale}", f"file not found: media/{name}"))
        elif (why := audio_problem(file.read_bytes()[:16], name)) is not None:
            problems.append((f"media.audio.{locale}", why))
    return problems


async def create_lesson(
    session: AsyncSession, *, spec: LessonSpec, media_dir: Path, actor_id: int | None, now: datetime
) -> Lesson:
    if await session.scalar(select(func.count()).where(Lesson.id == spec.id)):
        raise Conflict(f"lesson {spec.id!r} already exists; PUT a new version instead", field="id",
                       code="already_exists")
    return await _new_lesson_version(session, spec=spec, media_dir=media_dir, actor_id=actor_id, now=now)


async def update_lesson(
    session: AsyncSession, *, lesson_id: str, spec: LessonSpec, media_dir: Path, actor_id: int | None,
    now: datetime,
) -> Lesson:
    """A new version, unless the text is identical to the latest one (a repeated PUT adds nothing)."""
    if spec.id != lesson_id:
        raise Invalid(f"must equal the lesson id in the path ({lesson_id!r})", field="id")
    latest = await get_lesson(session, lesson_id=lesson_id)
    if latest.retired_at is not None:
        raise Conflict("lesson is retired", code="retired")
    if latest.sha256 == _sha(spec):
        return latest
    return await _new_lesson_version(session, spec=spec, media_dir=media_dir, actor_id=actor_id, now=now)


async def _new_lesson_version(
    session: AsyncSession, *, spec: LessonSpec, media_dir: Path, actor_id: int | None, now: datetime
) -> Lesson:
    problems = media_problems(spec, media_dir=media_dir)
    if problems:
        raise InvalidFields(problems)
    lesson = await create_lesson_version(session, doc=spec, now=now)
    audit.record(session, staff_id=actor_id, action="create", entity="lesson", now=now,
                 lesson_id=lesson.id, version=lesson.version)
    return lesson


async def retire_lesson(session: AsyncSession, *, lesson_id: str, actor_id: int | None, now: datetime) -> Lesson:
    """Retired lessons are skipped when choosing a guardian's next lesson; sent ones stay readable."""
    lesson = await get_lesson(session, lesson_id=lesson_id)
    if lesson.retired_at is not None:
        raise Conflict("lesson already retired", code="already_retired")
    lesson.retired_at = now
    audit.record(session, staff_id=actor_id, action="update", entity="lesson", now=now, fields=["retired_at"],
                 lesson_id=lesson.id, version=lesson.version)
    return lesson


# ---------------------------------------------------------------- programmes


def programme_problems(spec: ProgrammeSpec, lessons: dict[str, Lesson]) -> list[tuple[str, str]]:
    """Every listed lesson must exist, be in use, and fit the programme's audience and age band
    (the same reasons `content check` gives, plus retirement)."""
    problems = []
    for index, lesson_id in enumerate(spec.lessons):
        lesson = lessons.get(lesson_id)
        if lesson is None:
            reason = f"unknown lesson {lesson_id!r}"
        elif lesson.retired_at is not None:
            reason = f"lesson {lesson_id!r} is retired"
        elif spec.audience not in lesson.audience:
            reason = f"lesson {lesson_id!r} is not for {spec.audience}"
        elif spec.age_band not in lesson.age_bands:
            reason = f"lesson {lesson_id!r} is not for ages {spec.age_band}"
        else:
            continue
        problems.append((f"lessons.{index}", reason))
    return problems


async def create_programme(
    session: AsyncSession, *, spec: ProgrammeSpec, actor_id: int | None, now: datetime
) -> Programme:
    if await session.scalar(select(func.count()).where(Programme.id == spec.id)):
        raise Conflict(f"programme {spec.id!r} already exists; PUT a new version instead", field="id",
                       code="already_exists")
    return await _new_programme_version(session, spec=spec, version=1, actor_id=actor_id, now=now)


async def update_programme(
    session: AsyncSession, *, programme_id: str, spec: ProgrammeSpec, actor_id: int | None, now: datetime
) -> Programme:
    if spec.id != programme_id:
        raise Invalid(f"must equal the programme id in the path ({programme_id!r})", field="id")
    latest = await get_programme(session, programme_id=programme_id)
    if latest.retired_at is not None:
        raise Conflict("programme is retired", code="retired")
    if latest.sha256 == _sha(spec):
        return latest
    return await _new_programme_version(session, spec=spec, version=latest.version + 1, actor_id=actor_id, now=now)


async def _new_programme_version(
    session: AsyncSession, *, spec: ProgrammeSpec, version: int, actor_id: int | None, now: datetime
) -> Programme:
    lessons = {lesson.id: lesson for lesson in await latest_lessons(session, include_retired=True)}
    problems = programme_problems(spec, lessons)
    if problems:
        raise InvalidFields(problems)
    programme = Programme(**spec.model_dump(mode="json"), version=version, sha256=_sha(spec), loaded_at=now)
    session.add(programme)
    await session.flush()
    audit.record(session, staff_id=actor_id, action="create", entity="programme", now=now,
                 programme_id=programme.id, version=programme.version)
    return programme


async def retire_programme(
    session: AsyncSession, *, programme_id: str, actor_id: int | None, now: datetime
) -> Programme:
    programme = await get_programme(session, programme_id=programme_id)
    if programme.retired_at is not None:
        raise Conflict("programme already retired", code="already_retired")
    programme.retired_at = now
    audit.record(session, staff_id=actor_id, action="update", entity="programme", now=now, fields=["retired_at"],
                 programme_id=programme.id, version=programme.version)
    return programme

