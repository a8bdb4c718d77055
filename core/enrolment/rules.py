"""Pure checks on what a guardian types during enrolment. No I/O; the bot turns each
Invalid code into a translated, kind reply."""
from __future__ import annotations

import re
import unicodedata
from datetime import date

from core.errors import Invalid
from core.inputs import is_invisible

NICKNAME_MAX = 20
MAX_CHILDREN = 8
ADULT_AGE = 18

_LONG_NUMBER = re.compile(r"\d{6,}")


def clean_nickname(text: str) -> str:
    # Control characters are dropped; a name made only of spaces, zero-width or other invisible
    # characters is no name: a director could not read it on a card.
    value = " ".join("".join(c for c in text if c.isspace() or unicodedata.category(c) != "Cc").split())
    if not value or is_invisible(value):
        raise Invalid("nickname is empty", code="nickname_empty", field="nickname")
    if len(value) > NICKNAME_MAX:
        raise Invalid("nickname is too long", code="nickname_too_long", field="nickname")
    if _LONG_NUMBER.search(value):
        # Looks like a phone or ID number: we ask for a nickname only, never an ID.
        raise Invalid("nickname contains a long number", code="nickname_has_number", field="nickname")
    if value.startswith("/"):
        raise Invalid("nickname looks like a command", code="nickname_empty", field="nickname")
    return value


def selectable_birth_years(today: date) -> list[int]:
    """Years a child under 18 can have been born in, newest first."""
    return list(range(today.year, today.year - ADULT_AGE - 1, -1))


def parse_year(text: str) -> int:
    digits = re.sub(r"[^\d]", "", text)
    if len(digits) != 4:
        raise Invalid("not a year", code="not_a_year", field="birth_year")
    return int(digits)


def parse_month(text: str) -> int:
    digits = re.sub(r"[^\d]", "", text)
    if not digits or not 1 <= int(digits) <= 12:
        raise Invalid("not a month", code="not_a_month", field="birth_month")
    return int(digits)


def age_in_years(birth_year: int, birth_month: int, today: date) -> int:
    """Full years, counting the birthday as reached at the start of the birth month."""
    return today.year - birth_year - (1 if today.month < birth_month else 0)


def check_birth_year(year: int, today: date) -> int:
    if year > today.year:
        raise Invalid("birth year is in the future", code="birth_in_future", field="birth_year")
    if today.year - year > ADULT_AGE:
        raise Invalid("child would be 18 or older", code="child_too_old", field="birth_year")
    if year < 1900:
        raise Invalid("not a year", code="not_a_year", field="birth_year")
    return year


def check_birth(year: int, month: int, today: date) -> tuple[int, int]:
    check_birth_year(year, today)
    if not 1 <= month <= 12:
        raise Invalid("not a month", code="not_a_month", field="birth_month")
    if (year, month) > (today.year, today.month):
        raise Invalid("birth month is in the future", code="birth_in_future", field="birth_month")
    if age_in_years(year, month, today) >= ADULT_AGE:
        raise Invalid("child is 18 or older", code="child_too_old", field="birth_month")
    return year, month
