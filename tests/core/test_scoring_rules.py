"""Scoring and rules, table-driven: every rule kind, reverse items, missing answers, the boundary
at each published cut-off, the trend rules, and red answers mid-questionnaire."""
from __future__ import annotations

import pytest

from core.checkin.rules import evaluate, highest_severity, rules_fired_by_answer
from core.checkin.scoring import AnswerError, score
from core.content.questionnaires import QuestionnaireFile
from tests.core.test_questionnaires import build, shipped

Q = shipped()
PSC = Q["psc17"]
WHO = Q["who5"]
WEEKLY = Q["weekly_checkin"]

INTERNALISING = ["sad", "hopeless", "down_on_self", "less_fun", "worries"]
ATTENTION = ["fidgety", "daydreams", "concentrating", "motor", "distracted"]
EXTERNALISING = ["refuses_to_share", "others_feelings", "fights", "blames_others", "rules", "teases", "takes_things"]


def psc_answers(internalising: int = 0, attention: int = 0, externalising: int = 0) -> dict[str, int]:
    """Every item answered; each subscale made to add up to the given sum (items of 0–2)."""
    answers: dict[str, int] = {}
    for items, total in ((INTERNALISING, internalising), (ATTENTION, attention), (EXTERNALISING, externalising)):
        assert total <= 2 * len(items)
        for item in items:
            answers[item] = min(2, total)
            total -= answers[item]
    return answers


def fired_ids(q: QuestionnaireFile, answers: dict, previous=None, cycles: int = 0) -> set[str]:  # type: ignore[no-untyped-def,type-arg]
    return {f.rule_id for f in evaluate(q, answers, score(q, answers), previous, cycles)}


# -- PSC-17 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("i", "a", "e", "total", "positive", "fired"),
    [
        (0, 0, 0, 0, set(), set()),
        (4, 6, 4, 14, set(), set()),                                           # every scale one below
        (4, 6, 5, 15, {"total"}, {"total_positive"}),                         # total 14 → 15
        (5, 0, 0, 5, {"internalising"}, {"internalising_positive"}),          # internalising 4 → 5
        (0, 7, 0, 7, {"attention"}, {"attention_positive"}),                  # attention 6 → 7
        (0, 0, 7, 7, {"externalising"}, {"externalising_positive"}),          # externalising 6 → 7
        (10, 10, 14, 34, {"total", "internalising", "attention", "externalising"},
         {"total_positive", "internalising_positive", "attention_positive", "externalising_positive"}),
    ],
)
def test_psc17_cutoffs_at_their_boundaries(i: int, a: int, e: int, total: int, positive: set[str],
                                           fired: set[str]) -> None:
    answers = psc_answers(i, a, e)
    result = score(PSC, answers)
    assert result.status == "complete"
    assert {name: s.raw for name, s in result.scales.items()} == {
        "total": total, "internalising": i, "attention": a, "externalising": e}
    assert {name for name, s in result.scales.items() if "positive" in s.cutoffs} == positive
    assert fired_ids(PSC, answers) == fired


@pytest.mark.parametrize("blanks", [1, 2, 3])
def test_psc17_one_to_three_blanks_count_as_zero_and_are_flagged(blanks: int) -> None:
    answers: dict[str, int | None] = {i.id: 1 for i in PSC.items}  # total 17
    for n, item in enumerate(INTERNALISING[:blanks]):
        if n % 2:
            del answers[item]  # absent and None both mean unanswered
        else:
            answers[item] = None
    result = score(PSC, answers)
    assert result.status == "incomplete" and len(result.unanswered) == blanks
    assert result["total"].raw == 17 - blanks and result["total"].status == "incomplete"
    assert result["internalising"].raw == 5 - blanks and result["internalising"].status == "incomplete"
    assert result["internalising"].reason == f"{blanks} of 5 items unanswered, counted as 0"
    assert result["attention"].status == "complete"
    # 17 − 3 = 14 is just below the total cut-off: blanks can only lower a score, never invent one.
    assert ("total_positive" in fired_ids(PSC, answers)) == (17 - blanks >= 15)


