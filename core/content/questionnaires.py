"""Questionnaires: the strict file format (content/questionnaires/<id>.yaml). See content/README.md.

A questionnaire is data: items with choice sets, scales that sum items, cut-offs, and rules in a
closed vocabulary (`answer_in`, `scale_at_least`, …). Nothing here is evaluated as an expression;
core.checkin.scoring and core.checkin.rules interpret the data.

A file is checked in two steps: field by field (pydantic: types, every locale present, lengths),
then as a whole (references between items, choice sets, scales, cut-offs and rules). The whole-file
step reports every problem it finds at once, one `field: reason` per line, so `content check`
can list them all; a QuestionnaireFile that exists is therefore always consistent, and scoring can
trust it.
"""
from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config import SUPPORTED_LOCALES
from core.content.lessons import check_audio
from core.content.localized import check_localized

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
NICKNAME = "{nickname}"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

Severity = Literal["red", "orange", "yellow"]
SEVERITY_RANK: dict[str, int] = {"red": 3, "orange": 2, "yellow": 1}
Audience = Literal["child", "guardian"]
Direction = Literal["at_least", "at_most"]
ScoreOn = Literal["raw", "scaled"]
MissingPolicy = Literal["count_as_zero", "not_scored"]

RULE_KINDS = (
    "answer_in",
    "scale_at_least",
    "scale_at_most",
    "increase_since_last_at_least",
    "decrease_since_last_at_least",
    "any_item_at_most",
    "unanswered_cycles_at_least",
)

# Characters for Chinese, characters for English too: these are limits for a phone screen.
LABEL_MAX = 48  # an answer button
TEXT_MAX = 400  # an item, a rule's reason
INTRO_MAX = 800


def _locales(max_chars: int):  # type: ignore[no-untyped-def]
    def check(value: dict[str, str]) -> dict[str, str]:
        return check_localized(value, max_chars=max_chars)

    return AfterValidator(check)


