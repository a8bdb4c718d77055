from __future__ import annotations

from datetime import date

import pytest

from core import people as rules
from core.errors import Invalid

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("小明", "小明"), ("  Lily  ", "Lily"), ("毛 毛", "毛 毛"), ("小明2", "小明2"), ("x" * 20, "x" * 20)],
)
def test_nickname_accepted(text: str, expected: str) -> None:
    assert rules.clean_nickname(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "nickname_empty"),
        ("   ", "nickname_empty"),
        ("x" * 21, "nickname_too_long"),
        ("110101201501011234", "nickname_has_number"),  # an ID number is never stored
        ("13800138000", "nickname_has_number"),
        ("/help", "nickname_empty"),
    ],
)
def test_nickname_refused(text: str, code: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.clean_nickname(text)
    assert err.value.code == code


@pytest.mark.parametrize(
    ("year", "month", "age"),
    [(2016, 11, 10), (2016, 12, 9), (2016, 1, 10), (2026, 11, 0), (2009, 11, 17), (2008, 12, 17)],
)
def test_age_in_years(year: int, month: int, age: int) -> None:
    assert rules.age_in_years(year, month, TODAY) == age


@pytest.mark.parametrize(
    ("year", "month"),
    [(2026, 11), (2026, 1), (2009, 1), (2008, 12), (2016, 6)],
)
def test_birth_accepted(year: int, month: int) -> None:
    assert rules.check_birth(year, month, TODAY) == (year, month)


@pytest.mark.parametrize(
    ("year", "month", "code"),
    [
        (2026, 12, "birth_in_future"),
        (2027, 1, "birth_in_future"),
        (2008, 11, "child_too_old"),  # turned 18 this month
        (2008, 1, "child_too_old"),
        (2000, 5, "child_too_old"),
        (2015, 13, "not_a_month"),
        (2015, 0, "not_a_month"),
    ],
)
def test_birth_refused(year: int, month: int, code: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.check_birth(year, month, TODAY)
    assert err.value.code == code


def test_selectable_years_cover_every_possible_minor() -> None:
    years = rules.selectable_birth_years(TODAY)
    assert years[0] == 2026 and years[-1] == 2008
    assert len(years) == 19


@pytest.mark.parametrize(("text", "year"), [("2016", 2016), ("2016年", 2016), (" 2016 ", 2016)])
def test_parse_year(text: str, year: int) -> None:
    assert rules.parse_year(text) == year


@pytest.mark.parametrize("text", ["16", "two thousand", "", "20166"])
def test_parse_year_refused(text: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.parse_year(text)
    assert err.value.code == "not_a_year"


@pytest.mark.parametrize(("text", "month"), [("3", 3), ("3月", 3), ("12", 12)])
def test_parse_month(text: str, month: int) -> None:
    assert rules.parse_month(text) == month


@pytest.mark.parametrize("text", ["13", "0", "三月", ""])
def test_parse_month_refused(text: str) -> None:
    with pytest.raises(Invalid):
        rules.parse_month(text)


@pytest.mark.parametrize(("typed", "stored"), [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    ("8613812345678", "+8613812345678"),  # Telegram's shared contact, without the "+"
    ("0086 13812345678", "+8613812345678"),
    ("１３８１２３４５６７８", "+8613812345678"),  # full-width digits from a Chinese keyboard
    ("+44 7700 900123", "+447700900123"),
    ("+1 (415) 555-0132", "+14155550132"),
])
def test_phone_numbers_people_type(typed: str, stored: str) -> None:
    assert rules.clean_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "1381234567", "23812345678", "+86 0939 1234567", "+8612345678901",
                                   "电话", "", "+0123456789", "138123456789"])
def test_phone_numbers_refused(typed: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.clean_phone(typed)
    assert err.value.code == "phone_invalid"


def test_display_phone_is_what_people_dial() -> None:
    assert rules.display_phone("+8613812345678") == "13812345678"
    assert rules.display_phone("+447700900123") == "+447700900123"
    assert rules.display_phone(None) is None


@pytest.mark.parametrize(("typed", "code"), [("", "call_name_empty"), ("/start", "call_name_empty"),
                                             ("奶" * 21, "call_name_too_long"), ("王奶奶13812345678", "call_name_has_number")])
def test_call_name_refused(typed: str, code: str) -> None:
    with pytest.raises(Invalid) as err:
        rules.clean_call_name(typed)
    assert err.value.code == code


def test_village_is_one_short_line() -> None:
    assert rules.clean_village(" 三组\n村口小卖部旁 ") == "三组 村口小卖部旁"
    with pytest.raises(Invalid):
        rules.clean_village("村" * 61)
