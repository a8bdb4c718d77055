"""Risk scan of free text: a guardian's note or any message → rule hits with a tier. Pure, no I/O
(`load_scanner` reads the lexicon file once; scanning never touches the disk).

Every message is scanned with both the Chinese and the English rules: guardians mix scripts.
The lexicon's format (word lists, rules, negation, hyperbole) is described in core.content.risk;
its patterns are compiled to regular expressions once per process. Python's own `re` is enough:
a few hundred compiled expressions scan a message in well under a millisecond (`make eval-risk`
prints the figure), so neither a segmenter (jieba: seconds to import, and its dictionary splits
喝了农药 the same way our particles do) nor an Aho-Corasick automaton (our patterns are not plain
strings) earns its place.

Normalisation before matching (`zh_pieces`, `tokens_en`): NFKC, lower case, no zero-width
characters, emoji as words (the lexicon's `symbols`), traditional → simplified (OpenCC t2s),
separators inside a Chinese word dropped (自.杀), spelled-out letters joined, accents and tone
marks off for English. Writer's spaces (zh) and commas (en) are kept as clause breaks: negation
does not cross them, and they decide who a phrase is about (`subjects`).

Tiers: any red hit makes the message red (the red alert and the safety message at once); else
any orange hit makes it orange (an orange alert a person reads today); else nothing is raised —
the message still reaches a person (the tier decides urgency, never visibility).
"""
from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from pydantic import ValidationError

import opencc

from core.checkin.risk_model import ModelInvalid, NgramModel, load_model
from core.content.loader import _validation_problems  # the same `file: field: reason` as content check
from core.content.risk import CATEGORIES, Compiled, LexiconFile, compiler_for, expand

_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[.!?;]")
_EN_TOKEN_COMMA = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[.!?;,]")
_DASHES = re.compile(r"[-‐‑‒–—―_/]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
# A separator typed between two Chinese characters to get past a filter (自.杀, 自*杀, 喝-农-药).
_ZH_INSIDE = re.compile(r"(?<=[\u3400-\u9fff])[.·•*_\-~/|\\]+(?=[\u3400-\u9fff])")
TIER_RANK = {"red": 2, "orange": 1}
CUE = "cue"  # the category of a cue's match (lexicon `cues`): it only counts in `escalate`, never raises
_ZH_SENTENCE_END = "。！？!?；;"
_ZH_CLAUSE_END = "，,、…~"
_ZH_FRAME_INSIDE = {"有人": "所没还"}  # a frame word inside a longer word after one of these is none
_ZH_SOMEONE_TO_OURS = re.compile(r"(给|让|叫|要|对|把|摸|带|拉|逼|骗)((我家|俺家|我|俺)(的)?(孩子|娃|丫头)|(我家|俺家|我|俺)?(的)?(女儿|孙女|儿子|孙子|闺女|外孙|外孙女))")
_EN_CALL = re.compile(r" (on|by|over) video | video (call|calls|called|calling|chat|chats|chatting) ")
_ZH_POSSESSIVE = re.compile(r"(他|她|孩子|娃|我|俺)?(的|家的)?")  # 找到了(他的)书包
_EN_DETERMINERS = frozenset({"the", "a", "an", "his", "her", "my", "their", "our", "its", "your"})


class _Layout:
    """Where the writer broke the message (spaces in Chinese, commas in English) and where its
    sentences and clauses start, computed once a message: every question about them is a bisect
    (a 4,000-character message must not cost a scan per clearing phrase)."""

    def __init__(self, breaks: set[int], sentences: list[int], clause_marks: list[int]) -> None:
        self.breaks = sorted(breaks)
        self.sentences = sorted({0, *sentences})
        self.clauses = sorted({*self.sentences, *clause_marks, *breaks})
        # per rule's clearing phrases: their places in the message, whether each clears on its own,
        # and the index of the next one that does
        self.clearing: dict[tuple[str, ...], tuple[list[tuple[int, int, bool]], list[int]]] = {}

    def next_clause(self, pos: int) -> int:
        """Where the next clause starts after `pos` (or a very large number)."""
        i = bisect.bisect_right(self.clauses, pos)
        return self.clauses[i] if i < len(self.clauses) else 1 << 30

    def any_between(self, lo: int, hi: int) -> bool:
        """A writer's break at a position from lo to hi (both included)."""
        i = bisect.bisect_left(self.breaks, lo)
        return i < len(self.breaks) and self.breaks[i] <= hi

    def last_break_upto(self, pos: int) -> int:
        i = bisect.bisect_right(self.breaks, pos)
        return self.breaks[i - 1] if i else -1

    def cuts(self, pos: int) -> list[int]:
        """The starts of the clause around `pos` and of the one before it, within its sentence
        (the sentence's own start first when there is only one)."""
        sentence = self.sentences[bisect.bisect_right(self.sentences, pos) - 1]
        lo = bisect.bisect_right(self.clauses, sentence)
        hi = bisect.bisect_right(self.clauses, pos)
        return [sentence, *self.clauses[lo:hi]][-2:]


NO_LAYOUT = _Layout(set(), [], [])


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
    probability: float | None = None  # the statistical net's (rule "model"), with its top n-grams in `words`

    def explain(self) -> dict[str, object]:
        out: dict[str, object] = {"rule": self.rule, "tier": self.tier, "category": self.category,
                                  "pattern": self.pattern, "matched": self.matched,
                                  "words": {name: word for name, word in self.words}}
        if self.framed:
            out["lowered_by"] = self.framed
        if self.probability is not None:
            out["probability"] = round(self.probability, 3)
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
    child_category: str | None = None
    lowered_by: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str]:
    """Traditional → simplified (孫子說他不想活了 is 孙子说他不想活了): the lexicon is written in
    simplified characters. OpenCC's t2s maps character by character and phrase by phrase."""
    return opencc.OpenCC("t2s").convert


