"""How well any linear reader reads the LLM's input: probes of the semantic token, against the LLM and
the encoder's classifier (issue 13, item 4).

The LLM sees each take as one semantic token z_g; the encoder's classifier is a linear layer on the same
z_g, trained with the backbone that shaped it. Per corpus, on the committed tokens (data/tokens) and
evaluate's predictions (data/eval/predictions.parquet), this fits two readers of z_g on the training
takes only and scores them on the same seen-class test takes:

- a logistic regression on standardised z_g, its inverse regularisation C picked by 5-fold
  cross-validation on the training takes (never on the test takes);
- nearest class centroid (cosine), which has nothing to tune.

It also reports how much farther test tokens lie from their class's training centroid than training
tokens do (the encoder was fitted on the training takes), and exact McNemar tests of the LLM's label
scoring and of the encoder's classifier against the probe on the same takes.

Usage (in the repo whose tokens and predictions it reads):
  python scripts/probe_tokens.py -o metrics/ablations/token_probe.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
READERS = ("probe", "centroid", "encoder_classifier", "score", "generate")


def fit_probe(xtr, ytr, seed: int = 0) -> tuple[Any, float]:
    """Standardised logistic regression on ``xtr``; C by 5-fold cross-validated accuracy on the rows
    (fewer folds where a class has fewer than 5 takes)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def make(c: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))

    smallest = int(np.unique(ytr, return_counts=True)[1].min())
    folds = StratifiedKFold(max(2, min(5, smallest)), shuffle=True, random_state=seed)
    cv = {c: cross_val_score(make(c), xtr, ytr, cv=folds).mean() for c in C_GRID}
    best = max(C_GRID, key=lambda c: cv[c])
    return make(best).fit(xtr, ytr), best


def centroid_predict(xtr, ytr, xte, labels: list[str]):
    """Nearest training-class mean by cosine similarity; also each class mean (rows of ``labels``)."""
    import numpy as np

    means = np.stack([xtr[ytr == lab].mean(0) for lab in labels])
    unit = means / np.linalg.norm(means, axis=1, keepdims=True)
    sims = (xte / np.linalg.norm(xte, axis=1, keepdims=True)) @ unit.T
    return np.asarray(labels)[sims.argmax(1)], means


def spread(x, y, means, labels: list[str]) -> float:
    """Mean Euclidean distance of each row to its class's mean."""
    import numpy as np

    idx = np.array([labels.index(v) for v in y])
    return float(np.linalg.norm(x - means[idx], axis=1).mean())


def probe_corpus(tr: dict, te: dict, pred, seed: int = 0) -> dict[str, Any]:
    """Readers of one corpus: ``tr``/``te`` hold ``x`` (tokens), ``y`` (labels) and ``ids`` (take ids);
    ``pred`` is evaluate's predictions table (polars) for the same corpus."""
    import numpy as np

    from skellm.eval.stats import mcnemar

    labels = sorted(set(tr["y"]))
    seen = np.isin(te["y"], labels)
    xte, yte, ids = te["x"][seen], te["y"][seen], [i for i, s in zip(te["ids"], seen, strict=True) if s]
    model, c = fit_probe(tr["x"], tr["y"], seed)
    by_id = {r["take_id"]: r for r in pred.iter_rows(named=True)}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} test takes have no prediction (e.g. {missing[0]}): re-run evaluate")
    central, means = centroid_predict(tr["x"], tr["y"], xte, labels)
    answers = {
        "probe": model.predict(xte),
        "centroid": central,
        **{m: np.array([by_id[i][m] for i in ids]) for m in READERS[2:]},
    }
    right = {m: a == yte for m, a in answers.items()}
    return {
        "test_takes": int(len(ids)),
        "probe_C": c,
        "accuracy": {m: round(float(r.mean()), 4) for m, r in right.items()},
        "vs_probe": {m: mcnemar(right["probe"], right[m]) for m in ("encoder_classifier", "score")},
        "spread_train": round(spread(tr["x"], tr["y"], means, labels), 3),
        "spread_test": round(spread(xte, yte, means, labels), 3),
    }


def load_split(split: str) -> tuple[Any, Any]:
    """The committed semantic tokens (numpy) and table of one split."""
    from skellm.config import PATHS
    from skellm.llm.data import load_tokens

    tensors, table = load_tokens(PATHS.tokens, split)
    return tensors["semantic"].numpy(), table


def _test(t: dict[str, Any]) -> str:
    return f"+{t['b_only']} / -{t['a_only']}, p {t['p']:.2f}"


def table_md(result: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per corpus."""
    head = ["corpus", "test takes", *READERS, "score vs probe", "encoder vs probe", "spread train / test"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for corpus, r in result.items():
        tests = [_test(r["vs_probe"][m]) for m in ("score", "encoder_classifier")]
        cells = [corpus, str(r["test_takes"]), *(f"{r['accuracy'][m]:.3f}" for m in READERS), *tests,
                 f"{r['spread_train']:.2f} / {r['spread_test']:.2f}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import numpy as np
    import polars as pl

    from skellm.config import PATHS
    from skellm.io import write_json

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", type=Path, default=Path("metrics/ablations/token_probe.json"))
    ap.add_argument("--seed", type=int, default=0, help="cross-validation folds' shuffle")
    args = ap.parse_args(argv)
    xtr, ttr = load_split("train")
    xte, tte = load_split("test")
    pred = pl.read_parquet(PATHS.predictions)
    result = {}
    for corpus in sorted(set(ttr["corpus"].to_list())):
        mtr, mte = (ttr["corpus"] == corpus).to_numpy(), (tte["corpus"] == corpus).to_numpy()
        split = {
            name: {
                "x": x[m],
                "y": np.asarray(t["label"].to_list())[m],
                "ids": t["take_id"].filter(m).to_list(),
            }
            for name, x, t, m in (("train", xtr, ttr, mtr), ("test", xte, tte, mte))
        }
        result[corpus] = probe_corpus(
            split["train"], split["test"], pred.filter(pl.col("corpus") == corpus), args.seed
        )
    md = table_md(result)
    write_json(args.out, {"corpora": result, "c_grid": list(C_GRID), "table": md})
    print(md)


if __name__ == "__main__":
    main()
