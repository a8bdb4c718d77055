"""The risk lexicon: the file format of content/risk/lexicon.yaml (v4) and its compiler. See
content/README.md for the author's view.

A lexicon is data a content author can read: per locale, named **word lists** (acts, means,
particles, amounts, intent words, people, body parts …) and **rules**, each with a category, a
tier (red: unmistakable danger; orange: a possible sign a person should read today) and a few
patterns built from the word lists. Patterns are compiled into regular expressions once, when
the file is loaded; nothing is evaluated at run time but those expressions.

Pattern syntax (both locales):

- plain text: zh-Hans characters (spaces are ignored, as they are in messages); en lowercase
  words, matched as whole words;
- `(a|b|)`: alternatives at that place; an empty one (or a `?` after the bracket) makes the part
  optional;
- `{name}`: any one word of the word list `name`; `{name?}` optional; `{name*}` none, one or two
  in a row (particles: 喝下去了);
- `!(a|b)`: not followed by any of them: `找不到(孩子|娃)!(的)` (找不到孩子的作业本 is no alarm);
- `~N` (N from 1 to 12): a gap of at most N characters (zh) or words (en) of anything, within
  one sentence: `{ingest}{aspect*}~4{poison}` is 喝了 + 半瓶 + 农药;
- en words: `word*` is any ending (`suicid*`); `word+` the regular inflections (`cut+`: cut,
  cuts, cutting; `hurt+`; `beat+`); irregular forms are alternatives (`(ran|run+)`).

Word-list entries are patterns themselves (alternatives and other word lists, no gaps), so an
amount is `{number?}{measure}`. Chinese ASCII text (pinyin initials such as `zs`) only matches as a
whole latin word, never inside another.

Negation: a hit is cleared when a cue stands right before it, with at most `max_gap` fillers
between ("没有想死", "他没说过不想活", "he never said he wanted to die"); an A-not-A question
(是不是, 有没有) asks, it does not deny. Hyperbole and everyday phrases ("饿死了", "想死你了",
"刀削面", "this heat is killing me") are masked before matching: a match that overlaps one is
not a hit. Whatever raises nothing still reaches the director's inbox; the tier decides urgency.
"""
from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.config import SUPPORTED_LOCALES
from core.content.localized import check_localized

# child_distress: a child's distress with no cause named yet (crying every day, not sleeping) — the
# same words from the guardian about herself are guardian_crisis (a rule's `child_category`).
Category = Literal["suicide", "self_harm", "physical_abuse", "sexual_abuse", "bullying", "missing",
                   "guardian_crisis", "child_distress"]
CATEGORIES: tuple[str, ...] = ("suicide", "self_harm", "physical_abuse", "sexual_abuse", "bullying", "missing",
                               "guardian_crisis", "child_distress")
Tier = Literal["red", "orange"]
TIERS: tuple[str, ...] = ("red", "orange")
MAX_EXPANSIONS = 1024  # plain forms of one hyperbole or everyday phrase
MAX_GAP = 12

_GROUP = re.compile(r"\(([^()]*)\)")
_TOKEN = re.compile(r"\{([a-z_][a-z0-9_]*)([?*]?)\}|~(\d+)|(!?)\(([^()]*)\)(\??)|([^{}()~|!]+)")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_EN_WORD = re.compile(r"^[a-z0-9']+[*+]?$")
_EN_PLAIN_WORD = re.compile(r"^[a-z0-9']+$")
_ZH_GAP_CHAR = r"[^。！？!?；;\n]"
_EN_TOKEN_CHARS = "[a-z0-9']"


class PatternError(ValueError):
    pass


# -- hyperbole phrases: plain forms ---------------------------------------------------------------


def expand(pattern: str) -> list[str]:
    """All the plain forms of a phrase's `(a|b)` groups, in order, without duplicates."""
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


# -- patterns → regular expressions ---------------------------------------------------------------


