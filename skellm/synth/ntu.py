"""Corpus D: NTU RGB+D-like action takes seen by three Kinect v2 sensors, as real ``.skeleton`` files.

One *performance* (a performer, or two for interactions, doing one class once) is simulated from its
own seed in world space, then viewed by three cameras at the same height and -45, 0 and +45 degrees
around the stage (NTU C001, C002, C003), each with its own sensor noise, lost joints and tracking IDs:
one performance gives three files ``SsssCcccPpppRrrrAaaa.skeleton``. As in NTU, replication R001 faces
camera 1 and R002 camera 3. A size of ``n`` files means ``ceil(n / 3)`` performances (so a multiple of
three files), laid out by :func:`plan_ntu`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from skellm.layouts import KINECT_V2
from skellm.readers.ntu import NtuBody, project_depth, write_ntu
from skellm.synth.actions import BY_NAME, CLASSES, ActionClass, Ctx, action_pose, describe_take, idle
from skellm.synth.body import Actor, global_rotations, local_rotations, sample_actor, xsens_rig
from skellm.synth.corpora import KINECT_GROUPS
from skellm.synth.motion import _rest_pose

FPS = 30.0
CAMERA_AZIMUTHS = (-45.0, 0.0, 45.0)  # C001, C002, C003 (degrees about the vertical, 0 = +Z)
N_SETUPS = 17
MAX_PERFORMERS = 40
BODY_ID_BASE = 72057594037927936  # 2**56: Kinect v2 tracking IDs in NTU files sit just above it
LEAF_JOINTS = ("Head", "FootLeft", "FootRight", "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight")
# The SDK reports no orientation for leaf joints (all four quaternion values 0).
_LEAF = np.array([KINECT_V2.index(j) for j in LEAF_JOINTS])
_GI = {g: np.array([KINECT_V2.index(j) for j in js]) for g, js in KINECT_GROUPS.items()}
_J = KINECT_V2.index


@dataclass(frozen=True)
class Performer:
    """An NTU-style subject: a body plus habits (dominant hand, tempo, amplitude, posture quirks)."""

    actor: Actor  # actor_id "P001"
    dominant: str  # "r" | "l"
    tempo: float
    amplitude: float
    quirks: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Performance:
    """One simulated performance, written as one file per camera."""

    index: int
    action: str
    setup: int
    performer: int  # index into the performer list (P{performer + 1:03d})
    partner: int | None
    replication: int
    seed: tuple[int, ...]

    def stem(self, camera: int) -> str:
        """NTU file stem for camera 1..3, e.g. S001C002P003R001A023."""
        code = BY_NAME[self.action].code
        return f"S{self.setup:03d}C{camera:03d}P{self.performer + 1:03d}R{self.replication:03d}{code}"


def make_performers(n: int, seed: int) -> list[Performer]:
    """``n`` performers, each from its own seed, with their habits; one in eight is left-handed."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, ord("D"), 1000 + i])
        sex = "F" if rng.random() < 0.45 else "M"
        actor = sample_actor(rng, f"P{i + 1:03d}", sex)
        left = i % 8 == 1  # P002, P010, P018...: one in eight, fixed so small corpora always have one
        quirks = {
            "stance": float(rng.normal(3.0, 2.0)),  # feet apart (hip abduction, degrees)
            "head_roll": float(rng.normal(0.0, 3.0)),  # habitual head tilt
            "lean": float(rng.normal(0.0, 3.0)),  # forward (+) / back trunk lean
            "sway": float(np.exp(rng.normal(0.0, 0.4))),  # how much they shift about when idle
            "lead_in": float(rng.uniform(0.3, 0.8)),  # how long they wait before starting
        }
        tempo = actor.habit["tempo"] * float(np.exp(rng.normal(0.0, 0.1)))
        amp = actor.habit["amplitude"] * float(np.exp(rng.normal(0.0, 0.08)))
        out.append(Performer(actor, "l" if left else "r", tempo, amp, quirks))
    return out


