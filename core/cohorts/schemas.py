from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator

from core.config import SUPPORTED_LOCALES
from core.delivery.schedule import DAY_NAMES


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


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
assert Day.__args__ == DAY_NAMES  # type: ignore[attr-defined]


class LessonSchedule(BaseModel):
    """When a cohort's lessons go out: on these weekdays at this local time."""

    model_config = ConfigDict(extra="forbid")

    days: list[Day] = Field(min_length=1)
    time: str

    @field_validator("days")
    @classmethod
    def _unique_in_week_order(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("has duplicates")
        return sorted(value, key=DAY_NAMES.index)

    @field_validator("time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("must be a time of day HH:MM from 00:00 to 23:59")
        return value


def _empty_means_none(value: object) -> object:
    if value is None:
        raise ValueError("use {} for no lessons")
    return None if value == {} else value


# `{}` (no lessons) or {"days": [...], "time": "HH:MM"}; stored as that JSON. A plain optional
# model (not a union) so a 422 names the inner field, e.g. lesson_schedule.days.
LessonScheduleField = Annotated[
    LessonSchedule | None,
    BeforeValidator(_empty_means_none),
    Field(description='{} for no lessons, or e.g. {"days": ["mon", "thu"], "time": "20:00"} (local time)'),
    PlainSerializer(lambda s: {} if s is None else s.model_dump(), return_type=dict[str, Any]),
]


class CohortCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    region: str = Field(default="", max_length=200)
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh-Hans"
    lesson_schedule: LessonScheduleField = None
    # Programme ids this cohort follows; empty means the standard library.
    programmes: list[str] = Field(default_factory=list, max_length=50)
    # A placeholder until the check-ins issue defines its shape.
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
    lesson_schedule: LessonScheduleField = None  # {} stops the cohort's lessons
    programmes: list[str] | None = Field(default=None, max_length=50)  # [] = the standard library
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
    programmes: list[str]
    checkin_schedule: dict[str, Any]
    created_at: datetime


class ScheduleRead(BaseModel):
    """A cohort's lesson schedule and its next slot (guardians' own time zones and quiet hours
    may move their message later)."""

    cohort_id: int
    timezone: str
    lesson_schedule: dict[str, Any]
    next_lesson_at: datetime | None  # UTC
    next_lesson_local: datetime | None  # the same instant in the cohort's time zone
