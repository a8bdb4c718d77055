"""Versioned texts (consent now; safety messages later), validated strictly and loaded all or
nothing. A changed text must get a new version: what a guardian agreed to never changes under them."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.content.localized import check_localized
from core.errors import Conflict
from core.models import TextDocument

TEXT_MAX = 1500


class TextFile(BaseModel):
    """content/texts/<kind>.yaml"""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["consent"]
    version: int = Field(ge=1)
    texts: dict[str, str]

    @field_validator("texts")
    @classmethod
    def _every_locale(cls, value: dict[str, str]) -> dict[str, str]:
        return check_localized(value, max_chars=TEXT_MAX)

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.texts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def load_texts(session: AsyncSession, *, files: list[TextFile], now: datetime) -> int:
    """Insert new versions; refuse a changed text under an existing version. Returns rows added."""
    added = 0
    for doc in files:
        existing = await session.get(TextDocument, (doc.kind, doc.version))
        if existing is not None:
            if existing.sha256 != doc.sha256():
                raise Conflict(
                    f"texts/{doc.id}.yaml: version: text changed but version {doc.version} is already "
                    "loaded; give the new text a new version",
                    field="version",
                )
            continue
        session.add(TextDocument(kind=doc.kind, version=doc.version, texts=doc.texts,
                                 sha256=doc.sha256(), loaded_at=now))
        added += 1
    await session.flush()
    return added


async def current_text(session: AsyncSession, *, kind: str) -> TextDocument | None:
    return await session.scalar(
        select(TextDocument).where(TextDocument.kind == kind).order_by(TextDocument.version.desc()).limit(1)
    )


async def text_version(session: AsyncSession, *, kind: str, version: int) -> TextDocument | None:
    return await session.get(TextDocument, (kind, version))
