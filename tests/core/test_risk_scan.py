"""The free-text risk scan: real signals are hits in both languages; negated ones and everyday
hyperbole are not; the lexicon is checked like all content; `shouwang risk scan` prints JSON lines."""
from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from cli.main import main as cli_main
from core.checkin.risk import LexiconInvalid, RiskScanner, load_scanner
from core.config import PROJECT_ROOT
from core.content.loader import check_content
from core.content.risk import PatternError, expand, expand_en, expand_zh

LEXICON = PROJECT_ROOT / "content" / "risk" / "lexicon.yaml"
SCANNER = load_scanner(LEXICON)


@pytest.mark.parametrize(
    ("text", "term", "category", "severity"),
    [
        # Chinese
        ("不想活了", "不想活", "suicide", "red"),
        ("他说不想活了", "不想活", "suicide", "red"),
        ("孩子说想自杀", "自杀", "suicide", "red"),
        ("他说活着没意思，死了算了", "活着没意思", "suicide", "red"),
        ("她说要喝农药", "喝农药", "suicide", "red"),
        ("爸爸喝醉了打他", "喝醉了打", "violence", "red"),
        ("身上有伤", "身上有伤", "abuse", "red"),
        ("有个大人摸她下面", "摸她下面", "abuse", "red"),
        ("想离家出走", "离家出走", "running_away", "red"),
        ("孩子不见了，到处找", "孩子不见了", "running_away", "red"),
        ("他用刀划自己的手", "划自己", "self_harm", "red"),
        ("他在学校被欺负", "被欺负", "violence", "red"),
        ("他老被同学欺负", "被同学欺负", "violence", "red"),
        ("他说想去死", "想去死", "suicide", "red"),
        ("他说活不下去了", "活不下去", "suicide", "red"),
        ("他不吃饭还说想死", "想死", "suicide", "red"),             # only fillers may stand between a cue and a term
        ("他是不是想死？", "想死", "suicide", "red"),               # a 是不是 question asks; it does not deny
        ("有没有人打他？", "打他", "abuse", "red"),
        ("没事，但是他说想死", "想死", "suicide", "red"),
        ("孩 子 说 想 死", "想死", "suicide", "red"),                # spaces do not hide a term
        # English
        ("she said she wants to kill herself", "kill herself", "suicide", "red"),
        ("he hurts himself", "hurts himself", "self_harm", "red"),
        ("someone touched her private parts", "private parts", "abuse", "red"),
        ("He says he doesn't want to live anymore", "doesn't want to live", "suicide", "red"),
        ("No, he said he wants to die", "wants to die", "suicide", "red"),
        ("He is not eating and wants to die", "wants to die", "suicide", "red"),
        ("She’s been cutting herself", "cutting herself", "self_harm", "red"),   # curly apostrophe
        ("Her dad hits her when he drinks", "hits her", "abuse", "red"),
        ("he has been talking about killing himself", "killing himself", "suicide", "red"),
        ("he wishes he was never born", "wishes he was never born", "suicide", "red"),
        ("he ran away from home last night", "ran away from home", "running_away", "red"),
        ("HE TALKS ABOUT SUICIDE", "suicide", "suicide", "red"),
        ("she is self-harming again", "self harming", "self_harm", "red"),
    ],
)
def test_real_signals_are_hits(text: str, term: str, category: str, severity: str) -> None:
    result = SCANNER.scan(text)
    assert result.hit, result
    assert term in result.terms and category in result.categories
    assert result.severity == severity


@pytest.mark.parametrize(
    "text",
    [
        # negated
        "没有想死", "他没说过不想活", "他从来没有说过想死", "没有人打他", "身上没有伤", "他不想自杀",
        "没听他说过想自杀", "He never said he wanted to die", "I don't think he is suicidal", "Nobody hurt him",
        "she didn't say she wants to kill herself",
        # everyday hyperbole and look-alikes
        "热死了", "作业烦死了", "笑死我了", "累死了", "饿死了", "今天冷死了", "气死我了", "奶奶想死你了",
        "给他打电话", "打他电话没人接", "他被打扰了", "跳楼价大甩卖", "他在划手机", "没人欺负他",
        "I'm dying to see him", "this homework is killing me", "I was bored to death", "a cake to die for",
        "I don't want to hurt her feelings",
        # ordinary messages
        "孩子今天很乖，作业写完了", "谢谢老师", "He had a good week at school", "",
    ],
)
def test_negations_hyperbole_and_ordinary_messages_are_not_hits(text: str) -> None:
    result = SCANNER.scan(text)
    assert not result.hit, result
    assert (result.terms, result.severity, result.categories) == ([], None, [])


