"""The free-text risk scan (lexicon v4): one table per phenomenon of how people really write — aspect
particles, amounts, intent, a gap between an act and its means, inflections — in both languages;
negation right before a term, hyperbole and everyday life raise nothing; two tiers; every hit
explained; the lexicon is checked like all content; `shouwang risk scan` prints JSON lines."""
from __future__ import annotations

import copy
import io
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from cli.main import main as cli_main
from core.checkin.risk import LexiconInvalid, RiskScanner, load_scanner
from core.config import PROJECT_ROOT
from core.content.loader import check_content
from core.content.risk import CATEGORIES, LexiconFile, PatternError, compiler_for, expand, inflections

LEXICON = PROJECT_ROOT / "content" / "risk" / "lexicon.yaml"
SCANNER = load_scanner(LEXICON)


def tier_of(text: str) -> tuple[str | None, str | None]:
    result = SCANNER.scan(text)
    return result.tier, result.category


# -- phenomena -----------------------------------------------------------------------------------

PARTICLES = [  # an aspect particle or complement between the act and its object
    ("孩子喝了农药", "red", "suicide"), ("他割了手腕", "red", "suicide"), ("娃跳了河", "red", "suicide"),
    ("孙子吃了老鼠药", "red", "suicide"), ("她吞下去一瓶安眠药", "red", "suicide"), ("他喝过敌敌畏", "red", "suicide"),
    ("孩子喝咗农药", "red", "suicide"), ("娃把农药喝掉了", "red", "suicide"), ("她划了自己", "red", "self_harm"),
    ("he drank pesticide", "red", "suicide"), ("she has been cutting herself", "red", "self_harm"),
    ("he hanged himself in the barn", "red", "suicide"), ("she burned herself on purpose", "red", "self_harm"),
]
QUANTITIES = [  # an amount or measure word between the act and the means
    ("他喝了一口农药", "red", "suicide"), ("孩子喝了两口敌敌畏", "red", "suicide"), ("吃了好几十片药", "red", "suicide"),
    ("她吃了大半瓶药", "red", "suicide"), ("娃吞了一整瓶安眠药", "red", "suicide"), ("吃了好几片降压药", "orange", "suicide"),
    ("he took a handful of pills", "red", "suicide"), ("she swallowed a whole bottle of tablets", "red", "suicide"),
    ("he took all of the sleeping pills", "red", "suicide"),
]
INTENT = [  # an intention: said, planned, kept saying
    ("她说要喝农药", "red", "suicide"), ("他准备喝百草枯", "red", "suicide"), ("娃打算从楼上跳下去", "red", "suicide"),
    ("孩子老说想死", "red", "suicide"), ("他闹着要去死", "red", "suicide"), ("孩子想离家出走", "orange", "missing"),
    ("she keeps saying she wants to die", "red", "suicide"), ("he is planning to kill himself", "red", "suicide"),
    ("he says he wants to run away", "orange", "missing"), ("i wanna unalive myself", "red", "suicide"),
]
GAPS = [  # a bounded gap between the act and its means (or the blow and its weapon)
    ("他爸拿棍子使劲打娃", "red", "physical_abuse"), ("孙女拿刀片划自己胳膊", "red", "self_harm"),
    ("把老鼠药拌在饭里吃了", "red", "suicide"), ("他后妈拿衣架狠狠地抽他", "red", "physical_abuse"),
    ("his stepdad beat him badly with a belt", "red", "physical_abuse"),
    ("she took way too many of her pills", "red", "suicide"),
]
SIGNS = [  # indirect signs: orange — a person reads it today
    ("娃把玩具都送人了", "orange", "suicide"), ("孩子说没有我你们会过得更好", "orange", "suicide"),
    ("孙女胳膊上好多细细的印子", "orange", "self_harm"), ("大夏天也穿长袖", "orange", "self_harm"),
    ("有个男的老给她钱 还叫她别告诉家里", "orange", "sexual_abuse"), ("孩子被同学欺负了", "orange", "bullying"),
    ("天都黑了孙子还没回来", "orange", "missing"), ("我实在撑不下去了", "orange", "guardian_crisis"),
    ("nobody would even notice if i was gone", "orange", "suicide"),
    ("an older man keeps buying her presents and says don't tell", "orange", "sexual_abuse"),
    ("older kids keep taking his lunch money", "orange", "bullying"), ("i can't cope anymore", "orange", "guardian_crisis"),
]
UNMISTAKABLE = [  # red in every category
    ("孩子一晚上没回家 电话也打不通", "red", "missing"), ("有个男的摸她下面", "red", "sexual_abuse"),
    ("他爸把娃胳膊打断了", "red", "physical_abuse"), ("不给钱就往死里打", "red", "bullying"),
    ("我病倒了住院了 孩子一个人在家没人管", "red", "guardian_crisis"), ("孩子他后妈不给他饭吃", "red", "physical_abuse"),
    ("he didn't come home last night", "red", "missing"), ("her uncle made her take her clothes off", "red", "sexual_abuse"),
    ("i fell and can't get up, the kids are alone", "red", "guardian_crisis"),
]
SLANG_AND_DIALECT = [
    ("我想zs", "red", "suicide"), ("想紫砂", "red", "suicide"), ("bxh了", "red", "suicide"),
    ("俺孙子说他不想活嘞", "red", "suicide"), ("kms fr", "red", "suicide"), ("孩 子 说 想 死", "red", "suicide"),
    ("HE TALKS ABOUT SUICIDE", "red", "suicide"), ("She’s been self-harming again", "red", "self_harm"),
]


@pytest.mark.parametrize(("text", "tier", "category"),
                         PARTICLES + QUANTITIES + INTENT + GAPS + SIGNS + UNMISTAKABLE + SLANG_AND_DIALECT)
def test_how_people_really_write_is_caught_with_its_tier_and_category(text: str, tier: str, category: str) -> None:
    assert tier_of(text) == (tier, category), SCANNER.scan(text).as_json()


NOTHING = [
    # negation right before the term (fillers between)
    "没有想死", "他没说过不想活", "他从来没有说过想死", "他没说要喝农药", "身上没有伤", "他不想自杀", "没人欺负他",
    "他爸从来不打孩子", "He never said he wanted to die", "I don't think he is suicidal", "she didn't say she wants to kill herself",
    "i don't want to die", "she knows nobody is allowed to touch her private parts",
    # everyday hyperbole
    "热死了", "饿死了", "困死了", "想死你了", "奶奶想死你们了", "作业烦死了", "笑死我了", "气死我了", "打死也不吃青菜",
    "跳楼价大甩卖", "this heat is killing me", "I'm dying to see him", "this homework is killing me",
    "I was bored to death", "a cake to die for", "my feet are killing me",
    # farm, kitchen, school and medical life
    "今天割草", "割了一上午麦子", "杀鱼", "杀了只鸡", "娃打针哭了", "吃了感冒药好多了", "给娃吃了半片退烧药", "跳高得了第一",
    "中午吃的刀削面", "今天打了一上午农药", "农药都锁起来了", "给他打电话", "打他电话没人接", "娃在划手机", "孩子去打工了",
    "he took some cold medicine", "she did the high jump", "we cut the grass", "we killed a pig for new year",
    "he got his flu shot", "she cut her finger slicing apples",
    # look-alikes
    "找不到孩子的作业本了", "娃从楼梯上跳下来 摔了一跤", "紫砂壶", "the chickens ran away", "",
    "孩子今天很乖，作业写完了", "谢谢老师", "He had a good week at school",
]


