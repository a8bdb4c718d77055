"""`make train-risk`: train the risk scanner's statistical orange net (core.checkin.risk_model) on
the labelled corpus in tests/data/risk/ and write content/risk/model.json.

    python scripts/train_risk_model.py [--out FILE] [--false-orange 0.10] [--keep 4000]
    python scripts/train_risk_model.py --leave-rounds-out [--file TSV ...] [--word-n 0|1|2]

The model is a logistic regression over the distinct character 1–3-grams of a message (each
counts 1, the vector scaled to unit length), fitted by plain stochastic gradient descent with
AdaGrad steps and an L2 penalty — a few dozen lines of Python, no numerical library: the corpus is
two thousand short messages and training takes seconds. With `--word-n` 1 or 2 the Latin-script
words and word pairs count too (core.content.risk_model.features; `word_n` in the file). Labels: red or orange → 1, none (the
hard negatives) → 0.

The threshold is chosen honestly: five-fold cross-validation on the training messages gives every
hard negative a probability from a model that did not see it; the threshold is the lowest at which
at most `--false-orange` of the hard negatives the rules leave silent would be raised orange.
Only the `--keep` n-grams with the largest weights are written (the rest are near zero).

`--leave-rounds-out` is the honest measure: for each round N (16–22) the model is trained on
every message except round N's, its threshold chosen on those, and round N scored — with the
current rules and net, with the model added, and the model alone; then the held-out file and any
`--file` batch with a model trained on the whole corpus.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from core.checkin.risk import RiskScanner, load_scanner, model_text  # noqa: E402
from core.checkin.risk_model import NgramModel  # noqa: E402
from core.content.risk_model import MAX_N, MIN_N, WORD_N, ModelFile, features  # noqa: E402
from eval_risk import CORPUS, HOLDOUT, Example, read_examples  # noqa: E402

OUT = ROOT / "content" / "risk" / "model.json"
LEXICON = ROOT / "content" / "risk" / "lexicon.yaml"
SEED = 20261203
# Of the everyday messages (ordinary.tsv) the rules leave silent, the share the model may raise orange
# (cross-validated). 0.20, not 0.05: chosen by leave-rounds-out (issue #12, fifth pass) as the largest of
# 0.05 / 0.10 / 0.20 whose held-out everyday half stays under 10 % raised (0.20: 7/92 orange, 0 red);
# it lifted the never-tuned rounds 21, 22 and 24 from 87/100 to 95/100. Orange asks a person to read
# the message today; every message reaches the inbox anyway.
ORDINARY_FALSE_ORANGE = 0.20
ORDINARY = ROOT / "tests" / "data" / "risk" / "ordinary.tsv"
PO = ROOT / "locales" / "zh_Hans" / "LC_MESSAGES" / "messages.po"


def read_ordinary() -> list[Example]:
    """Everyday messages without any danger word (tests/data/risk/ordinary.tsv): negatives too."""
    out = []
    for n, line in enumerate(ORDINARY.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            voice, lang, text = line.split("\t")
            out.append(Example("ordinary.tsv", n, "none", "", voice, lang, text))
    return out


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def read_project_texts(scanner: RiskScanner) -> list[Example]:
    """What the project itself sends (the zh_Hans interface texts, and the sentences of lessons,
    questionnaires and programmes in content/) that the rules leave silent: benign by
    construction, and they keep the model from reading any plain sentence as a sign. Guardians
    also quote them back."""
    texts = re.findall(r'^msgstr "(.+)"$', PO.read_text(encoding="utf-8"), re.M)
    for path in sorted((ROOT / "content").glob("**/*.yaml")):
        if path.parent.name == "risk":
            continue
        for text in _strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            texts.extend(re.split(r"(?<=[。！？.!?])\s*|\n", text))
    kept = [t for t in dict.fromkeys(t.strip() for t in texts) if len(t) > 6 and scanner.scan(t).tier is None]
    return [Example("project", 0, "none", "", "project", "", t) for t in kept]


class Trained:
    def __init__(self, weights: dict[str, float], bias: float) -> None:
        self.weights, self.bias = weights, bias

    def probability(self, grams: set[str]) -> float:
        z = self.bias + sum(self.weights.get(g, 0.0) for g in grams) / math.sqrt(max(len(grams), 1))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit(docs: list[set[str]], labels: list[int], *, epochs: int = 25, l2: float = 1e-3, rate: float = 0.5,
        min_df: int = 2, seed: int = SEED) -> Trained:
    """Logistic regression by SGD with AdaGrad steps; classes weighted to count the same."""
    df = Counter(g for d in docs for g in d)
    vocab = {g: i for i, g in enumerate(sorted(g for g, c in df.items() if c >= min_df))}
    rows = [([vocab[g] for g in d if g in vocab], 1.0 / math.sqrt(max(len(d), 1))) for d in docs]
    pos = sum(labels) or 1
    neg = (len(labels) - sum(labels)) or 1
    weight = {1: len(labels) / (2 * pos), 0: len(labels) / (2 * neg)}
    w = [0.0] * len(vocab)
    g2 = [1e-8] * len(vocab)
    b, b2 = 0.0, 1e-8
    order = list(range(len(docs)))
    rng = random.Random(seed)
    for _epoch in range(epochs):
        rng.shuffle(order)
        for k in order:
            idx, scale = rows[k]
            z = b + scale * sum(w[i] for i in idx)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            err = (p - labels[k]) * weight[labels[k]]
            for i in idx:
                grad = err * scale + l2 * w[i]
                g2[i] += grad * grad
                w[i] -= rate * grad / math.sqrt(g2[i])
            b2 += err * err
            b -= rate * err / math.sqrt(b2)
    names = sorted(vocab, key=vocab.__getitem__)
    return Trained({names[i]: w[i] for i in range(len(w)) if w[i]}, b)


def pick_threshold(docs: list[set[str]], labels: list[int], silent: list[bool], pools: list[str],
                   false_orange: float, everyday_orange: float = ORDINARY_FALSE_ORANGE, folds: int = 5) -> tuple[float, tuple[int, int]]:
    """The lowest threshold at which at most `false_orange` of the hard negatives and at most
    `everyday_orange` of the everyday messages (ordinary.tsv) that the rules leave silent get
    an out-of-fold probability at or above it (the project's own texts are negatives to learn
    from, not a measure: they are easy); also how many of the signs the rules leave silent that
    threshold raises, out of fold."""
    oof = [0.0] * len(docs)
    order = list(range(len(docs)))
    random.Random(SEED).shuffle(order)
    for f in range(folds):
        held = set(order[f::folds])
        model = fit([d for i, d in enumerate(docs) if i not in held], [y for i, y in enumerate(labels) if i not in held])
        for i in held:
            oof[i] = model.probability(docs[i])
    threshold = 0.5
    for share, pool in ((false_orange, "hard"), (everyday_orange, "everyday")):
        negatives = sorted((oof[i] for i in range(len(docs)) if labels[i] == 0 and silent[i] and pools[i] == pool),
                           reverse=True)
        allowed = int(share * len(negatives))
        if allowed < len(negatives):
            threshold = max(threshold, negatives[allowed] + 1e-6)
    threshold = min(0.99, threshold)
    missed = [oof[i] for i in range(len(docs)) if labels[i] == 1 and silent[i]]
    return threshold, (sum(p >= threshold for p in missed), len(missed))


def category_of(docs: list[set[str]], examples: list[Example], keep: set[str]) -> dict[str, str]:
    """For each kept n-gram, the category of most positive examples containing it."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for d, e in zip(docs, examples):
        if e.tier != "none":
            for g in d & keep:
                counts[g][e.category] += 1
    return {g: c.most_common(1)[0][0] for g, c in counts.items()}


