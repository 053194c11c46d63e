"""Train/test splits of the harmonized take table, seeded and deterministic.

- ``random``: the paper's 4:1 split, stratified by (corpus, label): each stratum sends
  ``round(n * test_fraction)`` takes to test (a stratum of one take stays in train).
- ``subject``: no actor on both sides. Per corpus, whole subjects go to test; among many seeded
  candidate subject sets near the target fraction, the one whose label mix is closest to the
  corpus's is kept (stratified as far as whole subjects allow; the first seeded candidate within a
  small slack of the best, so seeds give different folds). Takes without a subject count as
  their own subject.
- ``cross_subject`` (NTU): per corpus listed in ``train_subjects``, the performers whose number (the
  digits of the subject id, ``P003`` -> 3) is listed train and the others test; other corpora get
  ``subject``.
- ``cross_view`` (NTU): takes seen by a camera in ``test_cameras`` (``C001`` -> 1) test, the other
  cameras train; takes with no camera (corpora that are not NTU-shaped) get ``random``.
- ``leave_one_corpus_out``: the holdout corpus is the test set, every other corpus trains.

On top of any method, ``unseen`` holds classes out entirely for zero-shot recognition: every take of an
unseen (corpus, label) goes to test, none to train; ``labels.json`` lists them apart from the seen ones.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skellm.config import PATHS, Config, Paths, SplitConfig

_SUBJECT_CANDIDATES = 400
_COST_SLACK = 0.05  # subject split: accept candidates this close to the best size+mix error


def split_random(corpus: Sequence[str], label: Sequence[Any], fraction: float, seed: int) -> np.ndarray:
    """Boolean test mask: ``round(n * fraction)`` random takes of every (corpus, label) stratum."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(corpus), dtype=bool)
    strata: dict[tuple, list[int]] = defaultdict(list)
    for i, key in enumerate(zip(corpus, label, strict=True)):
        strata[(str(key[0]), str(key[1]))].append(i)
    for key in sorted(strata):
        idx = np.array(strata[key])
        n_test = int(round(len(idx) * fraction)) if len(idx) > 1 else 0
        test[rng.permutation(idx)[:n_test]] = True
    return test


