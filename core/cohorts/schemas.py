from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.config import SUPPORTED_LOCALES


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
    return value


def _check_locale(value: str) -> str:
    if value not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {value!r}; use one of {', '.join(SUPPORTED_LOCALES)}")
    return value


class CohortCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    region: str = Field(default="", max_length=200)
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh-Hans"
    # Placeholders until the lessons and check-ins issues define their shape.
    lesson_schedule: dict[str, Any] = Field(default_factory=dict)
    checkin_schedule: dict[str, Any] = Field(default_factory=dict)

    _tz = field_validator("timezone")(_check_timezone)
    _locale = field_validator("default_locale")(_check_locale)

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class CohortUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=200)
    timezone: str | None = None
    default_locale: str | None = None
    lesson_schedule: dict[str, Any] | None = None
    checkin_schedule: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return None if value is None else _check_locale(value)


class CohortRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    region: str
    timezone: str
    default_locale: str
    lesson_schedule: dict[str, Any]
    checkin_schedule: dict[str, Any]
    created_at: datetime
