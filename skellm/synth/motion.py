"""Actions as pose-channel trajectories, and the emotion cues layered onto them.

:func:`make_pose` returns a pose dict (see :mod:`skellm.synth.body`) for one take: the action's
cycle or timeline at the cue's tempo and amplitude, then posture offsets, jerky and trembling
perturbations, head scanning or aversion, approach/withdrawal, a self-touch and a raised-arms event.
"""

from __future__ import annotations

import numpy as np

from skellm.synth.body import Actor, pelvis_height
from skellm.synth.emotions import Cues

ACTIONS_A = ("walk", "sit_down", "knock", "lift", "throw", "move_books", "walk_with_object")
# Base durations in seconds (low, high) at neutral tempo.
DURATIONS = {
    "walk": (3.0, 4.5),
    "walk_with_object": (3.0, 4.5),
    "sit_down": (3.5, 4.5),
    "knock": (3.2, 4.5),
    "lift": (3.6, 5.0),
    "throw": (2.8, 4.0),
    "move_books": (4.0, 5.5),
    "gesture": (3.5, 5.5),
    "stand": (3.0, 4.5),
}
_SIDE_REST = {
    "clav_elev": 0.0,
    "clav_protr": 0.0,
    "arm_down": 84.0,
    "arm_flex": 0.0,
    "arm_add": 0.0,
    "arm_twist": 0.0,
    "elbow": 12.0,
    "wrist": 0.0,
    "curl": 0.3,
    "hip_flex": 0.0,
    "hip_abd": 2.0,
    "knee": 3.0,
    "ankle": 0.0,
}
_TRUNK = ("root_yaw", "pelvis_pitch", "pelvis_roll", "spine_flex", "spine_lat", "spine_yaw",
          "neck_flex", "head_flex", "head_yaw", "head_roll")  # fmt: skip
# Self-touch target arm poses (trunk frame): where the hand goes.
TOUCH_POSES = {
    "face": {"arm_flex": 56.0, "arm_down": 75.0, "arm_add": 62.0, "elbow": 137.0, "wrist": 15.0},
    "mouth": {"arm_flex": 45.0, "arm_down": 77.0, "arm_add": 67.0, "elbow": 134.0, "wrist": 10.0},
    "neck": {"arm_flex": 13.0, "arm_down": 51.0, "arm_add": 77.0, "elbow": 156.0, "wrist": 20.0},
    "chest": {"arm_flex": -7.0, "arm_down": 90.0, "arm_add": 58.0, "elbow": 141.0, "wrist": 0.0},
    "arm": {"arm_flex": 38.0, "arm_down": 109.0, "arm_add": 64.0, "elbow": 82.0, "wrist": 0.0},
    "head": {"arm_flex": 72.0, "arm_down": 20.0, "arm_add": 118.0, "elbow": 129.0, "wrist": 10.0},
}


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, smooth (C1) in between."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def window(t: np.ndarray, t0: float, t1: float, ramp: float) -> np.ndarray:
    """1 on [t0, t1] with smooth ramps of ``ramp`` seconds either side, 0 elsewhere."""
    return smoothstep((t - t0 + ramp) / ramp) * (1.0 - smoothstep((t - t1) / ramp))


def band_noise(rng: np.random.Generator, t: np.ndarray, lo: float, hi: float, k: int = 5) -> np.ndarray:
    """Smooth zero-mean noise of unit RMS from ``k`` sinusoids with frequencies in [lo, hi] Hz."""
    f = rng.uniform(lo, hi, k)
    ph = rng.uniform(0, 2 * np.pi, k)
    return np.sqrt(2.0 / k) * np.sin(2 * np.pi * f[:, None] * t[None, :] + ph[:, None]).sum(0)


def steps(rng: np.random.Generator, t: np.ndarray, rate: float, smooth_s: float) -> np.ndarray:
    """Piecewise-constant N(0,1) levels switching about ``rate`` times a second, edges ``smooth_s`` wide.

    Abrupt switches are what makes motion jerky (high third derivative), unlike band_noise.
    """
    dt = t[1] - t[0] if len(t) > 1 else 1.0
    n_switch = rng.poisson(max(rate * (t[-1] - t[0] + dt), 1e-6)) + 1
    times = np.sort(rng.uniform(t[0], t[-1] + dt, n_switch))
    levels = rng.normal(size=n_switch + 1)
    raw = levels[np.searchsorted(times, t)]
    w = max(int(round(smooth_s / dt)), 1)
    padded = np.pad(raw, (w, w), mode="edge")
    return np.convolve(padded, np.ones(w) / w, mode="same")[w:-w]