@pytest.mark.parametrize("text", NOTHING)
def test_negation_hyperbole_and_everyday_life_raise_nothing(text: str) -> None:
    result = SCANNER.scan(text)
    assert (result.tier, result.hit, result.category) == (None, False, None), result.as_json()


def test_a_negated_hit_is_reported_as_negated_for_authors() -> None:
    assert SCANNER.scan("他没说过不想活").as_json()["negated"] == ["不想活"]


def test_a_question_is_not_a_negation() -> None:
    assert tier_of("他是不是想死？") == ("red", "suicide")
    assert SCANNER.scan("有没有人打他？").hit


def test_a_story_or_hearsay_lowers_red_to_orange_but_never_silences() -> None:
    result = SCANNER.scan("电视剧里有人跳河")
    assert result.tier == "orange"
    assert result.as_json()["hits"][0]["lowered_by"] == "电视剧"
    assert tier_of("we watched a film where someone jumped off a bridge") == ("orange", "suicide")


def test_a_missing_child_found_in_the_same_message_is_cleared() -> None:
    assert tier_of("孩子一晚上没回家 后来找到了 在他舅家") == (None, None)
    assert tier_of("couldn't reach grandma, her phone was dead, all good now") == (None, None)


def test_a_cleared_phrase_inside_its_own_negation_does_not_clear() -> None:
    # "打不通了" holds "通了" (got through): it must not clear the unreachable child
    assert tier_of("娃说要跟网上认识的哥哥去广州 今天电话就打不通了")[0] == "orange"
    assert tier_of("娃一天都打不通电话 后来电话通了 在同学家")[0] is None


def test_everyday_phrases_that_overlap_are_all_masked() -> None:
    # 医院开的安眠药 and 安眠药我都锁在 share 安眠药: both are everyday, the locked cupboard is no sign
    assert tier_of("医院开的安眠药我都锁在柜子里了 钥匙我自己拿着") == (None, None)
    assert tier_of("他后妈把娃锁在柜子里") == ("orange", "physical_abuse")


def test_generalisation_rounds_phenomena() -> None:
    """A few of the phenomena the generalisation rounds added (tests/data/risk/README.md)."""
    for text in ["昨晚半夜妹崽一个人坐在楼顶边边上", "伢子早上出门 到现在还莫回来", "我觉得我活着就是给家里添麻烦",
                 "孙女这几天下身痒还有点血 问她谁碰过她 她不敢讲", "老师发现儿子裤兜里有好几片刀片",
                 "my stepmom makes me sleep in the garage", "took like 20 of my moms sleeping pills"]:
        assert tier_of(text)[0] is not None, text
    for text in ["娃打疫苗胳膊上青了一块 过两天就好了", "把鸡关在笼子里", "天太热了 热得人不想活了",
                 "孙女把旧衣服都送给表妹了 她长高了穿不下", "今天考试考砸了 我妈要打死我哈哈"]:
        assert tier_of(text)[0] != "red", text


@pytest.mark.parametrize(("text", "expected"), [
    # hyperbole about thirst or heat, said twice, then "not living"
    ("外孙跑完步回来直喊热死了热死了不想活了，吃了根冰棍就好了", None),
    # a conditional joke about a task, laughed off
    ("闺女说这张卷子再写不完我就不活了，说完哈哈大笑", "orange"),
    # the same conditional without a joke stays red
    ("孙子说要是再考不好我就不活了", "red"),
    # a farm accident named after the marks
    ("娃手上划了好几道口子，是跟他爷爷割猪草让镰刀蹭的", None),
    # an accident is no act on oneself: orange at most
    ("闺女拿小刀削苹果 不小心划了手", "not red"),
    ("娃拿剪子剪窗花 一不小心扎了手指", "not red"),
    # a relative took the child home, whereabouts known
    ("昨天晚上丫头没回家，后来她舅打电话说接到他家去了", None),
    # a saying said to a child, never carried out
    ("他奶奶老说再不听话就打断你的腿，这是口头禅，从来没真打过", "not red"),
    # a real blow and injury stays red
    ("他后爸把娃的腿打断了 现在在医院", "red"),
    # a cut on a fence is an accident, not a cut to oneself
    ("i cut my arm on a fence and its bleeding a bit", "not red"),
])
def test_pass_27_30_false_red_phenomena(text: str, expected: str | None) -> None:
    tier = tier_of(text)[0]
    if expected == "not red":
        assert tier != "red", text
    else:
        assert tier == expected, (text, tier)


@pytest.mark.parametrize(("text", "tier", "category"), [
    ("女儿日记里写着要是我不在了 爸妈就不用为我操心了", "orange", "suicide"),  # a burden: better off without me
    ("孙子老说想去天上找他妈妈", "orange", "suicide"),  # joining a dead parent
    ("她说她不想再做人了", "red", "suicide"),  # euphemism for not living
    ("个仔话唔想再做人", "red", "suicide"),  # the same in Cantonese
    ("那个开车的叔叔给她买糖 还叫她莫给爷爷说", "orange", "sexual_abuse"),  # gifts and secrecy with 莫/给
    ("我这记性 昨天又忘了去幼儿园接孙女", "orange", "guardian_crisis"),  # a guardian's failing memory
    ("外孙最近铅笔老丢 零花钱也不够 问了不说", "orange", "bullying"),  # things and money gone, silence
    ("my grandson asked me whether it hurts to drown", "orange", "suicide"),  # what dying feels like
    ("Grandpa fell in the yard, cannot stand up, the kids are alone with him", "red", "guardian_crisis"),
    ("He forgets things and left the gas on twice, is it dementia", "orange", "guardian_crisis"),
    ("i cut my wrist agin and its bledding so much", "red", "self_harm"),  # a cut to oneself, misspelt
    ("she used to love drawing, now she just stays in her room all day", "orange", "child_distress"),  # withdrawal
])
def test_pass_27_30_missed_phenomena(text: str, tier: str, category: str) -> None:
    assert tier_of(text) == (tier, category), text


def test_asking_whether_something_else_hurts_is_no_sign() -> None:
    assert tier_of("does it hurt to get a tattoo") == (None, None)


def test_two_danger_words_are_an_orange_sign_even_without_a_rule() -> None:
    result = SCANNER.scan("她很害怕 说有秘密")
    assert (result.tier, [h.rule for h in result.hits]) == ("orange", ["signals"])
    assert SCANNER.scan("她不害怕 也没有秘密").tier is None  # denied words do not count
    assert SCANNER.scan("很害怕").tier is None  # one is not enough (and no one is named: no near-hit)


def test_red_outranks_orange_and_every_category_is_listed() -> None:
    result = SCANNER.scan("他被同学欺负了，回家说不想活了, and someone hit him")
    assert result.tier == "red" and result.category == "suicide"
    assert result.categories == ["suicide", "physical_abuse", "bullying"]  # "hit him": the broad net
    assert {"不想活", "被同学欺负"} <= set(result.terms)


def test_an_intention_around_a_red_term_is_orange() -> None:
    """想离家出走 is an intention: orange, though 离家出走 alone is red."""
    assert tier_of("他离家出走了") == ("red", "missing")
    assert tier_of("他想离家出走") == ("orange", "missing")


