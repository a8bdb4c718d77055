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
(suicid, kil).
"""
from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.content.risk import CATEGORIES

MIN_N, MAX_N = 2, 3
_SPACES = re.compile(r"\s+")


def features(normalised: str, min_n: int = MIN_N, max_n: int = MAX_N) -> set[str]:
    """The distinct character n-grams (min_n to max_n long) of a normalised message."""
    text = " " + _SPACES.sub(" ", normalised).strip() + " "
    out: set[str] = set()
    for n in range(min_n, max_n + 1):
        for i in range(len(text) - n + 1):
            gram = text[i:i + n]
            if gram.strip():
                out.add(gram)
    return out


class ModelFile(BaseModel):
    """content/risk/model.json"""
    model_config = ConfigDict(extra="forbid")

    version: int = Field(1, ge=1, le=1)
    kind: str = Field(pattern=r"^char-ngram-logistic$")
    min_n: int = Field(ge=1, le=4)
    max_n: int = Field(ge=1, le=4)
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
            if not gram or len(gram) > 4 or not math.isfinite(w):
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
