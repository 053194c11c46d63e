"""MVNX, Kinect v2, NTU RGB+D, C3D and NumPy readers on files in their real formats."""

import json

import ezc3d
import numpy as np
import pytest

from skellm.layouts import KINECT_V2, XSENS23
from skellm.readers import ReadError, detect_format, read_motion
from skellm.readers.kinect import write_kinect_text
from skellm.readers.mvnx import write_mvnx

RNG = np.random.default_rng(0)


def _person(n_frames, n_joints, height=1.7):
    """A standing-person-sized cloud of joints, Y up."""
    base = RNG.uniform(-0.2, 0.2, (n_joints, 3))
    base[:, 1] = np.linspace(0, height, n_joints)
    return base + 0.01 * RNG.normal(size=(n_frames, n_joints, 3))


def test_mvnx_round_trip_skips_calibration_frames(tmp_path):
    pos = _person(12, 23)[..., [0, 2, 1]]  # Z up
    quat = RNG.normal(size=(12, 23, 4))
    write_mvnx(tmp_path / "a.mvnx", list(XSENS23.joint_names), pos, quat, 60.0, subject="S03")
    text = (tmp_path / "a.mvnx").read_text()
    assert 'type="tpose"' in text and 'type="identity"' in text
    m = read_motion(tmp_path / "a.mvnx")
    assert (m.fmt, m.n_frames, m.fps, m.units, m.up_axis, m.layout) == ("mvnx", 12, 60.0, "m", "z", "xsens23")
    assert m.parents == list(XSENS23.parents) and m.meta["subject"] == "S03"
    assert np.allclose(m.positions, pos, atol=1e-5) and np.allclose(m.orientations, quat, atol=1e-5)


def test_kinect_text_round_trip_flags_lost_joints(tmp_path):
    pos = _person(9, 25)
    quat = RNG.normal(size=(9, 25, 4))
    state = np.full((9, 25), 2)
    state[3, 7] = 0
    state[4, 7] = 1
    write_kinect_text(tmp_path / "k.txt", pos, quat, state)
    m = read_motion(tmp_path / "k.txt")
    assert (m.fmt, m.layout, m.fps, m.units) == ("kinect", "kinect_v2", 30.0, "m")
    assert np.allclose(m.positions, pos, atol=1e-4) and np.allclose(m.orientations, quat, atol=1e-4)
    assert not m.tracked[3, 7] and m.tracked[4, 7] and m.tracked.sum() == 9 * 25 - 1
    assert np.allclose(m.positions[3, 7], pos[3, 7], atol=1e-4)  # kept, only flagged


def test_kinect_csv_variant(tmp_path):
    pos = _person(3, 25)
    rows = ["frame,timestamp_ms,joint,state,x,y,z,qw,qx,qy,qz"]
    states = ["Tracked", "Inferred", "NotTracked"]
    for f in range(3):
        for j, name in enumerate(KINECT_V2.joint_names):
            st = states[(f + j) % 3]
            rows.append(f"{f},{f * 40},{name},{st},{pos[f, j, 0]},{pos[f, j, 1]},{pos[f, j, 2]},1,0,0,0")
    (tmp_path / "k.csv").write_text("\n".join(rows) + "\n")
    m = read_motion(tmp_path / "k.csv")
    assert m.fps == 25.0  # from timestamps, 40 ms apart
    assert np.allclose(m.positions, pos, atol=1e-6)
    assert m.tracked[0, 2] == np.False_ and m.tracked[0, 0] and m.tracked[0, 1]


def _ntu_body(body_id, xyz):
    lines = [f"{body_id} 0 1 1 1 1 0 0.1 0.2 2", "25"]
    lines += [f"{x} {y} {z} 250 200 900 500 1 0 0 0 2" for x, y, z in xyz]
    return lines


