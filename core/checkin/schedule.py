"""When check-ins go out: a cohort's schedule per questionnaire, and its slots and cycle keys.
Pure functions over aware datetimes; no I/O.

A cohort's `checkin_schedule` is JSON, one entry per questionnaire id:

    {"weekly_checkin": {"every": "week",    "day": "sun",            "time": "19:00"},
     "psc17":          {"every": "month",   "day": "sat", "week": 1, "time": "10:00"},
     "who5":           {"every": "quarter", "day": "sat", "week": 2, "time": "10:00",
                        "expires_after_days": 3}}

`week` is the n-th such weekday of the month (1 = the first, so "sat, week 1" is the first
weekend); a quarter's slot falls in its first month (January, April, July, October). Times are
wall-clock times in the cohort's time zone. Each slot is one cycle with a stable key — ISO week
"2026-W48", month "2026-11", quarter "2026-Q4" — so planning the same slot twice adds nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from core.delivery.schedule import DAY_NAMES, local_instant, parse_hhmm

Every = Literal["week", "month", "quarter"]
EVERY = ("week", "month", "quarter")
DEFAULT_EXPIRY_DAYS = 3
REMINDER_EVERY = timedelta(hours=24)  # a gentle reminder after 24 h, a second after 48 h
MAX_REMINDERS = 2

# What a new cohort gets unless it says otherwise: the weekly check-in on Sunday evening,
# PSC-17 on the first weekend of the month, WHO-5 for the guardians once a quarter.
DEFAULT_CHECKIN_SCHEDULE: dict[str, dict[str, Any]] = {
    "weekly_checkin": {"every": "week", "day": "sun", "time": "19:00", "expires_after_days": DEFAULT_EXPIRY_DAYS},
    "psc17": {"every": "month", "day": "sat", "week": 1, "time": "10:00", "expires_after_days": DEFAULT_EXPIRY_DAYS},
    "who5": {"every": "quarter", "day": "sat", "week": 2, "time": "10:00", "expires_after_days": DEFAULT_EXPIRY_DAYS},
}


@dataclass(frozen=True)
class CheckinSlotRule:
    """One questionnaire's place in a cohort's calendar."""

    every: str  # week | month | quarter
    weekday: int  # 0 = Monday
    at: time
    week: int = 1  # month / quarter: the n-th such weekday of the month (1–4)
    expires_after: timedelta = timedelta(days=DEFAULT_EXPIRY_DAYS)

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> CheckinSlotRule:
        every = spec.get("every")
        if every not in EVERY:
            raise ValueError(f"every must be one of {', '.join(EVERY)}")
        day = spec.get("day")
        if day not in DAY_NAMES:
            raise ValueError(f"day must be one of {', '.join(DAY_NAMES)}")
        week = int(spec.get("week") or 1)
        if not 1 <= week <= 4:
            raise ValueError("week must be 1–4 (the n-th such day of the month)")
        days = int(spec.get("expires_after_days") or DEFAULT_EXPIRY_DAYS)
        return cls(every=every, weekday=DAY_NAMES.index(day), at=parse_hhmm(spec.get("time", "")), week=week,
                   expires_after=timedelta(days=days))


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _months_back(year: int, month: int, back: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - back
    return index // 12, index % 12 + 1


def _candidate_days(rule: CheckinSlotRule, around: date) -> list[date]:
    """Slot days near `around`, oldest first: enough to find the latest one before it and the
    next one after it."""
    if rule.every == "week":
        start = around - timedelta(days=around.weekday())  # this week's Monday
        return [start + timedelta(days=7 * k + rule.weekday) for k in (-1, 0, 1)]
    step = 1 if rule.every == "month" else 3
    year, month = around.year, around.month
    if step == 3:
        month = (month - 1) // 3 * 3 + 1  # the quarter's first month
    days = []
    for k in (-2, -1, 0, 1, 2):
        y, m = _months_back(year, month, -k * step)
        days.append(nth_weekday(y, m, rule.weekday, rule.week))
    return sorted(days)


def latest_slot(rule: CheckinSlotRule, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The most recent slot at or before now, in UTC."""
    slots = [local_instant(day, rule.at, tz) for day in _candidate_days(rule, now.astimezone(tz).date())]
    past = [s for s in slots if s <= now]
    return past[-1] if past else None


def next_slot(rule: CheckinSlotRule, tz: ZoneInfo, now: datetime) -> datetime:
    """The first slot strictly after now, in UTC."""
    local = now.astimezone(tz).date()
    for around in (local, local + timedelta(days=100)):
        for slot in (local_instant(day, rule.at, tz) for day in _candidate_days(rule, around)):
            if slot > now:
                return slot
    raise AssertionError("a check-in schedule always has a slot within a quarter")


def cycle_key(rule: CheckinSlotRule, slot: datetime, tz: ZoneInfo) -> str:
    """'2026-W48' (ISO week), '2026-11' or '2026-Q4': the period a slot belongs to, in local time."""
    day = slot.astimezone(tz).date()
    if rule.every == "week":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if rule.every == "month":
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def stale_after(rule: CheckinSlotRule) -> timedelta:
    """A slot missed by more than this (downtime) is skipped: the check-in would already have
    been closing, and a late questionnaire about last week helps nobody."""
    return min(timedelta(days=2), rule.expires_after)


def parse_schedule(spec: dict[str, Any] | None) -> dict[str, CheckinSlotRule]:
    """A stored cohort schedule → rules per questionnaire id (validated on the way in, so a
    broken entry here is a bug and raises)."""
    return {qid: CheckinSlotRule.parse(entry) for qid, entry in (spec or {}).items()}
