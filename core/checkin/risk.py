"""Risk scan of free text: a guardian's note or any message → lexicon hits. Pure, no I/O
(`load_scanner` reads the lexicon file once; scanning never touches the disk).

Every message is scanned with both the Chinese and the English lexicon: guardians mix scripts,
and a term of one language never matches the other's. The lexicon's format, negation and
hyperbole rules are described in core.content.risk.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from core.content.risk import CATEGORIES, HIT_SEVERITY, LexiconFile, expand_en, expand_zh

_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|\S")
_DASHES = re.compile(r"[-‐‑‒–—―_/]")


@dataclass(frozen=True)
class RiskHit:
    locale: str
    term: str  # the pattern as written in the lexicon
    matched: str  # what it matched in the (normalised) message
    category: str
    negated: bool = False


@dataclass(frozen=True)
class ScanResult:
    text: str
    hits: tuple[RiskHit, ...]  # not negated, not hyperbole
    negated: tuple[RiskHit, ...]  # matched, but negated ("没有想死"): not a hit

    @property
    def hit(self) -> bool:
        return bool(self.hits)

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(h.matched for h in self.hits))

    @property
    def severity(self) -> str | None:
        return HIT_SEVERITY if self.hits else None

    @property
    def categories(self) -> list[str]:
        found = {h.category for h in self.hits}
        return [c for c in CATEGORIES if c in found]

    def as_json(self) -> dict[str, object]:
        return {"text": self.text, "hit": self.hit, "terms": self.terms, "severity": self.severity,
                "categories": self.categories, "negated": list(dict.fromkeys(h.matched for h in self.negated))}


@dataclass(frozen=True)
class _Term:
    pattern: str
    category: str
    form: object  # str (zh) or tuple of word patterns (en)


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    term: _Term


def normalise_zh(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).lower())


def tokens_en(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    return _EN_TOKEN.findall(_DASHES.sub(" ", text))


def _word_matches(pattern: str, token: str) -> bool:
    if pattern == "*":
        return token[:1].isalnum()
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    return token == pattern


def _keep_outermost(matches: list[_Match]) -> list[_Match]:
    """A match inside a longer one ("自杀" in "想自杀") is the same signal: keep the longer."""
    kept: list[_Match] = []
    for m in sorted(matches, key=lambda m: (m.start, -(m.end - m.start))):
        if not any(k.start <= m.start and m.end <= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


class _Chinese:
    locale = "zh-Hans"

    def __init__(self, lexicon: LexiconFile) -> None:
        lex = lexicon.locales[self.locale]
        self.terms = [_Term(p, cat, form) for cat, patterns in lex.terms.items()
                      for p in patterns for form in expand_zh(p)]
        self.hyperbole = [form for p in lex.hyperbole for form in expand_zh(p)]
        self.cues = sorted(set(lex.negation.cues), key=len, reverse=True)
        self.fillers = set(lex.negation.fillers)
        self.max_filler = max((len(f) for f in self.fillers), default=0)
        self.max_gap = lex.negation.max_gap

    def _segmentable(self, gap: str) -> bool:
        ok = [True] + [False] * len(gap)
        for end in range(1, len(gap) + 1):
            ok[end] = any(ok[end - n] and gap[end - n:end] in self.fillers
                          for n in range(1, min(self.max_filler, end) + 1))
        return ok[-1]

    @staticmethod
    def _question(text: str, cue_start: int, cue: str) -> bool:
        """An A-not-A question (是不是, 有没有, 会不会) asks; it does not deny: "他是不是想死"."""
        for offset, char in enumerate(cue):
            if char in "不没":
                i = cue_start + offset
                return 0 < i < len(text) - 1 and text[i - 1] == text[i + 1]
        return False

    def _negated(self, text: str, start: int) -> bool:
        for gap in range(0, min(self.max_gap, start) + 1):
            if gap and not self._segmentable(text[start - gap:start]):
                continue
            end = start - gap
            for cue in self.cues:
                if text[:end].endswith(cue) and not self._question(text, end - len(cue), cue):
                    return True
        return False

    def scan(self, raw: str) -> list[RiskHit]:
        text = normalise_zh(raw)
        masked = [False] * len(text)
        for phrase in self.hyperbole:
            for m in re.finditer(re.escape(phrase), text):
                masked[m.start():m.end()] = [True] * (m.end() - m.start())
        matches = []
        for term in self.terms:
            form = term.form
            assert isinstance(form, str)
            start = text.find(form)
            while start != -1:
                end = start + len(form)
                if not any(masked[start:end]):
                    matches.append(_Match(start, end, term))
                start = text.find(form, start + 1)
        return [RiskHit(self.locale, m.term.pattern, text[m.start:m.end], m.term.category,
                        negated=self._negated(text, m.start))
                for m in _keep_outermost(matches)]


class _English:
    locale = "en"

    def __init__(self, lexicon: LexiconFile) -> None:
        lex = lexicon.locales[self.locale]
        self.terms = [_Term(p, cat, form) for cat, patterns in lex.terms.items()
                      for p in patterns for form in expand_en(p)]
        self.hyperbole = [form for p in lex.hyperbole for form in expand_en(p)]
        self.cues = [tuple(c.split()) for c in lex.negation.cues]
        self.fillers = set(lex.negation.fillers)
        self.max_gap = lex.negation.max_gap

    @staticmethod
    def _find(tokens: list[str], form: tuple[str, ...]) -> list[int]:
        n = len(form)
        return [i for i in range(len(tokens) - n + 1)
                if all(_word_matches(p, t) for p, t in zip(form, tokens[i:i + n]))]

    def _negated(self, tokens: list[str], start: int) -> bool:
        for gap in range(0, min(self.max_gap, start) + 1):
            if any(t not in self.fillers for t in tokens[start - gap:start]):
                break  # a non-filler word stands between: no cue further back can reach the term
            end = start - gap
            if any(end >= len(cue) and tuple(tokens[end - len(cue):end]) == cue for cue in self.cues):
                return True
        return False

    def scan(self, raw: str) -> list[RiskHit]:
        tokens = tokens_en(raw)
        masked = [False] * len(tokens)
        for phrase in self.hyperbole:
            for i in self._find(tokens, phrase):  # type: ignore[arg-type]
                masked[i:i + len(phrase)] = [True] * len(phrase)  # type: ignore[arg-type]
        matches = []
        for term in self.terms:
            form = term.form
            assert isinstance(form, tuple)
            for i in self._find(tokens, form):
                if not any(masked[i:i + len(form)]):
                    matches.append(_Match(i, i + len(form), term))
        return [RiskHit(self.locale, m.term.pattern, " ".join(tokens[m.start:m.end]), m.term.category,
                        negated=self._negated(tokens, m.start))
                for m in _keep_outermost(matches)]


class RiskScanner:
    def __init__(self, lexicon: LexiconFile) -> None:
        self.lexicon = lexicon
        self._scanners = (_Chinese(lexicon), _English(lexicon))

    def scan(self, text: str) -> ScanResult:
        found = [hit for scanner in self._scanners for hit in scanner.scan(text)]
        return ScanResult(text, tuple(h for h in found if not h.negated), tuple(h for h in found if h.negated))


class LexiconInvalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_scanner(path: Path) -> RiskScanner:
    """Read and check content/risk/lexicon.yaml; LexiconInvalid lists every problem."""
    from core.content.loader import _validation_problems  # the same `file: field: reason` as content check

    rel = f"risk/{path.name}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LexiconInvalid([f"{rel}: -: cannot read: {exc}"]) from exc
    try:
        lexicon = LexiconFile.model_validate(raw)
    except ValidationError as exc:
        raise LexiconInvalid([str(p) for p in _validation_problems(rel, exc)]) from exc
    return RiskScanner(lexicon)


_scanners: dict[tuple[Path, float], RiskScanner] = {}


def scanner_for(path: Path) -> RiskScanner:
    """The scanner for a lexicon file, read once per process (again when the file changes)."""
    key = (path.resolve(), path.stat().st_mtime)
    if key not in _scanners:
        _scanners[key] = load_scanner(path)
    return _scanners[key]
