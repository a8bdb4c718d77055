"""core.inputs: the shared input checks, table-driven."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from core.people import clean_nickname
from core.errors import Invalid
from core.inputs import CalendarDate, Timestamp, check_timezone, control_char_problem, is_invisible

timestamps = TypeAdapter(Timestamp)
dates = TypeAdapter(CalendarDate)


@pytest.mark.parametrize("text", ["", "小明", "line\nbreak\ttab\r\n", "emoji 👨\u200d👩\u200d👧", "\u200b"])
def test_text_that_is_fine(text: str) -> None:
    assert control_char_problem(text) is None


@pytest.mark.parametrize(("text", "code"), [("\x00", "U+0000"), ("a\x07", "U+0007"), ("\x1b[2J", "U+001B"),
                                            ("\x7f", "U+007F"), ("\x85", "U+0085"), ("\ud800", "U+D800")])
def test_control_characters_and_lone_surrogates(text: str, code: str) -> None:
    problem = control_char_problem(text)
    assert problem is not None and code in problem


@pytest.mark.parametrize(("text", "invisible"), [
    ("", True), ("   ", True), ("\u200b\u200c\u200d", True), ("\ufeff\u200e\u200f", True), ("\u3164", True),
    ("\u2800", True), ("\u0301", True), ("a\u200b", False), ("小明", False), ("明", False), ("·", False),
])
def test_invisible(text: str, invisible: bool) -> None:
    assert is_invisible(text) is invisible


@pytest.mark.parametrize("nickname", ["\u200b\u200b", "\u3164", " \u200d ", "\x00\x00"])
def test_invisible_nicknames_are_empty(nickname: str) -> None:
    with pytest.raises(Invalid) as error:
        clean_nickname(nickname)
    assert error.value.code == "nickname_empty"


def test_control_characters_are_dropped_from_a_nickname() -> None:
    assert clean_nickname("小\x00明\x07") == "小明"


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "Asia/Urumqi", "America/Argentina/Buenos_Aires",
                                  "America/Port-au-Prince", "Asia/Chongqing"])
def test_canonical_zones(zone: str) -> None:
    assert check_timezone(zone) == zone


@pytest.mark.parametrize("zone", ["Factory", "EST5EDT", "PRC", "GMT", "GMT+0", "Etc/GMT-8", "US/Pacific", "Zulu",
                                  "asia/shanghai", "Asia/Nowhere", "", "x" * 5000, "Asia/" + "x" * 5000,
                                  "../../etc/passwd", "Asia/Shanghai\x00"])
def test_other_zones_are_refused(zone: str) -> None:
    with pytest.raises(ValueError) as error:
        check_timezone(zone)
    assert len(str(error.value)) < 200


@pytest.mark.parametrize(("value", "utc"), [
    ("2026-11-23T12:00:00+08:00", datetime(2026, 11, 23, 4, tzinfo=timezone.utc)),
    ("2026-11-23T04:00:00Z", datetime(2026, 11, 23, 4, tzinfo=timezone.utc)),
    ("1970-01-01T00:00:00+14:00", datetime(1969, 12, 31, 10, tzinfo=timezone.utc)),
    ("2199-12-31T23:59:59-14:00", datetime(2200, 1, 1, 13, 59, 59, tzinfo=timezone.utc)),
])
def test_timestamps_in_utc(value: str, utc: datetime) -> None:
    assert timestamps.validate_python(value) == utc


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z",
                                   "2200-01-01T00:00:00Z", "2026-11-23T12:00:00", "1700000000", 1700000000,
                                   1700000000.5, "2026-11-23", "soon", None, True])
def test_bad_timestamps(value: object) -> None:
    with pytest.raises(ValidationError):
        timestamps.validate_python(value)


def test_dates() -> None:
    assert dates.validate_python("2026-11-23") == date(2026, 11, 23)
    for bad in ("9999-12-31", "0001-01-01", "20261123", 20261123, "2026-11-23T00:00:00Z", "2026-02-30"):
        with pytest.raises(ValidationError):
            dates.validate_python(bad)
