"""Schedule maths: time zones, quiet hours, DST-free and DST zones, across midnight."""
from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from core.delivery.schedule import (
    DEFAULT_QUIET,
    QuietHours,
    WeeklySchedule,
    cycle_key,
    latest_slot,
    next_allowed,
    next_slot,
)

SH = ZoneInfo("Asia/Shanghai")  # UTC+8, no DST
NY = ZoneInfo("America/New_York")  # DST
URUMQI = ZoneInfo("Asia/Urumqi")  # UTC+6: a parent working in Xinjiang
MON_THU_20 = WeeklySchedule.parse(["mon", "thu"], "20:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 23, 11, 59), utc(2026, 11, 19, 12, 0)),  # Mon 19:59 Shanghai → last Thu
        (utc(2026, 11, 23, 12, 0), utc(2026, 11, 23, 12, 0)),  # exactly Mon 20:00
        (utc(2026, 11, 25, 3, 0), utc(2026, 11, 23, 12, 0)),  # Wed → Mon
    ],
)
def test_latest_slot_shanghai(now: datetime, expected: datetime) -> None:
    assert latest_slot(MON_THU_20, SH, now) == expected


def test_next_slot_shanghai() -> None:
    assert next_slot(MON_THU_20, SH, utc(2026, 11, 23, 12, 0)) == utc(2026, 11, 26, 12, 0)
    assert next_slot(MON_THU_20, SH, utc(2026, 11, 23, 11, 0)) == utc(2026, 11, 23, 12, 0)


def test_same_schedule_in_another_zone_is_their_evening() -> None:
    # 20:00 in Urumqi is 22:00 in Shanghai: the parent gets it at their own evening.
    assert latest_slot(MON_THU_20, URUMQI, utc(2026, 11, 23, 14, 30)) == utc(2026, 11, 23, 14, 0)


def test_dst_zone_keeps_wall_clock_time() -> None:
    sat_9 = WeeklySchedule.parse(["sat"], "09:00")
    # Before the US change (EDT, UTC-4) and after it (EST, UTC-5).
    assert latest_slot(sat_9, NY, utc(2026, 10, 31, 20, 0)) == utc(2026, 10, 31, 13, 0)
    assert latest_slot(sat_9, NY, utc(2026, 11, 7, 20, 0)) == utc(2026, 11, 7, 14, 0)


def test_slot_in_spring_forward_gap_still_happens() -> None:
    sun_0230 = WeeklySchedule.parse(["sun"], "02:30")  # 2026-03-08 02:30 does not exist in New York
    slot = next_slot(sun_0230, NY, utc(2026, 3, 8, 0, 0))
    assert slot == utc(2026, 3, 8, 7, 30)  # 03:30 EDT: the hour after the gap
    assert latest_slot(sun_0230, NY, utc(2026, 3, 8, 8, 0)) == slot


@pytest.mark.parametrize(
    ("local", "quiet"),
    [(time(21, 29), False), (time(21, 30), True), (time(23, 59), True), (time(0, 0), True),
     (time(7, 59), True), (time(8, 0), False), (time(12, 0), False)],
)
def test_quiet_hours_across_midnight(local: time, quiet: bool) -> None:
    assert DEFAULT_QUIET.contains(local) is quiet


def test_quiet_hours_same_day_and_empty() -> None:
    lunch = QuietHours(time(12, 0), time(14, 0))
    assert lunch.contains(time(13, 0)) and not lunch.contains(time(14, 0))
    assert not QuietHours(time(9, 0), time(9, 0)).contains(time(9, 0))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 11, 23, 12, 0), utc(2026, 11, 23, 12, 0)),  # 20:00 local: allowed
        (utc(2026, 11, 23, 14, 0), utc(2026, 11, 24, 0, 0)),  # 22:00 local → 08:00 next day
        (utc(2026, 11, 23, 18, 0), utc(2026, 11, 24, 0, 0)),  # 02:00 local → 08:00 same day
        (utc(2026, 11, 23, 23, 59), utc(2026, 11, 24, 0, 0)),  # 07:59 local → 08:00
    ],
)
def test_next_allowed(at: datetime, expected: datetime) -> None:
    assert next_allowed(DEFAULT_QUIET, SH, at) == expected


def test_next_allowed_in_dst_zone() -> None:
    # 23:00 EST on Sat 2026-11-07 (04:00 UTC Sun) → 08:00 EST Sunday = 13:00 UTC.
    assert next_allowed(DEFAULT_QUIET, NY, utc(2026, 11, 8, 4, 0)) == utc(2026, 11, 8, 13, 0)


def test_cycle_key_is_local() -> None:
    assert cycle_key(utc(2026, 11, 23, 12, 0), SH) == "2026-11-23T20:00"
    assert cycle_key(utc(2026, 11, 23, 14, 0), URUMQI) == "2026-11-23T20:00"


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError):
        WeeklySchedule.parse(["monday"], "20:00")
    with pytest.raises(ValueError):
        WeeklySchedule.parse([], "20:00")
    with pytest.raises(ValueError):
        WeeklySchedule.parse(["mon"], "25:00")
