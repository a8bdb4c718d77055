"""Lessons and programmes: the strict file format (content/lessons/*.yaml,
content/programmes/*.yaml). See content/README.md for authors."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config import SUPPORTED_LOCALES
from core.content.localized import check_localized

AGE_BANDS = ("0-2", "3-6", "7-12", "13-17")
AUDIENCES = ("guardian", "migrant_parent")
ID_PATTERN = r"^[a-z][a-z0-9_]*$"

# Length limits per locale: Chinese counts characters, English counts words.
LIMITS = {
    "zh-Hans": {"title": 20, "body": 150, "try_today": 60},
    "en": {"title": 12, "body": 90, "try_today": 40},
}

_MARKUP = re.compile(r"\*\*|__|[*_`]")


def text_length(text: str, locale: str) -> int:
    """Characters (without spaces and markup) for Chinese; words for English."""
    plain = _MARKUP.sub("", text)
    if locale == "en":
        return len(plain.split())
    return len(re.sub(r"\s", "", plain))


class LessonText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    body: str = Field(min_length=1)
    try_today: str = Field(min_length=1)


# A relative path whose parts never start with a dot: nothing outside content/media/ (a lesson
# written through the API must not make the bot upload some other file on the server).
MEDIA_PATH_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$"


AUDIO_SUFFIXES = (".mp3", ".m4a")


def check_audio(value: dict[str, str] | None) -> dict[str, str] | None:
    """{locale: path}: a known locale, a safe relative path, an .mp3 or .m4a."""
    if value is None:
        return None
    for locale, path in value.items():
        if locale not in SUPPORTED_LOCALES:
            raise ValueError(f"unknown locale {locale!r} (one of {', '.join(SUPPORTED_LOCALES)})")
        if not isinstance(path, str) or len(path) > 200 or not re.fullmatch(MEDIA_PATH_PATTERN, path):
            raise ValueError(f"{locale}: not a relative path under content/media/")
        if not path.lower().endswith(AUDIO_SUFFIXES):
            raise ValueError(f"{locale}: must be an .mp3 or .m4a file")
    return value


def audio_problem(data: bytes, path: str) -> str | None:
    """Why these bytes are not the audio their name says (None: they look right)."""
    if path.lower().endswith(".mp3"):
        if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
            return None
        return "not an MP3 file (no ID3 tag or MPEG frame at the start)"
    if data[4:8] == b"ftyp":
        return None
    return "not an M4A file (no ftyp box at the start)"


class LessonMedia(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str | None = Field(default=None, pattern=MEDIA_PATH_PATTERN, max_length=200)  # under content/media/
    # an .ogg (OPUS) voice recording under content/media/
    voice: str | None = Field(default=None, pattern=MEDIA_PATH_PATTERN, max_length=200)
    # The lesson read aloud, per locale, for the mobile pages (an .mp3 or .m4a under content/media/:
    # the formats every phone browser plays, WeChat's included, where there is no speech synthesis).
    audio: dict[str, str] | None = None

    @field_validator("audio")
    @classmethod
    def _audio(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return check_audio(value)


class LessonSpec(BaseModel):
    """A lesson as written, without its version: the API's body (the API numbers versions)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, max_length=64)
    audience: list[Literal["guardian", "migrant_parent"]] = Field(min_length=1)
    age_bands: list[Literal["0-2", "3-6", "7-12", "13-17"]] = Field(min_length=1)
    topics: list[str] = Field(min_length=1)
    source: str = Field(min_length=10)
    licence: str = Field(min_length=3)
    media: LessonMedia | None = None
    texts: dict[str, LessonText]

    @field_validator("audience", "age_bands", "topics")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("has duplicates")
        return value

    @field_validator("topics")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not re.fullmatch(ID_PATTERN, t)]
        if bad:
            raise ValueError(f"tags must be lowercase words with underscores: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _locales_and_lengths(self) -> LessonSpec:
        missing = [loc for loc in SUPPORTED_LOCALES if loc not in self.texts]
        if missing:
            raise ValueError(f"texts: missing locale {', '.join(missing)}")
        unknown = sorted(set(self.texts) - set(SUPPORTED_LOCALES))
        if unknown:
            raise ValueError(f"texts: unknown locale {', '.join(unknown)}")
        for loc, text in self.texts.items():
            for field, limit in LIMITS[loc].items():
                n = text_length(getattr(text, field), loc)
                if n > limit:
                    unit = "words" if loc == "en" else "characters"
                    raise ValueError(f"texts.{loc}.{field}: {n} {unit}, at most {limit}")
        return self


class LessonFile(LessonSpec):
    """A lesson file under content/lessons/: the author gives the version."""

    version: int = Field(ge=1)


class ProgrammeSpec(BaseModel):
    """A programme as written, without its version."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, max_length=64)
    audience: Literal["guardian", "migrant_parent"]
    age_band: Literal["0-2", "3-6", "7-12", "13-17"]
    titles: dict[str, str]
    lessons: list[str] = Field(min_length=1)

    @field_validator("lessons")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        dupes = [x for x in value if x in seen or seen.add(x)]  # type: ignore[func-returns-value]
        if dupes:
            raise ValueError(f"lesson listed twice: {', '.join(dupes)}")
        return value

    @field_validator("titles")
    @classmethod
    def _every_locale(cls, value: dict[str, str]) -> dict[str, str]:
        return check_localized(value, what="title")


class ProgrammeFile(ProgrammeSpec):
    version: int = Field(ge=1)
