"""Loading content/ into the database: everything is validated first (core.content.loader), and
written only when there is no problem at all — texts, lessons and programmes, questionnaires."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.questionnaires import load_questionnaires
from core.catalog.service import load_lessons
from core.content.loader import ContentInvalid, check_content
from core.content.texts import load_texts


async def load_content(session: AsyncSession, *, root: Path, now: datetime) -> dict[str, int]:
    """Validate everything first; write only when there is no problem at all."""
    bundle, problems = check_content(root)
    if problems:
        raise ContentInvalid(problems)
    counts = {"texts": await load_texts(session, files=bundle.texts, now=now)}
    counts.update(await load_lessons(session, lessons=bundle.lessons, programmes=bundle.programmes, now=now))
    counts["questionnaires"] = await load_questionnaires(session, questionnaires=bundle.questionnaires, now=now)
    return counts