def test_every_hit_explains_its_rule_pattern_and_words() -> None:
    [hit] = SCANNER.scan("孩子喝了一口农药").as_json()["hits"]  # type: ignore[misc]
    assert hit["rule"] == "poison_taken" and hit["tier"] == "red" and hit["category"] == "suicide"
    assert hit["pattern"] == "{ingest}{aspect*}~4{poison}"
    assert hit["matched"] == "喝了一口农药"
    assert hit["words"] == {"ingest": "喝", "aspect": "了", "poison": "农药"}


def test_scanning_is_fast() -> None:
    import time

    texts = [t for t, *_ in PARTICLES + SIGNS] + NOTHING
    started = time.perf_counter()
    for _ in range(5):
        for text in texts:
            SCANNER.scan(text)
    per_message = (time.perf_counter() - started) / (5 * len(texts))
    assert per_message < 0.01  # ~0.5 ms on the CI machine; `make eval-risk` prints the figure


# -- patterns ------------------------------------------------------------------------------------


def test_hyperbole_phrases_expand_alternatives() -> None:
    assert expand("(打|揍)(他|她)") == ["打他", "打她", "揍他", "揍她"]
    assert expand("no point (in|) living") == ["no point in living", "no point living"]


def test_english_inflections() -> None:
    assert {"cut", "cuts", "cutting"} <= set(inflections("cut"))
    assert {"hope", "hoped", "hoping", "hopes"} <= set(inflections("hope"))
    assert {"cry", "cries", "cried", "crying"} <= set(inflections("cry"))


def _compile(locale: str, pattern: str, words: dict[str, list[str]] | None = None):  # type: ignore[no-untyped-def]
    lexicon = copy.deepcopy(SCANNER.lexicon)
    if words:
        lexicon.locales[locale].words.update(words)
    return compiler_for(lexicon, locale).compile(pattern)


@pytest.mark.parametrize(
    ("locale", "pattern", "matches", "misses"),
    [
        ("zh-Hans", "{ingest}{aspect*}~4{poison}", ["喝了农药", "喝下去了半瓶农药", "吃耗子药"], ["喝水。农药", "农药"]),
        ("zh-Hans", "找不到(孩子|娃)!(的)", ["找不到孩子了"], ["找不到孩子的书"]),
        ("zh-Hans", "不想(再)?活", ["不想活", "不想再活"], ["不想干活了"]),
        ("zh-Hans", "zs", ["我想zs"], ["zsb", "abzs"]),
        ("en", "cut+ {self}", [" she cuts herself ", " cutting himself "], [" cute herself "]),
        ("en", "want* to ~2 die", [" wants to just die "], [" wants to eat and then maybe die "]),
    ],
)
def test_patterns_compile_to_what_they_say(locale: str, pattern: str, matches: list[str], misses: list[str]) -> None:
    compiled = _compile(locale, pattern)
    for text in matches:
        assert compiled.regex.search(text), (pattern, text)
    for text in misses:
        assert not compiled.regex.search(text), (pattern, text)


@pytest.mark.parametrize(
    ("locale", "pattern", "reason"),
    [
        ("zh-Hans", "(打|揍", "unbalanced or nested brackets"),
        ("zh-Hans", "((打|揍)|踢)他", "unbalanced or nested brackets"),
        ("zh-Hans", "打|揍", "| outside brackets"),
        ("zh-Hans", "{nowhere}打", "unknown word list {nowhere}"),
        ("zh-Hans", "打~20他", "a gap is ~1 to ~12"),
        ("zh-Hans", "~3", "matches an empty text"),
        ("zh-Hans", "打他?", "? only follows"),
        ("en", "Kill Myself", "words are lowercase"),
    ],
)
def test_bad_patterns_are_refused(locale: str, pattern: str, reason: str) -> None:
    with pytest.raises(PatternError, match=re.escape(reason)):
        _compile(locale, pattern)


# -- a broken lexicon ------------------------------------------------------------------------------


def good_lexicon() -> dict:  # type: ignore[type-arg]
    def rules(locale: str) -> list[dict]:  # type: ignore[type-arg]
        return [{"id": c, "category": c, "tier": "red" if c != "bullying" else "orange",
                 "patterns": [f"{c}词" if locale == "zh-Hans" else f"{c.replace('_', '')} now"]} for c in CATEGORIES]

    reasons = {"zh-Hans": "有风险词", "en": "risk words"}
    return {
        "id": "lexicon", "version": 4, "source": "written for the tests", "licence": "CC BY-NC-SA 4.0",
        "reasons": {"red": reasons, "orange": reasons},
        "locales": {
            "zh-Hans": {"words": {"act": ["喝", "吃"]}, "negation": {"max_gap": 2, "cues": ["没"], "fillers": ["说"]},
                        "hyperbole": ["热死"], "rules": rules("zh-Hans")},
            "en": {"negation": {"max_gap": 2, "cues": ["not"], "fillers": ["said"]}, "hyperbole": ["killing me"],
                   "rules": rules("en")},
        },
    }


def broken(change):  # type: ignore[no-untyped-def]
    data = copy.deepcopy(good_lexicon())
    change(data)
    return data


L = "risk/lexicon.yaml"


@pytest.fixture
def library(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "content" / "texts", tmp_path / "texts")
    return tmp_path


def write_lexicon(root: Path, data: object, name: str = "lexicon.yaml") -> Path:
    path = root / "risk" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_minimal_lexicon_is_valid(library: Path) -> None:
    write_lexicon(library, good_lexicon())
    bundle, problems = check_content(library)
    assert problems == [] and bundle.lexicon is not None
    result = RiskScanner(bundle.lexicon).scan("他说suicide词, and bullying now")
    assert (result.tier, result.terms) == ("red", ["suicide词", "bullying now"])


