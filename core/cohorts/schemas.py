from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator,
)

from core.alerts.policy import AlertPolicy
from core.checkin.schedule import DEFAULT_CHECKIN_SCHEDULE
from core.config import SUPPORTED_LOCALES
from core.content.localized import check_localized
from core.content.questionnaires import ID_PATTERN
from core.inputs import check_timezone
from core.delivery.schedule import DAY_NAMES


def _check_timezone(value: str) -> str:
    return check_timezone(value)  # canonical Area/Location zones and UTC (core.inputs)


def _check_locale(value: str) -> str:
    if value not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {value!r}; use one of {', '.join(SUPPORTED_LOCALES)}")
    return value


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
assert Day.__args__ == DAY_NAMES  # type: ignore[attr-defined]


def _check_hhmm(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError("must be a time of day HH:MM from 00:00 to 23:59")
    return value


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

    _hhmm = field_validator("time")(_check_hhmm)


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


class CheckinScheduleEntry(BaseModel):
    """When one questionnaire goes out to a cohort (see core.checkin.schedule)."""

    model_config = ConfigDict(extra="forbid")

    every: Literal["week", "month", "quarter"]
    day: Day
    # month / quarter: the n-th such weekday of the month (1 = first: "sat, week 1" is the first
    # weekend); a quarter's slot is in its first month. Not used for weekly check-ins.
    week: int | None = Field(default=None, ge=1, le=4)
    time: str
    expires_after_days: int = Field(default=3, ge=1, le=14)

    _hhmm = field_validator("time")(_check_hhmm)

    @model_validator(mode="after")
    def _week_fits(self) -> CheckinScheduleEntry:
        if self.every == "week" and self.week is not None:
            raise ValueError("week: only for monthly or quarterly check-ins")
        if self.every != "week" and self.week is None:
            self.week = 1
        return self


def _check_schedule_ids(value: dict[str, CheckinScheduleEntry]) -> dict[str, CheckinScheduleEntry]:
    for qid in value:
        if not re.fullmatch(ID_PATTERN, qid):
            raise ValueError(f"{qid!r} is not a questionnaire id")
    return value


# {} for no check-ins, or one entry per questionnaire id; the ids are checked against the
# questionnaires in use by the service. Stored as that JSON.
CheckinScheduleField = Annotated[
    dict[str, CheckinScheduleEntry],
    AfterValidator(_check_schedule_ids),
    Field(description='e.g. {"weekly_checkin": {"every": "week", "day": "sun", "time": "19:00"}, '
                      '"psc17": {"every": "month", "day": "sat", "week": 1, "time": "10:00"}} (local time)'),
    PlainSerializer(lambda s: {k: v.model_dump(exclude_none=True) for k, v in s.items()},
                    return_type=dict[str, Any]),
]


class SafetyLine(BaseModel):
    """A local help line listed in the safety message, e.g. the county hospital's child mental
    health clinic or the township's minors' protection line."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(pattern=r"^[0-9][0-9 ()+-]{1,24}$", description="a phone number, e.g. 0939-8212345")
    labels: dict[str, str] = Field(description="what the line is, per locale (zh-Hans, en)")

    @field_validator("labels")
    @classmethod
    def _every_locale(cls, value: dict[str, str]) -> dict[str, str]:
        return check_localized(value, what="label", max_chars=60)


class CohortCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    region: str = Field(default="", max_length=200)
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh-Hans"
    lesson_schedule: LessonScheduleField = None
    # Programme ids this cohort follows; empty means the standard library.
    programmes: list[str] = Field(default_factory=list, max_length=50)
    # Which questionnaires go out when; a new cohort gets the programme's default calendar.
    checkin_schedule: CheckinScheduleField = Field(
        default_factory=lambda: {k: CheckinScheduleEntry(**v) for k, v in DEFAULT_CHECKIN_SCHEDULE.items()})
    # Local help lines added to the national ones (110/120, 12356, 12355) in the safety message.
    safety_lines: list[SafetyLine] = Field(default_factory=list, max_length=5)
    # Minutes to acknowledge per severity before escalation, follow-up and visit intervals.
    alert_policy: AlertPolicy = Field(default_factory=AlertPolicy)
    # When the daily digest of unread inbox items goes to the directors ("HH:MM", local).
    inbox_digest: str = "18:00"

    _tz = field_validator("timezone")(_check_timezone)
    _digest = field_validator("inbox_digest")(_check_hhmm)
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
    checkin_schedule: CheckinScheduleField | None = None  # {} stops the cohort's check-ins
    safety_lines: list[SafetyLine] | None = Field(default=None, max_length=5)  # [] = national lines only
    alert_policy: AlertPolicy | None = None
    inbox_digest: str | None = None

    @field_validator("inbox_digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        return None if value is None else _check_hhmm(value)

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
    safety_lines: list[dict[str, Any]]
    alert_policy: AlertPolicy
    inbox_digest: str
    created_at: datetime

    @field_validator("alert_policy", mode="before")
    @classmethod
    def _defaults_filled(cls, value: object) -> object:
        return AlertPolicy.of(value) if isinstance(value, dict) or value is None else value


class ScheduleRead(BaseModel):
    """A cohort's lesson schedule and its next slot (guardians' own time zones and quiet hours
    may move their message later)."""

    cohort_id: int
    timezone: str
    lesson_schedule: dict[str, Any]
    next_lesson_at: datetime | None  # UTC
    next_lesson_local: datetime | None  # the same instant in the cohort's time zone


class CheckinSlotRead(BaseModel):
    questionnaire_id: str
    # The version the next round would send; None when the questionnaire is retired or not
    # loaded: the tick then skips it and nothing goes out.
    questionnaire_version: int | None
    entry: CheckinScheduleEntry
    next_at: datetime  # UTC
    next_local: datetime  # the same instant in the cohort's time zone
    cycle: str  # the next slot's cycle key: 2026-W48, 2026-12, 2027-Q1


class CheckinScheduleRead(BaseModel):
    """A cohort's check-in calendar, soonest first."""

    cohort_id: int
    timezone: str
    entries: list[CheckinSlotRead]
