"""Input checks every adapter shares: text without control characters, instants and dates the
programme can mean, canonical time zones, and names that are not invisible.

Pure functions and pydantic types, no I/O. The HTTP adapter applies `control_char_problem` to
every string of every request in one place (api/guard.py); schemas use `Timestamp`, `CalendarDate`
and `check_timezone`; the bot's nickname rule uses `is_invisible`.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator, Field

# ---------------------------------------------------------------- text

# Tab, line feed and carriage return are text (a browser's textarea sends CRLF); every other
# C0/C1 control character — NUL above all, which PostgreSQL cannot store — and lone UTF-16
# surrogates (which cannot be encoded as UTF-8) are refused.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def control_char_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None. Names the first offending character by code point."""
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc" and char not in _ALLOWED_CONTROLS:
            return f"contains a control character (U+{ord(char):04X}); only tab and line breaks are allowed"
        if category == "Cs":
            return f"contains an unpaired surrogate (U+{ord(char):04X})"
    return None


# Letters that render as nothing (Hangul fillers, the Braille blank, the Mongolian vowel
# separator), besides the format, separator, control and combining categories below.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def is_invisible(text: str) -> bool:
    """True when nothing in `text` would show on a screen: only spaces, zero-width characters,
    direction marks, lone combining marks or blank letters (or nothing at all)."""
    return all(
        char in _BLANK_LETTERS or char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES
        for char in text
    )


# ---------------------------------------------------------------- time zones

# Accepted: canonical IANA "Area/Location" zones (Asia/Shanghai, America/New_York,
# America/Argentina/Buenos_Aires) and UTC. Refused: legacy and special names that exist in the
# database for compatibility only — Factory, EST5EDT, PRC, GMT+0, Etc/GMT-8, US/Pacific — which
# either mean no place or carry POSIX's inverted offsets, so a cohort set to one is almost always
# a mistake. Old spellings that are links but still Area/Location (Asia/Chongqing) are accepted.
TIMEZONE_MAX = 64
_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
          "Pacific")
_ZONE_NAME = re.compile(rf"(?:{'|'.join(_AREAS)})(?:/[A-Za-z0-9_+-]{{1,30}}){{1,2}}")
_known_zones: frozenset[str] | None = None


def check_timezone(value: str) -> str:
    """`value` if it names a canonical zone (see above), else ValueError with the reason."""
    global _known_zones
    hint = "use an IANA name such as Asia/Shanghai, or UTC"
    if not isinstance(value, str) or len(value) > TIMEZONE_MAX:
        raise ValueError(f"not a time zone (at most {TIMEZONE_MAX} characters); {hint}")
    if value != "UTC" and not _ZONE_NAME.fullmatch(value):
        raise ValueError(f"unknown time zone {value!r}: only Area/Location names and UTC are taken; {hint}")
    if _known_zones is None:
        _known_zones = frozenset(available_timezones())
    if value not in _known_zones:
        raise ValueError(f"unknown time zone {value!r}; {hint}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {value!r}; {hint}") from None
    return value


# ---------------------------------------------------------------- instants and dates

# The calendar the programme can mean. Far enough either way for history and planning, and far
# from datetime's own ends, so converting any offset (at most ±24 h) to UTC can never overflow.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)
_RANGE = f"between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.{0,40}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIMESTAMP_EXAMPLE = "2026-11-23T12:00:00+08:00"


def _iso_instant_only(value: Any) -> Any:
    # pydantic's lax mode reads 1700000000 (or "1700000000") as seconds since 1970: a client
    # sending a number almost certainly means something else, so only ISO 8601 text is taken.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_INSTANT.fullmatch(value):
        raise ValueError(f"must be an ISO 8601 date-time with its UTC offset, e.g. {TIMESTAMP_EXAMPLE}")
    return value


def _within_calendar_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"give a time zone (the UTC offset), e.g. {TIMESTAMP_EXAMPLE}")
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise ValueError(f"must be {_RANGE}")
    return value.astimezone(timezone.utc)


def _iso_date_only(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


def _within_calendar(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be {_RANGE}")
    return value


# An aware instant given as ISO 8601 text, within the calendar, returned in UTC.
Timestamp = Annotated[
    datetime,
    BeforeValidator(_iso_instant_only),
    AfterValidator(_within_calendar_utc),
    Field(description=f"ISO 8601 with the UTC offset, e.g. {TIMESTAMP_EXAMPLE}; {_RANGE}"),
]
# A calendar day given as YYYY-MM-DD, within the calendar.
CalendarDate = Annotated[
    date,
    BeforeValidator(_iso_date_only),
    AfterValidator(_within_calendar),
    Field(description=f"YYYY-MM-DD, {_RANGE}"),
]
