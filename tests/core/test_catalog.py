"""Choosing a guardian's next lesson: programme per audience and child's age band, merged for
several children, a cohort's own programme choice, retired lessons skipped."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.catalog.service import LessonPlanner, age_band, audience_for, merged_sequence
from core.models import Programme
from tests.core.outbox_fixtures import lesson

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)


def programme(pid: str, audience: str, band: str, lessons: list[str]) -> Programme:
    return Programme(id=pid, version=1, audience=audience, age_band=band, titles={}, lessons=lessons, sha256="x",
                     loaded_at=NOW)


LIBRARY = [lesson(x, now=NOW, bands=("3-6", "7-12", "13-17")) for x in ("a", "b", "c", "d", "e")]
PROGRAMMES = [
    programme("guardian_3_6", "guardian", "3-6", ["a", "b", "c"]),
    programme("guardian_7_12", "guardian", "7-12", ["d", "b", "e"]),
    programme("migrant_parent_7_12", "migrant_parent", "7-12", ["e", "a"]),
    programme("pilot_guardian_7_12", "guardian", "7-12", ["c", "e"]),
]


@pytest.mark.parametrize(("age", "band"), [(0, "0-2"), (2, "0-2"), (3, "3-6"), (6, "3-6"), (7, "7-12"),
                                           (12, "7-12"), (13, "13-17"), (17, "13-17")])
def test_age_bands(age: int, band: str) -> None:
    assert age_band(age) == band


def test_audience() -> None:
    assert audience_for(True) == "guardian" and audience_for(False) == "migrant_parent"


def test_merged_sequence_round_robin_without_repeats() -> None:
    assert merged_sequence([["a", "b", "c"], ["d", "b", "e"]]) == ["a", "d", "b", "c", "e"]


def test_next_lesson_follows_position_and_children() -> None:
    planner = LessonPlanner(PROGRAMMES, LIBRARY)
    one_child = planner.sequence(audience="guardian", bands=["7-12"])
    assert one_child == ["d", "b", "e"]  # the standard library: the first programme per key
    two_children = planner.sequence(audience="guardian", bands=["7-12", "3-6"])
    assert two_children == ["a", "d", "b", "c", "e"]  # younger child's band first
    assert planner.next_lesson(audience="guardian", bands=["7-12"], done={"d"}).id == "b"  # type: ignore[union-attr]
    assert planner.next_lesson(audience="guardian", bands=["7-12"], done={"d", "b", "e"}) is None
    assert planner.sequence(audience="migrant_parent", bands=["7-12"]) == ["e", "a"]
    assert planner.sequence(audience="guardian", bands=["0-2"]) == []


def test_cohort_choice_of_programme_wins() -> None:
    planner = LessonPlanner(PROGRAMMES, LIBRARY)
    assert planner.sequence(audience="guardian", bands=["7-12"], programmes=["pilot_guardian_7_12"]) == ["c", "e"]
    # Ages and audiences the cohort's choice does not cover fall back to the standard library.
    assert planner.sequence(audience="guardian", bands=["3-6"], programmes=["pilot_guardian_7_12"]) == ["a", "b", "c"]
    # A chosen programme that was retired (absent from the planner's list) falls back too.
    assert planner.sequence(audience="guardian", bands=["7-12"], programmes=["gone"]) == ["d", "b", "e"]


def test_retired_or_unknown_lessons_are_skipped() -> None:
    planner = LessonPlanner(PROGRAMMES, [x for x in LIBRARY if x.id != "b"])  # b retired
    assert planner.sequence(audience="guardian", bands=["7-12"]) == ["d", "e"]


def test_a_batch_orders_each_kind_of_household_once() -> None:
    """The sender resolves 500 lessons a batch with one planner: the order for the same audience,
    bands and programmes is worked out once; different ones are not mixed up (the tests above
    ask one planner for several)."""
    planner = LessonPlanner(PROGRAMMES, LIBRARY)
    first = planner.sequence(audience="guardian", bands=["7-12", "3-6"])
    assert planner.sequence(audience="guardian", bands=["7-12", "3-6"]) is first
    assert planner.sequence(audience="guardian", bands=["7-12"]) == ["d", "b", "e"]
    assert planner.sequence(audience="guardian", bands=["7-12"], programmes=["pilot_guardian_7_12"]) == ["c", "e"]
    assert planner.sequence(audience="guardian", bands=["7-12"], programmes=[]) == ["d", "b", "e"]
