"""Rules: answers and scores → the rules that fire, each with the evidence that fired it. Pure.

The vocabulary is closed (see core.content.questionnaires.RULE_KINDS); each kind is interpreted
here and nowhere else. Evidence is JSON-ready, so an alert can store exactly what fired it: the
answers, the scores and cut-offs, the previous score for trend rules, the count of unanswered
cycles.

When to call what:
- after each answer: `rules_fired_by_answer` — a red answer raises its alert
  at once, without waiting for the end of the questionnaire;
- on completion or expiry: `evaluate` with `score(...)`, the previous raw scores of the same child
  (or guardian) and questionnaire (the raw scale scores of the last scored check-in), and the
  number of cycles in a row left unanswered. A red answer fires again here; the caller adds it to
  the open alert for the same rule instead of opening a second one.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.checkin.scoring import Answers, FormScore, check_answers
from core.content.questionnaires import (
    SEVERITY_RANK,
    AnswerIn,
    AnyItemAtMost,
    DecreaseSinceLast,
    IncreaseSinceLast,
    QuestionnaireFile,
    ScaleAtLeast,
    ScaleAtMost,
    UnansweredCycles,
)


@dataclass(frozen=True)
class FiredRule:
    rule_id: str
    kind: str
    severity: str  # red | orange | yellow
    audience: str  # child | guardian
    reasons: Mapping[str, str]  # per locale, for the director
    evidence: dict[str, object] = field(default_factory=dict)
    lessons: tuple[str, ...] = ()  # lessons that may help the guardian, best first

    def reason(self, locale: str) -> str:
        return self.reasons.get(locale) or next(iter(self.reasons.values()))


def _fired(q: QuestionnaireFile, rule, evidence: dict[str, object]) -> FiredRule:  # type: ignore[no-untyped-def]
    return FiredRule(rule.id, rule.kind, rule.severity, rule.audience, dict(rule.reasons),
                     {"questionnaire": q.id, "version": q.version, **evidence}, tuple(rule.lessons))


def rules_fired_by_answer(questionnaire: QuestionnaireFile, item_id: str, value: int, *,
                          severities: tuple[str, ...] = ("red",)) -> list[FiredRule]:
    """The `answer_in` rules of the given severities that this one answer fires, on its own."""
    check_answers(questionnaire, {item_id: value})
    return [
        _fired(questionnaire, rule, {"answers": {item_id: value}})
        for rule in questionnaire.rules
        if isinstance(rule, AnswerIn) and rule.severity in severities and rule.item == item_id and value in rule.values
    ]


def evaluate(
    questionnaire: QuestionnaireFile,
    answers: Answers,
    scores: FormScore,
    previous_scores: Mapping[str, int | None] | None = None,
    unanswered_cycles: int = 0,
) -> list[FiredRule]:
    """Every rule that fires, in file order. `previous_scores` are raw scores per scale id from
    the last scored check-in (None or a missing scale: no trend rule can fire)."""
    q = questionnaire
    check_answers(q, answers)
    if scores.questionnaire != q.id or scores.version != q.version:
        raise ValueError(f"scores are for {scores.questionnaire} v{scores.version}, not {q.id} v{q.version}")
    previous = previous_scores or {}
    fired: list[FiredRule] = []

    def scale_answers(scale_id: str) -> dict[str, int | None]:
        return {i: answers.get(i) for i in q.scales_by_id[scale_id].items}

    for rule in q.rules:
        if isinstance(rule, AnswerIn):
            value = answers.get(rule.item)
            if value is not None and value in rule.values:
                fired.append(_fired(q, rule, {"answers": {rule.item: value}}))

        elif isinstance(rule, AnyItemAtMost):
            low = {i: answers[i] for i in rule.items if answers.get(i) is not None and answers[i] <= rule.value}  # type: ignore[operator]
            if low:
                fired.append(_fired(q, rule, {"answers": low, "at_most": rule.value}))

        elif isinstance(rule, (ScaleAtLeast, ScaleAtMost)):
            current = scores.scales[rule.scale]
            value = current.value(rule.score)
            if value is None:
                continue
            hit = value >= rule.threshold if isinstance(rule, ScaleAtLeast) else value <= rule.threshold
            if hit:
                fired.append(_fired(q, rule, {
                    "answers": scale_answers(rule.scale),
                    "scores": {rule.scale: current.evidence()},
                    "on": rule.score, "threshold": rule.threshold,
                }))

        elif isinstance(rule, (IncreaseSinceLast, DecreaseSinceLast)):
            current = scores.scales[rule.scale]
            before_raw = previous.get(rule.scale)
            if current.raw is None or before_raw is None:
                continue
            factor = q.scales_by_id[rule.scale].multiplier if rule.score == "scaled" else 1
            now_value, before = current.raw * factor, before_raw * factor
            change = now_value - before if isinstance(rule, IncreaseSinceLast) else before - now_value
            if change >= rule.points:
                fired.append(_fired(q, rule, {
                    "answers": scale_answers(rule.scale),
                    "scores": {rule.scale: current.evidence()},
                    "previous": {rule.scale: {"raw": before_raw, rule.score: before}},
                    "on": rule.score, "points": rule.points, "change": change,
                }))

        elif isinstance(rule, UnansweredCycles):
            if unanswered_cycles >= rule.n:
                fired.append(_fired(q, rule, {"unanswered_cycles": unanswered_cycles, "n": rule.n}))
    return fired


def highest_severity(fired: list[FiredRule]) -> str | None:
    return max((f.severity for f in fired), key=SEVERITY_RANK.__getitem__, default=None)