def inflections(word: str) -> list[str]:
    """The regular forms of an English verb or noun: hurt → hurts, hurting; cut → cutting;
    hope → hoped, hoping; cry → cries, cried. Irregular forms are written as alternatives."""
    forms = [word, word + "s", word + "es", word + "ed", word + "ing"]
    if word.endswith("e"):
        forms += [word + "d", word[:-1] + "ing"]
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        forms += [word[:-1] + "ies", word[:-1] + "ied"]
    if len(word) >= 3 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou" and word[-3] not in "aeiou":
        forms += [word + word[-1] + "ing", word + word[-1] + "ed"]
    return list(dict.fromkeys(forms))


@dataclass(frozen=True)
class Compiled:
    """One pattern as a regular expression; `slots` names its capture groups (g0, g1 …)."""

    pattern: str
    regex: re.Pattern[str]
    slots: tuple[str, ...]


@functools.lru_cache(maxsize=8192)
def _compile_regex(regex: str) -> re.Pattern[str]:
    """Compiling the lexicon costs ~3 s (big alternations; more patterns than `re`'s own cache
    holds): once per process, shared by `content check` and the scanner."""
    return re.compile(regex)


class _Compiler:
    def __init__(self, locale: str, words: dict[str, list[str]]) -> None:
        self.locale = locale
        self.words = words
        self.zh = locale == "zh-Hans"
        self._cache: dict[str, str] = {}

    # zh literals: characters; ASCII letters only as a whole latin word
    def _zh_literal(self, text: str) -> str:
        text = "".join(text.split())
        if not text:
            return ""
        out = re.escape(text)
        if text[0].isascii() and text[0].isalnum():
            out = r"(?<![a-z0-9])" + out
        if text[-1].isascii() and text[-1].isalnum():
            out = out + r"(?![a-z0-9])"
        return out

    # en literals: whole words, each consuming its leading space
    def _en_words(self, text: str) -> str:
        out = []
        for word in text.split():
            if not _EN_WORD.match(word):
                raise PatternError(f"{word!r}: words are lowercase letters, digits and ', "
                                   "with an optional * or + at the end")
            if word.endswith("*"):
                body = re.escape(word[:-1]) + _EN_TOKEN_CHARS + "*"
            elif word.endswith("+"):
                body = "(?:" + "|".join(re.escape(f) for f in sorted(inflections(word[:-1]), key=len, reverse=True)) + ")"
            else:
                body = re.escape(word)
            out.append(" " + body)
        return "".join(out)

    def word_list(self, name: str, stack: tuple[str, ...] = ()) -> str:
        if name in self._cache:
            return self._cache[name]
        if name not in self.words:
            raise PatternError(f"unknown word list {{{name}}}")
        if name in stack:
            raise PatternError(f"word list {{{name}}} refers to itself")
        alternatives = []
        for entry in self.words[name]:
            regex, _slots = self.sequence(entry, stack + (name,), in_list=True)
            if not regex:
                raise PatternError(f"{{{name}}} has an empty entry")
            alternatives.append(regex)
        # Longest first, so that 下去 is tried before 下.
        self._cache[name] = "(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + ")"
        return self._cache[name]

    def sequence(self, pattern: str, stack: tuple[str, ...] = (), *, in_list: bool = False,
                 capture: bool = True, groups: list[str] | None = None) -> tuple[str, list[str]]:
        rest = _GROUP.sub("", pattern)
        if "(" in rest or ")" in rest or "|" in rest:
            raise PatternError("unbalanced or nested brackets, or | outside brackets")
        if re.search(r"\{[^}]*$|^[^{]*\}", pattern) or pattern.count("{") != pattern.count("}"):
            raise PatternError("unbalanced { }")
        groups = [] if groups is None else groups
        out: list[str] = []
        pos = 0
        while pos < len(pattern):
            m = _TOKEN.match(pattern, pos)
            if m is None:
                raise PatternError(f"cannot read the pattern at {pattern[pos:]!r}")
            pos = m.end()
            name, mark, gap, bang, alternatives, optional, literal = m.groups()
            if name is not None:
                body = self.word_list(name, stack)
                if capture and not in_list:
                    body = f"(?P<g{len(groups)}>{body})"
                    groups.append(name)
                out.append(body + {"": "", "?": "?", "*": "{0,2}"}[mark] if mark else body)
            elif gap is not None:
                if in_list:
                    raise PatternError("a word list entry may not have a gap ~N")
                n = int(gap)
                if not 1 <= n <= MAX_GAP:
                    raise PatternError(f"a gap is ~1 to ~{MAX_GAP}")
                out.append(f"{_ZH_GAP_CHAR}{{0,{n}}}?" if self.zh else f"(?: {_EN_TOKEN_CHARS}+){{0,{n}}}?")
            elif alternatives is not None:
                options = []
                for option in alternatives.split("|"):
                    regex, _ = self.sequence(option, stack, in_list=in_list, capture=False) if option.strip() else ("", [])
                    options.append(regex)
                body = "|".join(sorted(options, key=len, reverse=True))
                if bang and optional:
                    raise PatternError("!( ) cannot be optional")
                if bang:  # !(a|b): not followed by any of them (刀削面 is no knife)
                    if "" in options:
                        raise PatternError("!( ) may not have an empty alternative")
                    out.append(f"(?!{body})" if self.zh else f"(?!(?:{body})(?= ))")
                else:
                    out.append(f"(?:{body})" + optional)
            else:
                if "?" in literal:
                    raise PatternError("? only follows a word list {name?} or a group (a|b)?")
                if self.zh:
                    if "*" in literal or "+" in literal:
                        raise PatternError("Chinese patterns have no * or +")
                    out.append(self._zh_literal(literal))
                else:
                    out.append(self._en_words(literal))
        return "".join(out), groups

    def compile(self, pattern: str) -> Compiled:
        if not pattern.strip():
            raise PatternError("an empty pattern")
        regex, groups = self.sequence(pattern)
        if not self.zh:
            regex = regex + "(?= )"
        try:
            compiled = _compile_regex(regex)
        except re.error as exc:  # pragma: no cover - the syntax above only builds valid expressions
            raise PatternError(f"not a valid pattern: {exc}") from exc
        if compiled.match(""):
            raise PatternError("the pattern matches an empty text: make one part required")
        return Compiled(pattern, compiled, tuple(groups))


