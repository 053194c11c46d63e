"""BVH reader, writer and forward kinematics on real rig layouts and hand-checkable poses."""

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from skellm.readers import read_motion
from skellm.readers.bvh import euler_to_matrix, forward_kinematics, write_bvh

FIX = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("order", ["ZXY", "ZYX", "XYZ", "YXZ", "YZX", "XZY"])
def test_euler_matches_scipy_intrinsic(order):
    angles = np.random.default_rng(0).uniform(-180, 180, (20, 3))
    ref = Rotation.from_euler(order, angles, degrees=True).as_matrix()
    assert np.allclose(euler_to_matrix(angles, order), ref, atol=1e-12)


def test_fk_hand_checked_chain():
    # root at (1,2,3); child 10 up; root turned 90 deg about Z: child lands at (1-10, 2, 3).
    rot = np.zeros((2, 2, 3))
    rot[1, 0, 0] = 90.0
    world = forward_kinematics(np.array([[0, 0, 0], [0, 10, 0]]), [-1, 0], rot, np.tile([1, 2, 3], (2, 1)))
    assert np.allclose(world[0], [[1, 2, 3], [1, 12, 3]])
    assert np.allclose(world[1], [[1, 2, 3], [-9, 2, 3]])


def test_write_read_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    names, parents = ["Hips", "Spine", "Head", "LLeg", "LFoot"], [-1, 0, 1, 0, 3]
    off = rng.normal(size=(5, 3)) * 10
    rot = rng.uniform(-90, 90, (30, 5, 3))
    trans = rng.normal(size=(30, 3)) * 50
    path = tmp_path / "t.bvh"
    write_bvh(path, names, parents, off, rot, trans, 120.0, "YXZ", {2: np.array([0.0, 8.0, 0.0])})
    m = read_motion(path, units="cm")
    assert m.joint_names == ["Hips", "Spine", "Head", "Head_End", "LLeg", "LFoot"]
    assert m.parents == [-1, 0, 1, 2, 0, 4]
    assert m.fps == 120.0 and m.positions.dtype == np.float32 and m.positions.shape == (30, 6, 3)
    ref = forward_kinematics(off, parents, rot, trans, "YXZ")
    assert np.allclose(m.positions[:, [0, 1, 2, 4, 5]], ref, atol=1e-3)
    head_rot = Rotation.from_euler("YXZ", rot[:, :3], degrees=True).as_matrix()
    r_world = head_rot[:, 0] @ head_rot[:, 1] @ head_rot[:, 2]
    assert np.allclose(m.positions[:, 3], ref[:, 2] + r_world @ [0, 8, 0], atol=1e-3)


@pytest.mark.parametrize(
    "name, layout, joints, units, fps",
    [
        ("cmu_01_01.bvh", "cmu_bvh", 38, "cmu", 120.0),
        ("mixamo_walk.bvh", "mixamo", 68, "cm", 30.0),
        ("lafan1_aiming1_subject1.bvh", "lafan1", 22, "cm", 30.0),
        ("xsens_mvn.bvh", "xsens_bvh", 28, "cm", 120.0),
        ("neuron_F01A0V1.bvh", "perception_neuron", 62, "cm", 125.0),
    ],
)
def test_public_rigs(name, layout, joints, units, fps):
    m = read_motion(FIX / name)
    assert (m.layout, m.n_joints, m.units, m.up_axis, m.fps) == (layout, joints, units, "y", fps)
    assert m.n_frames == 4 and np.isfinite(m.positions).all()
    assert 1.3 < m.meta["height_m"] < 2.0
    assert all(p < j for j, p in enumerate(m.parents))


def test_mixamo_namespace_stripped():
    m = read_motion(FIX / "mixamo_walk.bvh")
    assert m.meta["namespace"] == "mixamorig:" and m.joint_names[0] == "Hips"


def test_position_channels_on_every_joint_are_honoured(tmp_path):
    text = (FIX / "lafan1_aiming1_subject1.bvh").read_text()
    m0 = read_motion(FIX / "lafan1_aiming1_subject1.bvh")
    # Stretch the LeftLeg local translation channel (Yposition) in the data: the knee must move.
    head, data = text.split("Frame Time:")
    lines = data.split("\n")
    vals = lines[1].split()
    vals[6 * 2 + 1] = str(float(vals[6 * 2 + 1]) - 10.0)  # LeftLeg is the third joint, its Yposition
    lines[1] = " ".join(vals)
    p = tmp_path / "l.bvh"
    p.write_text(head + "Frame Time:" + "\n".join(lines))
    m1 = read_motion(p)
    moved = np.linalg.norm(m1.positions[0] - m0.positions[0], axis=1)
    assert moved[m0.joint_names.index("LeftLeg")] > 5 and moved[m0.joint_names.index("Head")] == 0


def test_units_detected_from_body_height(tmp_path):
    m_cm = read_motion(FIX / "xsens_mvn.bvh")
    for unit, scale in (("m", 0.01), ("mm", 10.0), ("inch", 1 / 2.54)):
        text = (FIX / "xsens_mvn.bvh").read_text()
        head, rest = text.split("MOTION")
        import re

        def scaled(mt, s=scale):
            return "OFFSET " + " ".join(f"{float(v) * s:.6f}" for v in mt.group(1).split())

        head = re.sub(r"OFFSET\s+([-\d.]+\s+[-\d.]+\s+[-\d.]+)", scaled, head)
        lines = rest.split("\n")
        frames = lines[3:]
        out = []
        for ln in frames:
            if ln.strip():
                v = ln.split()
                v[:3] = [f"{float(x) * scale:.6f}" for x in v[:3]]
                out.append(" ".join(v))
        p = tmp_path / f"{unit}.bvh"
        p.write_text(head + "MOTION" + "\n".join(lines[:3]) + "\n" + "\n".join(out) + "\n")
        m = read_motion(p)
        assert m.units == unit
        assert m.meta["height_m"] == pytest.approx(m_cm.meta["height_m"], rel=1e-3)


def test_z_up_detected(tmp_path):
    rng = np.random.default_rng(2)
    off = np.array([[0, 0, 95], [0, 0, 50], [0, 0, 25], [10, 0, -45], [0, 0, -45]], float)
    write_bvh(
        tmp_path / "z.bvh",
        ["Hips", "Chest", "Head", "Leg", "Foot"],
        [-1, 0, 1, 0, 3],
        off,
        rng.normal(size=(5, 5, 3)),
        np.tile([0, 0, 95.0], (5, 1)),
        60.0,
    )
    m = read_motion(tmp_path / "z.bvh")
    assert m.up_axis == "z" and m.units == "cm"