def _plain(text: str, symbols: dict[str, str] | None = None) -> str:
    """What both scanners read: NFKC (full-width ｚｓ is zs), lower case, emoji read as words, and
    no invisible format characters (zero-width spaces and joiners, variation selectors) that
    would split a word."""
    text = unicodedata.normalize("NFKC", text).lower()
    if symbols:
        text = _symbol_regex(tuple(symbols)).sub(lambda m: f" {symbols[m.group(0)]} ", text) \
            if any(sym in text for sym in symbols) else text
    return "".join(c for c in text if unicodedata.category(c) != "Cf" and not 0xFE00 <= ord(c) <= 0xFE0F)


@functools.lru_cache(maxsize=8)
def _symbol_regex(symbols: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(s) for s in sorted(symbols, key=len, reverse=True)))


def zh_pieces(raw: str, symbols: dict[str, str] | None = None) -> list[str]:
    """The message as the Chinese scanner reads it, cut where the writer put a space: simplified
    characters, and no separator inside a word (自.杀, 喝-农-药, 自*杀 are 自杀, 喝农药)."""
    pieces = _plain(raw, symbols).split()
    convert = _t2s()
    return [_ZH_INSIDE.sub("", convert(p)) for p in pieces]


def model_text(raw: str) -> str:
    """What the statistical net (core.checkin.risk_model) reads: the Chinese scanner's reading,
    the writer's spaces kept."""
    return " ".join(zh_pieces(raw))


def normalise_zh(text: str, symbols: dict[str, str] | None = None) -> str:
    return "".join(zh_pieces(text, symbols))


def tokens_en(text: str, symbols: dict[str, str] | None = None, *, commas: bool = False) -> list[str]:
    """The words (and . ! ? ;) the English scanner reads; with `commas`, the commas too (clause
    breaks for negation and subjects; patterns never see them)."""
    text = _plain(text, symbols).translate(_QUOTES)
    if not text.isascii():  # accents and pinyin tone marks off: xiǎng sǐ is xiang si, naïve is naive
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
    tokens = (_EN_TOKEN_COMMA if commas else _EN_TOKEN).findall(_DASHES.sub(" ", text))
    return _join_spelled(tokens)


