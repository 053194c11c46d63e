"""skellm.data.table read helpers on real Parquet take tables written by write_takes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from skellm.data.table import (
    max_joints,
    positions_list,
    read_takes,
    row_positions,
    rows_to_table,
    take_row,
    take_rows,
    write_takes,
)


def _row(take_id: str, frames: int, joints: int, rng: np.random.Generator, tracked: bool) -> dict:
    pos = rng.normal(size=(frames, joints, 3)).astype(np.float32)
    trk = rng.random((frames, joints)) > 0.2 if tracked else None
    return take_row(
        pos,
        trk,
        take_id=take_id,
        corpus="c",
        source_path=f"{take_id}.npy",
        source_sha256=take_id * 4,
        format="numpy",
        fps=30.0,
        joint_names=[f"j{i}" for i in range(joints)],
        parents=[-1] + list(range(joints - 1)),
        units="m",
        up_axis="y",
    )


@pytest.fixture
def takes(tmp_path):
    rng = np.random.default_rng(3)
    rows = [_row("a", 5, 4, rng, True), _row("b", 7, 6, rng, False), _row("c", 3, 2, rng, True)]
    path = tmp_path / "takes.parquet"
    write_takes(rows_to_table(rows), path)
    return rows, path


def test_take_rows_round_trip_arrays(takes):
    rows, path = takes
    back = take_rows(read_takes(path))
    assert [r["take_id"] for r in back] == ["a", "b", "c"]
    for orig, got in zip(rows, back, strict=True):
        nf, nj = orig["n_frames"], orig["n_joints"]
        assert got["positions"].shape == (nf, nj, 3) and got["positions"].dtype == np.float32
        np.testing.assert_array_equal(got["positions"].reshape(-1), orig["positions"])
        if orig["tracked"] is None:
            assert got["tracked"] is None
        else:
            np.testing.assert_array_equal(got["tracked"].reshape(-1), orig["tracked"])
        assert got["joint_names"] == list(orig["joint_names"])


def test_take_rows_without_array_columns(takes):
    _, path = takes
    back = take_rows(read_takes(path, ["take_id", "n_joints"]))
    assert back == [
        {"take_id": "a", "n_joints": 4},
        {"take_id": "b", "n_joints": 6},
        {"take_id": "c", "n_joints": 2},
    ]


def test_row_positions_flat_list_and_dtype(takes):
    rows, path = takes
    plain = read_takes(path).to_pylist()[1]  # positions as a Python list of floats
    pos = row_positions(plain, np.float64)
    assert pos.shape == (7, 6, 3) and pos.dtype == np.float64
    np.testing.assert_array_equal(pos, rows[1]["positions"].reshape(7, 6, 3))


def test_row_positions_names_take_on_bad_size():
    row = {"take_id": "x", "n_frames": 2, "n_joints": 3, "positions": np.zeros(17)}
    with pytest.raises(ValueError, match="x: positions has 17 values, expected 2x3x3"):
        row_positions(row)


def test_positions_list_names_take_on_bad_size(takes):
    _, path = takes
    table = read_takes(path)
    i = table.column_names.index("n_frames")
    broken = table.set_column(i, "n_frames", pa.array([5, 8, 3], pa.int32()))
    with pytest.raises(ValueError, match="b: positions has 126 values, expected 8x6x3"):
        positions_list(broken)


def test_max_joints_over_tables(takes, tmp_path):
    rows, path = takes
    other = tmp_path / "other.parquet"
    write_takes(rows_to_table(rows[2:]), other)
    assert max_joints([other]) == 2
    assert max_joints([path, other]) == 6