def test_a_negated_term_is_reported_as_negated_for_authors() -> None:
    assert SCANNER.scan("他没说过不想活").as_json()["negated"] == ["不想活"]


def test_one_message_can_name_several_risks_and_takes_the_highest_severity() -> None:
    result = SCANNER.scan("他被欺负了，回家说不想活了, and someone hit him")
    assert result.categories == ["suicide", "abuse", "violence"]
    assert result.severity == "red"
    assert set(result.terms) == {"被欺负", "不想活", "hit him"}


def test_a_term_inside_a_longer_term_counts_once() -> None:
    result = SCANNER.scan("he ran away from home")
    assert result.terms == ["ran away from home"] and len(result.hits) == 1


def test_the_shipped_lexicon_passes_content_check_and_covers_every_category_in_both_languages() -> None:
    bundle, problems = check_content(PROJECT_ROOT / "content")
    assert problems == []
    assert bundle.lexicon is not None
    for locale in ("zh-Hans", "en"):
        assert set(bundle.lexicon.locales[locale].terms) == {"self_harm", "suicide", "abuse", "violence",
                                                             "running_away"}


# -- patterns ------------------------------------------------------------------------------------


def test_patterns_expand_alternatives_and_optional_parts() -> None:
    assert expand("(打|揍)(他|她)") == ["打他", "打她", "揍他", "揍她"]
    assert expand_zh("结束(自己的|)生命") == ["结束自己的生命", "结束生命"]
    assert expand_en("no point (in|) living") == [("no", "point", "in", "living"), ("no", "point", "living")]
    assert expand_en("wish* * dead") == [("wish*", "*", "dead")]


@pytest.mark.parametrize(
    ("locale_expand", "pattern", "reason"),
    [
        (expand_zh, "(打|揍", "unbalanced or nested brackets"),
        (expand_zh, "((打|揍)|踢)他", "unbalanced or nested brackets"),
        (expand_zh, "打|揍", "| outside brackets"),
        (expand_zh, "死", "shorter than two characters"),
        (expand_zh, "想 死", "characters only"),
        (expand_en, "Kill Myself", "words are lowercase"),
        (expand_en, "* dead", "may not start or end with a lone *"),
        (expand_en, "(a|b|c|d)(a|b|c|d)(a|b|c|d)(a|b|c|d)(a|b|c|d)", "expands to 1024 forms"),
    ],
)
def test_bad_patterns_are_refused(locale_expand, pattern: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PatternError, match=reason.replace("*", r"\*").replace("|", r"\|")):
        locale_expand(pattern)


# -- a broken lexicon ------------------------------------------------------------------------------