def _rest_pose(T: int, actor: Actor) -> dict[str, np.ndarray]:
    pose = {k: np.zeros(T) for k in _TRUNK}
    pose["root_pos"] = np.zeros((T, 3))
    pose["root_pos"][:, 1] = pelvis_height(actor)
    for side in ("l", "r"):
        for k, v in _SIDE_REST.items():
            pose[f"{side}_{k}"] = np.full(T, v)
    return pose


def _walk(pose, t, tempo, amp, actor, carry: bool) -> float:
    """Gait cycle; returns distance walked forward (metres)."""
    f = 0.92 * tempo
    phi = 2 * np.pi * f * t
    leg, arm = amp**0.6, amp**1.2
    for side, off in (("l", 0.0), ("r", np.pi)):
        p = phi + off
        pose[f"{side}_hip_flex"] += 4 + 22 * leg * np.sin(p)
        pose[f"{side}_knee"] += 5 + 50 * leg * np.clip(np.cos(p + 0.3), 0, 1) ** 1.5
        pose[f"{side}_ankle"] += 6 * leg * np.sin(p - 0.5)
        if carry:
            pose[f"{side}_arm_flex"] += 32 + 3 * np.sin(p + np.pi)
            pose[f"{side}_elbow"] += 72
            pose[f"{side}_arm_add"] += 14
        else:
            pose[f"{side}_arm_flex"] += 18 * arm * np.sin(p + np.pi)
            pose[f"{side}_elbow"] += 8 * arm * (1 + np.sin(p + np.pi))
    pose["root_yaw"] += 4 * leg * np.sin(phi)
    pose["spine_yaw"] -= 6 * arm * np.sin(phi)
    pose["pelvis_roll"] += 3 * leg * np.sin(phi)
    pose["root_pos"][:, 1] += 0.018 * leg * np.cos(2 * phi)
    pose["root_pos"][:, 0] += 0.02 * np.sin(phi)
    stride = 1.45 * actor.height / 1.75 * leg
    pose["root_pos"][:, 2] += stride * f * t
    return float(stride * f * t[-1])


def _sit_down(pose, t, tempo, amp, actor, rng):
    t0 = rng.uniform(0.4, 0.9)
    s = smoothstep((t - t0) * tempo / 1.6)
    bump = np.sin(np.pi * s)
    for side in ("l", "r"):
        pose[f"{side}_hip_flex"] += 88 * s
        pose[f"{side}_knee"] += 92 * s
        pose[f"{side}_ankle"] += 8 * s
        pose[f"{side}_arm_flex"] += 25 * amp * bump + 28 * s
        pose[f"{side}_elbow"] += 45 * s
        pose[f"{side}_arm_add"] += 8 * s
    pose["spine_flex"] += 32 * bump
    pose["pelvis_pitch"] += 8 * bump
    pose["root_pos"][:, 1] -= 0.235 * actor.height * s
    pose["root_pos"][:, 2] -= 0.1 * actor.height * s


def _knock(pose, t, tempo, amp, actor, rng):
    t_up = rng.uniform(0.6, 1.1)
    t_down = t[-1] - rng.uniform(0.5, 0.9)
    w = window(t, t_up, t_down, 0.35 / tempo)
    fk = 2.6 * tempo
    knocks = np.clip(np.sin(2 * np.pi * fk * (t - t_up)), 0, 1) ** 2
    bursts = window(t, t_up + 0.3, t_up + 1.4, 0.1) + window(t, t_up + 2.0, t_up + 3.0, 0.1)
    pose["r_arm_flex"] += w * (72 + 7 * amp * knocks * bursts)
    pose["r_arm_down"] -= w * 10
    pose["r_elbow"] += w * (100 + 22 * amp * knocks * bursts)
    pose["r_curl"] += w * 0.5
    step = smoothstep((t - 0.1) / 0.5)
    pose["l_hip_flex"] += 15 * np.sin(np.pi * step)
    pose["root_pos"][:, 2] += 0.25 * step


def _lift(pose, t, tempo, amp, actor, rng):
    t1 = rng.uniform(0.5, 0.9)
    down = smoothstep((t - t1) * tempo / 1.0)
    up = smoothstep((t - t1 - 1.5 / tempo) * tempo / 1.2)
    s = down * (1 - up)
    for side in ("l", "r"):
        pose[f"{side}_hip_flex"] += 65 * s
        pose[f"{side}_knee"] += 75 * s
        pose[f"{side}_ankle"] += 12 * s
        pose[f"{side}_arm_flex"] += 10 * s + up * 28
        pose[f"{side}_elbow"] += up * 75
        pose[f"{side}_arm_add"] += 12 * (s + up)
    pose["spine_flex"] += 42 * s
    pose["root_pos"][:, 1] -= 0.13 * actor.height * s
    pose["root_pos"][:, 2] -= 0.05 * actor.height * s