Labels = Annotated[dict[str, str], _locales(LABEL_MAX)]
Texts = Annotated[dict[str, str], _locales(TEXT_MAX)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    citation: str = Field(min_length=10)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")


class Licence(_Strict):
    text: str = Field(min_length=3)  # the licence or permission, in its own words where possible
    verified: str = Field(min_length=10)  # where it was checked, and when


class Translation(_Strict):
    # published: the instrument's own published wording · adapted: published wording with marked
    # changes · own_unvalidated: this project's translation, not validated · original: written
    # for Shouwang in this language
    status: Literal["published", "adapted", "own_unvalidated", "original"]
    note: str = Field(min_length=10)


class AgeRange(_Strict):
    min: int = Field(ge=0, le=17)
    max: int = Field(ge=0, le=17)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class QuestionnaireText(_Strict):
    title: str = Field(min_length=1, max_length=60)
    intro: str = Field(min_length=1, max_length=INTRO_MAX)
    # A short line shown above every item ("Over the last two weeks", "About {nickname}:").
    stem: str | None = Field(default=None, min_length=1, max_length=80)


class Choice(_Strict):
    value: int
    labels: Labels


class Item(_Strict):
    id: str = Field(pattern=ID_PATTERN, max_length=40)
    choices: str  # a key of choice_sets
    texts: Texts
    # The question read aloud, per locale, for the mobile pages (an .mp3 or .m4a under
    # content/media/), for guardians who read little.
    audio: dict[str, str] | None = None

    @field_validator("audio")
    @classmethod
    def _audio(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return check_audio(value)

    def text(self, locale: str, *, nickname: str | None = None) -> str:
        return render(self.texts[locale], nickname)


class CutOff(_Strict):
    id: str = Field(pattern=ID_PATTERN, max_length=40)
    direction: Direction
    threshold: int
    score: ScoreOn = "raw"  # compare the raw or the scaled score (× multiplier)
    labels: Labels

    def reached(self, value: int) -> bool:
        return value >= self.threshold if self.direction == "at_least" else value <= self.threshold


class Scale(_Strict):
    id: str = Field(pattern=ID_PATTERN, max_length=40)
    labels: Labels
    items: list[str] = Field(min_length=1)
    reverse: list[str] = Field(default_factory=list)  # scored max + min − value on the item's choices
    multiplier: int = Field(default=1, ge=1)  # scaled = raw × multiplier (WHO-5: ×4 → 0–100)
    # What an unanswered item does: count_as_zero scores it as 0 and flags the scale incomplete;
    # not_scored leaves the scale unscored. Required: every instrument must say.
    missing: MissingPolicy
    cutoffs: list[CutOff] = Field(default_factory=list)


class _Rule(_Strict):
    id: str = Field(pattern=ID_PATTERN, max_length=60)
    severity: Severity
    # child: an alert about the child for the child director; guardian: support for the guardian
    # themself (WHO-5), never an alarm about a child.
    audience: Audience
    reasons: Texts  # plain words for the director: what was seen and what to do
    # Lessons that may help, best first: after the last answer the guardian gets the first one
    # that fits them (audience, the child's age) and that they have not had yet.
    lessons: list[str] = Field(default_factory=list, max_length=5)


class AnswerIn(_Rule):
    kind: Literal["answer_in"]
    item: str
    values: list[int] = Field(min_length=1)


class ScaleAtLeast(_Rule):
    kind: Literal["scale_at_least"]
    scale: str
    threshold: int
    score: ScoreOn = "raw"  # compare the raw or the scaled score (× multiplier)


class ScaleAtMost(_Rule):
    kind: Literal["scale_at_most"]
    scale: str
    threshold: int
    score: ScoreOn = "raw"  # compare the raw or the scaled score (× multiplier)


class IncreaseSinceLast(_Rule):
    kind: Literal["increase_since_last_at_least"]
    scale: str
    points: int = Field(ge=1)
    score: ScoreOn = "raw"  # compare the raw or the scaled score (× multiplier)


class DecreaseSinceLast(_Rule):
    kind: Literal["decrease_since_last_at_least"]
    scale: str
    points: int = Field(ge=1)
    score: ScoreOn = "raw"  # compare the raw or the scaled score (× multiplier)


class AnyItemAtMost(_Rule):
    kind: Literal["any_item_at_most"]
    items: list[str] = Field(min_length=1)
    value: int


class UnansweredCycles(_Rule):
    kind: Literal["unanswered_cycles_at_least"]
    n: int = Field(ge=1)


Rule = Annotated[
    Union[AnswerIn, ScaleAtLeast, ScaleAtMost, IncreaseSinceLast, DecreaseSinceLast, AnyItemAtMost, UnansweredCycles],
    Field(discriminator="kind"),
]
ScaleRule = Union[ScaleAtLeast, ScaleAtMost, IncreaseSinceLast, DecreaseSinceLast]


def render(text: str, nickname: str | None) -> str:
    """Fill in the child's nickname. Plain replacement, never str.format: braces in a text are
    only ever `{nickname}` (the file check makes sure)."""
    return text.replace(NICKNAME, nickname) if nickname is not None else text


def clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """pydantic names a rule's kind in an error's location (rules.2.scale_at_least.threshold);
    authors think of it as rules.2.threshold."""
    if len(loc) >= 3 and loc[0] == "rules" and isinstance(loc[1], int) and loc[2] in RULE_KINDS:
        return loc[:2] + loc[3:]
    return loc


class QuestionnaireFile(_Strict):
    """content/questionnaires/<id>.yaml"""

    id: str = Field(pattern=ID_PATTERN, max_length=64)
    version: int = Field(ge=1)
    respondent: Literal["guardian"]
    subject: Literal["child", "self"]
    child_age: AgeRange | None = None  # years; required about a child, absent about oneself
    source: Source
    licence: Licence
    translation: dict[str, Translation]
    texts: dict[str, QuestionnaireText]
    choice_sets: dict[str, list[Choice]] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)
    # Unanswered items that make the whole form invalid (PSC-17: 4). None: no such rule.
    invalid_from_blanks: int | None = Field(default=None, ge=1)
    scales: list[Scale]  # may be empty (the weekly check-in has rules on answers only)
    rules: list[Rule] = Field(min_length=1)

    # -- lookups (valid only on a checked file) --------------------------------------------

    @cached_property
    def items_by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    @cached_property
    def scales_by_id(self) -> dict[str, Scale]:
        return {scale.id: scale for scale in self.scales}

    def choice_values(self, item_id: str) -> list[int]:
        return [c.value for c in self.choice_sets[self.items_by_id[item_id].choices]]

    def choice_range(self, item_id: str) -> tuple[int, int]:
        values = self.choice_values(item_id)
        return min(values), max(values)

    def scale_range(self, scale_id: str, on: ScoreOn = "raw") -> tuple[int, int]:
        scale = self.scales_by_id[scale_id]
        low = sum(self.choice_range(i)[0] for i in scale.items)
        high = sum(self.choice_range(i)[1] for i in scale.items)
        factor = scale.multiplier if on == "scaled" else 1
        return low * factor, high * factor

    def choice_label(self, item_id: str, value: int, locale: str) -> str:
        for choice in self.choice_sets[self.items_by_id[item_id].choices]:
            if choice.value == value:
                return choice.labels[locale]
        raise KeyError(f"{item_id}={value}")

    # -- whole-file checks -----------------------------------------------------------------

    @model_validator(mode="after")
    def _whole_file(self) -> QuestionnaireFile:
        problems = _cross_check(self)
        if problems:
            raise ValueError("\n".join(f"{where}: {reason}" for where, reason in problems))
        return self


def _every_locale(problems: list[tuple[str, str]], where: str, value: dict) -> None:
    missing = [loc for loc in SUPPORTED_LOCALES if loc not in value]
    if missing:
        problems.append((where, f"missing locale {', '.join(missing)}"))
    unknown = sorted(set(value) - set(SUPPORTED_LOCALES))
    if unknown:
        problems.append((where, f"unknown locale {', '.join(unknown)}"))


def _placeholders(problems: list[tuple[str, str]], where: str, text: str, *, about_child: bool) -> None:
    for name in _PLACEHOLDER.findall(text):
        if name != "nickname":
            problems.append((where, f"unknown placeholder {{{name}}}; only {NICKNAME} is filled in"))
        elif not about_child:
            problems.append((where, f"{NICKNAME} is only for questionnaires about a child"))
    rest = _PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        problems.append((where, "unbalanced braces"))


def _dupes(values: list) -> list:
    seen: set[object] = set()
    return [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]


def _cross_check(q: QuestionnaireFile) -> list[tuple[str, str]]:
    """Every reference and range, all problems at once, as (field, reason)."""
    problems: list[tuple[str, str]] = []
    about_child = q.subject == "child"

    if about_child and q.child_age is None:
        problems.append(("child_age", "required for a questionnaire about a child (min and max years)"))
    if not about_child and q.child_age is not None:
        problems.append(("child_age", "only for questionnaires about a child; leave it out for subject: self"))

    _every_locale(problems, "translation", q.translation)
    _every_locale(problems, "texts", q.texts)
    for loc, text in q.texts.items():
        for part in ("title", "intro", "stem"):
            value = getattr(text, part)
            if value:
                _placeholders(problems, f"texts.{loc}.{part}", value, about_child=about_child)

    for name, choices in q.choice_sets.items():
        if not re.fullmatch(ID_PATTERN, name):
            problems.append((f"choice_sets.{name}", "names must be lowercase words with underscores"))
        if len(choices) < 2:
            problems.append((f"choice_sets.{name}", "needs at least two choices"))
        for value in _dupes([c.value for c in choices]):
            problems.append((f"choice_sets.{name}", f"value {value} is listed twice"))
        for loc in SUPPORTED_LOCALES:
            for label in _dupes([c.labels[loc] for c in choices]):
                problems.append((f"choice_sets.{name}", f"label {label!r} is used twice in {loc}"))

    item_ids = [item.id for item in q.items]
    known_items = set(item_ids)
    for item_id in _dupes(item_ids):
        problems.append(("items", f"item id {item_id!r} is used twice"))
    used_sets: set[str] = set()
    for i, item in enumerate(q.items):
        if item.choices not in q.choice_sets:
            problems.append((f"items.{i}.choices", f"unknown choice set {item.choices!r}"))
        used_sets.add(item.choices)
        for loc, item_text in item.texts.items():
            _placeholders(problems, f"items.{i}.texts.{loc}", item_text, about_child=about_child)
    for name in q.choice_sets:
        if name not in used_sets:
            problems.append((f"choice_sets.{name}", "not used by any item"))

    def answerable(item_id: str) -> bool:
        return item_id in known_items and q.items_by_id[item_id].choices in q.choice_sets

    if q.invalid_from_blanks is not None and q.invalid_from_blanks > len(q.items):
        problems.append(("invalid_from_blanks", f"{q.invalid_from_blanks} is more than the {len(q.items)} item(s)"))

    ranges: dict[str, tuple[int, int] | None] = {}  # raw range of each scale, None when broken
    for scale_id in _dupes([s.id for s in q.scales]):
        problems.append(("scales", f"scale id {scale_id!r} is used twice"))
    for s, scale in enumerate(q.scales):
        where = f"scales.{s}"
        broken = False
        for k, item_id in enumerate(scale.items):
            if item_id not in known_items:
                problems.append((f"{where}.items.{k}", f"unknown item {item_id!r}"))
                broken = True
            elif not answerable(item_id):
                broken = True
        for item_id in _dupes(scale.items):
            problems.append((f"{where}.items", f"item {item_id!r} is listed twice"))
        for k, item_id in enumerate(scale.reverse):
            if item_id not in scale.items:
                problems.append((f"{where}.reverse.{k}", f"{item_id!r} is not an item of this scale"))
        for item_id in _dupes(scale.reverse):
            problems.append((f"{where}.reverse", f"item {item_id!r} is listed twice"))
        if broken:
            ranges.setdefault(scale.id, None)
            continue
        low = sum(q.choice_range(i)[0] for i in scale.items)
        high = sum(q.choice_range(i)[1] for i in scale.items)
        ranges.setdefault(scale.id, (low, high))
        for cutoff_id in _dupes([c.id for c in scale.cutoffs]):
            problems.append((f"{where}.cutoffs", f"cut-off id {cutoff_id!r} is used twice"))
        for c, cutoff in enumerate(scale.cutoffs):
            reason = _threshold_problem(cutoff.direction, cutoff.threshold, (low, high), cutoff.score, scale.multiplier)
            if reason:
                problems.append((f"{where}.cutoffs.{c}.threshold", reason))

    for rule_id in _dupes([r.id for r in q.rules]):
        problems.append(("rules", f"rule id {rule_id!r} is used twice"))
    for r, rule in enumerate(q.rules):
        where = f"rules.{r}"
        if not about_child and rule.audience != "guardian":
            problems.append((f"{where}.audience", "a questionnaire about the guardian themself raises guardian "
                                                  "support (audience: guardian), never a child alert"))
        if isinstance(rule, AnswerIn):
            if rule.item not in known_items:
                problems.append((f"{where}.item", f"unknown item {rule.item!r}"))
            elif answerable(rule.item):
                allowed = q.choice_values(rule.item)
                for k, value in enumerate(rule.values):
                    if value not in allowed:
                        problems.append((f"{where}.values.{k}", f"{value} is not a choice of item {rule.item!r} "
                                                                f"({', '.join(map(str, allowed))})"))
            for value in _dupes(rule.values):
                problems.append((f"{where}.values", f"value {value} is listed twice"))
        elif isinstance(rule, AnyItemAtMost):
            for k, item_id in enumerate(rule.items):
                if item_id not in known_items:
                    problems.append((f"{where}.items.{k}", f"unknown item {item_id!r}"))
                elif answerable(item_id):
                    low, high = q.choice_range(item_id)
                    if not low <= rule.value < high:
                        problems.append((f"{where}.value", f"{rule.value} on item {item_id!r} is never or always "
                                                           f"reached (its choices are {low}–{high})"))
            for item_id in _dupes(rule.items):
                problems.append((f"{where}.items", f"item {item_id!r} is listed twice"))
        elif isinstance(rule, (ScaleAtLeast, ScaleAtMost, IncreaseSinceLast, DecreaseSinceLast)):
            if rule.scale not in ranges:
                problems.append((f"{where}.scale", f"unknown scale {rule.scale!r}"))
                continue
            raw_range = ranges[rule.scale]
            if raw_range is None:
                continue  # the scale itself is reported
            multiplier = q.scales_by_id[rule.scale].multiplier
            if isinstance(rule, (ScaleAtLeast, ScaleAtMost)):
                direction: Direction = "at_least" if isinstance(rule, ScaleAtLeast) else "at_most"
                reason = _threshold_problem(direction, rule.threshold, raw_range, rule.score, multiplier)
                if reason:
                    problems.append((f"{where}.threshold", reason))
            else:
                factor = multiplier if rule.score == "scaled" else 1
                width = (raw_range[1] - raw_range[0]) * factor
                if rule.points > width:
                    problems.append((f"{where}.points", f"{rule.points} is more than the scale can change "
                                                        f"({rule.score} {raw_range[0] * factor}–{raw_range[1] * factor})"))
    return problems


def _threshold_problem(direction: Direction, threshold: int, raw_range: tuple[int, int], on: ScoreOn,
                       multiplier: int) -> str | None:
    factor = multiplier if on == "scaled" else 1
    low, high = raw_range[0] * factor, raw_range[1] * factor
    span = f"{on} {low}–{high}"
    if direction == "at_least":
        if threshold > high:
            return f"{threshold} is never reached ({span})"
        if threshold <= low:
            return f"{threshold} is always reached ({span})"
    else:
        if threshold < low:
            return f"{threshold} is never reached ({span})"
        if threshold >= high:
            return f"{threshold} is always reached ({span})"
    return None
