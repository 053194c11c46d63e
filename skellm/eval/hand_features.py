"""Hand-crafted body-motion features of one take (the sanity baseline's input).

Input: canonical-joint positions (T, 19, 3) in :data:`skellm.layouts.CANONICAL` order, metres,
Y up. Features cover what the emotion literature measures: speed, amplitude (spatial extent),
posture (trunk and head pitch, raised shoulders, arm openness), jerk, head and trunk orientation,
hand-to-face distance (self-touch) and displacement (approach or withdrawal).
"""

from __future__ import annotations

import numpy as np

from skellm.layouts import CANONICAL

_J = {n: i for i, n in enumerate(CANONICAL.joint_names)}
_UP = np.array([0.0, 1.0, 0.0])

FEATURE_NAMES: tuple[str, ...] = (
    "speed_wrists_mean", "speed_wrists_max", "speed_head_mean", "speed_pelvis_mean", "speed_ankles_mean",
    "speed_all_std", "accel_wrists_mean", "jerk_wrists_log", "jerk_head_log", "jerk_pelvis_log",
    "extent_wrists", "extent_body", "wrist_spread_mean", "wrist_height_mean", "wrist_height_max",
    "arm_open_mean", "elbow_open_mean",
    "trunk_pitch_mean", "trunk_pitch_std", "head_pitch_mean", "head_pitch_std", "head_rel_pitch_mean",
    "shoulder_raise_mean", "shoulder_width", "head_yaw_abs_mean", "head_yaw_std", "trunk_yaw_std",
    "hand_face_min", "hand_face_mean", "hand_face_close_share",
    "displacement_forward", "displacement_lateral", "path_length", "pelvis_height_range",
    "pelvis_height_min",
)  # fmt: skip


def _angle(v: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    """Pitch (degrees) of vectors v (T, 3) away from vertical, + towards ``fwd`` (T, 3)."""
    return np.degrees(np.arctan2((v * fwd).sum(-1), v[:, 1]))


def _yaw(v: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(v[:, 0], v[:, 2]))


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + 180.0) % 360.0 - 180.0