def split_subject(
    corpus: Sequence[str], label: Sequence[Any], subject: Sequence[Any], fraction: float, seed: int
) -> np.ndarray:
    """Boolean test mask with no subject on both sides, label mix kept as close as whole subjects allow."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(corpus), dtype=bool)
    corpus_arr = np.asarray([str(c) for c in corpus])
    groups = np.asarray(
        [
            f"{c}\x1f{s}" if s is not None else f"{c}\x1f#take{i}"
            for i, (c, s) in enumerate(zip(corpus, subject, strict=True))
        ]
    )
    labels = np.asarray([str(x) for x in label])
    for c in sorted(set(corpus_arr)):
        rows = np.flatnonzero(corpus_arr == c)
        subs, inv = np.unique(groups[rows], return_inverse=True)
        if len(subs) < 2:
            continue
        classes, lab_inv = np.unique(labels[rows], return_inverse=True)
        counts = np.zeros((len(subs), len(classes)))
        np.add.at(counts, (inv, lab_inv), 1)
        total = counts.sum(0)
        target = total.sum() * fraction
        candidates, costs = [], []
        for _ in range(_SUBJECT_CANDIDATES):
            order = rng.permutation(len(subs))
            cum = np.cumsum(counts[order].sum(1))
            k = int(np.argmin(np.abs(cum - target))) + 1
            chosen = np.sort(order[: min(max(k, 1), len(subs) - 1)])
            got = counts[chosen].sum(0)
            size_err = abs(got.sum() - target) / max(target, 1)
            mix_err = np.abs(got / max(got.sum(), 1) - total / total.sum()).sum()
            candidates.append(chosen)
            costs.append(size_err + mix_err)
        # The first (seeded) candidate close to the best, so that seeds give different good splits.
        best = candidates[int(np.argmax(np.asarray(costs) <= min(costs) + _COST_SLACK))]
        test[rows[np.isin(inv, best)]] = True
    return test


def split_loco(corpus: Sequence[str], holdout: str) -> np.ndarray:
    """Boolean test mask: every take of the holdout corpus."""
    corpus_arr = np.asarray([str(c) for c in corpus])
    if holdout not in set(corpus_arr):
        raise ValueError(f"holdout corpus {holdout!r} has no takes (corpora: {sorted(set(corpus_arr))})")
    return corpus_arr == holdout


def id_number(value: Any) -> int | None:
    """The number in an NTU-style id (``P003`` -> 3, ``C001`` -> 1, ``"2"`` -> 2); None without digits."""
    digits = re.sub(r"\D", "", str(value)) if value is not None else ""
    return int(digits) if digits else None


def split_cross_subject(
    corpus: Sequence[str],
    label: Sequence[Any],
    subject: Sequence[Any],
    train_subjects: dict[str, Sequence[int]],
    fraction: float,
    seed: int,
) -> np.ndarray:
    """Boolean test mask: listed corpora by their training performers, the rest by :func:`split_subject`."""
    corpus_arr = np.asarray([str(c) for c in corpus])
    test = split_subject(corpus, label, subject, fraction, seed)
    for c, train in train_subjects.items():
        rows = np.flatnonzero(corpus_arr == c)
        for i in rows:
            n = id_number(subject[i])
            if n is None:
                raise ValueError(
                    f"cross_subject: corpus {c} take {i} has no performer number ({subject[i]!r})"
                )
            test[i] = n not in set(train)
    return test


def split_cross_view(
    corpus: Sequence[str], label: Sequence[Any], camera: Sequence[Any], test_cameras: Sequence[int],
    fraction: float, seed: int,
) -> np.ndarray:  # fmt: skip
    """Boolean test mask: takes of the test cameras test, other cameras train; no camera: random."""
    test = split_random(corpus, label, fraction, seed)
    for i, cam in enumerate(camera):
        n = id_number(cam)
        if n is not None:
            test[i] = n in set(test_cameras)
    return test


def unseen_mask(corpus: Sequence[str], label: Sequence[Any], unseen: dict[str, Sequence[str]]) -> np.ndarray:
    """Boolean mask of the takes whose (corpus, label) is held out for zero-shot recognition."""
    held = {(c, lab) for c, labs in unseen.items() for lab in labs}
    return np.array([(str(c), lab) in held for c, lab in zip(corpus, label, strict=True)], dtype=bool)


def split_mask(table: Any, cfg: SplitConfig, seed: int) -> np.ndarray:
    """The test mask of a take table (pyarrow) under ``cfg`` and ``seed``, unseen classes included."""
    corpus = table.column("corpus").to_pylist()
    label = table.column(cfg.label_field).to_pylist()
    col = table.column
    if cfg.method == "random":
        test = split_random(corpus, label, cfg.test_fraction, seed)
    elif cfg.method == "subject":
        test = split_subject(corpus, label, col("subject").to_pylist(), cfg.test_fraction, seed)
    elif cfg.method == "cross_subject":
        test = split_cross_subject(
            corpus, label, col("subject").to_pylist(), cfg.train_subjects, cfg.test_fraction, seed
        )
    elif cfg.method == "cross_view":
        test = split_cross_view(
            corpus, label, col("camera").to_pylist(), cfg.test_cameras, cfg.test_fraction, seed
        )
    else:
        if not cfg.holdout_corpus:
            raise ValueError("split.method leave_one_corpus_out needs split.holdout_corpus")
        test = split_loco(corpus, cfg.holdout_corpus)
    return test | unseen_mask(corpus, label, cfg.unseen)


def labels_json(
    table: Any, label_field: str, unseen: dict[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """``labels.json``: the label field, the sorted union of labels (unseen ones included), each corpus's
    seen labels, its unseen labels and its task (the ``task`` column: emotion, action)."""
    unseen = unseen or {}
    per: dict[str, set[str]] = defaultdict(set)
    tasks: dict[str, str] = {}
    corpus = table.column("corpus").to_pylist()
    task_col = table.column("task").to_pylist() if "task" in table.column_names else [None] * len(corpus)
    for c, lab, task in zip(corpus, table.column(label_field).to_pylist(), task_col, strict=True):
        if lab is not None:
            per[c].add(lab)
        if task:
            tasks.setdefault(c, task)
    classes = sorted(set().union(*per.values())) if per else []
    held = {c: sorted(set(v) & per.get(c, set())) for c, v in sorted(unseen.items())}
    return {
        "label_field": label_field,
        "classes": classes,
        "corpora": {c: sorted(v - set(held.get(c, ()))) for c, v in sorted(per.items())},
        "unseen": {c: v for c, v in held.items() if v},
        "tasks": dict(sorted(tasks.items())),
    }


def split_file(
    src: str | os.PathLike, out_dir: str | os.PathLike, cfg: SplitConfig, seed: int
) -> tuple[int, int]:
    """Split the table ``src`` into ``out_dir``/{train,test}.parquet and labels.json. Returns the sizes."""
    import pyarrow as pa

    from skellm.data.table import read_takes, write_takes
    from skellm.io import write_json

    table = read_takes(src)
    test = split_mask(table, cfg, seed)
    if "split" in table.column_names:
        table = table.drop_columns(["split"])
    table = table.append_column("split", pa.array(np.where(test, "test", "train")))
    out = Path(out_dir)
    write_takes(table.filter(pa.array(~test)), out / "train.parquet")
    write_takes(table.filter(pa.array(test)), out / "test.parquet")
    write_json(out / "labels.json", labels_json(table, cfg.label_field, cfg.unseen))
    return int((~test).sum()), int(test.sum())


def run_stage(cfg: Config, paths: Paths = PATHS) -> tuple[int, int]:
    """split stage: the harmonized table -> train/test tables and labels.json under ``paths.split``."""
    n_train, n_test = split_file(paths.harmonized / "takes.parquet", paths.split, cfg.split, cfg.seed)
    print(f"split ({cfg.split.method}, seed {cfg.seed}): {n_train} train, {n_test} test")
    return n_train, n_test
