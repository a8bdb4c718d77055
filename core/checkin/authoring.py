"""Writing questionnaires from the API: new versions and retiring. New questionnaires come from
content/ files (they need a source and a licence someone checked); the API edits what exists.

Versions are immutable: an edit is always a new version, so a check-in already sent keeps
pointing at exactly what was asked. Files under content/ and the API share one version sequence
per id. A body is checked exactly like a file (`content check`), and every problem is reported.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.catalog.service import latest_lessons
from core.catalog.questionnaires import _sha
from core.content.loader import _validation_problems  # the same field: reason as content check
from core.content.questionnaires import QuestionnaireFile, clean_loc
from core.errors import Conflict, Invalid, InvalidFields, NotFound
from core.models import Questionnaire


async def latest_questionnaires(session: AsyncSession, *, include_retired: bool = False) -> list[Questionnaire]:
    """The newest version of each questionnaire, by id."""
    newest = (
        select(Questionnaire.id, func.max(Questionnaire.version).label("version"))
        .group_by(Questionnaire.id).subquery()
    )
    query = select(Questionnaire).join(
        newest, (Questionnaire.id == newest.c.id) & (Questionnaire.version == newest.c.version)
    )
    if not include_retired:
        query = query.where(Questionnaire.retired_at.is_(None))
    return list((await session.scalars(query.order_by(Questionnaire.id))).all())


async def get_questionnaire_row(session: AsyncSession, *, questionnaire_id: str,
                                version: int | None = None) -> Questionnaire:
    """A version, or the newest one (retired or not: staff may still read it)."""
    if version is None:
        version = await session.scalar(
            select(func.max(Questionnaire.version)).where(Questionnaire.id == questionnaire_id)
        )
    row = await session.get(Questionnaire, (questionnaire_id, version)) if version else None
    if row is None:
        raise NotFound("questionnaire not found")
    return row


def parse_questionnaire(data: dict[str, Any], *, version: int) -> QuestionnaireFile:
    """A body (a file without its version) validated as the file it would be."""
    problems: list[tuple[str, str]] = []
    if "version" in data:
        problems.append(("version", "leave it out: the library numbers versions"))
    try:
        doc = QuestionnaireFile.model_validate({**{k: v for k, v in data.items() if k != "version"},
                                                "version": version})
    except ValidationError as exc:
        problems += [(p.field, p.reason) for p in _validation_problems("", exc, clean_loc)]
        raise InvalidFields(problems) from None
    if problems:
        raise InvalidFields(problems)
    return doc


async def _lesson_problems(session: AsyncSession, doc: QuestionnaireFile) -> list[tuple[str, str]]:
    """Like `content check`: a rule may only suggest lessons that exist."""
    known = {lesson.id for lesson in await latest_lessons(session, include_retired=True)}
    return [(f"rules.{r}.lessons.{k}", f"unknown lesson {lesson_id!r}")
            for r, rule in enumerate(doc.rules) for k, lesson_id in enumerate(rule.lessons) if lesson_id not in known]


async def update_questionnaire(
    session: AsyncSession, *, questionnaire_id: str, data: dict[str, Any], actor_id: int | None, now: datetime
) -> Questionnaire:
    """A new version (the next number), unless the body is identical to the latest version: a
    repeated PUT adds nothing. Check-ins already sent keep their version."""
    latest_version = await session.scalar(
        select(func.max(Questionnaire.version)).where(Questionnaire.id == questionnaire_id)
    )
    doc = parse_questionnaire(data, version=(latest_version or 0) + 1)
    if doc.id != questionnaire_id:
        raise Invalid(f"must equal the questionnaire id in the path ({questionnaire_id!r})", field="id")
    latest = await get_questionnaire_row(session, questionnaire_id=questionnaire_id)
    if latest.retired_at is not None:
        raise Conflict("questionnaire is retired", code="retired")
    problems = await _lesson_problems(session, doc)
    if problems:
        raise InvalidFields(problems)
    if _sha(doc) == latest.sha256:
        return latest
    if doc.subject != latest.subject:
        # Alerts, schedules and history all read the subject: a new subject is a new questionnaire.
        raise Invalid(f"cannot change from {latest.subject!r}; give the new form its own id", field="subject")
    row = Questionnaire(id=doc.id, version=doc.version, subject=doc.subject, doc=doc.model_dump(mode="json"),
                        sha256=_sha(doc), loaded_at=now)
    session.add(row)
    await session.flush()
    audit.record(session, staff_id=actor_id, action="create", entity="questionnaire", now=now,
                 questionnaire_id=row.id, version=row.version)
    return row


async def retire_questionnaire(
    session: AsyncSession, *, questionnaire_id: str, actor_id: int | None, now: datetime
) -> Questionnaire:
    """No new check-ins are opened with it (schedules naming it are skipped); sent ones stay
    answerable and readable. Every version is marked, so no older one takes its place."""
    latest = await get_questionnaire_row(session, questionnaire_id=questionnaire_id)
    if latest.retired_at is not None:
        raise Conflict("questionnaire already retired", code="already_retired")
    rows = (await session.scalars(
        select(Questionnaire).where(Questionnaire.id == questionnaire_id, Questionnaire.retired_at.is_(None))
    )).all()
    for row in rows:
        row.retired_at = now
    await session.flush()
    audit.record(session, staff_id=actor_id, action="update", entity="questionnaire", now=now,
                 fields=["retired_at"], questionnaire_id=latest.id, version=latest.version)
    return latest