# -- the file --------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Negation(_Strict):
    max_gap: int = Field(ge=0, le=12)  # filler words (zh: characters) allowed between cue and term
    cues: list[str] = Field(min_length=1)
    fillers: list[str] = Field(default_factory=list)


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    category: Category
    tier: Tier
    patterns: list[str] = Field(min_length=1)
    # A narrower reading of what it contains: where it matches around another rule's hit, this
    # rule's tier counts ("想离家出走" is an intention, orange, around "离家出走", red).
    overrides_inner: bool = False
    # Plain phrases that, later in the same message, say it is over ("找到了", "all good now"):
    # the hit is cleared (the message still reaches the inbox).
    # A clearing phrase counts only when it is about a person: no animal or object word of
    # `subjects.thing` is its subject (鸭子自己回来了) or its object (找到了他的书包).
    cleared_by: list[str] = Field(default_factory=list)
    # Plain phrases that, anywhere in the same message, put a red hit of this rule in a joke or
    # schoolwork frame (哈哈, "lol", 💀, 作业, "homework"): it counts as orange — lowered, never
    # silenced; other rules' hits keep their tier. For slang that teens use as hyperbole (紫砂, kms).
    lowered_by: list[str] = Field(default_factory=list)
    # Who the words are about decides the category: when the nearest subject before the match is
    # a child word (`subjects.child`), the hit is in this category ("孙子老是哭": the child's
    # distress); the guardian herself, or no subject, keeps the rule's ("我老是哭").
    child_category: Category | None = None
    note: str | None = None  # for authors: why this rule, what it must not catch


class Signals(_Strict):
    """The net under the rules: this many different danger words in one message (none of them
    denied, none inside hyperbole or everyday life) is an orange sign even when no rule matched.
    Plain words per category; the category with the most of them names the hit."""

    at_least: int = Field(ge=2, le=5)
    words: dict[Category, list[str]]


