"""Ingest of real raw files into the take table, quarantine reasons, and counts that add up."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from datafix import write_kinect, write_walker_bvh

from skellm.apps.cli import main as cli_main
from skellm.config import CorpusConfig
from skellm.data.ingest import ingest_corpus
from skellm.data.table import positions_list, read_quarantine, read_takes, tracked_list
from skellm.readers import read_motion

LABELS = ["joy", "anger", "sadness"]


def _corpus(root: Path) -> dict:
    """A small corpus: good BVH and Kinect takes plus one file for every quarantine reason."""
    write_walker_bvh(root / "S01_walk_joy_T001.bvh", yaw_deg=30)
    write_walker_bvh(root / "S02_walk_anger_T002.bvh", frames=50, seed=1)
    shutil.copy(root / "S01_walk_joy_T001.bvh", root / "S09_walk_joy_T009.bvh")  # duplicate bytes
    write_walker_bvh(root / "S03_walk_boredom_T003.bvh", seed=3)  # label outside the set
    write_walker_bvh(root / "untitled.bvh", seed=4)  # no label at all
    text = (root / "S02_walk_anger_T002.bvh").read_text()
    (root / "S04_walk_joy_T004.bvh").write_text(text[: len(text) // 2])  # truncated
    (root / "S05_walk_joy_T005.bvh").write_text("")  # empty
    (root / "S06_walk_joy_T006.bvh").write_bytes(b"\xff\xfe\x00garbage\x81\x82")  # not text
    write_kinect(root / "sadness" / "k01.txt", lost=4)
    write_kinect(root / "joy" / "k02.txt", seed=2)
    (root / "notes.md").write_text("not mocap")  # not matched by the patterns: never an input
    return {
        "root": str(root),
        "patterns": ["**/*.bvh", "**/*.txt"],
        "label_field": "emotion",
        "label_set": LABELS,
        "fps": 30,
        "labels": [
            {"kind": "regex", "pattern": r"(?P<subject>S\d+)_(?P<action>[a-z]+)_(?P<emotion>[a-z]+)_T\d+"},
            {"kind": "folder", "field": "emotion"},
            {"kind": "csv", "path": str(root / "annotations.csv"), "optional": True},
        ],
    }


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CorpusConfig:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "raw" / "X"
    root.mkdir(parents=True)
    cfg = _corpus(root)
    (root / "annotations.csv").write_text(
        "filename,intensity,description\nS01_walk_joy_T001.bvh,0.75,arms swing wide\nk01,0.2,\n"
    )
    return CorpusConfig(**cfg)


def test_every_file_ends_in_one_table_with_its_reason(corpus: CorpusConfig) -> None:
    result = ingest_corpus("X", corpus, "out/X.parquet", workers=2)
    takes, quarantine = read_takes("out/X.parquet"), read_quarantine("out/X.quarantine.parquet")

    inputs = sorted(
        p.relative_to(Path.cwd()).as_posix()
        for p in Path(corpus.root).rglob("*")
        if p.suffix in (".bvh", ".txt")
    )
    ended = sorted(takes.column("source_path").to_pylist() + quarantine.column("source_path").to_pylist())
    assert ended == inputs
    assert result.n_files == len(inputs) == result.n_takes + result.n_quarantined
    assert result.summary("X").startswith(f"ingest X: {len(inputs)} files = {takes.num_rows} takes + ")

    q = quarantine.to_pylist()
    kinds = {r["source_path"]: r["kind"] for r in q}
    root = "raw/X"
    assert kinds == {
        f"{root}/S09_walk_joy_T009.bvh": "duplicate",
        f"{root}/S03_walk_boredom_T003.bvh": "label_outside_set",
        f"{root}/untitled.bvh": "missing_label",
        f"{root}/S04_walk_joy_T004.bvh": "unreadable",
        f"{root}/S05_walk_joy_T005.bvh": "unreadable",
        f"{root}/S06_walk_joy_T006.bvh": "unreadable",
    }
    reasons = {r["source_path"]: r["reason"] for r in q}
    assert "duplicate of raw/X/S01_walk_joy_T001.bvh" in reasons[f"{root}/S09_walk_joy_T009.bvh"]
    assert "'boredom'" in reasons[f"{root}/S03_walk_boredom_T003.bvh"]
    for path, reason in reasons.items():
        assert "\n" not in reason and Path(path).name in reason
    assert set(quarantine.column("stage").to_pylist()) == {"ingest"}


def test_rows_hold_the_readers_motion_and_the_labels(corpus: CorpusConfig) -> None:
    ingest_corpus("X", corpus, "out/X.parquet", workers=1)
    takes = read_takes("out/X.parquet")
    rows = {r["take_id"]: r for r in takes.drop_columns(["positions", "tracked"]).to_pylist()}
    assert set(rows) == {"X/S01_walk_joy_T001", "X/S02_walk_anger_T002", "X/sadness/k01", "X/joy/k02"}

    joy = rows["X/S01_walk_joy_T001"]
    assert (joy["subject"], joy["action"], joy["emotion"]) == ("S01", "walk", "joy")
    assert joy["intensity"] == pytest.approx(0.75) and joy["description"] == "arms swing wide"
    assert (joy["format"], joy["units"], joy["up_axis"], joy["fps"]) == (
        "bvh",
        "cm",
        "y",
        pytest.approx(120.0),
    )
    k01 = rows["X/sadness/k01"]
    assert (k01["emotion"], k01["intensity"], k01["description"], k01["format"]) == (
        "sadness",
        pytest.approx(0.2),
        None,
        "kinect",
    )

    by_id = dict(zip(takes.column("take_id").to_pylist(), positions_list(takes), strict=True))
    tracked = dict(zip(takes.column("take_id").to_pylist(), tracked_list(takes), strict=True))
    for take_id, row in rows.items():
        motion = read_motion(row["source_path"], fps=30)
        np.testing.assert_array_equal(by_id[take_id], motion.positions)
        assert row["joint_names"] == motion.joint_names and row["parents"] == motion.parents
        assert (row["n_frames"], row["n_joints"]) == motion.positions.shape[:2]
    assert tracked["X/sadness/k01"].sum() == tracked["X/sadness/k01"].size - 4
    assert tracked["X/S01_walk_joy_T001"] is None


def test_parquet_layout_byte_stream_split_positions(corpus: CorpusConfig) -> None:
    ingest_corpus("X", corpus, "out/X.parquet", workers=1)
    meta = pq.ParquetFile("out/X.parquet").metadata
    cols = {
        meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i)
        for i in range(meta.num_columns)
    }
    pos = cols["positions.list.element"]
    assert "BYTE_STREAM_SPLIT" in pos.encodings and not any("DICTIONARY" in e for e in pos.encodings)
    assert pos.compression == "ZSTD" and cols["take_id"].compression == "ZSTD"


def test_parallel_ingest_equals_serial(corpus: CorpusConfig) -> None:
    ingest_corpus("X", corpus, "out/serial.parquet", workers=1)
    ingest_corpus("X", corpus, "out/parallel.parquet", workers=2)
    assert read_takes("out/serial.parquet").equals(read_takes("out/parallel.parquet"))
    assert read_quarantine("out/serial.quarantine.parquet").equals(
        read_quarantine("out/parallel.quarantine.parquet")
    )


def test_cli_ingest_prints_counts(corpus: CorpusConfig, capsys: pytest.CaptureFixture) -> None:
    root = Path(corpus.root)
    code = cli_main(
        [
            "ingest",
            str(root / "joy"),
            str(root / "S02_walk_anger_T002.bvh"),
            str(root / "S05_walk_joy_T005.bvh"),
            "-o",
            "cli.parquet",
            "--corpus",
            "U",
            "--fps",
            "30",
            "--workers",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "ingest U: 3 files = 2 takes + 1 quarantined (unreadable 1)" in out
    assert "S05_walk_joy_T005.bvh: empty file" in out
    assert read_takes("cli.parquet").num_rows == 2


def test_missing_root_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="root folder .* does not exist"):
        ingest_corpus(
            "X", CorpusConfig(root=str(tmp_path / "nope"), patterns=("*.bvh",)), tmp_path / "x.parquet"
        )
