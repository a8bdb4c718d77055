"""`make eval-risk`: the risk scanner against the labelled corpus in tests/data/risk/.

Prints, per category and per tier, recall (a red or orange message raised at least orange; a red
one raised red) and false alarms (an everyday message — a hard negative — raised orange or red;
raised red), the per-message scan time, and the same for the held-out set. The suite holds the
corpus to its thresholds (tests/core/test_risk_eval.py); the held-out set is reported only.

    python scripts/eval_risk.py [--holdout] [--misses] [--lexicon FILE] [--round N] [--rules-only] [--file TSV]

`--round N` measures only the messages under the `# round N …` comment in the corpus files (a
fresh batch's first look); `--file TSV` measures an outside file in holdout.tsv's format (tier,
category, voice, lang, text), e.g. a blind batch before it joins the corpus; `--rules-only` drops the broad orange net (`near:`) to show what the
rules alone catch (the statistical net is off too); `--no-model` drops only the statistical net
(content/risk/model.json, trained by `make train-risk`).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.checkin.risk import RiskScanner, load_scanner  # noqa: E402
from core.content.risk import CATEGORIES  # noqa: E402

DATA = ROOT / "tests" / "data" / "risk"
CORPUS = ("zh.tsv", "en.tsv")
HOLDOUT = ("holdout.tsv",)
TIERS = ("red", "orange", "none")
RECALL_MIN = 0.95  # red+orange messages raised at least orange
FALSE_RED_MAX = 0.03  # everyday messages raised red
_ROUND = re.compile(r"^# round (\d+)\b")


@dataclass(frozen=True)
class Example:
    file: str
    line: int
    tier: str
    category: str
    voice: str
    lang: str
    text: str
    round: int | None = None  # the `# round N` comment it stands under, if any


def read_examples(names: tuple[str, ...]) -> list[Example]:
    out = []
    for name in names:
        default_lang = {"zh.tsv": "zh-Hans", "en.tsv": "en"}.get(name) if "/" not in name else None
        round_no: int | None = None
        for n, line in enumerate((DATA / name).read_text(encoding="utf-8").splitlines(), 1):  # DATA / abs = abs
            if line.startswith("#"):  # a section: `# round N …` starts a round, any other ends it
                m = _ROUND.match(line)
                round_no = int(m.group(1)) if m else None
                continue
            if not line.strip():
                continue
            cols = line.split("\t")
            if default_lang is None:
                tier, category, voice, lang, text = cols
            else:
                tier, category, voice, text = cols
                lang = default_lang
            if tier not in TIERS or category not in CATEGORIES:
                raise ValueError(f"{name}:{n}: unknown tier or category {tier!r} {category!r}")
            out.append(Example(name, n, tier, category, voice, lang, text, round_no))
    return out


@dataclass
class Figures:
    positives: int = 0
    caught: int = 0  # raised orange or red
    reds: int = 0
    reds_red: int = 0  # red raised red
    negatives: int = 0
    false_alarms: int = 0  # raised orange or red
    false_red: int = 0
    same_category: int = 0

    @staticmethod
    def rate(a: int, b: int) -> str:
        return f"{a / b:.3f} ({a}/{b})" if b else "-"

    @property
    def recall(self) -> float:
        return self.caught / self.positives if self.positives else 1.0

    @property
    def false_red_rate(self) -> float:
        return self.false_red / self.negatives if self.negatives else 0.0


def evaluate(scanner: RiskScanner, examples: list[Example]) -> tuple[dict[str, Figures], list[tuple[Example, object]], float]:
    by: dict[str, Figures] = defaultdict(Figures)
    results = []
    started = time.perf_counter()
    scans = [scanner.scan(e.text) for e in examples]
    per_message = (time.perf_counter() - started) / max(len(examples), 1)
    for example, scan in zip(examples, scans):
        results.append((example, scan))
        for key in ("all", example.category, f"lang:{example.lang}", f"voice:{example.voice}", f"tier:{example.tier}"):
            f = by[key]
            if example.tier == "none":
                f.negatives += 1
                f.false_alarms += scan.tier is not None
                f.false_red += scan.tier == "red"
            else:
                f.positives += 1
                f.caught += scan.tier is not None
                f.same_category += scan.category == example.category
                if example.tier == "red":
                    f.reds += 1
                    f.reds_red += scan.tier == "red"
    return by, results, per_message


def report(title: str, by: dict[str, Figures], per_message: float) -> None:
    print(f"\n{title}")
    print(f"{'':18} {'recall (red+orange)':>22} {'red as red':>18} {'false alarm':>18} {'false red':>16} {'same category':>18}")
    keys = ["all", *CATEGORIES, "tier:red", "tier:orange", "tier:none", "lang:zh-Hans", "lang:en",
            "voice:grandparent", "voice:parent", "voice:child"]
    for key in keys:
        if key not in by:
            continue
        f = by[key]
        print(f"{key:18} {Figures.rate(f.caught, f.positives):>22} {Figures.rate(f.reds_red, f.reds):>18} "
              f"{Figures.rate(f.false_alarms, f.negatives):>18} {Figures.rate(f.false_red, f.negatives):>16} "
              f"{Figures.rate(f.same_category, f.positives):>18}")
    print(f"scan time: {per_message * 1000:.3f} ms per message")


def rules_only(scanner: RiskScanner) -> RiskScanner:
    """The same lexicon without the broad orange net: what the rules (and signals) alone raise."""
    lexicon = scanner.lexicon.model_copy(deep=True)
    for lex in lexicon.locales.values():
        lex.near = None
    return RiskScanner(lexicon)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexicon", default=str(ROOT / "content" / "risk" / "lexicon.yaml"))
    parser.add_argument("--holdout", action="store_true", help="also measure the held-out set")
    parser.add_argument("--misses", action="store_true", help="list every miss and false alarm")
    parser.add_argument("--only-holdout", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, help="only the corpus messages under `# round N` (a first look)")
    parser.add_argument("--rules-only", action="store_true", help="without the broad orange net (near:)")
    parser.add_argument("--no-model", action="store_true", help="without the statistical net (model.json)")
    parser.add_argument("--file", help="only this TSV (holdout.tsv's columns), e.g. a blind batch")
    args = parser.parse_args(argv)
    scanner = load_scanner(Path(args.lexicon), model=not args.no_model)
    if args.rules_only:
        scanner = rules_only(scanner)
    sets: list[tuple[str, tuple[str, ...]]] = [("holdout", HOLDOUT)] if args.only_holdout else \
        [("corpus", CORPUS)] + ([("holdout", HOLDOUT)] if args.holdout else [])
    if args.round is not None:
        sets = [(f"round {args.round}", CORPUS)]
    if args.file:
        sets = [(Path(args.file).name, (str(Path(args.file).resolve()),))]
    ok = True
    for name, files in sets:
        examples = read_examples(files)
        if args.round is not None:
            examples = [e for e in examples if e.round == args.round]
            if not examples:
                print(f"no messages under '# round {args.round}'", file=sys.stderr)
                return 2
        by, results, per_message = evaluate(scanner, examples)
        net = "rules alone" if args.rules_only else "rules + nets" + ("" if args.no_model or scanner.model is None else " + model")
        report(f"{name}: {', '.join(files)} — {len(examples)} messages ({net})", by, per_message)
        if args.misses:
            for example, scan in results:
                wrong = (example.tier == "none") != (scan.tier is None) or (example.tier == "red" and scan.tier != "red")
                if wrong:
                    print(f"  {example.file}:{example.line} expected {example.tier}/{example.category} got "
                          f"{scan.tier}/{scan.category} {scan.terms}  {example.text}")
        if name == "corpus":
            f = by["all"]
            print(f"thresholds: recall {f.recall:.3f} (≥ {RECALL_MIN}), false red {f.false_red_rate:.3f} (≤ {FALSE_RED_MAX})")
            ok = ok and f.recall >= RECALL_MIN and f.false_red_rate <= FALSE_RED_MAX
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
