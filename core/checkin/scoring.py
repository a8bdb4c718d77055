"""Scoring: a questionnaire's answers → one result per scale. Pure, no I/O.

Answers are a mapping item id → choice value; an absent item or None is unanswered. What an
unanswered item does is the questionnaire's own, published policy:

- `invalid_from_blanks` (PSC-17: 4): that many unanswered items on the form make every scale
  invalid — not scored, and said so;
- a scale's `missing: count_as_zero` (PSC-17): fewer blanks count as 0, the scale is scored and
  marked incomplete;
- a scale's `missing: not_scored` (WHO-5): any unanswered item leaves the scale unscored (invalid).

Reasons are short English sentences for logs and staff screens; the structured fields
(`status`, `unanswered`) are what adapters translate.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from core.content.questionnaires import QuestionnaireFile, ScoreOn

Status = Literal["complete", "incomplete", "invalid"]
Answers = Mapping[str, "int | None"]


class AnswerError(ValueError):
    """An answer to an item the questionnaire does not have, or a value it does not offer."""


@dataclass(frozen=True)
class ScaleScore:
    scale: str
    status: Status
    raw: int | None  # None: not scored (see reason)
    scaled: int | None  # raw × the scale's multiplier
    range: tuple[int, int]  # what raw can be
    cutoffs: tuple[str, ...] = ()  # ids of the cut-offs reached, in file order
    unanswered: tuple[str, ...] = ()  # item ids of this scale left unanswered
    reason: str | None = None

    def value(self, on: ScoreOn) -> int | None:
        return self.raw if on == "raw" else self.scaled

    def evidence(self) -> dict[str, object]:
        """JSON-ready, for an alert's evidence."""
        return {"raw": self.raw, "scaled": self.scaled, "status": self.status, "cutoffs": list(self.cutoffs),
                "unanswered": list(self.unanswered), "reason": self.reason}


@dataclass(frozen=True)
class FormScore:
    questionnaire: str
    version: int
    status: Status
    unanswered: tuple[str, ...]  # every unanswered item of the form, in form order
    reason: str | None
    scales: Mapping[str, ScaleScore] = field(default_factory=dict)

    def __getitem__(self, scale_id: str) -> ScaleScore:
        return self.scales[scale_id]


def check_answers(questionnaire: QuestionnaireFile, answers: Answers) -> None:
    for item_id, value in answers.items():
        if item_id not in questionnaire.items_by_id:
            raise AnswerError(f"{questionnaire.id}: no item {item_id!r}")
        if value is not None and value not in questionnaire.choice_values(item_id):
            raise AnswerError(f"{questionnaire.id}: {value!r} is not a choice of item {item_id!r}")


def score(questionnaire: QuestionnaireFile, answers: Answers) -> FormScore:
    check_answers(questionnaire, answers)
    q = questionnaire
    unanswered = tuple(item.id for item in q.items if answers.get(item.id) is None)
    n_items = len(q.items)

    form_invalid = q.invalid_from_blanks is not None and len(unanswered) >= q.invalid_from_blanks
    if form_invalid:
        form_status: Status = "invalid"
        form_reason: str | None = (f"{len(unanswered)} of {n_items} items unanswered: the form is invalid at "
                                   f"{q.invalid_from_blanks} or more")
    elif unanswered:
        form_status, form_reason = "incomplete", f"{len(unanswered)} of {n_items} items unanswered"
    else:
        form_status, form_reason = "complete", None

    scales: dict[str, ScaleScore] = {}
    for scale in q.scales:
        raw_range = q.scale_range(scale.id)
        missing = tuple(i for i in scale.items if answers.get(i) is None)
        if form_invalid:
            scales[scale.id] = ScaleScore(scale.id, "invalid", None, None, raw_range, unanswered=missing,
                                          reason=f"not scored: {form_reason}")
            continue
        if missing and scale.missing == "not_scored":
            scales[scale.id] = ScaleScore(
                scale.id, "invalid", None, None, raw_range, unanswered=missing,
                reason=f"not scored: {len(missing)} of {len(scale.items)} items unanswered, and every item is needed",
            )
            continue
        raw = 0
        for item_id in scale.items:
            value = answers.get(item_id)
            if value is None:
                continue  # count_as_zero
            if item_id in scale.reverse:
                low, high = q.choice_range(item_id)
                value = low + high - value
            raw += value
        scaled = raw * scale.multiplier
        reached = tuple(c.id for c in scale.cutoffs if c.reached(raw if c.score == "raw" else scaled))
        if missing:
            scales[scale.id] = ScaleScore(
                scale.id, "incomplete", raw, scaled, raw_range, reached, missing,
                reason=f"{len(missing)} of {len(scale.items)} items unanswered, counted as 0",
            )
        else:
            scales[scale.id] = ScaleScore(scale.id, "complete", raw, scaled, raw_range, reached)
    return FormScore(q.id, q.version, form_status, unanswered, form_reason, scales)
