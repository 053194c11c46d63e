"""Real raw mocap files for the data-stage tests, written with the project's own format writers.

A LAFAN1-rig BVH walker in centimetres (Y up) and Kinect v2 text takes in metres, each with a chosen
facing direction, walking speed and length, so tests can check what harmonisation does to them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skellm.layouts import KINECT_V2, LAFAN1

# LAFAN1 rig offsets in cm, facing +Z with the body's left towards +X.
_OFFSETS_CM = {
    "Hips": (0, 0, 0),
    "LeftUpLeg": (9, -5, 0),
    "LeftLeg": (0, -42, 0),
    "LeftFoot": (0, -42, 0),
    "LeftToe": (0, -5, 12),
    "RightUpLeg": (-9, -5, 0),
    "RightLeg": (0, -42, 0),
    "RightFoot": (0, -42, 0),
    "RightToe": (0, -5, 12),
    "Spine": (0, 10, 0),
    "Spine1": (0, 12, 0),
    "Spine2": (0, 12, 0),
    "Neck": (0, 15, 0),
    "Head": (0, 10, 0),
    "LeftShoulder": (4, 10, 0),
    "LeftArm": (12, 0, 0),
    "LeftForeArm": (27, 0, 0),
    "LeftHand": (25, 0, 0),
    "RightShoulder": (-4, 10, 0),
    "RightArm": (-12, 0, 0),
    "RightForeArm": (-27, 0, 0),
    "RightHand": (-25, 0, 0),
}


def write_walker_bvh(
    path: Path,
    frames: int = 90,
    fps: float = 120.0,
    yaw_deg: float = 0.0,
    speed_cm_s: float = 100.0,
    seed: int = 0,
) -> Path:
    """A LAFAN1-rig BVH (cm, Y up) of a body walking forward, turned ``yaw_deg`` about the vertical."""
    from skellm.readers.bvh import write_bvh

    rng = np.random.default_rng(seed)
    names = list(LAFAN1.joint_names)
    offsets = np.array([_OFFSETS_CM[n] for n in names], dtype=np.float64)
    t = np.arange(frames) / fps
    rot = np.zeros((frames, len(names), 3))  # ZXY order: (z, x, y) degrees
    rot[:, 0, 2] = yaw_deg
    swing = 20 * np.sin(2 * np.pi * 1.0 * t + rng.uniform(0, 1))
    rot[:, names.index("LeftUpLeg"), 1] = swing
    rot[:, names.index("RightUpLeg"), 1] = -swing
    rot[:, names.index("LeftArm"), 0] = -70 + 0.5 * swing  # arms down along the body
    rot[:, names.index("RightArm"), 0] = 70 - 0.5 * swing
    yaw = np.deg2rad(yaw_deg)
    forward = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    trans = np.array([30.0, 95.0, -20.0]) + (speed_cm_s * t)[:, None] * forward
    write_bvh(
        path,
        names,
        list(LAFAN1.parents),
        offsets,
        rot,
        trans,
        fps,
        end_sites={names.index("Head"): (0, 15, 0)},
    )
    return path


def kinect_positions(frames: int = 40, yaw_deg: float = 0.0, seed: int = 0) -> np.ndarray:
    """(frames, 25, 3) Kinect v2 joints (metres, Y up) of a swaying body facing ``yaw_deg`` from +Z."""
    rng = np.random.default_rng(seed)
    base = {
        "SpineBase": (0, 1.0, 0),
        "SpineMid": (0, 1.25, 0),
        "SpineShoulder": (0, 1.45, 0),
        "Neck": (0, 1.52, 0),
        "Head": (0, 1.65, 0),
        "ShoulderLeft": (0.18, 1.42, 0),
        "ElbowLeft": (0.2, 1.15, 0),
        "WristLeft": (0.2, 0.9, 0.02),
        "HandLeft": (0.2, 0.83, 0.03),
        "HandTipLeft": (0.2, 0.75, 0.04),
        "ThumbLeft": (0.17, 0.82, 0.06),
        "ShoulderRight": (-0.18, 1.42, 0),
        "ElbowRight": (-0.2, 1.15, 0),
        "WristRight": (-0.2, 0.9, 0.02),
        "HandRight": (-0.2, 0.83, 0.03),
        "HandTipRight": (-0.2, 0.75, 0.04),
        "ThumbRight": (-0.17, 0.82, 0.06),
        "HipLeft": (0.09, 0.95, 0),
        "KneeLeft": (0.09, 0.52, 0.02),
        "AnkleLeft": (0.09, 0.1, 0),
        "FootLeft": (0.09, 0.03, 0.1),
        "HipRight": (-0.09, 0.95, 0),
        "KneeRight": (-0.09, 0.52, 0.02),
        "AnkleRight": (-0.09, 0.1, 0),
        "FootRight": (-0.09, 0.03, 0.1),
    }
    p = np.array([base[n] for n in KINECT_V2.joint_names], dtype=np.float64)
    yaw = np.deg2rad(yaw_deg)
    c, s = np.cos(yaw), np.sin(yaw)
    p = p @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T
    t = np.arange(frames)[:, None, None] / 30.0
    sway = 0.03 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6)) * np.array([1.0, 0.0, 0.0])
    jitter = rng.normal(0, 0.003, (frames, 25, 3))
    return (p[None] + sway + jitter + np.array([0.4, 0.0, 2.5])).astype(np.float64)


def write_kinect(path: Path, frames: int = 40, yaw_deg: float = 0.0, seed: int = 0, lost: int = 0) -> Path:
    """A Kinect v2 text take; ``lost`` frames of the left wrist are NotTracked (with junk positions)."""
    from skellm.readers.kinect import write_kinect_text

    pos = kinect_positions(frames, yaw_deg, seed)
    states = np.full((frames, 25), 2)
    if lost:
        w = KINECT_V2.index("WristLeft")
        states[5 : 5 + lost, w] = 0
        pos[5 : 5 + lost, w] = (0.0, 0.0, 0.0)
    ori = np.zeros((frames, 25, 4))
    ori[..., 0] = 1.0
    path.parent.mkdir(parents=True, exist_ok=True)
    write_kinect_text(path, pos, ori, states, fps=30.0)
    return path
