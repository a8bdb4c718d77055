"""The funnel report's pure parts: the nearest-rank percentile, the period (defaults, limits,
local days to UTC) and the child-age arithmetic the alert filter runs in SQL."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from core.reports import nearest_rank, period_bounds, resolve_period
from core.alerts.service import month_index
from core.people import age_in_years
from core.errors import Invalid

TEN = [7, 1, 9, 3, 10, 2, 8, 4, 6, 5]  # 1..10, unsorted


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([], 50, None),
        ([], 90, None),
        ([42.5], 50, 42.5),
        ([42.5], 90, 42.5),
        ([42.5], 100, 42.5),
        ([20, 10], 50, 10),  # rank ⌈1.0⌉ = 1: the lower middle value
        ([20, 10], 51, 20),
        ([20, 10], 90, 20),  # rank ⌈1.8⌉ = 2
        ([30, 10, 20], 50, 20),  # rank ⌈1.5⌉ = 2
        ([30, 10, 20], 90, 30),  # rank ⌈2.7⌉ = 3
        ([30, 10, 20], 33, 10),  # rank ⌈0.99⌉ = 1
        ([30, 10, 20], 34, 20),  # rank ⌈1.02⌉ = 2
        (TEN, 50, 5),  # rank 5
        (TEN, 90, 9),  # rank exactly 9: no float rounding up to 10
        (TEN, 91, 10),
        (TEN, 10, 1),
        (TEN, 1, 1),
        (TEN, 100, 10),
        ([5, 5, 5, 1], 50, 5),  # ties count each
    ],
)
def test_nearest_rank(values: list[float], percent: int, expected: float | None) -> None:
    assert nearest_rank(values, percent) == expected


@pytest.mark.parametrize("percent", [0, 101, -5])
def test_nearest_rank_refuses_a_percent_outside_1_to_100(percent: int) -> None:
    with pytest.raises(ValueError):
        nearest_rank([1.0], percent)


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        (None, None, (date(2026, 10, 25), TODAY)),  # 30 days, today included
        (None, date(2026, 3, 31), (date(2026, 3, 2), date(2026, 3, 31))),
        (date(2026, 11, 20), None, (date(2026, 11, 20), TODAY)),
        (TODAY, TODAY, (TODAY, TODAY)),  # one day
        (date(2025, 11, 23), TODAY, (date(2025, 11, 23), TODAY)),  # 366 days
        (date(2024, 1, 1), date(2024, 12, 31), (date(2024, 1, 1), date(2024, 12, 31))),  # a leap year: 366
    ],
)
def test_resolve_period(date_from: date | None, date_to: date | None, expected: tuple[date, date]) -> None:
    assert resolve_period(date_from, date_to, today=TODAY) == expected


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [(date(2026, 11, 24), TODAY, "must be on or before to"), (date(2025, 11, 22), TODAY, "at most 366 days"),
     (date(2024, 1, 1), date(2025, 1, 1), "at most 366 days"), (date(2020, 1, 1), None, "at most 366 days")],
)
def test_resolve_period_refuses(date_from: date, date_to: date | None, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        resolve_period(date_from, date_to, today=TODAY)
    assert caught.value.field == "from" and message in caught.value.message


@pytest.mark.parametrize(
    ("zone", "date_from", "date_to", "start", "end"),
    [
        ("Asia/Shanghai", date(2026, 11, 1), date(2026, 11, 20), datetime(2026, 10, 31, 16, tzinfo=timezone.utc),
         datetime(2026, 11, 20, 16, tzinfo=timezone.utc)),
        ("UTC", TODAY, TODAY, datetime(2026, 11, 23, tzinfo=timezone.utc), datetime(2026, 11, 24, tzinfo=timezone.utc)),
        # A day on which the clocks go back is 25 hours long.
        ("Europe/London", date(2026, 10, 25), date(2026, 10, 25), datetime(2026, 10, 24, 23, tzinfo=timezone.utc),
         datetime(2026, 10, 26, 0, tzinfo=timezone.utc)),
    ],
)
def test_period_bounds_are_local_midnights(zone: str, date_from: date, date_to: date, start: datetime,
                                           end: datetime) -> None:
    assert period_bounds(date_from, date_to, zone) == (start, end)


@pytest.mark.parametrize("today", [date(2026, 1, 1), date(2026, 11, 23), date(2026, 12, 31), date(2027, 2, 28)])
@pytest.mark.parametrize(("birth_year", "birth_month"), [(2016, 1), (2016, 11), (2016, 12), (2026, 11), (2009, 6)])
def test_the_sql_age_arithmetic_is_age_in_years(birth_year: int, birth_month: int, today: date) -> None:
    """The alert filter compares birth months: ⌊(today − birth) / 12⌋ must be the age everyone else uses."""
    months = month_index(today.year, today.month) - month_index(birth_year, birth_month)
    assert months // 12 == age_in_years(birth_year, birth_month, today)
