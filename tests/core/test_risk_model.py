"""The statistical orange net (content/risk/model.json, core.checkin.risk_model): a dot product over
character 2–3-grams that may raise orange only where the rules raised and denied nothing."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from cli.main import main as cli_main
from core.checkin.risk import LexiconInvalid, RiskScanner, load_scanner, model_text, scanner_for
from core.checkin.risk_model import NgramModel, read_model
from core.config import PROJECT_ROOT
from core.content.loader import check_content
from core.content.risk_model import ModelFile, features

LEXICON = PROJECT_ROOT / "content" / "risk" / "lexicon.yaml"
SHIPPED = PROJECT_ROOT / "content" / "risk" / "model.json"


def tiny(threshold: float = 0.6, **weights: float) -> NgramModel:
    return NgramModel(ModelFile(kind="char-ngram-logistic", min_n=2, max_n=3, bias=-1.0, threshold=threshold,
                                weights=weights or {"蹲墙": 9.0, "墙角": 9.0, "好好": -9.0},
                                categories={"蹲墙": "child_distress", "墙角": "child_distress"}))


def test_features_are_the_distinct_two_and_three_grams() -> None:
    assert features("喝了药") == {" 喝", "喝了", "了药", "药 ", " 喝了", "喝了药", "了药 "}  # a space at each end
    assert features("hi  yo") == {" h", "hi", "i ", " hi", "hi ", "i y", " y", "yo", "o ", " yo", "yo "}


def test_latin_words_and_word_pairs_are_features_beside_the_characters() -> None:
    """Word n-grams for Latin-script text (lower case, accents off), never across a sentence or a
    Chinese character; prefixed `W:`, which normalised (lower-case) text can never produce."""
    words = {g for g in features(model_text("Blood pressure pills. Naïve 孩子 ok"), word_n=2) if g.startswith("W:")}
    assert words == {"W:blood", "W:pressure", "W:pills", "W:blood pressure", "W:pressure pills", "W:naive", "W:ok"}
    assert features("hi yo", word_n=1) - features("hi yo") == {"W:hi", "W:yo"}
    assert not {g for g in features("喝了药", word_n=2) if g.startswith("W:")}
    model = NgramModel(ModelFile(kind="char-ngram-logistic", min_n=2, max_n=3, word_n=2, bias=-1.0, threshold=0.6,
                                 weights={"W:stool away": 9.0, "W:kick": 4.0}, categories={"W:stool away": "bullying"}))
    score = model.score(model_text("They kick his stool away every lunch"))
    assert score.raised and score.category == "bullying" and score.top[0][0] == "W:stool away"
    assert not model.score(model_text("the stool is away in the shed now")).raised


@pytest.mark.parametrize("weights", [{"W:": 1.0}, {"abcde": 1.0}, {"W:" + "x" * 70: 1.0}])
def test_a_feature_that_is_neither_an_ngram_nor_a_word_is_refused(weights: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ModelFile(kind="char-ngram-logistic", min_n=2, max_n=3, word_n=2, bias=0.0, threshold=0.5, weights=weights)


def test_the_score_is_a_dot_product_scaled_to_unit_length() -> None:
    model = tiny()
    text = model_text("天天一个人蹲墙角")
    grams = features(text)
    z = -1.0 + (9.0 + 9.0) / math.sqrt(len(grams))
    score = model.score(text)
    assert score.probability == pytest.approx(1 / (1 + math.exp(-z)))
    assert score.raised and score.category == "child_distress"
    assert [g for g, _w in score.top] == ["墙角", "蹲墙"] or [g for g, _w in score.top] == ["蹲墙", "墙角"]
    assert not model.score(model_text("孩子好好的")).raised


def test_the_model_raises_orange_only_where_the_rules_are_silent() -> None:
    rules = load_scanner(LEXICON, model=False)
    scanner = RiskScanner(rules.lexicon, tiny())
    quiet = scanner.scan("孙子天天一个人蹲墙角")
    assert rules.scan("孙子天天一个人蹲墙角").tier is None
    assert quiet.tier == "orange" and quiet.category == "child_distress"
    explained = quiet.as_json()["hits"]
    assert explained[0]["rule"] == "model" and "probability" in explained[0]  # type: ignore[index]
    assert "墙角" in json.dumps(explained, ensure_ascii=False)
    # red stays the rules' (the model never lowers nor raises it), and a denied rule hit silences the model
    red = "孩子喝了农药 蹲墙角"
    assert scanner.scan(red).tier == "red" and all(h.rule != "model" for h in scanner.scan(red).hits)
    denied = "孩子没有想死 蹲墙角"
    assert rules.scan(denied).negated and scanner.scan(denied).tier is None
    assert scanner.scan("").tier is None
    cleared = "孩子一晚上没回家 蹲墙角 今天早上自己回来了"  # a rule matched and the writer cleared it
    assert rules.scan(cleared).tier is None and scanner.scan(cleared).tier is None


def test_the_shipped_model_is_valid_small_and_only_adds_orange() -> None:
    data = read_model(SHIPPED)
    assert 0.5 <= data.threshold < 1.0 and len(data.weights) <= 6000
    assert SHIPPED.stat().st_size < 300_000
    scanner = scanner_for(LEXICON)
    assert scanner.model is not None
    for text in ("孩子今天考试考了90分", "收到 谢谢主任", "my grandson got an A in maths today", "天冷了 给孩子加了件棉袄"):
        assert scanner.scan(text).tier is None, text


def test_a_broken_model_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "risk").mkdir()
    (tmp_path / "risk" / "lexicon.yaml").write_text(LEXICON.read_text(encoding="utf-8"), encoding="utf-8")
    bad = {"kind": "char-ngram-logistic", "min_n": 2, "max_n": 3, "bias": 0, "threshold": 1.5,
           "weights": {"喝了": 1.0}, "categories": {"喝了": "flying"}}
    (tmp_path / "risk" / "model.json").write_text(json.dumps(bad), encoding="utf-8")
    problems = [str(p) for p in check_content(tmp_path)[1]]
    assert any(p.startswith("risk/model.json: threshold:") for p in problems), problems
    assert any(p.startswith("risk/model.json: categories:") for p in problems), problems
    with pytest.raises(LexiconInvalid):
        load_scanner(tmp_path / "risk" / "lexicon.yaml")
    assert load_scanner(tmp_path / "risk" / "lexicon.yaml", model=False).model is None


def test_risk_scan_explains_a_model_hit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("孙子自从他妈走了 就不爱出门了 天天一个人蹲墙角\n"))
    assert cli_main(["risk", "scan"]) == 0
    with_model = json.loads(capsys.readouterr().out)
    monkeypatch.setattr("sys.stdin", io.StringIO("孙子自从他妈走了 就不爱出门了 天天一个人蹲墙角\n"))
    assert cli_main(["risk", "scan", "--no-model"]) == 0
    without = json.loads(capsys.readouterr().out)
    assert without["tier"] is None
    assert with_model["tier"] == "orange" and with_model["hits"][0]["rule"] == "model"
    assert with_model["hits"][0]["words"]  # the n-grams that pushed it, with their weights


@pytest.mark.parametrize("text", ["13", "2008", "好的", "ok", "12:30", "嗯嗯 1 2"])
def test_a_message_too_short_to_judge_raises_nothing_from_the_model(text: str) -> None:
    """A typed number, "ok" or "好的" in a conversation says too little for a statistical
    judgement (a bare "13" once scored 0.72 on the shipped model): the model keeps quiet below
    six letters, whatever its probability, and the rules still read the message."""
    shipped = load_scanner(LEXICON)
    assert shipped.scan(text).tier is None
    scanner = RiskScanner(load_scanner(LEXICON, model=False).lexicon, tiny())
    assert scanner.scan("蹲墙角").tier is None  # the tiny model's strongest words, but three letters
    assert scanner.scan("孙子天天一个人蹲墙角").tier == "orange"
    assert shipped.scan("想死").tier == "red"  # short, and a rule: still read
