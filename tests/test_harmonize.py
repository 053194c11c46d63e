"""Harmonisation invariants on real files: metres, Y up, root at origin, facing +Z, 64 frames, joint maps."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from datafix import write_kinect, write_walker_bvh

from skellm.data.harmonize import (
    HarmonizeConfig,
    fix_length,
    harmonize_file,
    harmonize_motion,
    harmonize_table,
    output_fps,
    resample,
    to_canonical,
)
from skellm.data.ingest import ingest_files
from skellm.data.table import positions_list, read_takes
from skellm.layouts import CANONICAL, JOINT_MAPS, LAYOUTS, canonical_indices
from skellm.readers import read_motion

CFG = HarmonizeConfig(joints="native")


@pytest.fixture
def walker(tmp_path: Path):
    return read_motion(write_walker_bvh(tmp_path / "w.bvh", frames=90, fps=120, yaw_deg=60))


def _hips(names: list[str], pos: np.ndarray) -> np.ndarray:
    _, idx = canonical_indices(names)
    return pos[:, idx[CANONICAL.index("l_hip")]] - pos[:, idx[CANONICAL.index("r_hip")]]


def test_native_bvh_in_cm_becomes_metres_y_up_root_origin_facing_z(walker) -> None:
    pos, names, parents, _ = harmonize_motion(walker, CFG)
    assert pos.shape == (64, walker.n_joints, 3) and pos.dtype == np.float32
    assert names == walker.joint_names and parents == walker.parents
    np.testing.assert_allclose(pos[0, 0], 0.0, atol=1e-6)  # root at the origin (first frame)
    across = _hips(names, pos)[0]
    np.testing.assert_allclose(across, [0.18, 0.0, 0.0], atol=1e-4)  # 18 cm hips, left towards +X
    head, hips = pos[:, names.index("Head")], pos[:, 0]
    assert np.all(head[:, 1] - hips[:, 1] > 0.4)  # Y up
    # 90 frames at 120 Hz -> 23 frames at 30 Hz, walking forward (+Z after facing) at 1 m/s
    np.testing.assert_allclose(pos[:23, 0, 2], np.arange(23) / 30.0, atol=1e-4)
    np.testing.assert_allclose(pos[:23, 0, 0], 0.0, atol=1e-4)
    np.testing.assert_allclose(pos[23:46], pos[:23], atol=1e-6)  # short take repeated from its start


def test_facing_and_position_do_not_matter(tmp_path: Path) -> None:
    a = harmonize_motion(read_motion(write_walker_bvh(tmp_path / "a.bvh", yaw_deg=0)), CFG)[0]
    b = harmonize_motion(read_motion(write_walker_bvh(tmp_path / "b.bvh", yaw_deg=-135)), CFG)[0]
    np.testing.assert_allclose(a, b, atol=2e-4)


def test_z_up_input_matches_y_up(walker) -> None:
    p = walker.positions
    z_up = dataclasses.replace(
        walker, positions=np.stack([p[..., 0], -p[..., 2], p[..., 1]], -1), up_axis="z"
    )
    np.testing.assert_allclose(harmonize_motion(z_up, CFG)[0], harmonize_motion(walker, CFG)[0], atol=1e-4)


def test_every_frame_centering(walker) -> None:
    pos = harmonize_motion(walker, dataclasses.replace(CFG, center="every_frame"))[0]
    np.testing.assert_allclose(pos[:, 0], 0.0, atol=1e-6)


def test_resample_is_linear_in_time_and_keeps_first_frame() -> None:
    t = np.arange(121) / 120.0
    ramp = np.broadcast_to(t[:, None, None], (121, 2, 3)).copy()
    out = resample(ramp, 120.0, 30.0)
    np.testing.assert_allclose(out[:, 0, 0], np.arange(31) / 30.0, atol=1e-9)
    out = resample(ramp, 120.0, 50.0)
    np.testing.assert_allclose(out[:, 1, 2], np.arange(51) / 50.0, atol=1e-9)


def test_fix_length_pads_by_repeating_and_downsamples_uniformly() -> None:
    short = np.arange(10, dtype=float)[:, None, None] * np.ones((1, 2, 3))
    padded = fix_length(short, 64)
    assert padded.shape == (64, 2, 3)
    np.testing.assert_array_equal(padded[:, 0, 0], np.arange(64) % 10)
    long = np.arange(400, dtype=float)[:, None, None] * np.ones((1, 2, 3))
    down = fix_length(long, 64)[:, 0, 0]
    assert down[0] == 0 and down[-1] == 399 and np.all(np.diff(down) > 0)
    assert np.ptp(np.diff(down)) <= 1  # evenly spaced


def test_a_long_take_keeps_real_speed_through_the_stored_frame_rate(tmp_path: Path, monkeypatch) -> None:
    # 5 s at 120 fps walking 1 m/s: 150 frames at 30 fps, spread over 64, so 64 frames 5 s apart in all
    monkeypatch.chdir(tmp_path)
    f = write_walker_bvh(tmp_path / "long.bvh", frames=601, fps=120, speed_cm_s=100.0)
    ingest_files([f], "Z", "in.parquet", labels={f: {"emotion": "joy"}})
    harmonize_file("in.parquet", "h/takes.parquet", "h/layouts.json", CFG)
    table = read_takes("h/takes.parquet")
    row = table.drop_columns(["positions"]).to_pylist()[0]
    assert row["n_frames"] == 64 and row["fps"] == pytest.approx(30 * 63 / 150)
    assert output_fps(601, 120.0, CFG) == row["fps"] and output_fps(90, 120.0, CFG) == 30.0
    pos = positions_list(table)[0]
    speed = np.linalg.norm(np.diff(pos[:, 0, [0, 2]], axis=0), axis=-1) * row["fps"]
    np.testing.assert_allclose(speed, 1.0, rtol=1e-3)  # metres per second, as recorded


def test_lost_kinect_joints_are_interpolated(tmp_path: Path) -> None:
    lost = read_motion(write_kinect(tmp_path / "lost.txt", lost=6, seed=3))
    clean = read_motion(write_kinect(tmp_path / "clean.txt", lost=0, seed=3))
    assert (~lost.tracked).sum() == 6
    a, names, _, _ = harmonize_motion(lost, CFG)
    b = harmonize_motion(clean, CFG)[0]
    w = names.index("WristLeft")
    np.testing.assert_allclose(a[5:11, w], b[5:11, w], atol=0.02)  # raw lost positions were (0, 0, 0)


def test_canonical_map_of_every_declared_layout_follows_the_bone_graph() -> None:
    for name, layout in LAYOUTS.items():
        assert name in JOINT_MAPS, f"layout {name} has no joint map onto canonical"
        names, parents = list(layout.joint_names), list(layout.parents)
        # End Sites the map asks for, as BVH files carry them (<joint>_End below <joint>)
        for srcs in JOINT_MAPS[name].values():
            for n in srcs:
                if n.endswith("_End") and n not in names and n[: -len("_End")] in names:
                    names.append(n)
                    parents.append(names.index(n[: -len("_End")]))
        map_name, idx = canonical_indices(names, name)
        assert JOINT_MAPS[map_name] is JOINT_MAPS[name]
        ancestors = []
        for j in range(len(names)):
            chain, p = set(), parents[j]
            while p >= 0:
                chain.add(p)
                p = parents[p]
            ancestors.append(chain)
        assert len(set(idx)) == len(idx), f"{name}: two canonical joints share a source joint"
        for k, cname in enumerate(CANONICAL.joint_names):
            parent = CANONICAL.parents[k]
            if parent >= 0:
                assert idx[parent] in ancestors[idx[k]], f"{name}: {cname} is not below its canonical parent"
            src = names[idx[k]].lower()
            if cname[:2] in ("l_", "r_"):
                side = "left" if cname[0] == "l" else "right"
                assert side in src or src.startswith(cname[0]), f"{name}: {cname} mapped to {names[idx[k]]}"


def test_canonical_uses_end_sites_where_the_rig_has_no_toes() -> None:
    pn = LAYOUTS["perception_neuron"]
    names = [*pn.joint_names, "LeftFoot_End", "RightFoot_End"]
    pos = np.random.default_rng(0).normal(size=(3, len(names), 3))
    out = to_canonical(pos, names)
    np.testing.assert_array_equal(out[:, CANONICAL.index("l_foot")], pos[:, names.index("LeftFoot_End")])
    np.testing.assert_array_equal(out[:, CANONICAL.index("l_ankle")], pos[:, names.index("LeftFoot")])


def test_canonical_mode_gives_one_skeleton_for_bvh_and_kinect(tmp_path: Path) -> None:
    cfg = dataclasses.replace(CFG, joints="canonical")
    for motion in (
        read_motion(write_walker_bvh(tmp_path / "w.bvh", yaw_deg=100)),
        read_motion(write_kinect(tmp_path / "k.txt", yaw_deg=-70)),
    ):
        pos, names, parents, _ = harmonize_motion(motion, cfg)
        assert (
            pos.shape == (64, 19, 3)
            and names == list(CANONICAL.joint_names)
            and parents == list(CANONICAL.parents)
        )
        np.testing.assert_allclose(pos[0, 0], 0.0, atol=1e-6)
        across = pos[0, CANONICAL.index("l_hip")] - pos[0, CANONICAL.index("r_hip")]
        shoulders = pos[0, CANONICAL.index("l_shoulder")] - pos[0, CANONICAL.index("r_shoulder")]
        facing = across + shoulders
        assert facing[0] > 0.3 and abs(facing[2]) < 0.02 * facing[0]
        assert pos[0, CANONICAL.index("head"), 1] > 0.4


def test_table_and_motion_share_one_code_path_and_layouts_json(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = [write_walker_bvh(tmp_path / "w.bvh", yaw_deg=20), write_kinect(tmp_path / "k.txt", lost=3)]
    ingest_files(files, "Z", "in.parquet", labels={f: {"emotion": "joy"} for f in files})
    n = harmonize_file(
        "in.parquet", "h/takes.parquet", "h/layouts.json", dataclasses.replace(CFG, drop_end_sites=True)
    )
    assert n == 2
    table = read_takes("h/takes.parquet")
    rows = table.drop_columns(["positions"]).to_pylist()
    assert all(
        r["n_frames"] == 64 and r["fps"] == 30 and r["units"] == "m" and r["up_axis"] == "y" for r in rows
    )
    assert [r["layout"] for r in rows] == ["lafan1", "kinect_v2"]  # Head_End dropped: a declared rig again
    assert all(r["tracked"] is None for r in rows)
    layouts = json.loads(Path("h/layouts.json").read_text())
    assert set(layouts) == {"lafan1", "kinect_v2"}
    assert layouts["lafan1"]["parents"] == list(LAYOUTS["lafan1"].parents)
    for f, pos in zip(files, positions_list(table), strict=True):
        direct = harmonize_motion(read_motion(f), dataclasses.replace(CFG, drop_end_sites=True))[0]
        np.testing.assert_allclose(pos, direct, atol=1e-6)


def test_harmonize_errors_name_the_take(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    m = read_motion(write_walker_bvh(tmp_path / "w.bvh"))
    m.joint_names = [f"j{i}" for i in range(m.n_joints)]
    with pytest.raises(ValueError, match="no joint map"):
        harmonize_motion(m, dataclasses.replace(CFG, joints="canonical"))
    ingest_files([tmp_path / "w.bvh"], "Z", "in.parquet")
    table = read_takes("in.parquet")
    bad = table.set_column(table.column_names.index("units"), "units", [["unknown"]])
    with pytest.raises(ValueError, match=r"Z/w \(w.bvh\): units 'unknown' unknown"):
        harmonize_table(bad, CFG)