@pytest.mark.parametrize("blanks", [4, 5, 17])
def test_psc17_four_or_more_blanks_make_the_form_invalid(blanks: int) -> None:
    answers = {i.id: 2 for i in PSC.items[blanks:]}
    result = score(PSC, answers)
    assert result.status == "invalid"
    assert result.reason == f"{blanks} of 17 items unanswered: the form is invalid at 4 or more"
    for scale in result.scales.values():
        assert scale.status == "invalid" and scale.raw is None and scale.cutoffs == ()
        assert scale.reason == f"not scored: {result.reason}"
    assert fired_ids(PSC, answers) == set()  # nothing is concluded from an invalid form


@pytest.mark.parametrize(
    ("previous", "now", "fires"),
    [(None, 10, False), (5, 9, False), (5, 10, True), (0, 14, True), (12, 10, False)],
)
def test_psc17_trend_rule(previous: int | None, now: int, fires: bool) -> None:
    answers = psc_answers(min(now, 10), max(0, now - 10), 0)
    fired = {f.rule_id: f for f in evaluate(PSC, answers, score(PSC, answers),
                                            {"total": previous} if previous is not None else None)}
    assert ("total_increase" in fired) == fires
    if fires:
        evidence = fired["total_increase"].evidence
        assert evidence["previous"] == {"total": {"raw": previous}}
        assert evidence["change"] == now - previous  # type: ignore[operator]
        assert evidence["scores"]["total"]["raw"] == now  # type: ignore[index]


def test_psc17_trend_needs_a_scored_form_now() -> None:
    answers = {i.id: 2 for i in PSC.items[4:]}  # invalid: 4 blanks
    assert "total_increase" not in fired_ids(PSC, answers, {"total": 0})


# -- WHO-5 -------------------------------------------------------------------------------------


def who(*values: int) -> dict[str, int]:
    return dict(zip(["cheerful", "calm", "active", "rested", "interest"], values))


@pytest.mark.parametrize(
    ("answers", "raw", "percent", "cutoffs", "fired"),
    [
        (who(5, 5, 5, 5, 5), 25, 100, (), set()),
        (who(3, 3, 3, 2, 2), 13, 52, (), set()),                                  # raw 13: not poor
        (who(3, 3, 2, 2, 2), 12, 48, ("poor_wellbeing",), {"poor_wellbeing"}),    # raw 12: poor (≤ 50 %)
        (who(2, 2, 2, 2, 2), 10, 40, ("poor_wellbeing",), {"poor_wellbeing"}),
        (who(2, 2, 2, 1, 1), 8, 32, ("poor_wellbeing",), {"poor_wellbeing", "low_single_item"}),  # raw 8: > 28 %
        (who(2, 2, 2, 2, 0), 8, 32, ("poor_wellbeing",), {"poor_wellbeing", "low_single_item"}),
        (who(2, 2, 1, 1, 1), 7, 28, ("poor_wellbeing", "likely_depression"),    # raw 7 = 28 %
         {"poor_wellbeing", "low_single_item", "likely_depression"}),
        (who(0, 0, 0, 0, 0), 0, 0, ("poor_wellbeing", "likely_depression"),
         {"poor_wellbeing", "low_single_item", "likely_depression"}),
        (who(5, 5, 5, 5, 2), 22, 88, (), set()),                                  # an item at 2: fine
        (who(5, 5, 5, 5, 1), 21, 84, (), {"low_single_item"}),                    # an item at 1: follow up
    ],
)
def test_who5_scoring_and_cutoffs(answers: dict[str, int], raw: int, percent: int, cutoffs: tuple[str, ...],
                                  fired: set[str]) -> None:
    result = score(WHO, answers)["wellbeing"]
    assert (result.raw, result.scaled, result.status, result.cutoffs) == (raw, percent, "complete", cutoffs)
    fired_rules = evaluate(WHO, answers, score(WHO, answers))
    assert {f.rule_id for f in fired_rules} == fired
    assert {f.audience for f in fired_rules} <= {"guardian"}