def _rule(d: dict, locale: str, index: int) -> dict:  # type: ignore[type-arg]
    return d["locales"][locale]["rules"][index]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (broken(lambda d: d["locales"].pop("en")), f"{L}: locales: missing locale en"),
        (broken(lambda d: d.update(extra=1)), f"{L}: extra: Extra inputs are not permitted"),
        (broken(lambda d: d.update(version=3)), f"{L}: version: Input should be greater than or equal to 4"),
        (broken(lambda d: d["reasons"].pop("orange")), f"{L}: reasons: missing reasons for orange"),
        (broken(lambda d: d["locales"]["en"]["rules"].pop(0)), f"{L}: locales.en.rules: no rule for suicide"),
        (broken(lambda d: _rule(d, "en", 0).update(category="abuse")), f"{L}: locales.en.rules.0.category"),
        (broken(lambda d: _rule(d, "en", 0).update(tier="yellow")), f"{L}: locales.en.rules.0.tier"),
        (broken(lambda d: _rule(d, "en", 1).update(id="suicide")),
         f"{L}: locales.en.rules.1.id: 'suicide' is already the id of rules.0"),
        (broken(lambda d: _rule(d, "zh-Hans", 0)["patterns"].append("(想|要)死(")),
         f"{L}: locales.zh-Hans.rules.0.patterns.1: unbalanced or nested brackets"),
        (broken(lambda d: _rule(d, "zh-Hans", 0)["patterns"].append("{drink}农药")),
         f"{L}: locales.zh-Hans.rules.0.patterns.1: unknown word list {{drink}}"),
        (broken(lambda d: _rule(d, "en", 1)["patterns"].append("suicide now")),
         f"{L}: locales.en.rules.1.patterns.1: 'suicide now' is already listed at locales.en.rules.0.patterns.0"),
        (broken(lambda d: d["locales"]["zh-Hans"]["words"].update(loop=["{loop}x"])),
         f"{L}: locales.zh-Hans.words.loop: word list {{loop}} refers to itself"),
        (broken(lambda d: d["locales"]["zh-Hans"]["words"].update(gap=["喝~3"])),
         f"{L}: locales.zh-Hans.words.gap: a word list entry may not have a gap ~N"),
        (broken(lambda d: d["locales"]["en"]["hyperbole"].append("Dying To")),
         f"{L}: locales.en.hyperbole.1: 'Dying To': plain words only"),
        (broken(lambda d: d["locales"]["en"]["negation"].update(cues=[False])),
         f"{L}: locales.en.negation.cues.0: Input should be a valid string"),
        (broken(lambda d: _rule(d, "en", 0).update(cleared_by=["All Good"])),
         f"{L}: locales.en.rules.0.cleared_by.0: 'All Good' is not a plain word"),
        (broken(lambda d: _rule(d, "en", 0).update(lowered_by=["(lol|lmao)"])),
         f"{L}: locales.en.rules.0.lowered_by.0: '(lol|lmao)' is not a plain word"),
        (broken(lambda d: d["locales"]["en"].update(near={"window": 8, "danger": {"suicide": ["Die*"]}, "person": ["he"]})),
         f"{L}: locales.en.near.danger.suicide.0: 'Die*' is not a plain word"),
        (broken(lambda d: d["locales"]["zh-Hans"].update(near={"window": 12, "danger": {"abuse": ["打他"]}, "person": ["娃"]})),
         f"{L}: locales.zh-Hans.near.danger.abuse"),
        (broken(lambda d: d["locales"]["zh-Hans"].update(near={"window": 40, "danger": {"suicide": ["农药"]}, "person": ["娃"]})),
         f"{L}: locales.zh-Hans.near.window: Input should be less than or equal to 20"),
        (broken(lambda d: d["locales"]["zh-Hans"].update(near={"window": 12, "danger": {"suicide": ["农药"]}, "person": ["娃"],
                                                                "quiet": ["好(多)了"]})),
         f"{L}: locales.zh-Hans.near.quiet.0: '好(多)了' is not a plain word"),
    ],
)
def test_broken_lexicons_are_reported_with_file_field_and_reason(library: Path, data: dict, expected: str) -> None:  # type: ignore[type-arg]
    write_lexicon(library, data)
    problems = [str(p) for p in check_content(library)[1]]
    assert any(p.startswith(expected) for p in problems), problems


def test_a_lexicon_under_another_name_is_refused(library: Path) -> None:
    write_lexicon(library, good_lexicon(), "words.yaml")
    problems = [str(p) for p in check_content(library)[1]]
    assert "risk/words.yaml: id: must equal the file name ('words')" in problems


def test_the_shipped_lexicon_passes_content_check_and_covers_every_category_in_both_languages() -> None:
    bundle, problems = check_content(PROJECT_ROOT / "content")
    assert problems == [] and bundle.lexicon is not None and bundle.lexicon.version == 4
    for locale in ("zh-Hans", "en"):
        rules = bundle.lexicon.locales[locale].rules
        assert {r.category for r in rules} == set(CATEGORIES)
        assert {r.tier for r in rules} == {"red", "orange"}


# -- the CLI ---------------------------------------------------------------------------------------


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str,
            *args: str) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli_main(["risk", "scan", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_cli_prints_one_json_object_per_line_with_tier_category_and_explanations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, _ = run_cli(monkeypatch, capsys, "他说不想活了\n热死了\n\n孩子被同学欺负了\r\n没有想死\n")
    assert code == 0
    assert [(r["text"], r["hit"], r["tier"], r["severity"], r["category"], r["terms"], r["negated"]) for r in rows] == [
        ("他说不想活了", True, "red", "red", "suicide", ["不想活"], []),
        ("热死了", False, None, None, None, [], []),
        ("孩子被同学欺负了", True, "orange", "orange", "bullying", ["被同学欺负"], []),
        ("没有想死", False, None, None, None, [], ["想死"]),
    ]
    assert rows[0]["hits"] == [{"rule": "ideation", "tier": "red", "category": "suicide", "pattern": "不想{aspect?}(再)?活",
                                "matched": "不想活", "words": {}}]
    assert rows[0]["categories"] == ["suicide"]


def test_cli_keeps_chinese_readable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("想离家出走\n"))
    assert cli_main(["risk", "scan"]) == 0
    assert '"text": "想离家出走"' in capsys.readouterr().out  # ensure_ascii=False


def test_cli_uses_another_lexicon_and_refuses_a_broken_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lexicon(tmp_path, good_lexicon())
    code, rows, _ = run_cli(monkeypatch, capsys, "missing now\nnot missing now\n", "--lexicon", str(path))
    assert code == 0 and [r["hit"] for r in rows] == [True, False]

    path = write_lexicon(tmp_path, broken(lambda d: d["locales"].pop("en")))
    code, rows, err = run_cli(monkeypatch, capsys, "anything\n", "--lexicon", str(path))
    assert code == 1 and rows == []
    assert f"{L}: locales: missing locale en" in err.splitlines()


def test_load_scanner_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(LexiconInvalid, match="risk/missing.yaml: -: cannot read"):
        load_scanner(tmp_path / "missing.yaml")


@pytest.mark.parametrize(("text", "category"), [
    ("她很害怕", "physical_abuse"),  # a danger word next to a person
    ("娃这两天老往水库那边跑 一个人坐着发呆", "suicide"),
    ("伢大腿上好几道疤 我问咋弄的他就跑了", "self_harm"),
    ("妈妈生气就掐我 胳膊上紫了", "physical_abuse"),
    ("老汉我腰杆直不起来了 两个娃三天没吃上热饭", "guardian_crisis"),
    ("some older boys take his lunch money", "bullying"),
    ("my daughter didnt turn up at school today", "missing"),
    ("i burn myself with a lighter when it gets bad", "self_harm"),
])
def test_a_danger_word_near_a_person_or_body_word_is_orange(text: str, category: str) -> None:
    result = SCANNER.scan(text)
    assert (result.tier, result.category) == ("orange", category), result.as_json()



@pytest.mark.parametrize("text", ["她很害怕", "孙女现在一说要去她姑父家就哭 死活不去", "the boy took the bus money and went off to find his mother",
                                  "我这眼睛看不清了 孩子饭都是自己弄", "my son texted me sorry for everything"])
def test_the_broad_net_catches_what_no_rule_does(text: str) -> None:
    result = SCANNER.scan(text)
    assert result.tier == "orange" and [h.rule for h in result.hits] == ["near"], result.as_json()
    assert result.as_json()["hits"][0]["words"].keys() == {"danger", "person"}  # the scan explains it


@pytest.mark.parametrize("text", [
    "很害怕",  # no person or body word
    "她不害怕",  # denied right before
    "他没说要喝农药",  # inside a denied rule match
    "孩子发烧 吃了一片退烧药 好多了",  # everyday reassurance quiets the net
    "娃在河边洗衣服 我看着呢",
    "he cut his finger slicing bread, a plaster sorted it",
    "she beat her classmate at ping pong",
    "孙子说想死你了",  # hyperbole masked
])
def test_the_broad_net_stays_quiet_for_everyday_life(text: str) -> None:
    assert SCANNER.scan(text).tier is None, SCANNER.scan(text).as_json()


# -- whom the words are about ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "tier"), [
    # a clearing phrase about an animal or an object clears nothing …
    ("孙子说去河边放鸭子 到现在天黑了人还没回来 鸭子自己回来了", "orange"),
    ("天黑了人还没回来鸭子自己回来了", "orange"),  # voice-to-text: no space either
    ("孩子一晚上没回家 找到了他的书包", "red"),  # found: his school bag, not him
    ("he didnt come home last night. the dog came back this morning", "red"),
    ("my daughter didnt come home last night, we found her bike by the river", "red"),
    # … one about the person, or with no other subject, still does
    ("孩子一晚上没回家 今天早上他自己回来了", None),
    ("孩子一晚上没回家 今天早上自己回来了", None),
    ("孙子说去河边放鸭子 天黑了人还没回来 后来他赶着鸭子自己回来了", None),
    ("天都黑了孙子还没回来 他手机打通了", None),
    ("he didnt come home last night. he came back this morning", None),
    ("my daughter didnt come home last night, found her at her friends", None),
])
def test_a_clearing_phrase_must_be_about_the_person(text: str, tier: str | None) -> None:
    assert SCANNER.scan(text).tier == tier, SCANNER.scan(text).as_json()