def _join_spelled(tokens: list[str]) -> list[str]:
    """Letters spelled out one by one ("k i l l  m y s e l f", "s u i c i d e") are read as the
    word they spell: a run of four or more single letters is joined."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        out.extend(["".join(run)] if len(run) >= 4 else run)
        run = []
        if token:
            out.append(token)
    return out


def _find_all(text: str, word: str) -> list[int]:
    out, at = [], text.find(word)
    while at >= 0:
        out.append(at)
        at = text.find(word, at + 1)
    return out


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
        self.symbols = dict(lex.symbols)
        self.escalate = list(lex.escalate)
        self._last: tuple[str | None, Any] = (None, None)  # the last message read, and what was read
        compiler = compiler_for(lexicon, self.locale)
        self.rules = [_Rule(rule.id, rule.category, rule.tier, compiler.compile(p), rule.overrides_inner,
                            tuple(self._phrase(c) for c in rule.cleared_by), rule.child_category,
                            tuple(self._phrase(c) for c in rule.lowered_by))
                      for rule in lex.rules for p in rule.patterns]
        self.cue_patterns = [(cue.id, compiler.compile(p), tuple(self._phrase(c) for c in cue.cleared_by))
                             for cue in lex.cues for p in cue.patterns]
        self.readings = {cue.id for cue in lex.cues if cue.reading}  # cues that may lie inside the sign
        self.subject_kind: dict[str, str] = {}  # normalised word → child | adult | thing
        self.subject_regex: re.Pattern[str] | None = None
        if lex.subjects is not None:
            for kind in ("child", "adult", "thing"):
                for word in getattr(lex.subjects, kind):
                    self.subject_kind.setdefault(self._phrase(word), kind)
            self.subject_regex = self._signal_regex(list(self.subject_kind))
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

    def _signals(self, text: str, masked: list[bool], breaks: _Layout) -> RiskHit | None:
        """The net: enough different danger words, none masked or denied → one orange hit."""
        assert self.signals is not None and self.signal_regex is not None
        seen: dict[str, str] = {}
        for m in self.signal_regex.finditer(text):
            word = m.group(0)
            if any(masked[m.start():m.end()]) or self._negated(text, m.start(), breaks):
                continue
            seen.setdefault(word, self.signal_words.get(word) or self.signal_words[word + " "])
        if len(seen) < self.signals.at_least:
            return None
        counts = {c: sum(1 for v in seen.values() if v == c) for c in CATEGORIES}
        category = max(CATEGORIES, key=lambda c: (counts[c], -CATEGORIES.index(c)))
        shown = tuple((cat, self._shown(word)) for word, cat in seen.items())
        return RiskHit(self.locale, "signals", f"at least {self.signals.at_least} danger words",
                       " · ".join(w for _c, w in shown), category, "orange", shown)

    def _near(self, text: str, masked: list[bool], denied: list[tuple[int, int]], breaks: _Layout) -> RiskHit | None:
        """The broad net: a danger word near a person or body word, without certainty → orange."""
        assert self.near is not None and self.near_regex is not None and self.person_regex is not None
        people = [m for m in self.person_regex.finditer(text) if not any(masked[m.start():m.end()])]
        if not people:
            return None
        quiet = [(at, at + len(q)) for q in self.quiet for at in _find_all(text, q)]
        for m in self.near_regex.finditer(text):
            if any(self._close(text, q, m.span(), 2) for q in quiet):
                continue  # reassurance about this very thing (创可贴 beside the cut), not elsewhere in the message
            if any(masked[m.start():m.end()]) or self._negated(text, m.start(), breaks) \
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

    def _close(self, text: str, a: tuple[int, int], b: tuple[int, int], times: int = 1) -> bool:
        """Within `times` the net's window of each other, in one sentence."""
        raise NotImplementedError

    def _escalated(self, text: str, breaks: _Layout, hits: list[tuple[int, int, RiskHit]]) -> RiskHit | None:
        """Orange rule hits that together are red (lexicon `escalate`): each category of `when`
        met by a different sign — another pattern, not overlapping; two signs of the same
        category must also stand apart ("nobody would notice if i was gone" is one thought)."""
        def choose(names: list[str], chosen: list[tuple[int, int, RiskHit]]) -> list[tuple[int, int, RiskHit]] | None:
            if not names:
                return chosen
            for k in hits:  # each member met by a sign apart from those chosen so far, trying each in turn
                if names[0] in (k[2].category, k[2].rule) \
                        and all(k[2].pattern != c[2].pattern and self._apart(text, breaks, k, c) for c in chosen):
                    found = choose(names[1:], [*chosen, k])
                    if found is not None:
                        return found
            return None

        for combo in self.escalate:
            chosen = choose(list(combo.when), [])
            if chosen is not None:
                names = [c[2].rule for c in chosen]  # one rule may give both signs: 联系不上, 坐面包车走了
                shown = tuple((f"{name}#{names[:k].count(name) + 1}" if names.count(name) > 1 else name, c[2].matched)
                              for k, (name, c) in enumerate(zip(names, chosen)))
                return RiskHit(self.locale, "escalate", " + ".join(combo.when),
                               " · ".join(c[2].matched for c in chosen), combo.category, "red", shown)
        return None

    def _apart(self, text: str, breaks: _Layout, a: tuple[int, int, RiskHit], b: tuple[int, int, RiskHit]) -> bool:
        first, second = sorted((a, b), key=lambda k: (k[0], k[1]))
        if {a[2].rule, b[2].rule} & self.readings and CUE in (a[2].category, b[2].category):
            return True  # the cue is the red reading of the very words of the other sign
        if CUE in (a[2].category, b[2].category):
            # a cue is another kind of sign (the place, then the farewell); it may share a word with
            # the other sign ("kicked him" … "kicked him in the head and he passed out") but must
            # add words of its own: one inside the other is one sign read twice
            return not (first[0] <= second[0] and second[1] <= first[1]) and not (second[0] <= first[0] and first[1] <= second[1])
        if second[0] < first[1]:
            return False  # overlapping: one sign read twice
        return a[2].category != b[2].category or self._separated(text, breaks, first[1], second[0])

    def _cue_hits(self, text: str, masked: list[bool], breaks: _Layout) -> list[tuple[int, int, RiskHit]]:
        """The lexicon's cues found in the message — not touching hyperbole or everyday life (打篮球
        … 骨折 is no blow), not denied right before, not in a story or the news (a frame) — as
        candidates for `escalate` only: they never raise."""
        out: list[tuple[int, int, RiskHit]] = []
        for cue_id, compiled, cleared_by in self.cue_patterns:
            for m in compiled.regex.finditer(text):
                if any(masked[m.start():m.end()]) or self._frame(text, m.start()) \
                        or self._negated_match(text, m, len(compiled.slots), breaks) \
                        or (cleared_by and self._cleared(text, m.end(), cleared_by, breaks)):
                    continue
                words = tuple((name, self._shown(m.group(f"g{i}")))
                              for i, name in enumerate(compiled.slots) if m.group(f"g{i}"))
                out.append((m.start(), m.end(), RiskHit(self.locale, cue_id, compiled.pattern,
                                                        self._shown(m.group(0)), CUE, "orange", words)))
        return out

    def _separated(self, text: str, breaks: _Layout, end: int, start: int) -> bool:
        raise NotImplementedError

    def _text(self, raw: str) -> str:
        raise NotImplementedError

    def _negated(self, text: str, start: int, breaks: _Layout = NO_LAYOUT) -> bool:
        """A negation cue right before `start`, with only fillers between and no clause break
        (punctuation, or a space or comma the writer put): "没有 他说想死" answers, then reports."""
        raise NotImplementedError

    def _shown(self, text: str) -> str:
        return text

    def _breaks(self, raw: str) -> set[int]:
        """Positions in the normalised text where the writer had put a space."""
        return set()

    def _layout(self, text: str, breaks: set[int]) -> _Layout:
        raise NotImplementedError

    def _negated_match(self, text: str, m: re.Match[str], groups: int, breaks: _Layout) -> bool:
        """A cue right before the match ("没有想死"), or right before its last word inside it
        ("身上没有伤": the body word, a gap, then the injury denied)."""
        if self._negated(text, m.start(), breaks):
            return True
        last = next((m.start(f"g{i}") for i in range(groups - 1, 0, -1) if m.start(f"g{i}") > m.start()), None)
        return last is not None and self._negated(text, last, breaks)

    def _phrase(self, phrase: str) -> str:
        """A plain phrase as it appears in the normalised text."""
        raise NotImplementedError

    def _before(self, text: str, start: int) -> str:
        """The stretch of the same sentence shortly before a hit, where a frame word counts."""
        raise NotImplementedError

    def _frame(self, text: str, start: int) -> str | None:
        before = self._before(text, start)
        offset = start - len(before)
        return next((f.strip() for f in self.frames
                     if f in before and any(self._frames_there(text, offset + at, f) for at in _find_all(before, f))), None)

    def _frames_there(self, text: str, at: int, frame: str) -> bool:
        """Whether the frame word at `at` frames a story (所有人 is no 有人; "on video" is a call)."""
        return True

    # -- who a phrase is about -------------------------------------------------------------------

    def _cuts(self, text: str, pos: int, breaks: _Layout) -> list[int]:
        """Where the clause around `pos` starts, after where the one before it starts (or the
        sentence's own start alone)."""
        return breaks.cuts(pos)

    def _candidates(self, text: str, lo: int, hi: int) -> list[tuple[int, int, str]]:
        if self.subject_regex is None:
            return []
        out = []
        for m in self.subject_regex.finditer(text, lo):
            if m.end() > hi:
                break
            word = m.group(0)
            out.append((m.start(), m.end(), self.subject_kind.get(word) or self.subject_kind[word + " "]))
        return out

    def _subject(self, text: str, pos: int, breaks: _Layout, lo: int = 0, carry: bool = True) -> str | None:
        """The kind (child, adult, thing) of the nearest subject word before `pos` in its clause;
        with `carry`, else the first one of the clause before (a dropped subject: "娃想妈妈 天天哭")."""
        cuts = self._cuts(text, pos, breaks)
        found = self._candidates(text, max(cuts[-1], lo), pos)
        if found:
            return found[-1][2]
        if carry and len(cuts) >= 2 and cuts[-1] > lo:
            before = self._candidates(text, max(cuts[-2], lo), cuts[-1])
            if before:
                return before[0][2]
        return None

    def _about_a_thing(self, text: str, start: int, end: int, hit_end: int, breaks: _Layout) -> bool:
        """A clearing phrase whose subject (鸭子自己回来了, "the dog came back") or object
        (找到了他的书包, "found her phone") is an animal or an object says nothing of the person.
        A thing that is itself an object (他赶着鸭子自己回来了, "he came back with the dog") is no
        subject."""
        cuts = self._cuts(text, start, breaks)
        before = [c for c in self._candidates(text, max(cuts[-1], hit_end), start)
                  if not (c[2] == "thing" and self._is_object(text, c[0]))]
        if before and before[-1][2] == "thing":
            return True
        lo = end - 1 if text[end - 1:end] == " " else end  # an English phrase ends on its space
        thing = next((c for c in self._candidates(text, lo, min(len(text), lo + 24)) if c[2] == "thing"), None)
        return thing is not None and self._directly_after(text, lo, thing[0])

    def _is_object(self, text: str, start: int) -> bool:
        raise NotImplementedError

    def _directly_after(self, text: str, end: int, start: int) -> bool:
        raise NotImplementedError

    def _cleared(self, text: str, hit_end: int, phrases: tuple[str, ...], breaks: _Layout) -> bool:
        """A clearing phrase after the hit that is not about an animal or object. Worked out once
        a message for each phrase found (only one in the hit's own clause depends on the hit)."""
        if phrases not in breaks.clearing:
            found = sorted((at, at + len(p)) for p in phrases for at in _find_all(text, p))
            places = [(at, end, not self._about_a_thing(text, at, end, 0, breaks)) for at, end in found]
            following, nxt = len(places), [0] * len(places)
            for i in range(len(places) - 1, -1, -1):
                following = i if places[i][2] else following
                nxt[i] = following
            breaks.clearing[phrases] = (places, nxt)
        places, nxt = breaks.clearing[phrases]
        i = bisect.bisect_left(places, (hit_end, -1, False))
        same_clause = breaks.next_clause(hit_end)
        while i < len(places) and places[i][0] < same_clause:
            at, end, _clears = places[i]
            if not self._about_a_thing(text, at, end, hit_end, breaks):
                return True
            i += 1
        return i < len(places) and nxt[i] < len(places)

    def scan(self, raw: str) -> list[RiskHit]:
        return self.read(raw)[0]

    def read(self, raw: str) -> tuple[list[RiskHit], bool]:
        """The hits, and whether a rule matched and a clearing phrase cleared it ("… 今天早上自己回来了")."""
        text = self._text(raw)
        if not text.strip():
            return [], False
        masked = [False] * len(text)
        breaks = self._layout(text, self._breaks(raw))
        if self.mask is not None:
            pos = 0
            while (m := self.mask.search(text, pos)) is not None:
                # Phrases may overlap (医院开的安眠药 | 安眠药我都锁在): search again one past each start.
                start, end = m.span()
                pos = start + 1
                if breaks.any_between(start + 1, end - 1):
                    continue  # "我想死 你们别管我" is no "想死你": a phrase does not run across a space
                masked[start:end] = [True] * (end - start)
        found: list[tuple[int, int, RiskHit]] = []
        overriding: list[tuple[int, int, str]] = []
        cleared = False
        storied: set[tuple[int, int, str]] = set()  # red hits a story frame lowered
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
                if rule.cleared_by and self._cleared(text, m.end(), rule.cleared_by, breaks):
                    cleared = True
                    pos = m.end()
                    continue
                words = tuple((name, self._shown(m.group(f"g{i}")))
                              for i, name in enumerate(rule.compiled.slots) if m.group(f"g{i}"))
                tier, framed = rule.tier, None
                if tier == "red" and (framed := self._frame(text, m.start())):
                    tier = "orange"  # a story before it: no sign of this child now, not even for escalation
                    storied.add((m.start(), m.end(), rule.id))
                elif tier == "red" and (framed := next((w.strip() for w in rule.lowered_by if w in text), None)):
                    tier = "orange"  # a joke or schoolwork anywhere: slang as hyperbole, still a sign beside others
                category = rule.category
                if rule.child_category is not None and self._subject(text, m.start(), breaks) == "child":
                    category = rule.child_category
                found.append((m.start(), m.end(), RiskHit(
                    self.locale, rule.id, rule.compiled.pattern, self._shown(m.group(0)), category, tier,
                    words, negated=self._negated_match(text, m, len(rule.compiled.slots), breaks), framed=framed)))
                if rule.overrides_inner:
                    overriding.append((m.start(), m.end(), rule.id))
                pos = m.end()
        found = [f for f in found if not any(s <= f[0] and f[1] <= e and rid != f[2].rule for s, e, rid in overriding)]
        # A wider reading around words that are denied is denied too ("他没说要喝农药": the child
        # near the poison word is no sign once the drinking is negated).
        denied = [(st, en) for st, en, h in found if h.negated]
        found = [(st, en, replace(h, negated=True)) if not h.negated and any(st <= a and b <= en for a, b in denied)
                 else (st, en, h) for st, en, h in found]
        kept = _keep_outermost(found)
        hits = [h for _s, _e, h in kept]
        if self.escalate and not any(h.tier == "red" and not h.negated for h in hits) \
                and any(not h.negated for h in hits):
            signs = [k for k in kept if not k[2].negated and (k[0], k[1], k[2].rule) not in storied]
            red = self._escalated(text, breaks, signs + self._cue_hits(text, masked, breaks) if self.cue_patterns else signs)
            if red is not None:
                hits.append(red)
        if self.signal_regex is not None and not cleared and not any(not h.negated for h in hits):
            net = self._signals(text, masked, breaks)
            if net is not None:
                hits.append(net)
        if self.near_regex is not None and not cleared and not any(not h.negated for h in hits):
            near = self._near(text, masked, [(st, en) for st, en, h in found if h.negated], breaks)
            if near is not None:
                hits.append(near)
        return hits, cleared