def motion_features(positions: np.ndarray, fps: float) -> np.ndarray:
    """Feature vector (len(FEATURE_NAMES),) of one take of canonical positions (T, 19, 3), metres, Y up."""
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (CANONICAL.n_joints, 3):
        raise ValueError(f"motion_features expects (T, {CANONICAL.n_joints}, 3) positions, got {p.shape}")
    if p.shape[0] < 4:
        raise ValueError("motion_features needs at least 4 frames")
    j = _J
    feet = np.minimum(p[:, j["l_foot"], 1], p[:, j["r_foot"], 1])
    height = max(float(np.median(p[:, j["head"], 1] - feet)), 0.5)
    p = p / height  # body-size invariant: lengths in body heights
    dt = 1.0 / fps
    vel = np.diff(p, axis=0) / dt
    spd = np.linalg.norm(vel, axis=-1)  # (T-1, J)
    acc = np.linalg.norm(np.diff(p, 2, axis=0), axis=-1) / dt**2
    jerk = np.linalg.norm(np.diff(p, 3, axis=0), axis=-1) / dt**3
    wr = [j["l_wrist"], j["r_wrist"]]
    an = [j["l_ankle"], j["r_ankle"]]
    pelvis, neck, head, chest = p[:, j["pelvis"]], p[:, j["neck"]], p[:, j["head"]], p[:, j["chest"]]
    # Facing per frame from the hip line (left minus right, crossed with up).
    across = p[:, j["l_hip"]] - p[:, j["r_hip"]] + p[:, j["l_shoulder"]] - p[:, j["r_shoulder"]]
    fwd = np.cross(across, _UP)
    fwd[:, 1] = 0.0
    fwd /= np.maximum(np.linalg.norm(fwd, axis=-1, keepdims=True), 1e-9)
    rel = p - pelvis[:, None]
    trunk = _angle(neck - pelvis, fwd)
    headp = _angle(head - neck, fwd)
    sh_mid = 0.5 * (p[:, j["l_shoulder"]] + p[:, j["r_shoulder"]])
    face = head
    hand_face = np.minimum(
        np.linalg.norm(p[:, j["l_wrist"]] - face, axis=-1), np.linalg.norm(p[:, j["r_wrist"]] - face, axis=-1)
    )
    body_yaw = _yaw(fwd)
    sh_across = p[:, j["l_shoulder"]] - p[:, j["r_shoulder"]]
    trunk_yaw = _yaw(np.cross(sh_across, _UP))
    # Head yaw: the head-neck vector is too short to carry yaw; use shoulders->head offset sideways.
    side = np.cross(_UP, fwd)
    head_side = ((head - sh_mid) * side).sum(-1)
    head_yaw = np.degrees(np.arctan2(head_side, np.maximum(((head - sh_mid) * _UP).sum(-1), 1e-6)))
    arm_open = []  # upper-arm angle away from hanging straight down
    for s in ("l", "r"):
        u = p[:, j[f"{s}_elbow"]] - p[:, j[f"{s}_shoulder"]]
        cos = -u[:, 1] / np.maximum(np.linalg.norm(u, axis=-1), 1e-9)
        arm_open.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    elbow_open = []
    for s in ("l", "r"):
        a = p[:, j[f"{s}_shoulder"]] - p[:, j[f"{s}_elbow"]]
        b = p[:, j[f"{s}_wrist"]] - p[:, j[f"{s}_elbow"]]
        cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-9)
        elbow_open.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    f0 = fwd[0]
    disp = pelvis[-1] - pelvis[0]
    step = np.linalg.norm(np.diff(pelvis[:, [0, 2]], axis=0), axis=-1)
    feats = {
        "speed_wrists_mean": spd[:, wr].mean(),
        "speed_wrists_max": np.percentile(spd[:, wr], 95),
        "speed_head_mean": spd[:, j["head"]].mean(),
        "speed_pelvis_mean": spd[:, j["pelvis"]].mean(),
        "speed_ankles_mean": spd[:, an].mean(),
        "speed_all_std": spd.std(),
        "accel_wrists_mean": acc[:, wr].mean(),
        "jerk_wrists_log": np.log1p(jerk[:, wr].mean()),
        "jerk_head_log": np.log1p(jerk[:, j["head"]].mean()),
        "jerk_pelvis_log": np.log1p(jerk[:, j["pelvis"]].mean()),
        "extent_wrists": np.ptp(rel[:, wr], axis=0).sum(-1).mean(),
        "extent_body": rel.std(axis=0).mean(),
        "wrist_spread_mean": np.linalg.norm(p[:, j["l_wrist"]] - p[:, j["r_wrist"]], axis=-1).mean(),
        "wrist_height_mean": (rel[:, wr, 1]).mean(),
        "wrist_height_max": (rel[:, wr, 1]).max(),
        "arm_open_mean": np.mean(arm_open),
        "elbow_open_mean": np.mean(elbow_open),
        "trunk_pitch_mean": trunk.mean(),
        "trunk_pitch_std": trunk.std(),
        "head_pitch_mean": headp.mean(),
        "head_pitch_std": headp.std(),
        "head_rel_pitch_mean": (headp - trunk).mean(),
        "shoulder_raise_mean": (sh_mid[:, 1] - chest[:, 1]).mean(),
        "shoulder_width": np.linalg.norm(sh_across, axis=-1).mean(),
        "head_yaw_abs_mean": np.abs(head_yaw).mean(),
        "head_yaw_std": head_yaw.std(),
        "trunk_yaw_std": _wrap(trunk_yaw - body_yaw).std(),
        "hand_face_min": hand_face.min(),
        "hand_face_mean": hand_face.mean(),
        "hand_face_close_share": (hand_face < 0.12).mean(),
        "displacement_forward": float(disp @ f0),
        "displacement_lateral": float(abs(disp @ np.cross(_UP, f0))),
        "path_length": step.sum(),
        "pelvis_height_range": np.ptp(pelvis[:, 1]),
        "pelvis_height_min": pelvis[:, 1].min() - pelvis[0, 1],
    }
    return np.array([float(feats[n]) for n in FEATURE_NAMES], dtype=np.float64)