@pytest.mark.parametrize(("text", "category"), [
    ("孩子老是哭", "child_distress"), ("孙子天天哭 问他也不说", "child_distress"),
    ("娃想妈妈 天天哭", "child_distress"),  # the subject named in the clause before
    ("我孙子每天晚上睡不着", "child_distress"),  # 我 is only the possessive
    ("我老是哭", "guardian_crisis"), ("天天哭", "guardian_crisis"),  # the writer herself, or no subject
    ("老伴走了以后我一个人带三个娃 天天哭 饭也做不动了", "guardian_crisis"),  # 娃 is the object there
    ("孩子他妈天天哭", "guardian_crisis"),
    ("she cries every night", "child_distress"), ("my daughter cries herself to sleep", "child_distress"),
    ("i cry every night since the kids left", "guardian_crisis"),
])
def test_the_category_follows_who_is_crying(text: str, category: str) -> None:
    result = SCANNER.scan(text)
    assert (result.tier, result.category) == ("orange", category), result.as_json()


def test_child_category_needs_the_subject_words(tmp_path: Path) -> None:
    def without_subjects(data: dict) -> None:
        data["locales"]["en"]["rules"][0]["child_category"] = "child_distress"
    with pytest.raises(LexiconInvalid, match=r"rules\.0\.child_category: needs the locale's subjects"):
        load_scanner(write_lexicon(tmp_path, broken(without_subjects)))


# -- how the text is read before matching ---------------------------------------------------------

@pytest.mark.parametrize(("text", "tier", "category"), [
    ("孩子喝了農藥", "red", "suicide"), ("她說要跳樓", "red", "suicide"),  # traditional characters (OpenCC t2s)
    ("孩\u200b子\u200b喝\u200b了\u200b农\u200b药", "red", "suicide"),  # zero-width spaces between characters
    ("我想自.杀", "red", "suicide"), ("娃说要喝-农-药", "red", "suicide"), ("我想自*杀", "red", "suicide"),  # separators
    ("ｗｏ想ｚｓ", "red", "suicide"),  # full-width letters
    ("娃说要吃一整瓶💊", "red", "suicide"), ("she took all the 💊 in the drawer", "red", "suicide"),  # emoji as words
    ("he keeps saying s u i c i d e", "red", "suicide"),  # letters spelled out one by one
    ("wo zhen de bu xiang huo le", "red", "suicide"), ("wǒ xiǎng sǐ", "red", "suicide"),  # whole pinyin, tone marks
    ("感觉自己活着就是个累赘 想s", "red", "suicide"),  # homophone: 想s is 想死
    ("问我喝啥药死得快", "red", "suicide"),  # asking which way kills fastest
])
def test_the_text_is_normalised_before_matching(text: str, tier: str, category: str) -> None:
    result = SCANNER.scan(text)
    assert (result.tier, result.category) == (tier, category), result.as_json()


@pytest.mark.parametrize("text", ["xiang si ni le", "想死你了 过年就回来", "2024-10-01 考试", "😭😭 作业好多"])
def test_normalising_keeps_everyday_life_quiet(text: str) -> None:
    assert SCANNER.scan(text).tier is None, SCANNER.scan(text).as_json()


def test_the_chinese_lexicon_is_written_in_simplified_characters() -> None:
    # The scanner converts messages to simplified characters; a traditional one in the lexicon
    # would never match.
    from core.checkin.risk import normalise_zh
    data = yaml.safe_load(LEXICON.read_text(encoding="utf-8"))["locales"]["zh-Hans"]
    text = "".join(ch for ch in yaml.safe_dump(data, allow_unicode=True) if "\u3400" <= ch <= "\u9fff")
    assert normalise_zh(text) == text


@pytest.mark.parametrize(("text", "tier", "category"), [
    ("爸爸对不起你们 然后就不接电话了", "red", "suicide"),  # a farewell, then unreachable
    ("爸爸对不起你们", "orange", "suicide"),  # the farewell alone stays orange
    ("my son texted tell grandma im sorry and now his phone is off", "red", "suicide"),
    ("村里那个老头老给我闺女零食 上回还偷偷摸她腿", "red", "sexual_abuse"),  # two different signs of sexual harm
    ("有个男的老给她钱 还叫她别告诉家里", "orange", "sexual_abuse"),  # two readings of one sign
    ("nobody would even notice if i was gone", "orange", "suicide"),  # one thought, not two signs
    ("我女儿昨晚坐一辆面包车走了 村里人看到的 现在联系不上", "red", "missing"),  # two different signs, one rule
    ("娃把打药的瓶子拿到屋里去了 门从里面插上了 喊他也不开", "red", "suicide"),
    ("我女儿坐一辆面包车走了", "orange", "missing"),
    # giving belongings away and saying they will not be needed: two warning signs → red (the corpus
    # labels its kin red too: 把书啊球啊全送给隔壁 还跟我说奶奶以后你一个人要好好的)
    ("娃把玩具都送人了 还说以后用不着了", "red", "suicide"),
])
def test_orange_signs_that_together_are_red(text: str, tier: str, category: str) -> None:
    result = SCANNER.scan(text)
    assert (result.tier, result.category) == (tier, category), result.as_json()
    if tier == "red":
        assert "escalate" in [h.rule for h in result.hits]
        assert len([h for h in result.as_json()["hits"] if h["rule"] == "escalate"][0]["words"]) >= 2  # both signs shown