class _Chinese(_LocaleScanner):
    locale = "zh-Hans"

    def __init__(self, lexicon: LexiconFile) -> None:
        super().__init__(lexicon)
        self.cues = sorted(set(self.negation.cues), key=len, reverse=True)
        self.fillers = set(self.negation.fillers)
        self.max_filler = max((len(f) for f in self.fillers), default=0)

    def _mask_regex(self, forms: list[str]) -> re.Pattern[str]:
        return re.compile("|".join(re.escape("".join(f.split())) for f in sorted(forms, key=len, reverse=True)))

    def _frames_there(self, text: str, at: int, frame: str) -> bool:
        # 有人 (someone: a story about another family) inside 所有人 (everyone), 没有人 (nobody),
        # 还有人 is no frame ("谢谢所有人 然后就把我拉黑了" is this child's farewell), nor is someone
        # acting on our child (有人让女儿发裸照, 有人给女儿看黄色视频)
        if at > 0 and text[at - 1] in _ZH_FRAME_INSIDE.get(frame, ""):
            return False
        return not (frame == "有人" and _ZH_SOMEONE_TO_OURS.match(text, at + len(frame)))

    def _pieces(self, raw: str) -> list[str]:
        last = self._last  # one read of the attribute: another thread may scan at the same time
        if last[0] != raw:  # _text and _breaks read the same message one after the other
            last = (raw, zh_pieces(raw, self.symbols))
            self._last = last
        return last[1]

    def _text(self, raw: str) -> str:
        return "".join(self._pieces(raw))

    def _signal_regex(self, words: list[str]) -> re.Pattern[str]:
        return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))

    def _phrase(self, phrase: str) -> str:
        return normalise_zh(phrase)

    def _breaks(self, raw: str) -> set[int]:
        out, pos = set(), 0
        for piece in self._pieces(raw):
            pos += len(piece)
            out.add(pos)
        return out

    def _before(self, text: str, start: int) -> str:
        window = text[max(0, start - 12):start]
        return re.split(r"[。！？!?；;]", window)[-1]

    def _layout(self, text: str, breaks: set[int]) -> _Layout:
        return _Layout(breaks, [i + 1 for i, c in enumerate(text) if c in _ZH_SENTENCE_END],
                       [i + 1 for i, c in enumerate(text) if c in _ZH_CLAUSE_END])

    def _separated(self, text: str, breaks: _Layout, end: int, start: int) -> bool:
        """Another clause: punctuation or a space the writer put between them."""
        return any(c in _ZH_SENTENCE_END + _ZH_CLAUSE_END for c in text[end:start]) or breaks.any_between(end, start)

    def _is_object(self, text: str, start: int) -> bool:
        return start > 0 and text[start - 1] in "着了把带领赶牵抱推骑拿喂放"

    def _directly_after(self, text: str, end: int, start: int) -> bool:
        return _ZH_POSSESSIVE.fullmatch(text[end:start]) is not None

    def _close(self, text: str, a: tuple[int, int], b: tuple[int, int], times: int = 1) -> bool:
        between = text[min(a[1], b[1]):max(a[0], b[0])]
        gap = max(0, max(a[0], b[0]) - min(a[1], b[1]))
        return gap <= self.near.window * times and not re.search(r"[。！？!?；;]", between)  # type: ignore[union-attr]

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

    def _negated(self, text: str, start: int, breaks: _Layout = NO_LAYOUT) -> bool:
        for gap in range(0, min(self.negation.max_gap, start) + 1):
            if gap and not self._segmentable(text[start - gap:start]):
                continue
            end = start - gap
            if breaks.any_between(end, start):
                continue  # a space between the cue and the term: "没有 他说想死"
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

    def _read(self, raw: str) -> tuple[str, set[int]]:
        """The text as " word word . word " and where a comma stood (the position of the space
        before the next word), read once a message: _text and _breaks ask one after the other."""
        last = self._last  # one read of the attribute: another thread may scan at the same time
        if last[0] != raw:
            out, pos, words = set(), 0, []
            for token in tokens_en(raw, self.symbols, commas=True):
                if token == ",":
                    out.add(pos)
                else:
                    words.append(token)
                    pos += len(token) + 1
            last = (raw, (" " + " ".join(words) + " " if words else "", out))
            self._last = last
        return last[1]

    def _text(self, raw: str) -> str:
        return self._read(raw)[0]

    def _breaks(self, raw: str) -> set[int]:
        return self._read(raw)[1]

    def _shown(self, text: str) -> str:
        return text.strip()

    def _phrase(self, phrase: str) -> str:
        return " " + " ".join(tokens_en(phrase)) + " "

    def _frames_there(self, text: str, at: int, frame: str) -> bool:
        # "video" is a story on video, but "told me on video", "a video call" is the family's call
        return not (frame.strip() == "video" and _EN_CALL.search(text, max(0, at - 6), at + len(frame) + 12))

    def _before(self, text: str, start: int) -> str:
        tokens = text[:start].split()[-10:]
        for i in range(len(tokens) - 1, -1, -1):
            if tokens[i] in ".!?;":
                tokens = tokens[i + 1:]
                break
        return " " + " ".join(tokens) + " "

    def _layout(self, text: str, breaks: set[int]) -> _Layout:
        return _Layout(breaks, [m.start() + 2 for m in re.finditer(r" [.!?;](?= )", text)], [])

    def _separated(self, text: str, breaks: _Layout, end: int, start: int) -> bool:
        return start > end or breaks.any_between(end, start)  # a word or a comma between

    def _is_object(self, text: str, start: int) -> bool:
        before = text[:start].split()
        return bool(before) and before[-1] in ("with", "walking", "walked", "brought", "bringing", "took", "taking")

    def _directly_after(self, text: str, end: int, start: int) -> bool:
        return all(w in _EN_DETERMINERS for w in text[end:start].split())

    def _close(self, text: str, a: tuple[int, int], b: tuple[int, int], times: int = 1) -> bool:
        lo, hi = min(a[1], b[1]), max(a[0], b[0])
        between = text[lo:hi].split() if hi > lo else []
        return len(between) <= self.near.window * times and not any(t in ".!?;" for t in between)  # type: ignore[union-attr]

    def _negated(self, text: str, start: int, breaks: _Layout = NO_LAYOUT) -> bool:
        tokens = text[:start].split()
        comma = breaks.last_break_upto(start)
        if comma >= 0:  # a comma between the cue and the term: "no, he said he wants to die"
            tokens = tokens[len(text[:comma].split()):]
        for gap in range(0, min(self.negation.max_gap, len(tokens)) + 1):
            if any(t not in self.fillers for t in tokens[len(tokens) - gap:]):
                break  # a non-filler word stands between: no cue further back can reach the term
            end = len(tokens) - gap
            if any(end >= len(cue) and tuple(tokens[end - len(cue):end]) == cue for cue in self.cues):
                return True
        return False