def _throw(pose, t, tempo, amp, actor, rng):
    t1 = rng.uniform(0.6, 1.0)
    wind = smoothstep((t - t1) * tempo / 0.6)
    rel_t = t1 + 0.7 / tempo
    rel = smoothstep((t - rel_t) * tempo / 0.18)
    back = smoothstep((t - rel_t - 0.8 / tempo) * tempo / 0.9)
    a = amp
    pose["r_arm_down"] += -55 * a * wind * (1 - rel) + (-25 * rel) * (1 - back)
    pose["r_arm_flex"] += (-30 * a * wind * (1 - rel) + 95 * a * rel) * (1 - back)
    pose["r_elbow"] += (95 * wind * (1 - rel) + 10 * rel) * (1 - back)
    pose["spine_yaw"] += (-25 * a * wind * (1 - rel) + 20 * a * rel) * (1 - back)
    pose["spine_flex"] += 14 * a * rel * (1 - back)
    pose["l_hip_flex"] += 22 * a * np.sin(np.pi * smoothstep((t - rel_t + 0.4 / tempo) * tempo / 0.8))
    pose["root_pos"][:, 2] += 0.3 * a * smoothstep((t - rel_t + 0.4 / tempo) * tempo / 0.8)


def _move_books(pose, t, tempo, amp, actor, rng):
    P = 2.4 / tempo
    ph = 2 * np.pi * t / P + rng.uniform(0, 2 * np.pi)
    pose["spine_yaw"] += 32 * amp * np.sin(ph)
    pose["root_yaw"] += 12 * amp * np.sin(ph)
    reach = np.abs(np.sin(ph)) ** 2
    pose["spine_flex"] += 14 * reach
    for side in ("l", "r"):
        pose[f"{side}_arm_flex"] += 40 + 18 * amp * reach
        pose[f"{side}_elbow"] += 70 - 30 * reach
        pose[f"{side}_arm_add"] += 12
        pose[f"{side}_curl"] += 0.3
        pose[f"{side}_knee"] += 8 * reach


def _gesture(pose, t, tempo, amp, actor, rng, level: float = 1.0):
    for side, dom in (("r", 1.0), ("l", 0.6)):
        g = level * amp * dom
        pose[f"{side}_arm_flex"] += 20 * level + 22 * g * band_noise(rng, t, 0.25 * tempo, 1.1 * tempo)
        pose[f"{side}_arm_down"] -= 10 * g * (1 + band_noise(rng, t, 0.2 * tempo, 0.8 * tempo))
        pose[f"{side}_elbow"] += 45 * level + 25 * g * band_noise(rng, t, 0.3 * tempo, 1.2 * tempo)
        pose[f"{side}_arm_add"] += 8 * g * band_noise(rng, t, 0.2 * tempo, 0.7 * tempo)
        pose[f"{side}_wrist"] += 12 * g * band_noise(rng, t, 0.4 * tempo, 1.5 * tempo)
    sway = band_noise(rng, t, 0.1, 0.35, 3)
    pose["root_pos"][:, 0] += 0.025 * sway
    pose["pelvis_roll"] += 2.0 * sway
    pose["l_hip_abd"] += 2.0 * sway
    pose["r_hip_abd"] -= 2.0 * sway
    pose["head_flex"] += 3 * level * band_noise(rng, t, 0.3 * tempo, 1.0 * tempo)
    pose["spine_yaw"] += 4 * amp * band_noise(rng, t, 0.15, 0.5, 3)


def duration_s(action: str, cues: Cues, rng: np.random.Generator) -> float:
    """Take length: the action's usual range, a bit longer when the take is slow."""
    lo, hi = DURATIONS[action]
    return float(rng.uniform(lo, hi) * cues["tempo"] ** -0.4)