def setup_geometry(setup: int, seed: int) -> list[dict[str, float]]:
    """The three cameras of a setup: same height and distance (per setup), azimuths -45, 0, +45."""
    rng = np.random.default_rng([seed, ord("D"), 500 + setup])
    height, dist = rng.uniform(0.7, 1.3), rng.uniform(2.4, 3.4)
    cams = []
    for az in CAMERA_AZIMUTHS:
        cam = {"azimuth": az + rng.normal(0, 2.0), "height": height + rng.normal(0, 0.02),
               "distance": dist + rng.normal(0, 0.06), "pitch": rng.normal(-3.0, 1.5)}  # fmt: skip
        cams.append({k: float(v) for k, v in cam.items()})
    return cams


def plan_ntu(n_files: int, seed: int, classes: tuple[ActionClass, ...] = CLASSES) -> list[Performance]:
    """``ceil(n_files / 3)`` performances over classes, performers and replications.

    The performer count is ``ceil(performances / classes)`` (2 to 40) and replications as many as needed
    (NTU: 2). Within a round every class appears once, each with a different performer per round
    (a class-specific performer order), so small corpora still span many classes and performers.
    """
    n_perf_total = -(-max(int(n_files), 0) // 3)
    if n_perf_total == 0:
        return []
    C = len(classes)
    n_perf = int(np.clip(-(-n_perf_total // C), 2, MAX_PERFORMERS))
    reps = -(-n_perf_total // (C * n_perf))
    rng = np.random.default_rng([seed, ord("D"), 7])
    order = [rng.permutation(n_perf) for _ in range(C)]
    plans: list[Performance] = []
    for r in range(1, reps + 1):
        for rank in range(n_perf):
            for c in rng.permutation(C):
                if len(plans) == n_perf_total:
                    return plans
                p = int(order[c][rank])
                cls = classes[int(c)]
                partner = None
                if cls.partner:
                    others = [q for q in range(n_perf) if q != p]
                    partner = int(others[int(rng.integers(len(others)))])
                setup = 1 + (2 * p + r - 1) % N_SETUPS
                i = len(plans)
                plans.append(Performance(i, cls.name, setup, p, partner, r, (seed, ord("D"), i)))
    return plans


# --- simulation ------------------------------------------------------------------------------------


def _body(moves, perf: Performer, tempo: float, amp: float, T: int, t0: float, rng, heading: float,
          start: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """World-space Kinect joints of one body doing ``moves``; facing ``heading`` from ``start``."""
    from skellm.readers.bvh import forward_kinematics
    from skellm.synth.body import euler_degrees
    from skellm.synth.corpora import kinect_joints

    actor = perf.actor
    t = np.arange(T) / FPS
    pose = _rest_pose(T, actor)
    h, q = actor.habit, perf.quirks
    pose["spine_flex"] += 0.5 * h["trunk_flex"] + q["lean"]
    pose["head_flex"] += 0.5 * h["head_flex"]
    pose["head_roll"] += q["head_roll"]
    for side in ("l", "r"):
        pose[f"{side}_clav_elev"] += h["shoulder_raise"]
        pose[f"{side}_arm_down"] -= 0.3 * h["expand"]
        pose[f"{side}_hip_abd"] += q["stance"]
    ctx = Ctx(t, perf.dominant, tempo, amp, actor.height, rng, t0)
    idle(pose, ctx, q["sway"])
    action_pose(pose, moves, ctx)
    curl = {s: np.clip(pose[f"{s}_curl"], 0.0, 1.0) for s in ("l", "r")}
    for s in ("l", "r"):
        pose[f"{s}_curl"] = curl[s] * 90.0
    c, s_ = np.cos(np.deg2rad(heading)), np.sin(np.deg2rad(heading))
    x, z = pose["root_pos"][:, 0].copy(), pose["root_pos"][:, 2].copy()
    pose["root_pos"][:, 0] = c * x + s_ * z + start[0]
    pose["root_pos"][:, 2] = -s_ * x + c * z + start[1]
    pose["root_yaw"] = pose["root_yaw"] + heading
    rig = xsens_rig(actor)
    local = local_rotations(rig, pose)
    world = global_rotations(rig, local)
    P = forward_kinematics(rig.offsets, rig.parents, euler_degrees(local, "ZXY"), pose["root_pos"], "ZXY")
    pos, quat = kinect_joints(rig, P, world)
    # Kinect lean (-1..1, about 45 degrees at full scale): sideways to the body's right, and forward.
    side_tilt = pose["pelvis_roll"] + pose["spine_lat"]
    fwd_tilt = pose["pelvis_pitch"] + pose["spine_flex"] - 0.5 * h["trunk_flex"] - q["lean"]
    lean = np.clip(np.stack([side_tilt, fwd_tilt], axis=1) / 45.0 + [0.0, 0.05], -1.0, 1.0)
    spans = ctx.events.get("touch_spans", [])
    return {"pos": pos, "quat": quat, "lean": lean, "curl_l": curl["l"], "curl_r": curl["r"], "spans": spans,
            "seated": np.asarray(ctx.events.get("seated", np.zeros(T)))}  # fmt: skip


@dataclass
class SimPerformance:
    """A simulated performance: its bodies in world space, frame count and description."""

    plan: Performance
    bodies: list[dict[str, np.ndarray]]
    n_frames: int
    description: str
    facing: float


def simulate_performance(plan: Performance, performers: list[Performer]) -> SimPerformance:
    """Simulate one performance in world space (Y up, metres) from its own seed."""
    rng = np.random.default_rng(list(plan.seed))
    cls = BY_NAME[plan.action]
    perf = performers[plan.performer]
    tempo = perf.tempo * float(np.exp(rng.normal(0.0, 0.07)))
    amp = perf.amplitude * float(np.exp(rng.normal(0.0, 0.08)))
    t0 = perf.quirks["lead_in"] * float(rng.uniform(0.8, 1.25))
    T = int(round((t0 + cls.duration / tempo + rng.uniform(0.3, 0.7)) * FPS))
    # NTU: replication 1 faces the left camera (C001), 2 the right one (C003).
    facing = (CAMERA_AZIMUTHS[0] if plan.replication % 2 == 1 else CAMERA_AZIMUTHS[2]) + float(
        rng.normal(0, 8)
    )
    spot = rng.normal(0.0, 0.15, 2)
    bodies = []
    if not cls.partner:
        bodies.append(_body(cls.moves, perf, tempo, amp, T, t0, rng, facing, spot))
    else:  # the two face each other across the line of sight of the faced camera
        mate = performers[plan.partner if plan.partner is not None else plan.performer]
        ha, hb = facing + 90.0, facing - 90.0
        u = np.array([np.sin(np.deg2rad(ha)), np.cos(np.deg2rad(ha))])
        gap = cls.gap + float(rng.normal(0, 0.05))
        bodies.append(_body(cls.moves, perf, tempo, amp, T, t0, rng, ha, spot - 0.5 * gap * u))
        # The partner reacts to (or mirrors) the first person: same timeline, own size and amplitude.
        mate_amp = float(np.sqrt(amp * mate.amplitude))
        bodies.append(_body(cls.partner, mate, tempo, mate_amp, T, t0, rng, hb, spot + 0.5 * gap * u))
    desc_rng = np.random.default_rng([*plan.seed, 1])
    description = describe_take(cls, perf.dominant, tempo, amp, desc_rng)
    return SimPerformance(plan, bodies, T, description, facing)


def _camera(cam: dict[str, float]) -> tuple[Rotation, np.ndarray]:
    """World-to-camera rotation and camera position; Kinect camera space: X to the sensor's left, Z out."""
    az = np.deg2rad(cam["azimuth"])
    c = np.array([cam["distance"] * np.sin(az), cam["height"], cam["distance"] * np.cos(az)])
    zc = -np.array([np.sin(az), 0.0, np.cos(az)])
    yc = np.array([0.0, 1.0, 0.0])
    xc = np.cross(yc, zc)
    R = Rotation.from_matrix(np.stack([xc, yc, zc]))
    return Rotation.from_euler("X", cam["pitch"], degrees=True) * R, c


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def view(sim: SimPerformance, cam: dict[str, float], rng: np.random.Generator) -> list[NtuBody]:
    """What one Kinect sees of the performance: camera-space joints, noise, lost joints, IDs, a noise body.

    Generalises corpus C's sensor model: jitter grows with distance and at the extremities (deeper
    along the optical axis); hands at the face or chest, and the far arm in a side view, are hidden and
    turn *inferred* (state 1, positions wander); short bursts lose joints (state 0, frozen where last
    seen); seated feet are often inferred (the chair).
    """
    R, c = _camera(cam)
    T = sim.n_frames
    out = []
    for b in sim.bodies:
        pos = R.apply(b["pos"].reshape(-1, 3) - c).reshape(T, 25, 3)
        quat = (R * Rotation.from_quat(b["quat"].reshape(-1, 4))).as_quat().reshape(T, 25, 4)
        quat = np.concatenate([quat[..., 3:], quat[..., :3]], axis=-1)  # xyzw -> wxyz
        quat[:, _LEAF] = 0.0
        sigma = np.full(25, 0.0035)
        for g in ("hand_l", "hand_r", "foot_l", "foot_r"):
            sigma[_GI[g]] = 0.008
        scale = (np.clip(pos[..., 2:3], 0.5, None) / 2.8) ** 1.5
        pos = pos + rng.normal(size=(T, 25, 3)) * sigma[None, :, None] * np.array([1.0, 1.0, 1.8]) * scale
        state = np.full((T, 25), 2, dtype=np.int64)
        hidden = np.zeros((T, 25), dtype=bool)
        for a, e, sides in b["spans"]:  # self-occlusion: the hand at the body
            if rng.random() < 0.65:
                fr = slice(int((a + 0.25) * FPS), int((e - 0.25) * FPS))
                for s in sides:
                    hidden[fr, _GI[f"hand_{s}"]] = True
        # Side view: the far arm behind the trunk.
        zl, zr = pos[:, _J("ShoulderLeft"), 2], pos[:, _J("ShoulderRight"), 2]
        for s, far in (("l", zl - zr > 0.2), ("r", zr - zl > 0.2)):
            xs = pos[:, [_J("ShoulderLeft"), _J("ShoulderRight")], 0]
            xh = pos[:, _J("HandLeft" if s == "l" else "HandRight"), 0]
            behind = far & (xh > xs.min(1) - 0.08) & (xh < xs.max(1) + 0.08)
            hidden[behind[:, None] & np.isin(np.arange(25), _GI[f"arm_{s}"])[None]] = True
        if b["seated"].max() > 0.5 and rng.random() < 0.6:
            fr = b["seated"] > 0.6
            hidden[np.ix_(fr, np.concatenate([_GI["foot_l"], _GI["foot_r"]]))] = True
        for _ in range(rng.poisson(1.0)):
            g = str(rng.choice(list(KINECT_GROUPS)))
            b0 = int(rng.integers(0, T))
            hidden[b0 : b0 + int(rng.integers(3, 25)), _GI[g]] = True
        for j in range(25):
            for a, e in _runs(hidden[:, j]):
                state[a:e, j] = 1
        # Inferred joints wander smoothly; some runs are lost outright and frozen.
        wander = np.cumsum(rng.normal(0, 0.006, (T, 25, 3)), axis=0)
        pos = np.where(state[..., None] == 1, pos + wander - wander.mean(0), pos)
        for g in KINECT_GROUPS:
            idx = _GI[g]
            for a, e in _runs((state[:, idx] == 1).all(1)):
                if e - a >= 3 and rng.random() < 0.2:
                    state[a:e, idx] = 0
                    pos[a:e, idx] = pos[a, idx][None]
        info = _body_info(pos, state, b, rng)
        body_id = BODY_ID_BASE + int(rng.integers(1000, 60000))
        out.append(NtuBody(body_id, np.arange(T), pos, quat, state, info))
    if rng.random() < 0.25:  # a spurious short-lived body (a reflection, a passer-by)
        n = int(rng.integers(2, 10))
        f0 = int(rng.integers(0, max(T - n, 1)))
        src = out[0]
        shift = np.array(
            [rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.3), rng.uniform(-0.3, 0.1), rng.uniform(0.3, 1.0)]
        )
        xyz = src.xyz[f0 : f0 + n] + shift + rng.normal(0, 0.05, (n, 25, 3))
        st = np.where(rng.random((n, 25)) < 0.6, 1, 2)
        info = np.zeros((n, 9))
        info[:, [1, 2, 3, 4]] = [0, 0, 0, 0]
        info[:, 8] = 2
        out.append(NtuBody(BODY_ID_BASE + int(rng.integers(1000, 60000)), np.arange(f0, f0 + n), xyz,
                           src.quat[f0 : f0 + n] * 0.0, st, info))  # fmt: skip
    return out


def _body_info(pos: np.ndarray, state: np.ndarray, b: dict, rng: np.random.Generator) -> np.ndarray:
    """Per frame: clippedEdges, hand confidences and states, isRestricted, leanX, leanY, trackingState."""
    T = pos.shape[0]
    uv = project_depth(pos)
    edges = ((uv[..., 0] >= 512).any(1) * 1 + (uv[..., 0] < 0).any(1) * 2 + (uv[..., 1] < 0).any(1) * 4
             + (uv[..., 1] >= 424).any(1) * 8)  # fmt: skip
    info = np.zeros((T, 9))
    info[:, 0] = edges
    for k, (s, S) in enumerate((("l", "Left"), ("r", "Right"))):
        seen = state[:, _J(f"Hand{S}")] == 2
        raised = pos[:, _J(f"Hand{S}"), 1] > pos[:, _J("SpineMid"), 1]
        curl = b[f"curl_{s}"]
        hs = np.where(raised, np.where(curl > 0.6, 3, np.where(curl < 0.35, 2, 4)), 1)  # closed/open/lasso
        hs = np.where(seen, hs, 0)
        flick = rng.random(T) < 0.06
        hs = np.where(flick, 0, hs)
        info[:, 1 + 2 * k] = (seen & ~flick).astype(float)
        info[:, 2 + 2 * k] = hs
    info[:, 6:8] = b["lean"] + rng.normal(0, 0.01, (T, 2))
    info[:, 8] = 2
    return info


def work(job: tuple[Performance, list[Performer], list[dict[str, float]], str]) -> list[dict[str, str]]:
    """Simulate one performance, write its three camera files; returns their annotation rows."""
    plan, performers, cams, corpus_dir = job
    sim = simulate_performance(plan, performers)
    rows = []
    for k, cam in enumerate(cams, start=1):
        rng = np.random.default_rng([*plan.seed, 100 + k])
        stem = plan.stem(k)
        write_ntu(Path(corpus_dir) / f"{stem}.skeleton", sim.n_frames, view(sim, cam, rng))
        rows.append({"filename": stem, "action": plan.action, "description": sim.description})
    return rows


def jobs_for(n_files: int, seed: int, corpus_dir: str) -> list[tuple]:
    """Every performance of a D corpus of ``n_files`` files, planned up front (worker-independent)."""
    plans = plan_ntu(n_files, seed)
    if not plans:
        return []
    n_perf = max(max(p.performer for p in plans), max(p.partner or 0 for p in plans)) + 1
    performers = make_performers(n_perf, seed)
    geo = {s: setup_geometry(s, seed) for s in sorted({p.setup for p in plans})}
    return [(p, performers, geo[p.setup], corpus_dir) for p in plans]