class RiskScanner:
    """The lexicon's rules and nets for both scripts, then — only when they raised nothing, denied
    nothing and cleared nothing — the statistical net (content/risk/model.json), which can raise
    orange, never red."""

    def __init__(self, lexicon: LexiconFile, model: NgramModel | None = None) -> None:
        self.lexicon = lexicon
        self.model = model
        self._scanners = (_Chinese(lexicon), _English(lexicon))

    def scan(self, text: str) -> ScanResult:
        found: list[RiskHit] = []
        cleared = False
        for scanner in self._scanners:
            hits, was_cleared = scanner.read(text)
            found.extend(hits)
            cleared = cleared or was_cleared
        if self.model is not None and not found and not cleared and text.strip():
            score = self.model.score(model_text(text))
            if score.raised:
                words = tuple((f"ngram{k + 1}", f"{gram} {weight:+.2f}") for k, (gram, weight) in enumerate(score.top))
                found.append(RiskHit("model", "model", f"character n-gram model, probability ≥ {self.model.threshold:.2f}",
                                     " · ".join(g for g, _w in score.top[:3]), score.category, "orange", words,
                                     probability=score.probability))
        return ScanResult(text, tuple(h for h in found if not h.negated), tuple(h for h in found if h.negated))


class LexiconInvalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


