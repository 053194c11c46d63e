"""The take-table schema: each kind of bad take is named with its reason; fail vs quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from datafix import write_kinect, write_walker_bvh

from skellm.apps.cli import main as cli_main
from skellm.config import Config, CorpusConfig, Paths, config_from_dict
from skellm.data.ingest import ingest_corpus
from skellm.data.table import conform, read_quarantine, read_takes, write_takes
from skellm.data.validate import TableError, ValidationRules, validate_stage, validate_takes

LABELS = {"X": ["joy", "anger"], "Y": ["sadness"]}
CFG = ValidationRules(label_sets=LABELS, min_height_m=1.0, max_height_m=2.3)


def _ingest(tmp: Path, corpus: str, n: int, emotion: str) -> Path:
    root = tmp / "raw" / corpus
    for i in range(n):
        if corpus == "X":
            write_walker_bvh(root / f"S{i:02d}_walk_{emotion}_T{i:03d}.bvh", frames=30, seed=i)
        else:
            write_kinect(root / emotion / f"k{i:02d}.txt", frames=20, seed=i)
    cfg = {
        "root": str(root),
        "patterns": ["**/*.bvh", "**/*.txt"],
        "label_set": LABELS[corpus],
        "labels": [
            {"kind": "regex", "pattern": r"(?P<subject>S\d+)_(?P<action>[a-z]+)_(?P<emotion>[a-z]+)_T\d+"},
            {"kind": "folder", "field": "emotion"},
        ],
    }
    out = tmp / "ingested" / f"{corpus}.parquet"
    ingest_corpus(corpus, CorpusConfig(**cfg), out, workers=1)
    return out


@pytest.fixture
def takes(tmp_path: Path) -> pa.Table:
    (tmp_path / "raw" / "X").mkdir(parents=True)
    return read_takes(_ingest(tmp_path, "X", 9, "joy"))


def _edit(table: pa.Table, row: int, **exprs: pl.Expr) -> pa.Table:
    df = pl.from_arrow(table).with_row_index("_i")
    sel = pl.col("_i") == row
    df = df.with_columns(**{k: pl.when(sel).then(v).otherwise(pl.col(k)) for k, v in exprs.items()})
    return conform(df.drop("_i").to_arrow())


def test_valid_table_passes(takes: pa.Table) -> None:
    valid, failures = validate_takes(takes, CFG)
    assert failures == [] and valid.num_rows == takes.num_rows == 9


def test_each_failure_named_with_its_reason(takes: pa.Table) -> None:
    ids = takes.column("take_id").to_pylist()
    t = _edit(takes, 0, fps=pl.lit(0.0))
    t = _edit(t, 1, positions=pl.col("positions").list.eval(pl.element() / 0.0))  # 0/0 and x/0: NaN, inf
    t = _edit(t, 2, n_frames=pl.col("n_frames") + 1)
    first = pl.col("positions").list.head(pl.col("n_joints") * 3)
    t = _edit(t, 3, positions=first, n_frames=pl.lit(1, pl.Int32))
    t = _edit(t, 5, source_sha256=pl.lit(takes.column("source_sha256")[4].as_py()))
    t = _edit(t, 6, label=pl.lit("boredom"))
    t = _edit(t, 7, positions=pl.col("positions").list.eval(pl.element() * 0.3))  # a 0.5 m "body"
    t = _edit(t, 8, intensity=pl.lit(1.5, pl.Float32))

    valid, failures = validate_takes(t, CFG)
    got = {f["take_id"]: f for f in failures}
    expected = {
        0: "fps",
        1: "non_finite",
        2: "shape",
        3: "too_few_frames",
        4: "duplicate",
        5: "duplicate",
        6: "label_outside_set",
        7: "height",
        8: "intensity",
    }
    assert {ids[i]: k for i, k in expected.items()} == {tid: f["kind"] for tid, f in got.items()}
    assert valid.num_rows == 0
    for f in failures:
        assert f["reason"].startswith(f"{f['take_id']} ({f['source_path']}): ") and "\n" not in f["reason"]
    assert "fps must be finite and > 0" in got[ids[0]]["reason"]
    assert "NaN or inf" in got[ids[1]]["reason"]
    assert "positions length != n_frames * n_joints * 3" in got[ids[2]]["reason"]
    assert "fewer than 2 frames" in got[ids[3]]["reason"]
    assert "not in its corpus's label set" in got[ids[6]]["reason"]
    height = float(got[ids[7]]["reason"].rsplit("(got ", 1)[1].split(" m)")[0])
    assert 0.3 < height < 0.7


def test_table_level_problem_is_not_blamed_on_takes(takes: pa.Table) -> None:
    with pytest.raises(TableError, match="lacks columns: positions"):
        validate_takes(takes.drop_columns(["positions"]), CFG)


def _params(on_error: str) -> Config:
    return config_from_dict(
        {
            "validate": {"on_error": on_error, "min_height_m": 1.0, "max_height_m": 2.3},
            "data": {
                "corpora": {
                    c: {"root": "-", "label_field": "emotion", "label_set": s} for c, s in LABELS.items()
                }
            },
        }
    )


def _paths(tmp: Path) -> Paths:
    return Paths(ingested=tmp / "ingested", validated=tmp / "validated", metrics=tmp)


@pytest.fixture
def ingested(tmp_path: Path) -> Path:
    for c in ("X", "Y"):
        (tmp_path / "raw" / c).mkdir(parents=True)
    (tmp_path / "raw" / "X" / "broken.bvh").write_text("HIERARCHY\n")  # quarantined by ingest
    x = _ingest(tmp_path, "X", 3, "joy")
    _ingest(tmp_path, "Y", 2, "sadness")
    write_takes(_edit(read_takes(x), 2, fps=pl.lit(-1.0)), x)  # quarantined by validate
    return tmp_path


def test_stage_quarantine_mode_merges_corpora_and_counts(ingested: Path) -> None:
    tmp = ingested
    code = validate_stage(_params("quarantine"), _paths(tmp))
    assert code == 0
    takes = read_takes(tmp / "validated" / "takes.parquet")
    q = read_quarantine(tmp / "validated" / "quarantine.parquet")
    assert sorted(takes.column("corpus").to_pylist()) == ["X", "X", "Y", "Y"]
    assert q.column("stage").to_pylist() == ["ingest", "validate"]
    assert q.column("kind").to_pylist() == ["unreadable", "fps"]
    metrics = json.loads((tmp / "data.json").read_text())
    assert metrics == {
        "takes": {"X": 2, "Y": 2, "total": 4},
        "quarantined": {"X": {"fps": 1, "unreadable": 1}, "total": 2},
    }


def test_stage_fail_mode_exits_nonzero_one_line_per_take(
    ingested: Path, capsys: pytest.CaptureFixture
) -> None:
    tmp = ingested
    code = validate_stage(_params("fail"), _paths(tmp))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert (
        len(err) == 2 and "fps must be finite and > 0" in err[0] and err[0].startswith("X/S02_walk_joy_T002")
    )
    assert not (tmp / "validated").exists() and not (tmp / "data.json").exists()


def test_cli_validate(takes: pa.Table, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = _edit(takes, 4, label=pl.lit("anger"), positions=pl.col("positions").list.eval(pl.element() * 5.0))
    write_takes(bad, tmp_path / "t.parquet")
    args = [
        "validate",
        str(tmp_path / "t.parquet"),
        "--params",
        str(tmp_path / "none.yaml"),
        "--label-set",
        "X=joy",
    ]
    assert cli_main(args) == 1
    captured = capsys.readouterr()
    line = captured.err.strip()
    assert line.count("\n") == 0 and "label set" in line and "estimated body height" in line
    assert "8 valid, 1 failed of 9 takes" in captured.out
    assert cli_main([*args, "-o", str(tmp_path / "v.parquet")]) == 0
    assert read_takes(tmp_path / "v.parquet").num_rows == 8
    assert read_quarantine(tmp_path / "v.quarantine.parquet").num_rows == 1
    np.testing.assert_array_equal(
        read_takes(tmp_path / "v.parquet").column("take_id"),
        takes.column("take_id").to_pylist()[:4] + takes.column("take_id").to_pylist()[5:],
    )