class Near(_Strict):
    """The broad net (issue #12's own definition of orange): a danger word within `window`
    characters (zh) or words (en) of a person or body word, in the same sentence, neither masked
    (hyperbole, everyday life) nor denied right before → one orange hit, named by the danger
    word's category. Plain words only; red stays with the rules."""

    window: int = Field(ge=1, le=20)
    danger: dict[Category, list[str]]
    person: list[str] = Field(min_length=1)
    # Everyday reassurance in the same message (创可贴, 好多了, a vaccine, a cartoon, "healing"):
    # the net stays quiet (the rules do not; the message still reaches the inbox).
    quiet: list[str] = Field(default_factory=list)


class Subjects(_Strict):
    """Who or what a phrase is about, found as the nearest of these words before it (in its clause
    or, failing that, the first in the clause before: Chinese drops a subject it has just named).
    Plain words; the longest wins where they overlap (孩子他妈 is an adult, 他 a child)."""

    child: list[str] = Field(min_length=1)  # the child (他/她 in a guardian's message is the child)
    adult: list[str] = Field(min_length=1)  # the writer and the other grown-ups
    thing: list[str] = Field(min_length=1)  # animals and objects: 鸭子, 手机, the dog


class Escalate(_Strict):
    """Orange signs that together are unmistakable: when rule hits (not the nets) of all these
    categories are in one message — each a different sign (another pattern, other words) — it is
    red, in `category`. A goodbye and then silence (对不起你们 … 电话也不接: suicide + missing) is a
    child in danger now."""

    # Each a category, a rule id ("sexual_touch_maybe": a man's hands on her leg, with any other
    # sign of sexual harm; gifts and secrecy alone stay one orange sign) or a cue id (`cues`: a
    # sign that never raises on its own); at least one must be a category or a rule.
    when: list[str] = Field(min_length=2, max_length=3)
    category: Category
    note: str | None = None


