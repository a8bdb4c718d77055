"""Schedule maths for check-ins: weekly, monthly (the n-th weekday) and quarterly slots in a
cohort's time zone, their cycle keys, and the stale limit after downtime. Pure, no database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from core.checkin.schedule import (
    DEFAULT_CHECKIN_SCHEDULE,
    CheckinSlotRule,
    cycle_key,
    latest_slot,
    next_slot,
    nth_weekday,
    parse_schedule,
    stale_after,
)
from core.cohorts.schemas import CheckinScheduleEntry, CohortCreate, CohortUpdate

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc

WEEKLY = CheckinSlotRule.parse({"every": "week", "day": "sun", "time": "19:00"})
MONTHLY = CheckinSlotRule.parse({"every": "month", "day": "sat", "week": 1, "time": "10:00"})
QUARTERLY = CheckinSlotRule.parse({"every": "quarter", "day": "sat", "week": 2, "time": "10:00"})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("year", "month", "weekday", "n", "expected"), [
    (2026, 12, 5, 1, (2026, 12, 5)),  # December 2026 starts on a Tuesday: first Saturday the 5th
    (2026, 11, 5, 1, (2026, 11, 7)),
    (2026, 8, 5, 1, (2026, 8, 1)),  # the 1st itself is a Saturday
    (2027, 1, 5, 2, (2027, 1, 9)),
    (2026, 11, 6, 4, (2026, 11, 22)),
])
def test_nth_weekday(year: int, month: int, weekday: int, n: int, expected: tuple[int, int, int]) -> None:
    assert nth_weekday(year, month, weekday, n).timetuple()[:3] == expected


@pytest.mark.parametrize(("rule", "now", "latest", "cycle"), [
    # Sunday 19:00 in Shanghai is 11:00 UTC.
    (WEEKLY, utc(2026, 11, 29, 11, 0), utc(2026, 11, 29, 11, 0), "2026-W48"),  # exactly at the slot
    (WEEKLY, utc(2026, 11, 29, 10, 59), utc(2026, 11, 22, 11, 0), "2026-W47"),  # a minute before
    (WEEKLY, utc(2026, 12, 2, 5, 0), utc(2026, 11, 29, 11, 0), "2026-W48"),
    (WEEKLY, utc(2027, 1, 3, 12, 0), utc(2027, 1, 3, 11, 0), "2026-W53"),  # ISO week of the year before
    # First Saturday 10:00 in Shanghai is 02:00 UTC.
    (MONTHLY, utc(2026, 12, 5, 2, 0), utc(2026, 12, 5, 2, 0), "2026-12"),
    (MONTHLY, utc(2026, 12, 5, 1, 0), utc(2026, 11, 7, 2, 0), "2026-11"),
    (MONTHLY, utc(2027, 1, 1, 0, 0), utc(2026, 12, 5, 2, 0), "2026-12"),
    # Second Saturday of January, April, July and October.
    (QUARTERLY, utc(2027, 1, 9, 2, 0), utc(2027, 1, 9, 2, 0), "2027-Q1"),
    (QUARTERLY, utc(2027, 1, 9, 1, 0), utc(2026, 10, 10, 2, 0), "2026-Q4"),
    (QUARTERLY, utc(2027, 3, 31, 0, 0), utc(2027, 1, 9, 2, 0), "2027-Q1"),
])
def test_latest_slot_and_its_cycle(rule: CheckinSlotRule, now: datetime, latest: datetime, cycle: str) -> None:
    slot = latest_slot(rule, SHANGHAI, now)
    assert slot == latest
    assert cycle_key(rule, slot, SHANGHAI) == cycle


@pytest.mark.parametrize(("rule", "now", "expected"), [
    (WEEKLY, utc(2026, 11, 29, 11, 0), utc(2026, 12, 6, 11, 0)),  # strictly after
    (WEEKLY, utc(2026, 11, 25, 0, 0), utc(2026, 11, 29, 11, 0)),
    (MONTHLY, utc(2026, 12, 5, 2, 0), utc(2027, 1, 2, 2, 0)),
    (QUARTERLY, utc(2027, 1, 9, 2, 0), utc(2027, 4, 10, 2, 0)),
    (QUARTERLY, utc(2026, 11, 23, 0, 0), utc(2027, 1, 9, 2, 0)),
])
def test_next_slot(rule: CheckinSlotRule, now: datetime, expected: datetime) -> None:
    assert next_slot(rule, SHANGHAI, now) == expected


def test_slots_follow_local_time_across_daylight_saving() -> None:
    """A cohort in New York: Sunday 19:00 local is 23:00 UTC in summer, 00:00 UTC in winter."""
    summer = latest_slot(WEEKLY, NEW_YORK, utc(2026, 10, 26, 12, 0))
    winter = latest_slot(WEEKLY, NEW_YORK, utc(2026, 11, 2, 12, 0))
    assert summer == utc(2026, 10, 25, 23, 0)
    assert winter == utc(2026, 11, 2, 0, 0)
    assert winter - summer == timedelta(days=7, hours=1)


def test_stale_limit_is_two_days_or_the_expiry_if_shorter() -> None:
    assert stale_after(WEEKLY) == timedelta(days=2)
    short = CheckinSlotRule.parse({"every": "week", "day": "sun", "time": "19:00", "expires_after_days": 1})
    assert stale_after(short) == timedelta(days=1)


def test_the_default_schedule_parses_and_new_cohorts_get_it() -> None:
    rules = parse_schedule(DEFAULT_CHECKIN_SCHEDULE)
    assert {k: r.every for k, r in rules.items()} == {"weekly_checkin": "week", "psc17": "month", "who5": "quarter"}
    cohort = CohortCreate(name="村")
    assert cohort.model_dump()["checkin_schedule"] == {
        "weekly_checkin": {"every": "week", "day": "sun", "time": "19:00", "expires_after_days": 3},
        "psc17": {"every": "month", "day": "sat", "week": 1, "time": "10:00", "expires_after_days": 3},
        "who5": {"every": "quarter", "day": "sat", "week": 2, "time": "10:00", "expires_after_days": 3},
    }
    assert CohortUpdate(checkin_schedule={}).model_dump(exclude_unset=True) == {"checkin_schedule": {}}


@pytest.mark.parametrize(("entry", "where"), [
    ({"every": "fortnight", "day": "sun", "time": "19:00"}, "every"),
    ({"every": "week", "day": "sunday", "time": "19:00"}, "day"),
    ({"every": "week", "day": "sun", "time": "7pm"}, "time"),
    ({"every": "week", "day": "sun", "time": "24:00"}, "time"),
    ({"every": "week", "day": "sun", "week": 1, "time": "19:00"}, "week"),
    ({"every": "month", "day": "sat", "week": 5, "time": "10:00"}, "week"),
    ({"every": "month", "day": "sat", "time": "10:00", "expires_after_days": 0}, "expires_after_days"),
    ({"every": "month", "day": "sat", "time": "10:00", "colour": "red"}, "colour"),
])
def test_bad_schedule_entries_name_their_field(entry: dict, where: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as caught:
        CheckinScheduleEntry(**entry)
    text = str(caught.value)
    assert where in text, text


def test_a_monthly_entry_defaults_to_the_first_week() -> None:
    assert CheckinScheduleEntry(every="month", day="sat", time="10:00").week == 1
