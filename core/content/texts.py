"""Versioned texts — the consent text, and the safety message a guardian gets after a red
answer — validated strictly and loaded all or nothing. A changed text must get a new version:
what a guardian agreed to, or was told in a crisis, never changes under them."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.content.localized import check_localized
from core.errors import Conflict
from core.models import TextDocument

TEXT_MAX = 1500
# The safety message names the help lines where {lines} stands: the cohort's local lines and its
# child director, filled in when it is sent. No other placeholder exists in any text.
PLACEHOLDERS = {"consent": set(), "consent_web": set(), "safety": {"lines"}}
# The consent wording for the bot (naming /mydata /stop /delete) and for the mobile web pages
# (naming its pages): one version sequence, so a guardian's consent_version names one text.
CONSENT_KINDS = ("consent", "consent_web")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class TextFile(BaseModel):
    """content/texts/<kind>.yaml"""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["consent", "consent_web", "safety"]
    version: int = Field(ge=1)
    texts: dict[str, str]

    @field_validator("texts")
    @classmethod
    def _every_locale(cls, value: dict[str, str]) -> dict[str, str]:
        return check_localized(value, max_chars=TEXT_MAX)

    @model_validator(mode="after")
    def _placeholders(self) -> TextFile:
        allowed = PLACEHOLDERS[self.kind]
        for locale, text in self.texts.items():
            found = _PLACEHOLDER.findall(text)
            unknown = sorted(set(found) - allowed)
            if unknown:
                raise ValueError(f"texts.{locale}: unknown placeholder {{{unknown[0]}}}"
                                 + (f"; only {', '.join('{' + p + '}' for p in sorted(allowed))}" if allowed else ""))
            for name in sorted(allowed):
                if found.count(name) != 1:
                    raise ValueError(f"texts.{locale}: needs {{{name}}} exactly once (where the help lines go)")
            if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
                raise ValueError(f"texts.{locale}: unbalanced braces")
        return self

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.texts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def load_texts(session: AsyncSession, *, files: list[TextFile], now: datetime) -> int:
    """Insert new versions; refuse a changed text under an existing version. Returns rows added."""
    added = 0
    for doc in files:
        if doc.kind in CONSENT_KINDS:
            other = await session.get(TextDocument, (_other_consent(doc.kind), doc.version))
            if other is not None:
                raise Conflict(f"texts/{doc.id}.yaml: version: {doc.version} is already a version of "
                               f"{other.kind!r}; consent versions are one sequence: give it the next free number",
                               field="version")
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


def _other_consent(kind: str) -> str:
    return CONSENT_KINDS[1] if kind == CONSENT_KINDS[0] else CONSENT_KINDS[0]


async def current_consent(session: AsyncSession, *, web: bool) -> TextDocument | None:
    """The consent text to show: the web pages' own wording where there is one, else the bot's."""
    if web:
        doc = await current_text(session, kind="consent_web")
        if doc is not None:
            return doc
    return await current_text(session, kind="consent")


async def current_text(session: AsyncSession, *, kind: str) -> TextDocument | None:
    return await session.scalar(
        select(TextDocument).where(TextDocument.kind == kind).order_by(TextDocument.version.desc()).limit(1)
    )