def build(examples: list[Example], scanner: RiskScanner, false_orange: float, keep: int,
          word_n: int = WORD_N, everyday_orange: float = ORDINARY_FALSE_ORANGE) -> tuple[ModelFile, tuple[int, int]]:
    docs = [features(model_text(e.text), word_n=word_n) for e in examples]
    labels = [int(e.tier != "none") for e in examples]
    silent = [scanner.scan(e.text).tier is None for e in examples]
    pools = ["everyday" if e.file == "ordinary.tsv" else "project" if e.file == "project" else "hard" for e in examples]
    threshold, rescued = pick_threshold(docs, labels, silent, pools, false_orange, everyday_orange)
    trained = fit(docs, labels)
    top = sorted(trained.weights.items(), key=lambda kv: -abs(kv[1]))[:keep]
    weights = {g: round(w, 2) for g, w in sorted(top)}
    cats = category_of(docs, examples, {g for g, w in weights.items() if w > 0})
    model = ModelFile(kind="char-ngram-logistic", min_n=MIN_N, max_n=MAX_N, word_n=word_n, bias=round(trained.bias, 4), threshold=round(threshold, 4),
                      trained_on={"messages": len(examples), "signs": sum(labels),
                                  "hard_negatives": sum(e.tier == "none" and e.file in CORPUS for e in examples),
                                  "everyday": pools.count("everyday"),
                                  "project_texts": sum(e.file == "project" for e in examples),
                                  "false_orange_target": false_orange, "everyday_orange_target": everyday_orange, "word_n": word_n, "epochs": 25, "l2": 1e-3, "min_df": 2,
                                  "kept": len(weights)},
                      weights=weights, categories=cats)
    return model, rescued


