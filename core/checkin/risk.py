"""Risk scan of free text: a guardian's note or any message → rule hits with a tier. Pure, no I/O
(`load_scanner` reads the lexicon file once; scanning never touches the disk).

Every message is scanned with both the Chinese and the English rules: guardians mix scripts.
The lexicon's format (word lists, rules, negation, hyperbole) is described in core.content.risk;
its patterns are compiled to regular expressions once per process. Python's own `re` is enough:
a few hundred compiled expressions scan a message in well under a millisecond (`make eval-risk`
prints the figure), so neither a segmenter (jieba: seconds to import, and its dictionary splits
喝了农药 the same way our particles do) nor an Aho-Corasick automaton (our patterns are not plain
strings) earns its place.

Tiers: any red hit makes the message red (the red alert and the safety message at once); else
any orange hit makes it orange (an orange alert a person reads today); else nothing is raised —
the message still reaches a person (the tier decides urgency, never visibility).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from pydantic import ValidationError

from core.content.loader import _validation_problems  # the same `file: field: reason` as content check
from core.content.risk import CATEGORIES, Compiled, LexiconFile, compiler_for, expand

_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[.!?;]")
_DASHES = re.compile(r"[-‐‑‒–—―_/]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
TIER_RANK = {"red": 2, "orange": 1}


@dataclass(frozen=True)
class RiskHit:
    locale: str
    rule: str  # the rule's id
    pattern: str  # the pattern as written in the lexicon
    matched: str  # what it matched in the (normalised) message
    category: str
    tier: str
    words: tuple[tuple[str, str], ...] = ()  # (word list, the word it matched)
    negated: bool = False
    framed: str | None = None  # the frame word that lowered it from red ("电视剧", "听说")

    def explain(self) -> dict[str, object]:
        out: dict[str, object] = {"rule": self.rule, "tier": self.tier, "category": self.category,
                                  "pattern": self.pattern, "matched": self.matched,
                                  "words": {name: word for name, word in self.words}}
        if self.framed:
            out["lowered_by"] = self.framed
        return out


@dataclass(frozen=True)
class ScanResult:
    text: str
    hits: tuple[RiskHit, ...]  # not negated, not hyperbole
    negated: tuple[RiskHit, ...] = field(default=())  # matched, but negated ("没有想死"): not a hit

    @property
    def tier(self) -> str | None:
        if not self.hits:
            return None
        return max((h.tier for h in self.hits), key=TIER_RANK.__getitem__)

    @property
    def hit(self) -> bool:
        """Red or orange: an alert is raised."""
        return self.tier is not None

    @property
    def severity(self) -> str | None:  # the alert's severity is the tier
        return self.tier

    @property
    def top(self) -> tuple[RiskHit, ...]:
        """The hits of the message's tier, most specific (longest match) first."""
        return tuple(sorted((h for h in self.hits if h.tier == self.tier),
                            key=lambda h: (-len(h.matched), CATEGORIES.index(h.category))))

    @property
    def category(self) -> str | None:
        top = self.top
        return top[0].category if top else None

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(h.matched for h in self.hits))

    @property
    def categories(self) -> list[str]:
        found = {h.category for h in self.hits}
        return [c for c in CATEGORIES if c in found]

    def as_json(self) -> dict[str, object]:
        return {"text": self.text, "hit": self.hit, "tier": self.tier, "category": self.category,
                "categories": self.categories, "terms": self.terms, "severity": self.severity,
                "hits": [h.explain() for h in self.hits],
                "negated": list(dict.fromkeys(h.matched for h in self.negated))}


@dataclass(frozen=True)
class _Rule:
    id: str
    category: str
    tier: str
    compiled: Compiled
    overrides_inner: bool
    cleared_by: tuple[str, ...]


def normalise_zh(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).lower())