def test_who5_with_an_unanswered_item_is_not_scored_and_says_so() -> None:
    answers = who(1, 1, 1, 1)  # "interest" unanswered
    result = score(WHO, answers)
    scale = result["wellbeing"]
    assert (scale.status, scale.raw, scale.scaled, scale.unanswered) == ("invalid", None, None, ("interest",))
    assert scale.reason == "not scored: 1 of 5 items unanswered, and every item is needed"
    # the answers given still count on their own: a single item at 0–1 is worth following up
    assert {f.rule_id for f in evaluate(WHO, answers, result)} == {"low_single_item"}


@pytest.mark.parametrize(("previous_raw", "fires"), [(15, True), (14, False), (None, False)])
def test_who5_drop_of_ten_percentage_points(previous_raw: int | None, fires: bool) -> None:
    answers = who(3, 3, 3, 3, 0)  # raw 12 = 48 %; before: 15 = 60 % (−12), 14 = 56 % (−8)
    fired = {f.rule_id: f for f in evaluate(WHO, answers, score(WHO, answers), {"wellbeing": previous_raw})}
    assert ("wellbeing_drop" in fired) == fires
    if fires:
        assert fired["wellbeing_drop"].evidence["previous"] == {"wellbeing": {"raw": 15, "scaled": 60}}
        assert fired["wellbeing_drop"].evidence["change"] == 12


# -- the weekly check-in -----------------------------------------------------------------------


CALM_WEEK = {"mood": 0, "sleep_appetite": 0, "school": 0, "parent_contact": 0, "upsetting_event": 0, "safety": 0}


@pytest.mark.parametrize(
    ("change", "fired", "severity"),
    [
        ({}, set(), None),
        ({"safety": 1}, {"safety_self_harm"}, "red"),
        ({"safety": 2}, {"safety_harmed_by_someone"}, "red"),
        ({"safety": 3}, {"safety_not_sure"}, "orange"),
        ({"upsetting_event": 1}, set(), None),
        ({"upsetting_event": 2}, {"upsetting_event_worried"}, "orange"),
        ({"school": 1}, set(), None),
        ({"school": 2}, {"missed_school"}, "yellow"),
        ({"school": 3}, {"stopped_school"}, "orange"),
        ({"school": 4}, set(), None),
        ({"parent_contact": 1}, set(), None),
        ({"parent_contact": 2}, {"no_parent_contact"}, "yellow"),
        ({"parent_contact": 3}, set(), None),
        ({"mood": 2}, {"low_mood"}, "yellow"),
        ({"sleep_appetite": 2}, {"poor_sleep_appetite"}, "yellow"),
        ({"mood": 2, "safety": 1}, {"low_mood", "safety_self_harm"}, "red"),
    ],
)
def test_weekly_checkin_rules(change: dict[str, int], fired: set[str], severity: str | None) -> None:
    answers = {**CALM_WEEK, **change}
    result = evaluate(WEEKLY, answers, score(WEEKLY, answers))
    assert {f.rule_id for f in result} == fired
    assert highest_severity(result) == severity


@pytest.mark.parametrize(("cycles", "fires"), [(0, False), (2, False), (3, True), (5, True)])
def test_weekly_checkin_unanswered_three_times(cycles: int, fires: bool) -> None:
    result = evaluate(WEEKLY, {}, score(WEEKLY, {}), None, cycles)
    assert [f.rule_id for f in result] == (["unanswered_three_weeks"] if fires else [])
    if fires:
        assert result[0].evidence["unanswered_cycles"] == cycles


@pytest.mark.parametrize(("item", "value", "red"), [
    ("safety", 0, False), ("safety", 1, True), ("safety", 2, True), ("safety", 3, False),
    ("mood", 2, False), ("school", 3, False),
])
def test_a_red_answer_is_known_the_moment_it_is_given(item: str, value: int, red: bool) -> None:
    fired = rules_fired_by_answer(WEEKLY, item, value)
    assert bool(fired) is red
    if red:
        assert fired[0].severity == "red" and fired[0].evidence["answers"] == {item: value}
        assert "110" in fired[0].reason("zh-Hans") and "110" in fired[0].reason("en")
    assert not rules_fired_by_answer(PSC, "hopeless", 2)  # PSC-17 has no red answers