def make_pose(
    action: str, cues: Cues, actor: Actor, fps: float, n_frames: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The pose channels of one take: the action at the cues' tempo and amplitude, with every cue applied."""
    t = np.arange(n_frames) / fps
    pose = _rest_pose(n_frames, actor)
    tempo, amp = cues["tempo"], cues["amplitude"]
    if action in ("walk", "walk_with_object"):
        _walk(pose, t, tempo, amp, actor, carry=action == "walk_with_object")
    elif action == "gesture":
        _gesture(pose, t, tempo, amp, actor, rng)
    elif action == "stand":
        _gesture(pose, t, tempo, amp, actor, rng, level=0.25)
    else:
        {"sit_down": _sit_down, "knock": _knock, "lift": _lift, "throw": _throw, "move_books": _move_books}[
            action
        ](pose, t, tempo, amp, actor, rng)
    _apply_cues(pose, t, cues, actor, rng)
    return pose


def _apply_cues(pose, t, cues: Cues, actor: Actor, rng: np.random.Generator) -> None:
    tempo, amp = cues["tempo"], cues["amplitude"]
    T = len(t)
    # Posture.
    pose["spine_flex"] += cues["trunk_flex"]
    pose["neck_flex"] += 0.4 * cues["head_flex"]
    pose["head_flex"] += 0.6 * cues["head_flex"]
    for side in ("l", "r"):
        pose[f"{side}_clav_elev"] += cues["shoulder_raise"]
        pose[f"{side}_clav_protr"] += cues["shoulder_protr"]
        pose[f"{side}_arm_down"] -= 0.5 * cues["expand"]
        pose[f"{side}_arm_add"] -= 0.3 * cues["expand"]
        pose[f"{side}_elbow"] -= 0.5 * cues["expand"]
        pose[f"{side}_curl"] = np.clip(pose[f"{side}_curl"] + cues["curl"] - 0.3, 0, 1) * 90.0
    # Jerk: abrupt level switches on arms, head and trunk.
    j = cues["jerk"]
    if j > 0:
        rate, sm = 2.5 * tempo, 0.05
        for key, gain in (("spine_flex", 3), ("head_flex", 5), ("head_yaw", 6), ("spine_yaw", 4)):
            pose[key] += gain * j * steps(rng, t, rate, sm)
        for side in ("l", "r"):
            for key, gain in (("arm_flex", 12), ("elbow", 14), ("arm_down", 8), ("wrist", 10)):
                pose[f"{side}_{key}"] += gain * j * amp * steps(rng, t, rate, sm)
    # Tremble: small fast oscillation.
    tr = cues["tremble"]
    if tr > 0:
        for key in ("head_flex", "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_arm_flex", "r_arm_flex"):
            pose[key] += 2.0 * tr * band_noise(rng, t, 6.0, 10.0, 4)
    # Looking around (discrete glances) and turning the face away.
    pose["head_yaw"] += cues["scan"] * steps(rng, t, 1.0 * tempo, 0.15)
    if cues["avert"] > 0:
        sgn = 1.0 if rng.random() < 0.5 else -1.0
        onset = smoothstep((t - rng.uniform(0.2, 0.8)) / 0.5)
        pose["head_yaw"] += sgn * cues["avert"] * onset
        pose["spine_yaw"] += sgn * 0.3 * cues["avert"] * onset
        pose["head_roll"] += sgn * 0.2 * cues["avert"] * onset
    # Approach (+) or withdrawal (-) over the take, with a lean into it.
    ap = cues["approach"]
    move = smoothstep((t - rng.uniform(0.0, 0.5)) / max(t[-1] * 0.7, 0.5))
    pose["root_pos"][:, 2] += ap * move
    pose["pelvis_pitch"] += 6.0 * ap * np.gradient(move, t) if T > 1 else 0.0
    # Raised arms (jubilation, startle, threat).
    if cues.raise_arms and T > 1:
        t0 = rng.uniform(0.25, 0.55) * t[-1]
        w = window(t, t0, t0 + rng.uniform(0.6, 1.2) / tempo, 0.25 / tempo)
        emo = cues.emotion
        if emo == "anger":
            pose["r_arm_flex"] += w * (100 - pose["r_arm_flex"])
            pose["r_elbow"] += w * (60 - pose["r_elbow"])
            pose["r_curl"] += w * (90 - pose["r_curl"])
        elif emo in ("fear", "panic"):
            for side in ("l", "r"):
                pose[f"{side}_arm_flex"] += w * (70 - pose[f"{side}_arm_flex"])
                pose[f"{side}_elbow"] += w * (120 - pose[f"{side}_elbow"])
                pose[f"{side}_arm_add"] += w * (20 - pose[f"{side}_arm_add"])
        else:
            for side in ("l", "r"):
                pose[f"{side}_arm_down"] += w * (-35 * amp - pose[f"{side}_arm_down"])
                pose[f"{side}_arm_flex"] += w * (25 - pose[f"{side}_arm_flex"])
                pose[f"{side}_elbow"] += w * (25 - pose[f"{side}_elbow"])
    # Self-touch: one hand (both for the head) goes to the target and stays a while.
    if cues.touch and T > 1:
        d = rng.uniform(1.0, 2.0) / tempo**0.5
        t0 = rng.uniform(0.15, 0.55) * max(t[-1] - d, 0.1)
        w = window(t, t0, t0 + d, 0.35 / tempo**0.5)
        cues.extra["touch_t0"], cues.extra["touch_t1"] = t0, t0 + d
        hang = 0.8 * (pose["spine_flex"] + pose["pelvis_pitch"])
        sides = ("l", "r") if cues.touch == "head" else (cues.touch_side,)
        for side in sides:
            for key, v in TOUCH_POSES[cues.touch].items():
                target = v - hang if key == "arm_flex" else v
                pose[f"{side}_{key}"] += w * (target - pose[f"{side}_{key}"])