class Cue(_Strict):
    """A sign that never raises anything on its own: it counts only in `escalate`, where a combo
    names it by its id beside at least one category or rule. So a cue can make an orange message
    red (站在水库边上 + 老师再见: a dangerous place and a farewell) but can never raise a silent
    one, and what the rules raise stays exactly what it was. Patterns as in rules; a cue match
    that is masked, denied right before or framed (a story, the news) does not count."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    patterns: list[str] = Field(min_length=1)
    # A cue must add words of its own to the sign it escalates (对不起 inside the orange 对不起大家 is
    # one sign read twice). With `reading: true` the cue is itself the red reading of an orange
    # sign and may lie inside it (一宿没回 电话打不通: gone overnight and unreachable, one phrase).
    reading: bool = False
    # Plain phrases that, later in the message, say it is over (联系上了, "got through"), as in rules.
    cleared_by: list[str] = Field(default_factory=list)
    note: str | None = None  # for authors: why this cue, what it must not catch


class LocaleLexicon(_Strict):
    words: dict[str, list[str]] = Field(default_factory=dict)
    escalate: list[Escalate] = Field(default_factory=list)
    # Signs that only count in `escalate` (Cue): they promote, never raise.
    cues: list[Cue] = Field(default_factory=list)
    subjects: Subjects | None = None
    # Emoji and symbols read as the word they stand for before matching (🔪 → 刀, 💊 → 药).
    symbols: dict[str, str] = Field(default_factory=dict)
    signals: Signals | None = None
    near: Near | None = None
    negation: Negation
    hyperbole: list[str] = Field(min_length=1)  # everyday exaggeration, masked before matching
    everyday: list[str] = Field(default_factory=list)  # farm, kitchen and medical life, masked too
    # Words that put a hit in a story, the news or someone else's past ("电视剧里", "听说", "a film"):
    # shortly before a red hit in the same sentence, it counts as orange — lowered, never silenced.
    frames: list[str] = Field(default_factory=list)
    rules: list[Rule] = Field(min_length=1)


Reasons = Annotated[dict[str, str], AfterValidator(lambda v: check_localized(v, max_chars=400))]


class LexiconFile(_Strict):
    """content/risk/lexicon.yaml"""

    id: Literal["lexicon"]
    version: int = Field(ge=4)
    source: str = Field(min_length=10)
    licence: str = Field(min_length=3)
    # What the child director reads on an alert raised by a risk word, per tier and locale.
    reasons: dict[Tier, Reasons]
    locales: dict[str, LocaleLexicon]

    @model_validator(mode="after")
    def _whole_file(self) -> LexiconFile:
        problems = _cross_check(self)
        if problems:
            raise ValueError("\n".join(f"{where}: {reason}" for where, reason in problems))
        return self

    def reason(self, tier: str, locale: str) -> str:
        texts = self.reasons[tier]  # type: ignore[index]
        return texts.get(locale) or texts["zh-Hans"]


def compiler_for(lexicon: LexiconFile, locale: str) -> _Compiler:
    return _Compiler(locale, lexicon.locales[locale].words)


def _plain_word_ok(locale: str, word: str) -> bool:
    if locale == "zh-Hans":
        return bool(word) and not re.search(r"[\s*()|{}~]", word)
    return bool(word.split()) and all(_EN_PLAIN_WORD.match(w) for w in word.split())


def _cross_check(lexicon: LexiconFile) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    missing = [loc for loc in SUPPORTED_LOCALES if loc not in lexicon.locales]
    if missing:
        problems.append(("locales", f"missing locale {', '.join(missing)}"))
    unknown = sorted(set(lexicon.locales) - set(SUPPORTED_LOCALES))
    if unknown:
        problems.append(("locales", f"unknown locale {', '.join(unknown)}"))
    absent_tiers = [t for t in TIERS if t not in lexicon.reasons]
    if absent_tiers:
        problems.append(("reasons", f"missing reasons for {', '.join(absent_tiers)}"))

    for loc, lex in lexicon.locales.items():
        if loc not in SUPPORTED_LOCALES:
            continue
        base = f"locales.{loc}"
        compiler = _Compiler(loc, lex.words)
        for name, entries in lex.words.items():
            if not _NAME.match(name):
                problems.append((f"{base}.words.{name}", "a word list's name is lowercase letters, digits and _"))
                continue
            if not entries:
                problems.append((f"{base}.words.{name}", "an empty word list"))
                continue
            try:
                compiler.word_list(name)
            except PatternError as exc:
                problems.append((f"{base}.words.{name}", str(exc)))
        for kind in ("cues", "fillers"):
            for k, word in enumerate(getattr(lex.negation, kind)):
                if not _plain_word_ok(loc, word):
                    problems.append((f"{base}.negation.{kind}.{k}", f"{word!r} is not a plain word"))
        if lex.signals is not None:
            for category, entries in lex.signals.words.items():
                for k, word in enumerate(entries):
                    if not _plain_word_ok(loc, word):
                        problems.append((f"{base}.signals.words.{category}.{k}", f"{word!r} is not a plain word"))
        if lex.near is not None:
            for category, entries in lex.near.danger.items():
                if not entries:
                    problems.append((f"{base}.near.danger.{category}", "an empty word list"))
                for k, word in enumerate(entries):
                    if not _plain_word_ok(loc, word):
                        problems.append((f"{base}.near.danger.{category}.{k}", f"{word!r} is not a plain word"))
            for kind in ("person", "quiet"):
                for k, word in enumerate(getattr(lex.near, kind)):
                    if not _plain_word_ok(loc, word):
                        problems.append((f"{base}.near.{kind}.{k}", f"{word!r} is not a plain word"))
        for symbol, word in lex.symbols.items():
            if not symbol or any(c.isalnum() or c.isspace() for c in symbol) or len(symbol) > 4:
                problems.append((f"{base}.symbols.{symbol}", "a symbol is one emoji or sign (no letters, digits or spaces)"))
            if not _plain_word_ok(loc, word):
                problems.append((f"{base}.symbols.{symbol}", f"{word!r} is not a plain word"))
        if lex.subjects is not None:
            for kind in ("child", "adult", "thing"):
                for k, word in enumerate(getattr(lex.subjects, kind)):
                    if not _plain_word_ok(loc, word):
                        problems.append((f"{base}.subjects.{kind}.{k}", f"{word!r} is not a plain word"))
        rule_ids = {rule.id for rule in lex.rules}
        cue_ids: set[str] = set()
        for c, cue in enumerate(lex.cues):
            where = f"{base}.cues.{c}"
            if cue.id in cue_ids or cue.id in rule_ids or cue.id in CATEGORIES:
                problems.append((f"{where}.id", f"{cue.id!r} is already a cue, rule or category name"))
            cue_ids.add(cue.id)
            for k, phrase in enumerate(cue.cleared_by):
                if not _plain_word_ok(loc, phrase):
                    problems.append((f"{where}.cleared_by.{k}", f"{phrase!r} is not a plain word"))
            for k, pattern in enumerate(cue.patterns):
                try:
                    compiler.compile(pattern)
                except PatternError as exc:
                    problems.append((f"{where}.patterns.{k}", str(exc)))
        used_cues: set[str] = set()
        for e, combo in enumerate(lex.escalate):
            for k, name in enumerate(combo.when):
                if name not in CATEGORIES and name not in rule_ids and name not in cue_ids:
                    problems.append((f"{base}.escalate.{e}.when.{k}", f"{name!r} is neither a category, a rule id nor a cue id"))
            used_cues.update(name for name in combo.when if name in cue_ids)
            if all(name in cue_ids for name in combo.when):
                problems.append((f"{base}.escalate.{e}.when", "names only cues: a combo needs a category or rule that raised the message"))
        for c, cue in enumerate(lex.cues):
            if cue.id not in used_cues:
                problems.append((f"{base}.cues.{c}.id", f"{cue.id!r} is named by no escalate combo"))
        for k, word in enumerate(lex.frames):
            if not _plain_word_ok(loc, word):
                problems.append((f"{base}.frames.{k}", f"{word!r} is not a plain word"))
        for kind in ("hyperbole", "everyday"):
            for k, phrase in enumerate(getattr(lex, kind)):
                try:
                    forms = expand(phrase)
                except PatternError as exc:
                    problems.append((f"{base}.{kind}.{k}", str(exc)))
                    continue
                bad = [f for f in forms if not _plain_word_ok(loc, f)]
                if bad:
                    problems.append((f"{base}.{kind}.{k}", f"{bad[0]!r}: plain words only (no * + {{ }} ~)"))

        seen_ids: dict[str, int] = {}
        seen_patterns: dict[str, str] = {}
        covered: set[str] = set()
        for r, rule in enumerate(lex.rules):
            where = f"{base}.rules.{r}"
            if rule.id in seen_ids:
                problems.append((f"{where}.id", f"{rule.id!r} is already the id of rules.{seen_ids[rule.id]}"))
            seen_ids.setdefault(rule.id, r)
            covered.add(rule.category)
            for k, phrase in enumerate(rule.cleared_by):
                if not _plain_word_ok(loc, phrase):
                    problems.append((f"{where}.cleared_by.{k}", f"{phrase!r} is not a plain word"))
            for k, phrase in enumerate(rule.lowered_by):
                if not _plain_word_ok(loc, phrase):
                    problems.append((f"{where}.lowered_by.{k}", f"{phrase!r} is not a plain word"))
            if rule.child_category is not None and lex.subjects is None:
                problems.append((f"{where}.child_category", "needs the locale's subjects: (child, adult, thing words)"))
            for k, pattern in enumerate(rule.patterns):
                key = " ".join(pattern.split())
                if key in seen_patterns:
                    problems.append((f"{where}.patterns.{k}", f"{pattern!r} is already listed at {seen_patterns[key]}"))
                    continue
                seen_patterns[key] = f"{where}.patterns.{k}"
                try:
                    compiler.compile(pattern)
                except PatternError as exc:
                    problems.append((f"{where}.patterns.{k}", str(exc)))
        for name in CATEGORIES:
            if name not in covered:
                problems.append((f"{base}.rules", f"no rule for {name}"))
    return problems
