"""The statistical orange net at scan time: content/risk/model.json (format and features in
core.content.risk_model) as a dot product. Only the standard library runs here.

The model may only raise **orange**, and only when the rules (and their nets) raised nothing,
denied nothing and cleared nothing (a clearing phrase: "… found her at her friends"): a person reads the message today; it never sends the safety message.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from core.content.loader import _validation_problems
from core.content.risk_model import ModelFile, features


@dataclass(frozen=True)
class ModelScore:
    probability: float
    raised: bool
    category: str
    top: tuple[tuple[str, float], ...]  # the n-grams that pushed most towards a sign, with their weights


# Below this many letters (Chinese characters count as letters; digits, spaces and punctuation do
# not) a message says too little for a statistical judgement: a typed "13", "好的" or "ok" in a
# conversation must not raise anything. The rules still read every message, short ones included.
MIN_LETTERS = 6


class NgramModel:
    def __init__(self, data: ModelFile) -> None:
        self.data = data
        self.weights = data.weights
        self.bias = data.bias
        self.threshold = data.threshold
        self.min_n, self.max_n, self.word_n = data.min_n, data.max_n, data.word_n

    def score(self, normalised: str, top: int = 5) -> ModelScore:
        every = features(normalised, self.min_n, self.max_n, self.word_n)
        grams = [g for g in every if g in self.weights]
        z = self.bias + sum(self.weights[g] for g in grams) / math.sqrt(max(len(every), 1))
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        pushing = sorted(((g, self.weights[g]) for g in grams if self.weights[g] > 0), key=lambda x: -x[1])
        votes: dict[str, float] = {}
        for gram, w in pushing:
            if gram in self.data.categories:
                votes[self.data.categories[gram]] = votes.get(self.data.categories[gram], 0.0) + w
        category = max(votes, key=lambda c: votes[c]) if votes else self.data.category
        enough = sum(ch.isalpha() for ch in normalised) >= MIN_LETTERS
        return ModelScore(p, enough and p >= self.threshold, category,
                          tuple((g, round(w, 3)) for g, w in pushing[:top]))


class ModelInvalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_model(path: Path) -> ModelFile:
    rel = f"risk/{path.name}"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelInvalid([f"{rel}: -: cannot read: {exc}"]) from exc
    try:
        return ModelFile.model_validate(raw)
    except ValidationError as exc:
        raise ModelInvalid([str(p) for p in _validation_problems(rel, exc)]) from exc


def load_model(path: Path) -> NgramModel:
    return NgramModel(read_model(path))
