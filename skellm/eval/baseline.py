"""Sanity baseline: hand-crafted motion features and a simple classifier, accuracy per corpus.

Trains one standardised classifier (logistic regression by default) on the train split of every
corpus, then scores each corpus's test takes with predictions restricted to that corpus's labels
(``labels.json``). A corpus near chance or near 100 % means the data, not the model, needs work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skellm.config import PATHS, BaselineConfig, Config, Paths


def take_features(row: Mapping[str, Any]) -> np.ndarray:
    """Features of one take-table row (positions flat, any declared rig, metres, Y up)."""
    from skellm.data.harmonize import to_canonical
    from skellm.data.table import row_positions
    from skellm.eval.hand_features import motion_features

    pos = row_positions(row, np.float64)
    canon = to_canonical(pos, list(row["joint_names"]), row.get("layout"), row.get("parents"))
    return motion_features(canon, float(row["fps"]))


def table_features(
    path: str | Path, label_field: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features (N, F), labels (N,), corpus (N,), take ids (N,)) of every take in a split Parquet."""
    from tqdm import tqdm

    from skellm.data.table import read_takes, take_rows

    cols = ["take_id", "corpus", label_field, "n_frames", "n_joints", "joint_names", "fps", "positions"]
    table = read_takes(path)
    cols += [c for c in ("layout", "parents") if c in table.column_names]
    rows = take_rows(table.select(cols))
    feats = [take_features(r) for r in tqdm(rows, desc=f"features {Path(path).name}")]
    labels = np.array([r[label_field] for r in rows]).astype(str)
    corpora = np.array([r["corpus"] for r in rows]).astype(str)
    return np.stack(feats), labels, corpora, np.array([r["take_id"] for r in rows]).astype(str)


def make_classifier(kind: str = BaselineConfig.classifier, seed: int = 0):
    """A standardised scikit-learn classifier: ``logistic`` or ``random_forest``."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic":
        clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    elif kind == "random_forest":
        clf = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    else:
        raise ValueError(f"baseline.classifier must be logistic or random_forest, got {kind!r}")
    return make_pipeline(StandardScaler(), clf)


def predict(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    corpus_test: np.ndarray,
    corpus_labels: Mapping[str, Sequence[str]],
    kind: str = BaselineConfig.classifier,
    seed: int = 0,
) -> np.ndarray:
    """Fit on all train takes; each test take's label among its corpus's labels (None: corpus unlisted)."""
    clf = make_classifier(kind, seed).fit(x_train, y_train)
    classes = list(clf.classes_)
    proba = clf.predict_proba(x_test)
    pred = np.full(len(x_test), None, dtype=object)
    for corpus, labels in corpus_labels.items():
        mask = corpus_test == corpus
        cols = [classes.index(lab) for lab in labels if lab in classes]
        if mask.any() and cols:
            pred[mask] = np.asarray(classes)[cols][proba[mask][:, cols].argmax(1)]
    return pred


def baseline_metrics(
    pred: np.ndarray, y_test: np.ndarray, corpus_test: np.ndarray, corpus_labels: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Accuracy, chance, bootstrap 95 % interval and test size per corpus, on takes of its (seen) labels."""
    from skellm.eval.stats import bootstrap_ci

    out: dict[str, dict[str, float]] = {}
    for corpus, labels in corpus_labels.items():
        mask = (corpus_test == corpus) & np.isin(y_test, list(labels))
        if not mask.any():
            continue
        hits = pred[mask] == y_test[mask]
        lo, hi = bootstrap_ci(hits.tolist())
        out[corpus] = {
            "accuracy": round(float(hits.mean()), 4),
            "ci95_low": round(lo, 4),
            "ci95_high": round(hi, 4),
            "chance": round(1.0 / len(labels), 4),
            "n_test": int(mask.sum()),
        }
    return out


def evaluate(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    corpus_test: np.ndarray,
    corpus_labels: Mapping[str, Sequence[str]],
    kind: str = BaselineConfig.classifier,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Fit on all train takes; accuracy per corpus with predictions restricted to the corpus's labels."""
    pred = predict(x_train, y_train, x_test, corpus_test, corpus_labels, kind, seed)
    return baseline_metrics(pred, y_test, corpus_test, corpus_labels)


def run_baseline(
    split_dir: str | Path,
    kind: str = BaselineConfig.classifier,
    seed: int = 0,
    predictions_path: str | Path | None = None,
) -> dict[str, dict[str, float]]:
    """Features of ``split_dir``/{train,test}.parquet, classifier per ``kind``, metrics per corpus;
    with ``predictions_path`` also each test take's prediction (take_id, corpus, label, baseline)."""
    from skellm.data.labelspace import LabelSpace

    split_dir = Path(split_dir)
    labels = LabelSpace.load(split_dir / "labels.json")
    x_tr, y_tr, _, _ = table_features(split_dir / "train.parquet", labels.field)
    x_te, y_te, c_te, ids = table_features(split_dir / "test.parquet", labels.field)
    pred = predict(x_tr, y_tr, x_te, c_te, labels.corpora, kind, seed)
    if predictions_path is not None:
        import polars as pl

        from skellm.io import atomic_path

        frame = pl.DataFrame(
            {
                "take_id": ids.tolist(),
                "corpus": c_te.tolist(),
                "label": y_te.tolist(),
                "baseline": pred.tolist(),
            },
            schema={"take_id": pl.String, "corpus": pl.String, "label": pl.String, "baseline": pl.String},
        )
        with atomic_path(predictions_path) as tmp:
            frame.write_parquet(tmp)
    return baseline_metrics(pred, y_te, c_te, labels.corpora)


def run_stage(cfg: Config, paths: Paths = PATHS) -> dict[str, dict[str, float]]:
    """baseline stage: hand features + classifier on the split -> metrics/baseline.json."""
    from skellm.io import write_json

    metrics = run_baseline(paths.split, cfg.baseline.classifier, cfg.seed, paths.baseline_predictions)
    for corpus, m in metrics.items():
        chance, n = m["chance"], m["n_test"]
        print(f"baseline {corpus}: accuracy {m['accuracy']:.3f} (chance {chance:.3f}, n_test {n})")
    write_json(paths.metrics_json("baseline"), metrics)
    return metrics
