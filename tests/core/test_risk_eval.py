"""The risk scanner against the project's own labelled corpus (tests/data/risk/, `make eval-risk`):
red+orange recall at least 0.95 and red false alarms at most 0.03, and the corpus keeps its shape
(zh-Hans and en, ≥ 40 signals per category, ≥ 250 hard negatives, ≥ 600 messages)."""
from __future__ import annotations

import importlib.util
import sys
from collections import Counter

from core.checkin.risk import scanner_for
from core.config import PROJECT_ROOT
from core.content.risk import CATEGORIES

_spec = importlib.util.spec_from_file_location("eval_risk", PROJECT_ROOT / "scripts" / "eval_risk.py")
assert _spec is not None and _spec.loader is not None
eval_risk = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("eval_risk", eval_risk)  # dataclasses look their module up
_spec.loader.exec_module(eval_risk)

SCANNER = scanner_for(PROJECT_ROOT / "content" / "risk" / "lexicon.yaml")


def test_the_corpus_has_its_shape() -> None:
    examples = eval_risk.read_examples(eval_risk.CORPUS)
    assert len(examples) >= 600
    assert {e.lang for e in examples} == {"zh-Hans", "en"}
    signals = Counter(e.category for e in examples if e.tier != "none")
    assert all(signals[c] >= 40 for c in CATEGORIES), signals
    assert sum(e.tier == "none" for e in examples) >= 250
    assert {e.voice for e in examples} == {"grandparent", "parent", "child"}
    assert len({e.text for e in examples}) == len(examples)  # no message twice


def test_recall_and_false_red_on_the_corpus() -> None:
    by, _results, _per_message = eval_risk.evaluate(SCANNER, eval_risk.read_examples(eval_risk.CORPUS))
    figures = by["all"]
    assert figures.recall >= eval_risk.RECALL_MIN, f"red+orange recall {figures.recall:.3f}"
    assert figures.false_red_rate <= eval_risk.FALSE_RED_MAX, f"false red {figures.false_red_rate:.3f}"


def test_the_holdout_is_separate_from_the_corpus() -> None:
    corpus = {e.text for e in eval_risk.read_examples(eval_risk.CORPUS)}
    holdout = eval_risk.read_examples(eval_risk.HOLDOUT)
    assert len(holdout) >= 90 and not corpus & {e.text for e in holdout}


def test_a_round_is_measured_alone_with_and_without_the_net(capsys) -> None:  # type: ignore[no-untyped-def]
    examples = eval_risk.read_examples(eval_risk.CORPUS)
    rounds = {e.round for e in examples}
    assert {19, 20, 21} <= rounds and None in rounds  # sections that are no round are not counted as one
    assert eval_risk.main(["--round", "21"]) == 0
    out = capsys.readouterr().out
    assert "round 21: zh.tsv, en.tsv — 44 messages" in out and "ms per message" in out
    assert eval_risk.main(["--round", "999"]) == 2
    bare = eval_risk.rules_only(SCANNER)
    text = "她很害怕"  # caught by the broad net alone
    assert SCANNER.scan(text).tier == "orange" and bare.scan(text).tier is None


def test_the_rules_hold_the_thresholds_without_the_model() -> None:
    """The statistical net is trained on this corpus, so it may not be what holds the thresholds:
    the rules and their nets alone must (the model's honest figure is leave-rounds-out, in README)."""
    bare = eval_risk.load_scanner(PROJECT_ROOT / "content" / "risk" / "lexicon.yaml", model=False)
    assert bare.model is None and SCANNER.model is not None
    by, _results, _per_message = eval_risk.evaluate(bare, eval_risk.read_examples(eval_risk.CORPUS))
    figures = by["all"]
    assert figures.recall >= eval_risk.RECALL_MIN, f"red+orange recall without the model {figures.recall:.3f}"
    assert figures.false_red_rate <= eval_risk.FALSE_RED_MAX


def test_an_outside_batch_is_measured_from_its_file(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    batch = tmp_path / "round99.tsv"
    batch.write_text("# a blind batch\nred\tsuicide\tchild\tzh-Hans\t我想自杀\nnone\tsuicide\tparent\ten\tthis heat is killing me\n",
                     encoding="utf-8")
    assert eval_risk.main(["--file", str(batch), "--misses"]) == 0
    out = capsys.readouterr().out
    assert "round99.tsv" in out and "2 messages" in out and "1.000 (1/1)" in out
