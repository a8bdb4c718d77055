"""Pure checks on what a guardian types (children's nicknames and birth dates, what the family
calls them, where they live, their phone number) and the small facts derived from them (a
child's age). No I/O; the bot turns each Invalid code into a translated, kind reply. Shared by
enrolment, households, alerts and the adapters, so it sits below every domain."""
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


# ---------------------------------------------------------------- whom to call

CALL_NAME_MAX = 20
VILLAGE_MAX = 60
# Mainland mobile numbers: 11 digits starting 13–19. International: E.164, "+" then up to 15 digits.
_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().·/]")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋（）－", "0123456789+()-")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def clean_call_name(text: str) -> str:
    """What the family calls the guardian (王奶奶, 小明妈妈): short, no number, not a command."""
    value = _one_line(text)
    if not value or value.startswith("/"):
        raise Invalid("call name is empty", code="call_name_empty", field="call_name")
    if len(value) > CALL_NAME_MAX:
        raise Invalid("call name is too long", code="call_name_too_long", field="call_name")
    if _LONG_NUMBER.search(value):
        raise Invalid("call name contains a long number", code="call_name_has_number", field="call_name")
    return value


def clean_village(text: str) -> str:
    """Where the house is, in the family's words (三组 村口小卖部旁)."""
    value = _one_line(text)
    if not value or value.startswith("/"):
        raise Invalid("village is empty", code="village_empty", field="village")
    if len(value) > VILLAGE_MAX:
        raise Invalid("village is too long", code="village_too_long", field="village")
    return value


def clean_phone(text: str) -> str:
    """A phone number as E.164 (+8613812345678). Accepts a mainland mobile number as people
    write it (138 1234 5678, 138-1234-5678, +86 138…, 0086 138…, full-width digits) and any
    international number with its country code. Raises Invalid("phone_invalid") otherwise."""
    value = _PHONE_SEPARATORS.sub("", text.translate(_FULLWIDTH).strip())
    if value.startswith("00"):
        value = "+" + value[2:]
    if _MAINLAND_MOBILE.fullmatch(value):
        return "+86" + value
    if value.startswith("86") and _MAINLAND_MOBILE.fullmatch(value[2:]):  # shared contacts may drop the "+"
        return "+" + value
    if value.startswith("+86"):
        if _MAINLAND_MOBILE.fullmatch(value[3:]):
            return value
        raise Invalid("not a mainland mobile number", code="phone_invalid", field="phone")
    if _E164.fullmatch(value):
        return value
    raise Invalid("not a phone number", code="phone_invalid", field="phone")


def display_phone(phone: str | None) -> str | None:
    """How a stored number is shown: a mainland mobile as people dial it at home (13812345678),
    anything else in E.164. Plain digits, so that phones and chat apps make it a tappable number."""
    if not phone:
        return None
    if phone.startswith("+86") and _MAINLAND_MOBILE.fullmatch(phone[3:]):
        return phone[3:]
    return phone
