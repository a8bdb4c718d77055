"""Schedule maths: weekly slots in a local time zone, and quiet hours. Pure functions over
aware datetimes; no I/O. Local wall-clock times are turned into instants with zoneinfo, so DST
zones work: a slot in a skipped hour happens an hour later in wall-clock terms; a slot in a
repeated hour happens at its first occurrence."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WeeklySchedule:
    days: frozenset[int]  # 0 = Monday
    at: time

    @classmethod
    def parse(cls, days: list[str], at: str) -> WeeklySchedule:
        bad = [d for d in days if d not in DAY_NAMES]
        if bad or not days:
            raise ValueError(f"days must be a non-empty list of {', '.join(DAY_NAMES)}")
        return cls(days=frozenset(DAY_NAMES.index(d) for d in days), at=parse_hhmm(at))


@dataclass(frozen=True)
class QuietHours:
    start: time  # quiet from this local time…
    end: time  # …until this one; may cross midnight (21:30–08:00)

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


DEFAULT_QUIET = QuietHours(start=time(21, 30), end=time(8, 0))


def parse_hhmm(value: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise ValueError(f"{value!r} is not a time of day like 20:00") from None


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local day (normalising DST gaps)."""
    naive_local = datetime.combine(day, at).replace(tzinfo=tz)
    utc = naive_local.astimezone(timezone.utc)
    # Round trip: a nonexistent local time (spring forward) comes back shifted; that is the
    # instant we want (the same elapsed time after the previous midnight).
    return utc


def latest_slot(schedule: WeeklySchedule, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The most recent slot at or before now (looking back one week), in UTC."""
    local_today = now.astimezone(tz).date()
    for back in range(0, 8):
        day = local_today - timedelta(days=back)
        if day.weekday() in schedule.days:
            slot = local_instant(day, schedule.at, tz)
            if slot <= now:
                return slot
    return None


def next_slot(schedule: WeeklySchedule, tz: ZoneInfo, now: datetime) -> datetime:
    """The first slot strictly after now, in UTC."""
    local_today = now.astimezone(tz).date()
    for ahead in range(0, 9):
        day = local_today + timedelta(days=ahead)
        if day.weekday() in schedule.days:
            slot = local_instant(day, schedule.at, tz)
            if slot > now:
                return slot
    raise AssertionError("a weekly schedule always has a slot within 8 days")


def next_allowed(quiet: QuietHours, tz: ZoneInfo, at: datetime) -> datetime:
    """`at` if it is outside quiet hours, else the end of that quiet period, in UTC."""
    local = at.astimezone(tz)
    if not quiet.contains(local.time()):
        return at
    end_day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        end_day += timedelta(days=1)  # quiet started this evening, ends tomorrow morning
    return local_instant(end_day, quiet.end, tz)


def cycle_key(slot: datetime, tz: ZoneInfo) -> str:
    """A stable name for a slot, in the recipient's local time: '2026-11-23T20:00'."""
    return slot.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