def test_an_escalation_names_its_signs_and_is_checked(tmp_path: Path) -> None:
    lexicon = good_lexicon()
    for rule in lexicon["locales"]["en"]["rules"]:
        rule["tier"] = "orange"
    lexicon["locales"]["en"]["escalate"] = [{"when": ["suicide", "missing"], "category": "suicide"}]
    scanner = load_scanner(write_lexicon(tmp_path, lexicon))
    result = scanner.scan("suicide now and missing now")
    assert result.tier == "red" and result.hits[-1].explain()["words"] == {"suicide": "suicide now", "missing": "missing now"}
    assert scanner.scan("suicide now").tier == "orange"
    lexicon["locales"]["en"]["escalate"] = [{"when": ["suicide"], "category": "suicide"}]
    with pytest.raises(LexiconInvalid, match="escalate"):
        load_scanner(write_lexicon(tmp_path, lexicon))
    lexicon["locales"]["en"]["escalate"] = [{"when": ["suicide", "no_such_rule"], "category": "suicide"}]
    with pytest.raises(LexiconInvalid, match=r"escalate\.0\.when\.1: 'no_such_rule' is neither a category, a rule id nor a cue id"):
        load_scanner(write_lexicon(tmp_path, lexicon))


@pytest.mark.parametrize("text", [
    "my son ran away from the neighbours goose haha",  # running away from a goose is no running away
    "孩子下面有点痒 带去卫生院看了 说是湿疹",  # a sign the doctor has already explained
    "娃说他养的鱼死了 伤心了一下午 晚上又好了", "同桌把我橡皮弄丢了 赔了我一块新的",  # a pet fish, a rubber
])
def test_round_20_everyday_life_stays_quiet(text: str) -> None:
    assert SCANNER.scan(text).tier is None, SCANNER.scan(text).as_json()


@pytest.mark.parametrize(("text", "tier"), [
    # a negation does not reach across a clause break the writer made (a space, a comma) …
    ("你问他有没有事 没有 他说想死", "red"), ("did he hurt himself? no, he said he wants to die", "red"),
    # … and still denies what follows it directly
    ("他没说想死", None), ("no he said he wants to die", None), ("孩子没喝农药 是我看错了", None),
])
def test_negation_stops_at_a_clause_break(text: str, tier: str | None) -> None:
    assert SCANNER.scan(text).tier == tier, SCANNER.scan(text).as_json()


@pytest.mark.parametrize("text", [
    "孩子喝了他爷爷打虫子剩下的半瓶敌敌畏",  # a relative clause between the act and the poison
    "娃喝了放在灶台上那瓶农药", "娃喝了一大口他爸买回来打棉花的农药",
])
def test_a_long_description_between_the_act_and_the_poison(text: str) -> None:
    assert SCANNER.scan(text).tier == "red", SCANNER.scan(text).as_json()


@pytest.mark.parametrize(("text", "tier"), [
    ("he talks about sucide", "red"), ("i wanna kil myself", "red"), ("i want to dye", "red"),  # misspelt
    ("i want to dye my hair", None),
    ("我想紫沙", "red"), ("不想或了", "red"), ("我想噶了", "orange"), ("我想鼠", "orange"),  # homophones and slang
])
def test_misspellings_and_homophones(text: str, tier: str | None) -> None:
    assert SCANNER.scan(text).tier == tier, SCANNER.scan(text).as_json()


def test_reassurance_quiets_the_net_only_near_the_danger_word() -> None:
    # A vaccine for the little brother, far from "她很害怕", says nothing about her fear …
    far = "她很害怕 这几天都这样 我也搞不清楚 前天带她弟弟去镇上卫生院打了疫苗 一路上也没说话"
    assert SCANNER.scan(far).tier == "orange", SCANNER.scan(far).as_json()
    # … a plaster beside the cut still does.
    assert SCANNER.scan("孩子发烧 吃了一片退烧药 好多了").tier is None


@pytest.mark.parametrize("text", ["孙子最近闷闷不乐的", "my son seems withdrawn lately"])
def test_the_broad_net_knows_a_childs_distress(text: str) -> None:
    result = SCANNER.scan(text)
    assert (result.tier, result.category, [h.rule for h in result.hits]) == ("orange", "child_distress", ["near"])


def test_a_long_message_is_scanned_in_reasonable_time() -> None:
    # Clearing phrases and clause breaks are worked out once a message: a 4,000-character message
    # full of them took 12 s when each hit searched them all again (now ~0.2 s on a busy machine).
    import time
    text = "孩子一晚上没回家 鸭子自己回来了 他天天哭 我没钱了 娃说不想活了 找到了他的书包 " * 95
    started = time.perf_counter()
    assert SCANNER.scan(text).tier == "red"
    assert time.perf_counter() - started < 3.0


# --- red as red: orange signs beside a cue (a sign that never raises on its own) are red -----------

@pytest.mark.parametrize(("red", "orange", "category"), [
    # a dangerous place and a farewell
    ("我已经站在水库边上了 老师再见 帮我跟奶奶说声对不起", "我已经站在水库边上了", "suicide"),
    ("儿子打电话说他在高速桥上 说这是最后一次给我打电话", "儿子打电话说这是最后一次给我打电话", "suicide"),
    ("my son posted goodbye everyone and we cant find him, his bike is at the reservoir",
     "my son posted goodbye everyone", "suicide"),
    # a farewell, then silence
    ("女儿发朋友圈说 这是最后一条 谢谢所有人 然后就把我拉黑了", "女儿发朋友圈说 这是最后一条", "suicide"),
    ("my son texted me sorry for everything mum and now his phone is off", "his phone is off", "suicide"),
    # the means in hand, and a time or a trigger
    ("伢子说他攒了一瓶百草枯 等考完试就喝", "伢子说他攒了一瓶百草枯", "suicide"),
    ("娃把敌敌畏瓶子揣在怀里 说我们再逼他上学他就喝", "娃把敌敌畏瓶子揣在怀里", "suicide"),
    ("my daughter said she has a plan and she knows where grandpa keeps the pesticide",
     "she knows where grandpa keeps the pesticide", "suicide"),
    # belongings given away, a letter left, the body after taking something, sitting long at the water
    ("俺孙女这两天老把她那些小玩意往同学家里送 昨晚还问我人死了会不会疼", "孙女问我人死了会不会疼", "suicide"),
    ("我真的撑不住了 写好了信放在枕头底下 明天就不用上学了", "我真的撑不住了 娃学费交不上", "suicide"),
    ("伢子把家里那瓶除虫的药水喝了小半瓶 现在肚子疼得打滚", "伢子把家里那瓶药水喝了小半瓶", "suicide"),
    ("my son said he wants to go to sleep and not wake up and now he is vomiting",
     "my son said he wants to go to sleep and not wake up", "suicide"),
    ("娃在河坝上坐了一下午 喊他也不应 眼睛直勾勾看着水", "娃在屋里 喊他也不应", "suicide"),
    # an act done on the body, with its wound
    ("孙女大腿内侧一道一道的 好多是新的还在渗血", "孙女大腿内侧一道一道的", "self_harm"),
    ("孫女手臂上都是刀痕", "孙女手臂上好多划痕", "self_harm"),
    ("i did it again with the pencil sharpener blade and it wont stop bleeding", "it wont stop bleeding", "self_harm"),
    ("found bloody tissues in her bin and a razor blade taped under her desk", "found a razor blade taped under her desk", "self_harm"),
    # a beating with injuries, day after day, or by several with money demanded
    ("his mothers boyfriend kicked him in the head and he passed out", "his mothers boyfriend kicked him", "physical_abuse"),
    ("my dad hits me every day", "my dad hits me", "physical_abuse"),
    ("我后爸天天打我 还不让我吃饭", "我后爸打我", "physical_abuse"),
    ("他们几个天天堵我在厕所 要我交钱 不交就扇我耳光", "他们几个天天堵我在厕所 要我交钱", "bullying"),
    ("five kids jumped him after school and he has a broken jaw", "five kids jumped him after school", "bullying"),
    # a child shut in, and without food
    ("my uncle locks me in the shed when he is angry and i dont get dinner", "i dont get dinner", "physical_abuse"),
    # sexual harm by force, with an injury there, or one act after another
    ("女儿说那个男的把她拉到玉米地里 还捂她的嘴", "女儿说那个男的把她拉到玉米地里", "sexual_abuse"),
    ("有个老头把我孙女带到他屋里 把门锁了 孙女出来一直哭", "有个老头把我孙女带到他屋里", "sexual_abuse"),
    ("女儿哭着说那个补习老师摸她 还亲她", "女儿哭着说那个补习老师摸她", "sexual_abuse"),
    ("she said her coach touched her between her legs", "she said her coach touched her", "sexual_abuse"),
    ("my stepbrother comes into my room at night and touches me under the blanket", "my stepbrother comes into my room at night",
     "sexual_abuse"),
    # a child gone overnight or for days, or whose story does not hold, and unreachable
    ("娃一宿没回 电话打不通 急死人了", "娃还没回来 电话打不通", "missing"),
    ("伢子跟他几个朋友出去 三天了还莫得信 手机打不通", "伢子跟他几个朋友出去 手机打不通", "missing"),
    ("she was supposed to be home at 6 yesterday and we still don't know where she is", "we still don't know where she is",
     "missing"),
    ("she went to school this morning and never arrived, phone off", "she went to school this morning, phone off", "missing"),
])
def test_an_orange_sign_beside_a_cue_is_red(red: str, orange: str, category: str) -> None:
    result = SCANNER.scan(red)
    assert (result.tier, result.category) == ("red", category), result.as_json()
    escalated = [h for h in result.as_json()["hits"] if h["rule"] == "escalate"]
    assert escalated and len(escalated[0]["words"]) >= 2, result.as_json()  # both signs shown
    assert SCANNER.scan(orange).tier == "orange", SCANNER.scan(orange).as_json()  # the sign alone stays orange


