"""The risk model's file format (content/risk/model.json) and its features; the scanner's use of
it is core.checkin.risk_model. A statistical orange net beside the lexicon's rules: a linear model
over character n-grams.

Trained by a content author (`make train-risk`, scripts/train_risk_model.py) on the labelled
corpus in tests/data/risk/; its output, content/risk/model.json, is a small reviewable file: the
weight of each kept n-gram, a bias and a threshold. Scanning is a dot product — the weights of
the n-grams a message contains, summed — so nothing but the standard library runs here.

The model may only raise **orange**, and only when the rules (and their nets) raised nothing: a
person reads the message today; it never sends the safety message. Its features are the same for
both scripts: the message as the Chinese scanner reads it (NFKC, lower case, traditional →
simplified, no separators inside a word), runs of spaces made one, with a space at each end; every
distinct character 2- and 3-gram of that counts once (single characters — 人, 已, 经 — say
nothing of danger and made the model fire on any sentence), and the vector is scaled to unit
length (the sum is divided by the square root of the number of distinct n-grams, kept or not).
English words are read through their character trigrams, which also catch inflections and typos
(suicid, kil); with `word_n` (1 or 2) the Latin-script words themselves count too — lower case,
accents off, each word and (word_n 2) each pair of neighbouring words, as `W:word` and
`W:word word` (upper case W: never in normalised text) — so an English message is explained by "W:blood pressure" rather than by
fragments such as "m i" or "oil". Chinese text has no word features (it has no spaces to trust).
"""
from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.content.risk import CATEGORIES

MIN_N, MAX_N = 2, 3
WORD_N = 0  # Latin-script word n-grams: off by default (leave-rounds-out showed no gain; `--word-n 1|2` to try)
WORD_PREFIX = "W:"  # upper case: normalised text is lower case, so no character n-gram starts so
MAX_WORD_FEATURE = 64
_SPACES = re.compile(r"\s+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
_CLAUSE = re.compile(r"[.!?;,。！？；，、\u3400-\u9fff]+")


def latin_words(normalised: str) -> list[list[str]]:
    """The Latin-script words of a normalised message, lower case and without accents, in runs
    that no punctuation or Chinese character breaks (a pair never spans a sentence)."""
    text = normalised.lower()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
    runs = [_LATIN_WORD.findall(run.replace("\u2019", "'")) for run in _CLAUSE.split(text)]
    return [r for r in runs if r]


def features(normalised: str, min_n: int = MIN_N, max_n: int = MAX_N, word_n: int = 0) -> set[str]:
    """The distinct character n-grams (min_n to max_n long) of a normalised message, and with
    `word_n` its Latin-script word n-grams (1 to word_n words, prefixed `W:`)."""
    text = " " + _SPACES.sub(" ", normalised).strip() + " "
    out: set[str] = set()
    for n in range(min_n, max_n + 1):
        for i in range(len(text) - n + 1):
            gram = text[i:i + n]
            if gram.strip():
                out.add(gram)
    if word_n:
        for run in latin_words(normalised):
            for n in range(1, word_n + 1):
                for i in range(len(run) - n + 1):
                    out.add(WORD_PREFIX + " ".join(run[i:i + n])[:MAX_WORD_FEATURE - 2])
    return out


class ModelFile(BaseModel):
    """content/risk/model.json"""
    model_config = ConfigDict(extra="forbid")

    version: int = Field(1, ge=1, le=1)
    kind: str = Field(pattern=r"^char-ngram-logistic$")
    min_n: int = Field(ge=1, le=4)
    max_n: int = Field(ge=1, le=4)
    word_n: int = Field(0, ge=0, le=2)  # Latin-script word n-grams too (0: characters only)
    bias: float
    threshold: float = Field(gt=0.0, lt=1.0)  # probability from which the model raises orange
    category: str = "suicide"  # the category an orange of the model carries when no n-gram says more
    trained_on: dict[str, Any] = Field(default_factory=dict)  # what it was trained on (for the reader)
    weights: dict[str, float] = Field(min_length=1)
    # n-gram → category it leans to (from the positive examples that contain it), for the alert
    categories: dict[str, str] = Field(default_factory=dict)

    @field_validator("weights")
    @classmethod
    def _grams(cls, weights: dict[str, float]) -> dict[str, float]:
        for gram, w in weights.items():
            limit = MAX_WORD_FEATURE if gram.startswith(WORD_PREFIX) else 4
            if not gram or len(gram) > limit or gram == WORD_PREFIX or not math.isfinite(w):
                raise ValueError(f"bad n-gram or weight: {gram!r} {w!r}")
        return weights

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}")
        return value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({c for c in value.values() if c not in CATEGORIES})
        if bad:
            raise ValueError(f"unknown categories {bad}")
        return value