def _row(examples: list[Example], scanner: RiskScanner, rules_scanner: RiskScanner, model: NgramModel) -> dict[str, int]:
    """Counts for one test set: the rules alone, the rules and nets, the scanner with the model
    (which consults it only where the rules raised, denied and cleared nothing), the model alone."""
    full = RiskScanner(scanner.lexicon, model)
    out: dict[str, int] = defaultdict(int)
    for e in examples:
        net = scanner.scan(e.text).tier
        rules = rules_scanner.scan(e.text).tier
        both = full.scan(e.text).tier
        m = model.score(model_text(e.text)).raised
        if e.tier == "none":
            out["neg"] += 1
            out["red"] += net == "red"
            out["fo_net"] += net == "orange"
            out["fo_both"] += both == "orange"
            out["fo_alone"] += m
        else:
            out["pos"] += 1
            out["rules"] += rules is not None
            out["net"] += net is not None
            out["both"] += both is not None
            out["alone"] += m
    return out


def leave_rounds_out(args: argparse.Namespace) -> int:
    scanner = load_scanner(Path(args.lexicon), model=False)
    lexicon = scanner.lexicon.model_copy(deep=True)
    for lex in lexicon.locales.values():
        lex.near = None
    rules_scanner = RiskScanner(lexicon)
    everyday = read_ordinary()
    project = read_project_texts(scanner)
    # the other halves of the everyday messages and of the project's texts are scored below
    corpus = read_examples(CORPUS) + everyday[::2] + project[::2]
    rounds = sorted({e.round for e in corpus if e.round is not None and e.round >= 16})
    sets: list[tuple[str, list[Example], list[Example]]] = []
    for n in rounds:
        sets.append((f"round {n}", [e for e in corpus if e.round != n], [e for e in corpus if e.round == n]))
    sets.append(("holdout", corpus, read_examples(HOLDOUT)))
    sets.append(("everyday 1/2", corpus, everyday[1::2]))
    sets.append(("project 1/2", corpus, project[1::2]))
    for path in args.file or []:
        sets.append((Path(path).name, corpus, read_examples((str(Path(path).resolve()),))))
    print(f"false orange target {args.false_orange}, everyday {args.everyday_orange}; columns: recall rules / rules+net / rules+net+model / model alone;"
          " false red; false orange net / +model / model alone")
    total: dict[str, int] = defaultdict(int)
    for name, train, test in sets:
        started = time.perf_counter()
        model, rescued = build(train, scanner, args.false_orange, args.keep, args.word_n, args.everyday_orange)
        row = _row(test, scanner, rules_scanner, NgramModel(model))
        if name.startswith("round"):
            for k, v in row.items():
                total[k] += v
        _print(name, row, f"threshold {model.threshold:.3f}, {time.perf_counter() - started:.0f} s")
    _print("pooled", total, "")
    return 0


def _print(name: str, r: dict[str, int], extra: str) -> None:
    p, n = r["pos"] or 1, r["neg"] or 1
    print(f"{name:14} {r['rules'] / p:.2f} / {r['net'] / p:.2f} / {r['both'] / p:.2f} ({r['both']}/{r['pos']}) / "
          f"{r['alone'] / p:.2f} | {r['red']}/{r['neg']} | {r['fo_net']}/{n} / {r['fo_both']}/{n} / "
          f"{r['fo_alone']}/{n}  {extra}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexicon", default=str(LEXICON))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--false-orange", type=float, default=0.10,
                        help="share of rule-silent hard negatives the model may raise orange (cross-validated)")
    parser.add_argument("--everyday-orange", type=float, default=ORDINARY_FALSE_ORANGE,
                        help="share of rule-silent everyday messages (ordinary.tsv) the model may raise orange (cross-validated)")
    parser.add_argument("--keep", type=int, default=4000, help="n-grams kept in the file (largest weights)")
    parser.add_argument("--word-n", type=int, default=WORD_N, choices=(0, 1, 2),
                        help="Latin-script word n-grams beside the character n-grams (0: characters only)")
    parser.add_argument("--leave-rounds-out", action="store_true")
    parser.add_argument("--file", action="append", help="with --leave-rounds-out: also score this TSV (holdout.tsv's columns)")
    args = parser.parse_args(argv)
    if args.leave_rounds_out:
        return leave_rounds_out(args)
    scanner = load_scanner(Path(args.lexicon), model=False)
    model, rescued = build(read_examples(CORPUS) + read_ordinary() + read_project_texts(scanner), scanner, args.false_orange, args.keep,
                           args.word_n, args.everyday_orange)
    text = json.dumps(model.model_dump(), ensure_ascii=False, indent=0, sort_keys=False)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(f"{args.out}: {len(model.weights)} n-grams, threshold {model.threshold}, {len(text.encode()) // 1024} KB; "
          f"cross-validated: {rescued[0]} of the {rescued[1]} signs the rules miss in the corpus would be raised orange")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