def tokens_en(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().translate(_QUOTES)
    return _EN_TOKEN.findall(_DASHES.sub(" ", text))


def _keep_outermost(hits: list[tuple[int, int, RiskHit]]) -> list[tuple[int, int, RiskHit]]:
    """One signal, one hit: a match inside a longer one of the same or a higher tier ("自杀" in
    "想自杀") goes, and so does a wider, lower-tier reading around a higher-tier hit (the orange
    "孩子…农药" around the red "喝了一口农药"). Negated hits are kept apart (for authors)."""
    def same_or_higher(a: RiskHit, b: RiskHit) -> bool:
        return TIER_RANK[a.tier] >= TIER_RANK[b.tier] and a.negated == b.negated

    kept: list[tuple[int, int, RiskHit]] = []
    for item in sorted(hits, key=lambda h: (-TIER_RANK[h[2].tier], h[0], -(h[1] - h[0]))):
        start, end, hit = item
        if any(k[0] <= start and end <= k[1] and same_or_higher(k[2], hit) for k in kept):
            continue
        if any(start <= k[0] and k[1] <= end and TIER_RANK[k[2].tier] > TIER_RANK[hit.tier]
               and k[2].negated == hit.negated for k in kept):
            continue
        kept.append(item)
    return sorted(kept, key=lambda h: h[0])


class _LocaleScanner:
    locale = ""

    def __init__(self, lexicon: LexiconFile) -> None:
        lex = lexicon.locales[self.locale]
        compiler = compiler_for(lexicon, self.locale)
        self.rules = [_Rule(rule.id, rule.category, rule.tier, compiler.compile(p), rule.overrides_inner,
                            tuple(self._phrase(c) for c in rule.cleared_by))
                      for rule in lex.rules for p in rule.patterns]
        self.frames = tuple(sorted((self._phrase(f) for f in lex.frames), key=len, reverse=True))
        self.signals = lex.signals
        self.signal_words: dict[str, str] = {}  # normalised word → category
        if lex.signals is not None:
            for category, entries in lex.signals.words.items():
                for word in entries:
                    self.signal_words.setdefault(self._phrase(word), category)
        self.signal_regex = self._signal_regex(list(self.signal_words)) if self.signal_words else None
        self.near = lex.near
        self.near_words: dict[str, str] = {}  # normalised danger word → category
        self.near_regex = self.person_regex = None
        if lex.near is not None:
            for category, entries in lex.near.danger.items():
                for word in entries:
                    self.near_words.setdefault(self._phrase(word), category)
            self.near_regex = self._signal_regex(list(self.near_words))
            self.person_regex = self._signal_regex([self._phrase(w) for w in lex.near.person])
            self.quiet = tuple(self._phrase(w) for w in lex.near.quiet)
        masks = [form for phrase in [*lex.hyperbole, *lex.everyday] for form in expand(phrase)]
        self.mask = self._mask_regex(masks) if masks else None
        self.negation = lex.negation

    def _mask_regex(self, forms: list[str]) -> re.Pattern[str]:
        raise NotImplementedError

    def _signal_regex(self, words: list[str]) -> re.Pattern[str]:
        raise NotImplementedError

    def _signals(self, text: str, masked: list[bool]) -> RiskHit | None:
        """The net: enough different danger words, none masked or denied → one orange hit."""
        assert self.signals is not None and self.signal_regex is not None
        seen: dict[str, str] = {}
        for m in self.signal_regex.finditer(text):
            word = m.group(0)
            if any(masked[m.start():m.end()]) or self._negated(text, m.start()):
                continue
            seen.setdefault(word, self.signal_words.get(word) or self.signal_words[word + " "])
        if len(seen) < self.signals.at_least:
            return None
        counts = {c: sum(1 for v in seen.values() if v == c) for c in CATEGORIES}
        category = max(CATEGORIES, key=lambda c: (counts[c], -CATEGORIES.index(c)))
        shown = tuple((cat, self._shown(word)) for word, cat in seen.items())
        return RiskHit(self.locale, "signals", f"at least {self.signals.at_least} danger words",
                       " · ".join(w for _c, w in shown), category, "orange", shown)

    def _near(self, text: str, masked: list[bool], denied: list[tuple[int, int]]) -> RiskHit | None:
        """The broad net: a danger word near a person or body word, without certainty → orange."""
        assert self.near is not None and self.near_regex is not None and self.person_regex is not None
        people = [m for m in self.person_regex.finditer(text) if not any(masked[m.start():m.end()])]
        if not people or any(q in text for q in self.quiet):
            return None
        for m in self.near_regex.finditer(text):
            if any(masked[m.start():m.end()]) or self._negated(text, m.start()) \
                    or any(a < m.end() and m.start() < b for a, b in denied):
                continue  # masked, denied right before, or inside a rule's denied match ("他没说要喝农药")
            person = next((p for p in people if self._close(text, p.span(), m.span())), None)
            if person is None:
                continue
            word = m.group(0)
            category = self.near_words.get(word) or self.near_words[word + " "]
            shown = (("danger", self._shown(word)), ("person", self._shown(person.group(0))))
            return RiskHit(self.locale, "near", f"a danger word within {self.near.window} of a person or body word",
                           f"{self._shown(person.group(0))} … {self._shown(word)}", category, "orange", shown)
        return None

    def _close(self, text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
        raise NotImplementedError

    def _text(self, raw: str) -> str:
        raise NotImplementedError

    def _negated(self, text: str, start: int) -> bool:
        raise NotImplementedError

    def _shown(self, text: str) -> str:
        return text

    def _breaks(self, raw: str) -> set[int]:
        """Positions in the normalised text where the writer had put a space."""
        return set()

    def _negated_match(self, text: str, m: re.Match[str], groups: int) -> bool:
        """A cue right before the match ("没有想死"), or right before its last word inside it
        ("身上没有伤": the body word, a gap, then the injury denied)."""
        if self._negated(text, m.start()):
            return True
        last = next((m.start(f"g{i}") for i in range(groups - 1, 0, -1) if m.start(f"g{i}") > m.start()), None)
        return last is not None and self._negated(text, last)

    def _phrase(self, phrase: str) -> str:
        """A plain phrase as it appears in the normalised text."""
        raise NotImplementedError

    def _before(self, text: str, start: int) -> str:
        """The stretch of the same sentence shortly before a hit, where a frame word counts."""
        raise NotImplementedError

    def _frame(self, text: str, start: int) -> str | None:
        before = self._before(text, start)
        return next((f.strip() for f in self.frames if f in before), None)

    def scan(self, raw: str) -> list[RiskHit]:
        text = self._text(raw)
        if not text.strip():
            return []
        masked = [False] * len(text)
        if self.mask is not None:
            breaks = self._breaks(raw)
            pos = 0
            while (m := self.mask.search(text, pos)) is not None:
                # Phrases may overlap (医院开的安眠药 | 安眠药我都锁在): search again one past each start.
                start, end = m.span()
                pos = start + 1
                if any(start < b < end for b in breaks):
                    continue  # "我想死 你们别管我" is no "想死你": a phrase does not run across a space
                masked[start:end] = [True] * (end - start)
        found: list[tuple[int, int, RiskHit]] = []
        overriding: list[tuple[int, int, str]] = []
        cleared = False
        for rule in self.rules:
            regex = rule.compiled.regex
            pos = 0
            while pos < len(text):
                m = regex.search(text, pos)
                if m is None:
                    break
                if any(masked[m.start():m.end()]):
                    pos = m.start() + 1  # a later, unmasked match may still be there
                    continue
                if any(c in text[m.end():] for c in rule.cleared_by):
                    cleared = True
                    pos = m.end()
                    continue
                words = tuple((name, self._shown(m.group(f"g{i}")))
                              for i, name in enumerate(rule.compiled.slots) if m.group(f"g{i}"))
                tier, framed = rule.tier, None
                if tier == "red" and (framed := self._frame(text, m.start())):
                    tier = "orange"
                found.append((m.start(), m.end(), RiskHit(
                    self.locale, rule.id, rule.compiled.pattern, self._shown(m.group(0)), rule.category, tier,
                    words, negated=self._negated_match(text, m, len(rule.compiled.slots)), framed=framed)))
                if rule.overrides_inner:
                    overriding.append((m.start(), m.end(), rule.id))
                pos = m.end()
        found = [f for f in found if not any(s <= f[0] and f[1] <= e and rid != f[2].rule for s, e, rid in overriding)]
        # A wider reading around words that are denied is denied too ("他没说要喝农药": the child
        # near the poison word is no sign once the drinking is negated).
        denied = [(st, en) for st, en, h in found if h.negated]
        found = [(st, en, replace(h, negated=True)) if not h.negated and any(st <= a and b <= en for a, b in denied)
                 else (st, en, h) for st, en, h in found]
        hits = [h for _s, _e, h in _keep_outermost(found)]
        if self.signal_regex is not None and not cleared and not any(not h.negated for h in hits):
            net = self._signals(text, masked)
            if net is not None:
                hits.append(net)
        if self.near_regex is not None and not cleared and not any(not h.negated for h in hits):
            near = self._near(text, masked, [(st, en) for st, en, h in found if h.negated])
            if near is not None:
                hits.append(near)
        return hits


class _Chinese(_LocaleScanner):
    locale = "zh-Hans"

    def __init__(self, lexicon: LexiconFile) -> None:
        super().__init__(lexicon)
        self.cues = sorted(set(self.negation.cues), key=len, reverse=True)
        self.fillers = set(self.negation.fillers)
        self.max_filler = max((len(f) for f in self.fillers), default=0)

    def _mask_regex(self, forms: list[str]) -> re.Pattern[str]:
        return re.compile("|".join(re.escape("".join(f.split())) for f in sorted(forms, key=len, reverse=True)))

    def _text(self, raw: str) -> str:
        return normalise_zh(raw)

    def _signal_regex(self, words: list[str]) -> re.Pattern[str]:
        return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))

    def _phrase(self, phrase: str) -> str:
        return normalise_zh(phrase)

    def _breaks(self, raw: str) -> set[int]:
        out, pos = set(), 0
        for piece in re.split(r"\s+", unicodedata.normalize("NFKC", raw).lower().strip()):
            pos += len(piece)
            out.add(pos)
        return out

    def _before(self, text: str, start: int) -> str:
        window = text[max(0, start - 12):start]
        return re.split(r"[。！？!?；;]", window)[-1]

    def _close(self, text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
        between = text[min(a[1], b[1]):max(a[0], b[0])]
        gap = max(0, max(a[0], b[0]) - min(a[1], b[1]))
        return gap <= self.near.window and not re.search(r"[。！？!?；;]", between)  # type: ignore[union-attr]

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
        for gap in range(0, min(self.negation.max_gap, start) + 1):
            if gap and not self._segmentable(text[start - gap:start]):
                continue
            end = start - gap
            for cue in self.cues:
                if text[:end].endswith(cue) and not self._question(text, end - len(cue), cue):
                    return True
        return False


class _English(_LocaleScanner):
    locale = "en"

    def __init__(self, lexicon: LexiconFile) -> None:
        super().__init__(lexicon)
        self.cues = [tuple(c.split()) for c in self.negation.cues]
        self.fillers = set(self.negation.fillers)

    def _mask_regex(self, forms: list[str]) -> re.Pattern[str]:
        body = "|".join(re.escape(" " + " ".join(f.split())) for f in sorted(forms, key=len, reverse=True))
        return re.compile(f"(?:{body})(?= )")

    def _signal_regex(self, words: list[str]) -> re.Pattern[str]:
        body = "|".join(re.escape(w.rstrip()) for w in sorted(words, key=len, reverse=True))
        return re.compile(f"(?:{body})(?= )")

    def _text(self, raw: str) -> str:
        tokens = tokens_en(raw)
        return " " + " ".join(tokens) + " " if tokens else ""

    def _shown(self, text: str) -> str:
        return text.strip()

    def _phrase(self, phrase: str) -> str:
        return " " + " ".join(tokens_en(phrase)) + " "

    def _before(self, text: str, start: int) -> str:
        tokens = text[:start].split()[-10:]
        for i in range(len(tokens) - 1, -1, -1):
            if tokens[i] in ".!?;":
                tokens = tokens[i + 1:]
                break
        return " " + " ".join(tokens) + " "

    def _close(self, text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
        lo, hi = min(a[1], b[1]), max(a[0], b[0])
        between = text[lo:hi].split() if hi > lo else []
        return len(between) <= self.near.window and not any(t in ".!?;" for t in between)  # type: ignore[union-attr]

    def _negated(self, text: str, start: int) -> bool:
        tokens = text[:start].split()
        for gap in range(0, min(self.negation.max_gap, len(tokens)) + 1):
            if any(t not in self.fillers for t in tokens[len(tokens) - gap:]):
                break  # a non-filler word stands between: no cue further back can reach the term
            end = len(tokens) - gap
            if any(end >= len(cue) and tuple(tokens[end - len(cue):end]) == cue for cue in self.cues):
                return True
        return False


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
