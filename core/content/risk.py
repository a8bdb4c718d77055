"""The risk lexicon: the file format of content/risk/lexicon.yaml. See content/README.md.

Terms are grouped by locale and category; every hit is red (issue #4: a risk word is a red alert,
and the guardian gets the safety message). A term is a small pattern, nothing more:

- zh-Hans: characters, matched anywhere (spaces in the message are ignored);
- en: lowercase words, matched as whole words; a word may end in `*` (any ending: `hurt*` is
  hurt, hurts, hurting) and a lone `*` stands for any one word;
- both: `(a|b|c)` offers alternatives at that place, an empty alternative makes it optional:
  `(打|揍)(他|她|孩子)`, `kill* (myself|himself|herself)`.

Negation: a term is not a hit when a negation cue stands right before it, with at most
`max_gap` filler words between (zh: characters) — "没有想死", "他没说过不想活", "he never said he
wanted to die". Only fillers may stand between, so "他不吃饭还说想死" stays a hit: when in doubt,
the scanner reports.

Hyperbole: everyday phrases ("热死了", "想死你了", "this homework is killing me") are masked
before matching; a term that overlaps one is not a hit.

The scanner itself is core.checkin.risk.
"""
from __future__ import annotations

import itertools
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.config import SUPPORTED_LOCALES
from core.content.localized import check_localized

Category = Literal["self_harm", "suicide", "abuse", "violence", "running_away"]
CATEGORIES: tuple[str, ...] = ("self_harm", "suicide", "abuse", "violence", "running_away")
HIT_SEVERITY = "red"  # a lexicon hit is always a red alert: when in doubt, the scanner reports
MAX_EXPANSIONS = 256

_GROUP = re.compile(r"\(([^()]*)\)")
_EN_WORD = re.compile(r"^(?:[a-z0-9']+\*?|\*)$")
_EN_PLAIN_WORD = re.compile(r"^[a-z0-9']+$")


class PatternError(ValueError):
    pass


def expand(pattern: str) -> list[str]:
    """All the plain forms of a pattern's `(a|b)` groups, in order, without duplicates."""
    rest = _GROUP.sub("", pattern)
    if "(" in rest or ")" in rest or "|" in rest:
        raise PatternError("unbalanced or nested brackets, or | outside brackets")
    pieces: list[list[str]] = []
    last = 0
    for match in _GROUP.finditer(pattern):
        pieces.append([pattern[last:match.start()]])
        pieces.append(match.group(1).split("|"))
        last = match.end()
    pieces.append([pattern[last:]])
    count = 1
    for alternatives in pieces:
        count *= len(alternatives)
    if count > MAX_EXPANSIONS:
        raise PatternError(f"expands to {count} forms, at most {MAX_EXPANSIONS}")
    out: list[str] = []
    for combo in itertools.product(*pieces):
        form = " ".join("".join(combo).split())
        if form not in out:
            out.append(form)
    return out


def expand_zh(pattern: str) -> list[str]:
    forms = expand(pattern)
    for form in forms:
        if len(form) < 2:
            raise PatternError(f"{form!r} is shorter than two characters")
        if re.search(r"[\s*]", form):
            raise PatternError("Chinese patterns are characters only: no spaces or *")
    return forms


def expand_en(pattern: str) -> list[tuple[str, ...]]:
    """Each form as a tuple of word patterns."""
    out = []
    for form in expand(pattern):
        words = tuple(form.split())
        if not words:
            raise PatternError("an alternative leaves the pattern empty")
        bad = [w for w in words if not _EN_WORD.match(w)]
        if bad:
            raise PatternError(f"{bad[0]!r}: words are lowercase letters, digits and ', with an optional * at the end")
        if words[0] == "*" or words[-1] == "*":
            raise PatternError("a pattern may not start or end with a lone *")
        out.append(words)
    return out


def expand_for(locale: str, pattern: str) -> list:  # type: ignore[type-arg]
    return expand_zh(pattern) if locale == "zh-Hans" else expand_en(pattern)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Negation(_Strict):
    max_gap: int = Field(ge=0, le=12)  # filler words (zh: characters) allowed between cue and term
    cues: list[str] = Field(min_length=1)
    fillers: list[str] = Field(default_factory=list)


class LocaleLexicon(_Strict):
    negation: Negation
    hyperbole: list[str] = Field(min_length=1)
    terms: dict[Category, list[str]]


class LexiconFile(_Strict):
    """content/risk/lexicon.yaml"""

    id: Literal["lexicon"]
    version: int = Field(ge=1)
    source: str = Field(min_length=10)
    licence: str = Field(min_length=3)
    # What the child director reads on an alert raised by a risk word, per locale.
    reasons: Annotated[dict[str, str], AfterValidator(lambda v: check_localized(v, max_chars=400))]
    locales: dict[str, LocaleLexicon]

    @model_validator(mode="after")
    def _whole_file(self) -> LexiconFile:
        problems = _cross_check(self)
        if problems:
            raise ValueError("\n".join(f"{where}: {reason}" for where, reason in problems))
        return self


def _cross_check(lexicon: LexiconFile) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    missing = [loc for loc in SUPPORTED_LOCALES if loc not in lexicon.locales]
    if missing:
        problems.append(("locales", f"missing locale {', '.join(missing)}"))
    unknown = sorted(set(lexicon.locales) - set(SUPPORTED_LOCALES))
    if unknown:
        problems.append(("locales", f"unknown locale {', '.join(unknown)}"))

    for loc, lex in lexicon.locales.items():
        if loc not in SUPPORTED_LOCALES:
            continue
        base = f"locales.{loc}"
        for kind in ("cues", "fillers"):
            for k, word in enumerate(getattr(lex.negation, kind)):
                ok = (bool(word) and not re.search(r"[\s*()|]", word)) if loc == "zh-Hans" else \
                    all(_EN_PLAIN_WORD.match(w) for w in word.split()) and bool(word.split())
                if not ok:
                    problems.append((f"{base}.negation.{kind}.{k}", f"{word!r} is not a plain word"))
        for k, pattern in enumerate(lex.hyperbole):
            try:
                expand_for(loc, pattern)
            except PatternError as exc:
                problems.append((f"{base}.hyperbole.{k}", str(exc)))

        seen: dict[str, str] = {}
        for category in CATEGORIES:
            patterns = lex.terms.get(category)  # type: ignore[call-overload]
            if not patterns:
                problems.append((f"{base}.terms", f"no terms for {category}"))
                continue
            for k, pattern in enumerate(patterns):
                where = f"{base}.terms.{category}.{k}"
                try:
                    forms = expand_for(loc, pattern)
                except PatternError as exc:
                    problems.append((where, str(exc)))
                    continue
                for form in forms:
                    key = form if isinstance(form, str) else " ".join(form)
                    if key in seen:
                        problems.append((where, f"{key!r} is already listed at {seen[key]}"))
                    else:
                        seen[key] = where
    return problems