def test_a_safety_answer_given_before_stopping_halfway_still_fires() -> None:
    answers = {"mood": 1, "safety": 2}  # the rest never answered: the check-in expired
    assert fired_ids(WEEKLY, answers) == {"safety_harmed_by_someone"}


# -- every rule kind, reverse items and both missing policies on a small questionnaire ----------


MOOD = build()


@pytest.mark.parametrize(
    ("answers", "distress", "wellbeing", "cutoffs"),
    [
        # distress = sad + worried + (3 − happy); wellbeing = (happy + sleeps) × 5
        ({"sad": 0, "worried": 0, "happy": 3, "sleeps": 3, "safety": 0}, (0, "complete"), (30, "complete"), set()),
        ({"sad": 0, "worried": 0, "happy": 0, "sleeps": 3, "safety": 0}, (3, "complete"), (15, "complete"), set()),
        ({"sad": 2, "worried": 1, "happy": 0, "sleeps": 2, "safety": 0}, (6, "complete"), (10, "complete"),
         {"high", "low"}),
        ({"sad": 3, "worried": 3, "happy": 3, "sleeps": 0, "safety": 0}, (6, "complete"), (15, "complete"), {"high"}),
        # a blank: distress counts it as 0 and is incomplete; wellbeing needs every item
        ({"sad": 3, "worried": 3, "sleeps": 0, "safety": 0}, (6, "incomplete"), (None, "invalid"), {"high"}),
        ({"sad": 3, "worried": 3, "happy": 1, "safety": 0}, (8, "complete"), (None, "invalid"), {"high"}),
    ],
)
def test_reverse_items_multiplier_and_missing_policies(answers: dict, distress: tuple, wellbeing: tuple,  # type: ignore[type-arg]
                                                       cutoffs: set[str]) -> None:
    result = score(MOOD, answers)
    assert (result["distress"].raw, result["distress"].status) == distress
    assert (result["wellbeing"].scaled, result["wellbeing"].status) == wellbeing
    assert set(result["distress"].cutoffs) | set(result["wellbeing"].cutoffs) == cutoffs


def test_an_absent_answer_is_unanswered_like_none() -> None:
    a = score(MOOD, {"sad": 1, "worried": 1, "happy": None, "sleeps": 1, "safety": 0})
    b = score(MOOD, {"sad": 1, "worried": 1, "sleeps": 1, "safety": 0})
    assert a == b and a.unanswered == ("happy",)


def test_the_form_blank_rule_overrides_the_scale_policy() -> None:
    result = score(MOOD, {"sad": 3, "worried": 3})  # 3 of 5 blank; invalid from 3
    assert result.status == "invalid"
    assert {s.status for s in result.scales.values()} == {"invalid"}
    assert {scale_id: s.raw for scale_id, s in result.scales.items()} == {"distress": None, "wellbeing": None}


BASE = {"sad": 1, "worried": 1, "happy": 2, "sleeps": 2, "safety": 0}  # distress 3, wellbeing 20