MODEL_FILE = "model.json"


def load_scanner(path: Path, *, model: bool = True) -> RiskScanner:
    """Read and check content/risk/lexicon.yaml and, with `model`, the statistical net beside it
    (model.json, if there is one); LexiconInvalid lists every problem."""
    rel = f"risk/{path.name}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LexiconInvalid([f"{rel}: -: cannot read: {exc}"]) from exc
    try:
        lexicon = LexiconFile.model_validate(raw)
    except ValidationError as exc:
        raise LexiconInvalid([str(p) for p in _validation_problems(rel, exc)]) from exc
    net = None
    if model and (path.parent / MODEL_FILE).is_file():
        try:
            net = load_model(path.parent / MODEL_FILE)
        except ModelInvalid as exc:
            raise LexiconInvalid(exc.problems) from exc
    return RiskScanner(lexicon, net)


_scanners: dict[tuple[Path, float], RiskScanner] = {}  # the lexicon, and the model's change too


def scanner_for(path: Path) -> RiskScanner:
    """The scanner for a lexicon file, read once per process (again when the file changes)."""
    model = path.parent / MODEL_FILE
    key = (path.resolve(), path.stat().st_mtime + (model.stat().st_mtime if model.is_file() else 0.0))
    if key not in _scanners:
        _scanners[key] = load_scanner(path)
    return _scanners[key]
