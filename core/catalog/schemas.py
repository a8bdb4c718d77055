"""Read shapes of the lesson library (the write shapes are the strict content schemas in
core.content.lessons, without the version: the library numbers versions itself)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class LessonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    version: int
    audience: list[str]
    age_bands: list[str]
    topics: list[str]
    source: str
    licence: str
    media: dict[str, Any]
    texts: dict[str, Any]
    loaded_at: datetime
    retired_at: datetime | None


class ProgrammeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    version: int
    audience: str
    age_band: str
    titles: dict[str, Any]
    lessons: list[str]
    loaded_at: datetime
    retired_at: datetime | None