def test_ntu_keeps_main_actors_by_motion_energy(tmp_path):
    n = 15
    still, active = _person(1, 25)[0], _person(n, 25)
    wave = active.copy()
    wave[:, 7, 0] += np.sin(np.arange(n))  # a moving hand: the most energetic body
    lines = [str(n)]
    for f in range(n):
        bodies = [("100", still + 0.001 * f), ("200", wave[f]), ("300", active[f] + 0.01 * f)]
        if f < 3:
            bodies.append(("999", still * 3))  # a short-lived noise body
        lines.append(str(len(bodies)))
        for bid, xyz in bodies:
            lines += _ntu_body(bid, xyz)
    (tmp_path / "S001C001P001R001A023.skeleton").write_text("\n".join(lines) + "\n")
    m = read_motion(tmp_path / "S001C001P001R001A023.skeleton")
    assert m.meta["body_ids"] == ["200", "300"] and m.meta["n_bodies_seen"] == 4
    assert m.n_joints == 50 and m.joint_names[25] == "SpineBase_b2" and m.parents[26] == 25
    assert np.allclose(m.positions[:, :25], wave, atol=1e-5)
    one = read_motion(tmp_path / "S001C001P001R001A023.skeleton", max_bodies=1)
    assert one.n_joints == 25 and one.layout == "kinect_v2"


def _write_c3d(path, pts, labels, units="mm", rate=100.0):
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c["parameters"]["POINT"]["LABELS"]["value"] = tuple(labels)
    data = np.ones((4, pts.shape[1], pts.shape[0]))
    data[:3] = pts.transpose(2, 1, 0)
    c["data"]["points"] = data
    c.add_parameter("POINT", "UNITS", [units])
    c.write(str(path))


def test_c3d_markers_units_and_gaps(tmp_path):
    pts = _person(10, 4)[..., [0, 2, 1]] * 1000.0
    pts[4:6, 1] = np.nan  # marker occluded for two frames
    pts[:, 3] = np.nan  # a marker never seen
    _write_c3d(tmp_path / "walk.c3d", pts, ["LFHD", "RFHD", "C7", "GHOST"])
    m = read_motion(tmp_path / "walk.c3d")
    assert (m.fmt, m.units, m.fps, m.joint_names) == ("c3d", "mm", 100.0, ["LFHD", "RFHD", "C7"])
    assert m.parents == [-1, -1, -1] and m.meta["dropped_markers"] == ["GHOST"]
    assert not m.tracked[4, 1] and m.tracked[3, 1]
    assert np.allclose(m.positions[4, 1], pts[3, 1] + (pts[6, 1] - pts[3, 1]) / 3, atol=1e-2)


def test_numpy_with_sidecar_and_npz(tmp_path):
    pos = _person(8, 3).astype(np.float32)
    np.save(tmp_path / "a.npy", pos)
    (tmp_path / "a.json").write_text(
        json.dumps({"joint_names": ["p", "s", "h"], "parents": [-1, 0, 1], "fps": 50})
    )
    m = read_motion(tmp_path / "a.npy")
    assert (m.joint_names, m.parents, m.fps, m.units) == (["p", "s", "h"], [-1, 0, 1], 50.0, "m")
    np.savez(
        tmp_path / "b.npz", positions=pos * 100, joint_names=np.array(["p", "s", "h"]), fps=np.array(25.0)
    )
    m = read_motion(tmp_path / "b.npz")
    assert m.fps == 25.0 and m.units == "cm" and np.allclose(m.positions, pos * 100)
    np.save(tmp_path / "c.npy", pos)
    assert read_motion(tmp_path / "c.npy", fps=10.0).joint_names == ["J00", "J01", "J02"]


def test_numpy_refuses_pickles(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ReadError, match="pickle"):
        read_motion(tmp_path / "o.npy", fps=30)


def test_detect_format_by_content(tmp_path):
    write_kinect_text(tmp_path / "k.txt", _person(2, 25), np.ones((2, 25, 4)), np.full((2, 25), 2))
    assert detect_format(tmp_path / "k.txt") == "kinect"
    (tmp_path / "n.txt").write_text("1\n1\n" + "\n".join(_ntu_body("1", _person(1, 25)[0])) + "\n")
    assert detect_format(tmp_path / "n.txt") == "ntu"