@pytest.mark.parametrize("text", [
    "孩子在河边钓鱼 说对不起奶奶 鱼跑了",
    "孩子吃了两片感冒药 肚子疼", "写好了信放在枕头底下",  # an apology at the river while fishing: no farewell at the water
    "孙女说活着没意思 我打电话没人接 原来她在睡觉",  # the silence is explained
    "孩子去同学家 电话打不通 后来联系上了",
    "他叔叔老是打娃 说是管教",  # "keeps hitting" stays a sign a person reads today
    "弟弟天天打我 烦死了",  # a sibling's squabble
    "孙女天天一个人跑到楼顶上发呆 叫她下来也不理",  # one place, read once
    "补课老师让她坐他腿上 还摸她头发说这是秘密",  # 摸头发 is no second act
    "孙子踢球摔了一跤 脸上青了 膝盖还在流血 擦了药",
    "my son said sorry for everything he did at school, he is grounded now, phone is off",
    "my dad hits me every day in video games haha",
    "i found blades hidden in her pencil case",  # one sign, read once
    "my son fell off his bike and broke his arm, he was in hospital",
])
def test_cues_leave_everyday_and_single_signs_below_red(text: str) -> None:
    assert SCANNER.scan(text).tier != "red", SCANNER.scan(text).as_json()


@pytest.mark.parametrize("text", ["老师再见", "电话打不通", "等考完试就喝水", "goodbye everyone", "phone is off at night",
                                  "never arrived, traffic"])
def test_a_cue_alone_raises_nothing_new(text: str) -> None:
    lexicon = yaml.safe_load(LEXICON.read_text(encoding="utf-8"))
    for lex in lexicon["locales"].values():
        lex["cues"] = []
        lex["escalate"] = [e for e in lex["escalate"] if all(w in CATEGORIES or w in {r["id"] for r in lex["rules"]}
                                                                for w in e["when"])]
    without = RiskScanner(LexiconFile.model_validate(lexicon), SCANNER.model)
    assert SCANNER.scan(text).tier == without.scan(text).tier


