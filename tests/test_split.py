"""Splits: stratified 4:1, disjoint subjects, leave-one-corpus-out, determinism, labels.json."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from skellm.apps.cli import main as cli_main
from skellm.config import SplitConfig, config_from_dict
from skellm.data.split import split_file, split_mask
from skellm.data.table import read_takes, rows_to_table, take_row, write_takes

LABELS = {
    "A": ["joy", "anger", "fear", "shame"],
    "B": ["happiness", "sadness", "neutral"],
    "C": ["happiness", "fear"],
}
SUBJECTS = {"A": 11, "B": 8, "C": 6}


def _table(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        corpus = str(rng.choice(list(LABELS), p=[0.5, 0.3, 0.2]))
        subject = f"{corpus}{rng.integers(SUBJECTS[corpus]):02d}"
        emotion = str(rng.choice(LABELS[corpus]))
        rows.append(
            take_row(
                rng.normal(size=(2, 3, 3)),
                take_id=f"{corpus}/t{i:04d}",
                corpus=corpus,
                source_path=f"raw/{corpus}/t{i:04d}.bvh",
                source_sha256=f"{i:064x}",
                format="bvh",
                subject=subject,
                emotion=emotion,
                label=emotion,
                task="emotion",
                fps=30.0,
                joint_names=["a", "b", "c"],
                parents=[-1, 0, 1],
                units="m",
                up_axis="y",
            )
        )
    return rows_to_table(rows)


def _strata(table, mask):
    keys = list(zip(table.column("corpus").to_pylist(), table.column("emotion").to_pylist(), strict=True))
    return Counter(keys), Counter(k for k, m in zip(keys, mask, strict=True) if m)


def test_random_split_is_stratified_4_to_1() -> None:
    table = _table()
    mask = split_mask(table, SplitConfig(method="random"), 3)
    total, test = _strata(table, mask)
    for key, n in total.items():
        assert test[key] == round(n * 0.2), key
    assert abs(mask.mean() - 0.2) < 0.01


def test_same_seed_same_split_other_seed_other_split() -> None:
    table = _table()
    for method in ("random", "subject"):
        a = split_mask(table, SplitConfig(method=method), 7)
        b = split_mask(table, SplitConfig(method=method), 7)
        c = split_mask(table, SplitConfig(method=method), 8)
        np.testing.assert_array_equal(a, b)
        assert (a != c).any()


def test_subject_split_keeps_actors_on_one_side_and_stays_stratified() -> None:
    table = _table()
    mask = split_mask(table, SplitConfig(method="subject"), 1)
    subjects = np.array(table.column("subject").to_pylist())
    corpora = np.array(table.column("corpus").to_pylist())
    assert not set(subjects[mask]) & set(subjects[~mask])
    for c in LABELS:
        in_c = corpora == c
        frac = mask[in_c].mean()
        assert 0.1 < frac < 0.32, (c, frac)  # whole subjects: near 0.2, not exact
    total, test = _strata(table, mask)
    assert set(test) == set(total)  # every (corpus, label) reaches the test side


def test_takes_without_subject_are_their_own_group() -> None:
    table = _table(n=60)
    table = table.set_column(table.column_names.index("subject"), "subject", [[None] * table.num_rows])
    mask = split_mask(table, SplitConfig(method="subject"), 0)
    assert 0 < mask.sum() < table.num_rows


def test_leave_one_corpus_out() -> None:
    table = _table()
    mask = split_mask(table, SplitConfig(method="leave_one_corpus_out", holdout_corpus="B"), 0)
    np.testing.assert_array_equal(mask, np.array(table.column("corpus").to_pylist()) == "B")
    with pytest.raises(ValueError, match="holdout corpus 'D' has no takes"):
        split_mask(table, SplitConfig(method="leave_one_corpus_out", holdout_corpus="D"), 0)


def test_split_file_writes_tables_and_labels(tmp_path: Path) -> None:
    table = _table()
    write_takes(table, tmp_path / "h.parquet")
    n_train, n_test = split_file(str(tmp_path / "h.parquet"), str(tmp_path / "s"), SplitConfig(), 0)
    train, test = read_takes(tmp_path / "s" / "train.parquet"), read_takes(tmp_path / "s" / "test.parquet")
    assert (train.num_rows, test.num_rows) == (n_train, n_test) and n_train + n_test == table.num_rows
    assert set(train.column("split").to_pylist()) == {"train"} and set(test.column("split").to_pylist()) == {
        "test"
    }
    assert not set(train.column("take_id").to_pylist()) & set(test.column("take_id").to_pylist())
    labels = json.loads((tmp_path / "s" / "labels.json").read_text())
    assert labels["label_field"] == "label" and labels["tasks"] == dict.fromkeys(sorted(LABELS), "emotion")
    assert labels["classes"] == sorted({lab for labs in LABELS.values() for lab in labs})
    assert labels["corpora"] == {c: sorted(v) for c, v in LABELS.items()}


def test_from_params_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = config_from_dict({"seed": 5, "split": {"method": "subject", "test_fraction": 0.25}})
    assert (cfg.split.method, cfg.split.test_fraction, cfg.seed) == ("subject", 0.25, 5)
    with pytest.raises(ValueError, match="split.method must be one of"):
        config_from_dict({"split": {"method": "kfold"}})
    write_takes(_table(n=50), tmp_path / "h.parquet")
    assert (
        cli_main(["split", str(tmp_path / "h.parquet"), "-o", str(tmp_path / "o"), "--method", "subject"])
        == 0
    )
    assert "split (subject, seed 0):" in capsys.readouterr().out


def _ntu_table(
    n_perf: int = 8, classes: tuple[str, ...] = ("drink_water", "sit_down", "jump_up", "clapping")
):
    """An NTU-shaped corpus D (performers P001.., cameras C001-C003) beside the emotion corpora."""
    rows = _table(n=120).to_pylist()
    k = 0
    for p in range(1, n_perf + 1):
        for a in classes:
            for cam in (1, 2, 3):
                name = f"S001C{cam:03d}P{p:03d}R001A{classes.index(a) + 1:03d}"
                rows.append(
                    take_row(
                        np.zeros((2, 3, 3)),
                        take_id=f"D/{name}",
                        corpus="D",
                        source_path=f"raw/D/{name}.skeleton",
                        source_sha256=f"d{k:063x}",
                        format="ntu",
                        subject=f"P{p:03d}",
                        action=a,
                        label=a,
                        task="action",
                        camera=f"C{cam:03d}",
                        setup="S001",
                        fps=30.0,
                        joint_names=["a", "b", "c"],
                        parents=[-1, 0, 1],
                        units="m",
                        up_axis="y",
                    )  # fmt: skip
                )
                k += 1
    return rows_to_table(rows)


def test_cross_subject_uses_the_ntu_performer_list() -> None:
    table = _ntu_table()
    mask = split_mask(table, SplitConfig(method="cross_subject"), 0)
    corpus, subject = table.column("corpus").to_pylist(), table.column("subject").to_pylist()
    d = [i for i, c in enumerate(corpus) if c == "D"]
    # NTU's training performers 1, 2, 4, 5, 8 of P001..P008 train; 3, 6, 7 test
    assert {subject[i] for i in d if mask[i]} == {"P003", "P006", "P007"}
    assert {subject[i] for i in d if not mask[i]} == {"P001", "P002", "P004", "P005", "P008"}
    for c in ("A", "B", "C"):  # the other corpora: disjoint subjects
        rows = [i for i, x in enumerate(corpus) if x == c]
        assert not {subject[i] for i in rows if mask[i]} & {subject[i] for i in rows if not mask[i]}


def test_cross_view_tests_camera_1_and_trains_on_2_and_3() -> None:
    table = _ntu_table()
    mask = split_mask(table, SplitConfig(method="cross_view"), 0)
    cams = table.column("camera").to_pylist()
    assert {cams[i] for i in range(len(cams)) if cams[i] and mask[i]} == {"C001"}
    assert {cams[i] for i in range(len(cams)) if cams[i] and not mask[i]} == {"C002", "C003"}
    no_cam = [i for i, c in enumerate(cams) if c is None]
    assert 0.1 < mask[no_cam].mean() < 0.3  # corpora without cameras: the random 4:1 split


@pytest.mark.parametrize("method", ["random", "subject", "cross_subject", "cross_view"])
def test_unseen_classes_never_train(tmp_path: Path, method: str) -> None:
    table = _ntu_table()
    write_takes(table, tmp_path / "h.parquet")
    cfg = SplitConfig(method=method, unseen={"D": ("jump_up",), "B": ("neutral",)})
    split_file(str(tmp_path / "h.parquet"), str(tmp_path / "s"), cfg, 0)
    train = read_takes(tmp_path / "s" / "train.parquet")
    test = read_takes(tmp_path / "s" / "test.parquet")
    pairs = set(zip(train.column("corpus").to_pylist(), train.column("label").to_pylist(), strict=True))
    assert ("D", "jump_up") not in pairs and ("B", "neutral") not in pairs
    test_pairs = Counter(
        zip(test.column("corpus").to_pylist(), test.column("label").to_pylist(), strict=True)
    )
    assert test_pairs[("D", "jump_up")] == 8 * 3  # every take of the unseen class tests
    labels = json.loads((tmp_path / "s" / "labels.json").read_text())
    assert labels["unseen"] == {"B": ["neutral"], "D": ["jump_up"]}
    assert "jump_up" not in labels["corpora"]["D"] and "jump_up" in labels["classes"]
    assert labels["tasks"]["D"] == "action" and labels["tasks"]["A"] == "emotion"
