"""The lesson library in the database: loading versions from content/, reading, retiring,
and choosing a guardian's next lesson from their programmes."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.content.lessons import AGE_BANDS, LessonFile, LessonSpec, ProgrammeFile, ProgrammeSpec
from core.people import age_in_years
from core.errors import Conflict, NotFound
from core.models import Child, Lesson, Programme


def _sha(doc: LessonSpec | ProgrammeSpec) -> str:
    data = doc.model_dump(mode="json", exclude={"version"})
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def load_lessons(
    session: AsyncSession, *, lessons: list[LessonFile], programmes: list[ProgrammeFile], now: datetime
) -> dict[str, int]:
    """Insert new versions. A changed file under an already loaded version is refused: what was
    sent must keep pointing at exactly what was sent."""
    added = {"lessons": await _load_new(session, Lesson, lessons, folder="lessons", now=now),
             "programmes": await _load_new(session, Programme, programmes, folder="programmes", now=now)}
    await session.flush()
    return added


_Loaded = TypeVar("_Loaded", Lesson, Programme)


async def _load_new(session: AsyncSession, model: type[_Loaded], docs: Sequence[LessonFile | ProgrammeFile], *,
                    folder: str, now: datetime) -> int:
    added = 0
    for doc in docs:
        existing = await session.get(model, (doc.id, doc.version))
        if existing is not None:
            if existing.sha256 != _sha(doc):
                raise Conflict(
                    f"{folder}/{doc.id}.yaml: version: changed but version {doc.version} is already "
                    "loaded; give it a new version",
                    field="version",
                )
            continue
        row = model(**doc.model_dump(mode="json"), sha256=_sha(doc), loaded_at=now)
        if isinstance(row, Lesson) and row.media is None:
            row.media = {}
        session.add(row)
        added += 1
    return added


async def create_lesson_version(session: AsyncSession, *, doc: LessonSpec, now: datetime) -> Lesson:
    """A new version of a lesson from the API: always the next version number."""
    latest = await session.scalar(select(func.max(Lesson.version)).where(Lesson.id == doc.id))
    data = doc.model_dump(mode="json", exclude={"version"})
    data["version"] = (latest or 0) + 1
    row = Lesson(**data, sha256=_sha(doc), loaded_at=now)
    if row.media is None:
        row.media = {}
    session.add(row)
    await session.flush()
    return row


async def latest_lessons(session: AsyncSession, *, include_retired: bool = False) -> list[Lesson]:
    newest = (
        select(Lesson.id, func.max(Lesson.version).label("version")).group_by(Lesson.id).subquery()
    )
    query = select(Lesson).join(newest, (Lesson.id == newest.c.id) & (Lesson.version == newest.c.version))
    if not include_retired:
        query = query.where(Lesson.retired_at.is_(None))
    return list((await session.scalars(query.order_by(Lesson.id))).all())


async def get_lesson(session: AsyncSession, *, lesson_id: str, version: int | None = None) -> Lesson:
    if version is None:
        version = await session.scalar(select(func.max(Lesson.version)).where(Lesson.id == lesson_id))
    lesson = await session.get(Lesson, (lesson_id, version)) if version else None
    if lesson is None:
        raise NotFound("lesson not found")
    return lesson


async def latest_programmes(session: AsyncSession, *, include_retired: bool = False) -> list[Programme]:
    newest = (
        select(Programme.id, func.max(Programme.version).label("version")).group_by(Programme.id).subquery()
    )
    query = select(Programme).join(
        newest, (Programme.id == newest.c.id) & (Programme.version == newest.c.version)
    )
    if not include_retired:
        query = query.where(Programme.retired_at.is_(None))
    return list((await session.scalars(query.order_by(Programme.id))).all())


async def get_programme(session: AsyncSession, *, programme_id: str, version: int | None = None) -> Programme:
    if version is None:
        version = await session.scalar(select(func.max(Programme.version)).where(Programme.id == programme_id))
    programme = await session.get(Programme, (programme_id, version)) if version else None
    if programme is None:
        raise NotFound("programme not found")
    return programme


def age_band(age: int) -> str:
    if age <= 2:
        return "0-2"
    if age <= 6:
        return "3-6"
    if age <= 12:
        return "7-12"
    return "13-17"


def audience_for(lives_with_children: bool) -> str:
    return "guardian" if lives_with_children else "migrant_parent"


def merged_sequence(sequences: list[list[str]]) -> list[str]:
    """Round-robin over the programmes of each child's age band, without repeats: a
    grandmother of a 5- and a 10-year-old gets lessons for both."""
    out: list[str] = []
    seen: set[str] = set()
    for i in range(max((len(s) for s in sequences), default=0)):
        for seq in sequences:
            if i < len(seq) and seq[i] not in seen:
                seen.add(seq[i])
                out.append(seq[i])
    return out


class LessonPlanner:
    """Chooses next lessons; loads programmes and lesson versions once per batch."""

    def __init__(self, programmes: list[Programme], lessons: list[Lesson]) -> None:
        self.programmes = programmes
        self.lessons = {lesson.id: lesson for lesson in lessons}
        # A batch of 500 guardians has a handful of (audience, bands, programmes): each order once.
        self._sequences: dict[tuple[str, tuple[str, ...], tuple[str, ...] | None], list[str]] = {}

    @classmethod
    async def load(cls, session: AsyncSession) -> LessonPlanner:
        return cls(await latest_programmes(session), await latest_lessons(session))

    def _by_key(self, chosen: list[str] | None) -> dict[tuple[str, str], Programme]:
        """The programme per (audience, age band): the cohort's chosen ones first, in their
        order; any audience and band they do not cover falls back to the standard library."""
        by_id = {p.id: p for p in self.programmes}
        pool = [by_id[pid] for pid in chosen or [] if pid in by_id] + self.programmes
        by_key: dict[tuple[str, str], Programme] = {}
        for programme in pool:
            by_key.setdefault((programme.audience, programme.age_band), programme)
        return by_key

    def sequence(self, *, audience: str, bands: list[str], programmes: list[str] | None = None) -> list[str]:
        key = (audience, tuple(bands), None if programmes is None else tuple(programmes))
        found = self._sequences.get(key)
        if found is None:
            found = self._sequences[key] = self._sequence(audience=audience, bands=bands, programmes=programmes)
        return found

    def _sequence(self, *, audience: str, bands: list[str], programmes: list[str] | None) -> list[str]:
        by_key = self._by_key(programmes)
        ordered = [b for b in AGE_BANDS if b in bands]
        seqs = [by_key[(audience, b)].lessons for b in ordered if (audience, b) in by_key]
        return [lid for lid in merged_sequence(seqs) if lid in self.lessons]

    def next_lesson(
        self, *, audience: str, bands: list[str], done: set[str], programmes: list[str] | None = None
    ) -> Lesson | None:
        for lesson_id in self.sequence(audience=audience, bands=bands, programmes=programmes):
            if lesson_id not in done:
                return self.lessons[lesson_id]
        return None


async def household_bands(session: AsyncSession, *, household_ids: list[int], today: date) -> dict[int, list[str]]:
    rows = await session.execute(
        select(Child.household_id, Child.birth_year, Child.birth_month).where(Child.household_id.in_(household_ids))
    )
    bands: dict[int, list[str]] = {}
    for household_id, year, month in rows:
        band = age_band(age_in_years(year, month, today))
        bands.setdefault(household_id, [])
        if band not in bands[household_id]:
            bands[household_id].append(band)
    return bands