def test_cues_only_promote_over_the_whole_corpus_and_everyday_set() -> None:
    """The set of messages raised (red or orange) is the same with and without the cues: they turn
    orange into red and never raise a silent message, so recall figures stay what they were."""
    lexicon = yaml.safe_load(LEXICON.read_text(encoding="utf-8"))
    for lex in lexicon["locales"].values():
        ids = {c["id"] for c in lex.get("cues", [])}
        assert ids, "the shipped lexicon has cues"
        lex["cues"] = []
        lex["escalate"] = [e for e in lex["escalate"] if not ids & set(e["when"])]
    without = RiskScanner(LexiconFile.model_validate(lexicon))
    rules = RiskScanner(SCANNER.lexicon)  # the same lexicon without the statistical net
    data = PROJECT_ROOT / "tests" / "data" / "risk"
    texts = [line.split("\t")[-1] for name in ("zh.tsv", "en.tsv", "holdout.tsv", "ordinary.tsv")
             for line in (data / name).read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    promoted = 0
    for text in texts:
        before, after = without.scan(text).tier, rules.scan(text).tier
        assert (before is None) == (after is None), text
        assert not (before == "red" and after == "orange"), text
        promoted += before == "orange" and after == "red"
    assert promoted >= 60


def test_a_cue_is_checked_and_never_raises_on_its_own(tmp_path: Path) -> None:
    lexicon = good_lexicon()
    for rule in lexicon["locales"]["en"]["rules"]:
        rule["tier"] = "orange"
    lexicon["locales"]["en"]["cues"] = [{"id": "silence", "patterns": ["phone (is|) off"], "cleared_by": ["got through"]},
                                        {"id": "whole", "reading": True, "patterns": ["suicide now tonight"]}]
    lexicon["locales"]["en"]["escalate"] = [{"when": ["suicide", "silence"], "category": "suicide"},
                                            {"when": ["suicide", "whole"], "category": "suicide"}]
    scanner = load_scanner(write_lexicon(tmp_path, lexicon))
    result = scanner.scan("suicide now and the phone is off")
    assert result.tier == "red" and result.hits[-1].explain()["words"] == {"suicide": "suicide now", "silence": "phone is off"}
    assert scanner.scan("the phone is off").tier is None  # a cue alone raises nothing
    assert scanner.scan("suicide now and the phone is not off").tier == "orange"  # denied
    assert scanner.scan("suicide now and the phone is off, then we got through").tier == "orange"  # cleared
    assert scanner.scan("suicide now tonight").tier == "red"  # a reading may lie on the sign's own words
    lexicon["locales"]["en"]["cues"][1]["reading"] = False
    assert load_scanner(write_lexicon(tmp_path, lexicon)).scan("suicide now tonight").tier == "orange"  # one sign read twice
    lexicon["locales"]["en"]["escalate"] = [{"when": ["silence", "whole"], "category": "suicide"}]
    with pytest.raises(LexiconInvalid, match=r"escalate\.0\.when: names only cues"):
        load_scanner(write_lexicon(tmp_path, lexicon))
    lexicon["locales"]["en"]["escalate"] = [{"when": ["suicide", "silence"], "category": "suicide"}]
    with pytest.raises(LexiconInvalid, match=r"cues\.1\.id: 'whole' is named by no escalate combo"):
        load_scanner(write_lexicon(tmp_path, lexicon))
    lexicon["locales"]["en"]["cues"][1]["id"] = "missing"
    with pytest.raises(LexiconInvalid, match=r"cues\.1\.id: 'missing' is already a cue, rule or category name"):
        load_scanner(write_lexicon(tmp_path, lexicon))


@pytest.mark.parametrize(("text", "tier"), [
    ("网上有人让女儿发裸照 不发就威胁她", "red"),  # someone doing it to our child is no story about someone else
    ("听说有人让孩子发裸照", "orange"),  # hearsay stays a story
    ("谢谢所有人 我不想活了", "red"),  # 所有人 (everyone) is no 有人 (someone)
    ("my girl told me on video the old man at the shop put his hand inside her pants", "red"),  # a video call
    ("i saw a video where a man put his hand inside her pants", "orange"),  # a story on video
])
def test_frames_that_are_no_story(text: str, tier: str) -> None:
    assert SCANNER.scan(text).tier == tier, SCANNER.scan(text).as_json()
# -- recall pass on rounds 25/26 (tests/data/risk/README.md): phenomena, in other words ----------

SLANG_IN_JEST = [  # teens' slang with a joke or schoolwork: at most orange, nothing when said to be a joke
    ("物理作业写到半夜 真的会紫砂", "orange"), ("英语听写又错一半 zs算了 哈哈", "orange"),
    ("月考成绩出来了 想紫砂 开玩笑的啦", None),
    ("this essay is due at 8 i'm gonna kms lol", "orange"), ("bio quiz tomorrow, kms fr lmao", "orange"),
    ("ugh kms, jk jk, see you at practice", None),
]


@pytest.mark.parametrize(("text", "tier"), SLANG_IN_JEST)
def test_slang_with_a_joke_or_schoolwork_is_never_red(text: str, tier: str | None) -> None:
    assert tier_of(text)[0] == tier


@pytest.mark.parametrize("text", ["lol 我真的想紫砂 药都攒好了 今晚就吃", "lol i took all of the sleeping pills, kms",
                                  "紫砂了 哈哈 我已经站在楼顶边上了", "kms lol, wrote my goodbye letter and im on the roof rn"])
def test_a_joke_marker_does_not_silence_other_danger_signs(text: str) -> None:
    assert tier_of(text)[0] == "red", text


def test_slang_alone_is_still_red_and_explains_what_lowered_it() -> None:
    assert tier_of("活着好累 想紫砂")[0] == "red"
    assert tier_of("i just want to kms")[0] == "red"
    hit = SCANNER.scan("数学卷子又没及格 紫砂吧").as_json()["hits"][0]
    assert (hit["tier"], hit["lowered_by"]) == ("orange", "卷子")


RECALL_25_26 = [  # the signs the first look missed, in other words
    ("孙子把他最喜欢的卡牌全送给同桌了 还说爷爷以后别担心我了", "suicide"),
    ("my daughter say to me dont worry about me anymore mama, and she give her bike to cousin", "suicide"),
    ("闺女半夜发了条说说 这个世界不值得 第二天早上就删了", "suicide"),
    ("he post at midnight the world is not worth it and delete after", "suicide"),
    ("网上有个男的一直让我女儿拍不穿衣服的照片 说不发就发到她班群里", "sexual_abuse"),
    ("someone on the internet make my girl send naked photo and now he say he will share to her school unless she send more",
     "sexual_abuse"),
    ("孙女说游戏里认识的一个哥哥老给她发红包 还让她晚上在卫生间开视频", "sexual_abuse"),
    ("a guy from a game keeps sending my son game credit and asked him to video call from the shower", "sexual_abuse"),
    ("班上同学都叫他没妈的孩子 还把他的椅子踢翻了", "bullying"),
    ("the boys call my daughter beggar and pull her chair away when she sit", "bullying"),
    ("我一坐下 旁边的人就都搬开桌子走了", "bullying"),
    ("at lunch the whole table get up when he sits, nobody talk to him", "bullying"),
    ("孩子三天两头跟我要钱 说是买资料 老师说没有收过这个费", "bullying"),
    ("every week my son keep asking money for school trip but teacher say there is no such fee", "bullying"),
    ("he not want to go school anymore since the big boys take his things", "bullying"),
    ("伢这几天老打听去东莞的车票要多少钱 说要自己去东莞找他爸", "missing"),
    ("my girl asked her auntie how much the train ticket to Shanghai is, and she put her clothes in the schoolbag",
     "missing"),
    ("我脑梗了 半边身子动不了 在床上躺了三天 屋里没吃的了 孙子才五岁", "guardian_crisis"),
    ("奶奶最近老忘关煤气 前天出去买菜还找不到回家的路", "guardian_crisis"),
    ("my father in law who keep the children had a stroke this week, the kids are alone at home and no one with them",
     "guardian_crisis"),
    ("grandma forgot to turn off the stove twice this week and last night she could not find the way back from the shop",
     "guardian_crisis"),
    ("since two days the uncle not give him food because he broke a bowl", "physical_abuse"),
]


@pytest.mark.parametrize(("text", "category"), RECALL_25_26)
def test_signs_missed_in_rounds_25_26_are_raised(text: str, category: str) -> None:
    result = SCANNER.scan(text)
    assert result.tier is not None, text
    assert category in result.categories, (text, result.categories)


QUIET_25_26 = [  # what raised a false alarm in rounds 25/26, in other words
    ("外孙昨晚没回来睡 他在他姑姑家写作业 姑姑打了电话的 今天直接去学校了", None),
    ("my son didn't come home last night, he is at his grandma house, she called me, all fine", None),
    ("孙子拿竹竿打柿子 不小心把鸡窝打翻了", None),
    ("爷爷带着娃用长杆子敲板栗 娃乐得不行", None),
    ("娃腿上划了道口子 是跟我去割猪草被镰刀带到的 擦了碘伏", None),
    ("闺女胳膊上一道一道的 吓我一跳 是用水彩笔画的 一洗就掉", None),
    ("他爹老说再逃课就打断他的腿 就是嘴上吓唬 从来没动过手", None),
    ("孙女说下面痒 卫生院大夫说是天热捂的 让勤换内裤", None),
    ("学校开了心理健康班会 老师说遇到想不开的同学要马上告诉老师", None),
    ("今天割了一天稻子 累得腰都直不起来 娃给我捶背", None),
    ("grandma's blood pressure tablets finished, I bought more at the pharmacy, she is fine", None),
    ("the doctor did a blood test for my son, everything is normal", None),
]


@pytest.mark.parametrize(("text", "tier"), QUIET_25_26)
def test_false_alarms_of_rounds_25_26_stay_quiet(text: str, tier: str | None) -> None:
    assert tier_of(text)[0] == tier, (text, SCANNER.scan(text).as_json()["hits"])