def good_lexicon() -> dict:  # type: ignore[type-arg]
    terms = {c: [f"{c}词"] for c in ("self_harm", "suicide", "abuse", "violence", "running_away")}
    en_terms = {c: [f"{c.replace('_', '')} now"] for c in terms}
    return {
        "id": "lexicon", "version": 1, "source": "written for the tests", "licence": "CC BY-NC-SA 4.0",
        "reasons": {"zh-Hans": "有风险词", "en": "risk words"},
        "locales": {
            "zh-Hans": {"negation": {"max_gap": 2, "cues": ["没"], "fillers": ["说"]}, "hyperbole": ["热死"],
                        "terms": terms},
            "en": {"negation": {"max_gap": 2, "cues": ["not"], "fillers": ["said"]}, "hyperbole": ["killing me"],
                   "terms": en_terms},
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
    assert RiskScanner(bundle.lexicon).scan("他说suicide词").terms == ["suicide词"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (broken(lambda d: d["locales"].pop("en")), f"{L}: locales: missing locale en"),
        (broken(lambda d: d.update(extra=1)), f"{L}: extra: Extra inputs are not permitted"),
        (broken(lambda d: d.update(id="words")), f"{L}: id: Input should be 'lexicon'"),
        (broken(lambda d: d["locales"]["en"]["terms"].pop("abuse")), f"{L}: locales.en.terms: no terms for abuse"),
        (broken(lambda d: d["locales"]["en"]["terms"].update(bullying=["x y"])),
         f"{L}: locales.en.terms.bullying"),
        # The old format's severity tiers are refused: every hit is red.
        (broken(lambda d: d["locales"]["zh-Hans"]["terms"].update(abuse={"orange": ["打人"]})),
         f"{L}: locales.zh-Hans.terms.abuse: Input should be a valid list"),
        (broken(lambda d: d["locales"]["zh-Hans"]["terms"]["suicide"].append("(想|要)死(")),
         f"{L}: locales.zh-Hans.terms.suicide.1: unbalanced or nested brackets"),
        (broken(lambda d: d["locales"]["en"]["terms"]["abuse"].append("suicide now")),
         f"{L}: locales.en.terms.abuse.1: 'suicide now' is already listed at locales.en.terms.suicide.0"),
        (broken(lambda d: d["locales"]["en"]["hyperbole"].append("Dying To")),
         f"{L}: locales.en.hyperbole.1: 'dying': words are lowercase".replace("'dying'", "'Dying'")),
        (broken(lambda d: d["locales"]["en"]["negation"].update(cues=[False])),
         f"{L}: locales.en.negation.cues.0: Input should be a valid string"),
    ],
)
def test_broken_lexicons_are_reported(library: Path, data: dict, expected: str) -> None:  # type: ignore[type-arg]
    write_lexicon(library, data)
    problems = [str(p) for p in check_content(library)[1]]
    assert any(p.startswith(expected) for p in problems), problems


def test_a_lexicon_under_another_name_is_refused(library: Path) -> None:
    write_lexicon(library, good_lexicon(), "words.yaml")
    problems = [str(p) for p in check_content(library)[1]]
    assert "risk/words.yaml: id: must equal the file name ('words')" in problems


# -- the CLI ---------------------------------------------------------------------------------------


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str,
            *args: str) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli_main(["risk", "scan", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_cli_prints_one_json_object_per_line(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, rows, _ = run_cli(monkeypatch, capsys, "他说不想活了\n热死了\n\nshe said she wants to kill herself\r\n没有想死\n")
    assert code == 0
    assert rows == [
        {"text": "他说不想活了", "hit": True, "terms": ["不想活"], "severity": "red", "categories": ["suicide"],
         "negated": []},
        {"text": "热死了", "hit": False, "terms": [], "severity": None, "categories": [], "negated": []},
        {"text": "she said she wants to kill herself", "hit": True, "terms": ["kill herself"], "severity": "red",
         "categories": ["suicide"], "negated": []},
        {"text": "没有想死", "hit": False, "terms": [], "severity": None, "categories": [], "negated": ["想死"]},
    ]


def test_cli_keeps_chinese_readable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("想离家出走\n"))
    assert cli_main(["risk", "scan"]) == 0
    assert '"text": "想离家出走"' in capsys.readouterr().out  # ensure_ascii=False


def test_cli_uses_another_lexicon_and_refuses_a_broken_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lexicon(tmp_path, good_lexicon())
    code, rows, _ = run_cli(monkeypatch, capsys, "violence now\nnot violence now\n", "--lexicon", str(path))
    assert code == 0 and [r["hit"] for r in rows] == [True, False]

    path = write_lexicon(tmp_path, broken(lambda d: d["locales"].pop("en")))
    code, rows, err = run_cli(monkeypatch, capsys, "anything\n", "--lexicon", str(path))
    assert code == 1 and rows == []
    assert f"{L}: locales: missing locale en" in err.splitlines()


def test_load_scanner_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(LexiconInvalid, match="risk/missing.yaml: -: cannot read"):
        load_scanner(tmp_path / "missing.yaml")
