"""Questionnaire versions in the database: loaded from content/ (a version never changes once
loaded, so a check-in always points at exactly what was asked), parsed once, and read back by
check-ins, alerts, household records and the API."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.content.questionnaires import QuestionnaireFile
from core.errors import Conflict, NotFound
from core.models import Questionnaire


def _sha(doc: QuestionnaireFile) -> str:
    data = doc.model_dump(mode="json", exclude={"version"})
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def load_questionnaires(session: AsyncSession, *, questionnaires: list[QuestionnaireFile],
                              now: datetime) -> int:
    """Insert new versions; a changed file under an already loaded version is refused, so a
    check-in always points at exactly what was asked. Returns the number of versions added."""
    added = 0
    for doc in questionnaires:
        existing = await session.get(Questionnaire, (doc.id, doc.version))
        if existing is not None:
            if existing.sha256 != _sha(doc):
                raise Conflict(
                    f"questionnaires/{doc.id}.yaml: version: changed but version {doc.version} is already "
                    "loaded; give it a new version",
                    field="version",
                )
            continue
        session.add(Questionnaire(id=doc.id, version=doc.version, subject=doc.subject,
                                  doc=doc.model_dump(mode="json"), sha256=_sha(doc), loaded_at=now))
        added += 1
    await session.flush()
    return added


_parsed: dict[tuple[str, int, str], QuestionnaireFile] = {}


def questionnaire_file(row: Questionnaire) -> QuestionnaireFile:
    """The validated file of a stored version (versions are immutable, so parsed once)."""
    key = (row.id, row.version, row.sha256)
    if key not in _parsed:
        _parsed[key] = QuestionnaireFile.model_validate(row.doc)
    return _parsed[key]


async def stored_questionnaire_file(session: AsyncSession, *, questionnaire_id: str,
                                    version: int, sha256: str | None = None) -> QuestionnaireFile:
    """A stored version's file, reading its document only the first time this process meets
    its hash (one small query otherwise, none when the caller read `sha256` along with the rows
    that name the version). The version must exist (a foreign key's target)."""
    sha = sha256 if sha256 is not None else await session.scalar(
        select(Questionnaire.sha256).where(Questionnaire.id == questionnaire_id, Questionnaire.version == version))
    parsed = _parsed.get((questionnaire_id, version, sha)) if sha is not None else None
    if parsed is not None:
        return parsed
    row = await session.get(Questionnaire, (questionnaire_id, version))
    if row is None:
        raise NotFound("questionnaire not found")
    return questionnaire_file(row)


async def get_questionnaire(session: AsyncSession, *, questionnaire_id: str,
                            version: int | None = None) -> QuestionnaireFile:
    """A version, or the latest one — NotFound when the latest is retired (an older version
    never quietly comes back into use)."""
    if version is None:
        # The latest version's number, hash and retirement first: its document is read and
        # parsed only the first time this process meets that hash (a case close, every tick).
        latest = (await session.execute(
            select(Questionnaire.version, Questionnaire.sha256, Questionnaire.retired_at)
            .where(Questionnaire.id == questionnaire_id).order_by(Questionnaire.version.desc()).limit(1)
        )).first()
        if latest is None or latest.retired_at is not None:
            raise NotFound("questionnaire not found")
        parsed = _parsed.get((questionnaire_id, latest.version, latest.sha256))
        if parsed is not None:
            return parsed
        row = await session.get(Questionnaire, (questionnaire_id, latest.version))
    else:
        row = await session.get(Questionnaire, (questionnaire_id, version))
    if row is None:
        raise NotFound("questionnaire not found")
    return questionnaire_file(row)