@pytest.mark.parametrize(
    ("kind", "answers", "previous", "cycles", "fires", "evidence"),
    [
        # answer_in
        ("answer_in", BASE, None, 0, False, None),
        ("answer_in", {**BASE, "safety": 1}, None, 0, True, {"answers": {"safety": 1}}),
        # scale_at_least (distress ≥ 6): 5 no, 6 yes
        ("scale_at_least", {**BASE, "sad": 2, "worried": 2}, None, 0, False, None),
        ("scale_at_least", {**BASE, "sad": 3, "worried": 2}, None, 0, True, {"on": "raw", "threshold": 6}),
        # scale_at_most on the scaled score (wellbeing ≤ 10): 15 no, 10 yes
        ("scale_at_most", {**BASE, "happy": 1, "sleeps": 2}, None, 0, False, None),
        ("scale_at_most", {**BASE, "happy": 1, "sleeps": 1}, None, 0, True, {"on": "scaled", "threshold": 10}),
        # increase_since_last_at_least (distress +3): 3 → 5 no, 3 → 6 yes, nothing before no
        ("increase_since_last_at_least", {**BASE, "sad": 3}, {"distress": 3}, 0, False, None),
        ("increase_since_last_at_least", {**BASE, "sad": 3, "worried": 2}, {"distress": 3}, 0, True,
         {"previous": {"distress": {"raw": 3}}, "change": 3, "points": 3}),
        ("increase_since_last_at_least", {**BASE, "sad": 3, "worried": 2}, None, 0, False, None),
        ("increase_since_last_at_least", {**BASE, "sad": 3, "worried": 2}, {"distress": None}, 0, False, None),
        # decrease_since_last_at_least on the scaled score (wellbeing −10): 20 → 15 no, 25 → 15 yes
        ("decrease_since_last_at_least", {**BASE, "happy": 1}, {"wellbeing": 4}, 0, False, None),
        ("decrease_since_last_at_least", {**BASE, "happy": 1}, {"wellbeing": 5}, 0, True,
         {"previous": {"wellbeing": {"raw": 5, "scaled": 25}}, "change": 10}),
        # a scale that is not scored now fires no trend
        ("decrease_since_last_at_least", {**BASE, "happy": None}, {"wellbeing": 6}, 0, False, None),
        # any_item_at_most (happy or sleeps at 0)
        ("any_item_at_most", {**BASE, "happy": 1, "sleeps": 1}, None, 0, False, None),
        ("any_item_at_most", {**BASE, "sleeps": 0}, None, 0, True, {"answers": {"sleeps": 0}, "at_most": 0}),
        # unanswered_cycles_at_least (2)
        ("unanswered_cycles_at_least", BASE, None, 1, False, None),
        ("unanswered_cycles_at_least", BASE, None, 2, True, {"unanswered_cycles": 2, "n": 2}),
    ],
)
def test_every_rule_kind(kind: str, answers: dict, previous: dict | None, cycles: int, fires: bool,  # type: ignore[type-arg]
                         evidence: dict | None) -> None:  # type: ignore[type-arg]
    result = [f for f in evaluate(MOOD, answers, score(MOOD, answers), previous, cycles) if f.kind == kind]
    assert bool(result) is fires, result
    if fires:
        (fired,) = result
        assert fired.evidence["questionnaire"] == "mood_check" and fired.evidence["version"] == 1
        for key, value in (evidence or {}).items():
            assert fired.evidence[key] == value, (key, fired.evidence)
        assert fired.reason("en") and fired.reason("zh-Hans")


def test_scale_rule_evidence_names_answers_scores_and_cutoffs() -> None:
    answers = {**BASE, "sad": 3, "worried": 3}
    (fired,) = [f for f in evaluate(MOOD, answers, score(MOOD, answers)) if f.rule_id == "distress_high"]
    assert fired.evidence["answers"] == {"sad": 3, "worried": 3, "happy": 2}
    assert fired.evidence["scores"] == {"distress": {"raw": 7, "scaled": 7, "status": "complete", "cutoffs": ["high"],
                                                     "unanswered": [], "reason": None}}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"mood": 1}, "mood_check: no item 'mood'"),
        ({"sad": 4}, "mood_check: 4 is not a choice of item 'sad'"),
        ({"safety": 2}, "mood_check: 2 is not a choice of item 'safety'"),
    ],
)
def test_answers_outside_the_questionnaire_are_refused(answers: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(AnswerError, match=message):
        score(MOOD, answers)
    with pytest.raises(AnswerError):
        rules_fired_by_answer(MOOD, *next(iter(answers.items())))


def test_scores_of_another_questionnaire_are_refused() -> None:
    with pytest.raises(ValueError, match="scores are for who5"):
        evaluate(MOOD, {}, score(WHO, {}))
