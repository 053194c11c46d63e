"""The three synthetic corpora (Emilya-, KDAE- and EGBM-like), simulated and written as real raw files.

Every take is planned up front (emotion, action, actor, file name) and simulated from its own seed,
so the output does not depend on worker scheduling: the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from skellm.config import Config, DataConfig, SynthConfig
from skellm.cpus import resolve_threads
from skellm.layouts import KINECT_V2, XSENS23
from skellm.synth.actions import CLASSES as NTU_CLASSES
from skellm.synth.body import (
    Actor,
    Rig,
    euler_degrees,
    global_rotations,
    local_rotations,
    perception_neuron_rig,
    sample_actor,
    xsens_rig,
)
from skellm.synth.describe import describe
from skellm.synth.emotions import Cues, sample_cues
from skellm.synth.motion import ACTIONS_A, band_noise, duration_s, make_pose

EMOTIONS_A = ("neutral", "joy", "anger", "panic", "fear", "anxiety", "sadness", "shame")
EMOTIONS_BC = ("happiness", "sadness", "neutral", "anger", "disgust", "fear", "surprise")
KDAE_CODES = {"anger": "A", "disgust": "D", "fear": "F", "happiness": "H", "neutral": "N",
              "sadness": "SA", "surprise": "SU"}  # fmt: skip


@dataclass(frozen=True)
class CorpusSpec:
    """How one synthetic corpus is shaped: labels, actors, rig, rate and how readable/noisy it is."""

    name: str
    emotions: tuple[str, ...]
    n_actors: int
    fps: float
    rig: str  # xsens | perception_neuron | kinect
    actions: dict[str, float]  # action -> probability
    noise: float  # take-to-take cue spread factor
    expressiveness: float  # scales every emotion's deviation from neutral
    actor_prefix: str = "S"


CORPORA: dict[str, CorpusSpec] = {
    "A": CorpusSpec("A", EMOTIONS_A, 11, 120.0, "xsens", {a: 1.0 / len(ACTIONS_A) for a in ACTIONS_A},
                    noise=1.0, expressiveness=1.0),
    "B": CorpusSpec("B", EMOTIONS_BC, 22, 125.0, "perception_neuron",
                    {"gesture": 0.5, "walk": 0.3, "stand": 0.2}, noise=1.4, expressiveness=0.75),
    "C": CorpusSpec("C", EMOTIONS_BC, 16, 30.0, "kinect", {"gesture": 0.7, "stand": 0.2, "walk": 0.1},
                    noise=1.5, expressiveness=0.7, actor_prefix="P"),
}  # fmt: skip
# D (NTU RGB+D-like actions, no emotions) is planned and simulated by skellm.synth.ntu; its spec is here
# so that every corpus name resolves. n_actors is the most performers a D corpus uses.
CORPORA["D"] = CorpusSpec("D", (), 40, 30.0, "kinect", {c.name: 1.0 / len(NTU_CLASSES) for c in NTU_CLASSES},
                          noise=1.0, expressiveness=1.0, actor_prefix="P")  # fmt: skip
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"A": 24, "B": 21, "C": 21},
    "default": {"A": 500, "B": 420, "C": 280},
    "paper": {"A": 8206, "B": 1402, "C": 560},
}
# Corpus D (NTU RGB+D-like, skellm.synth.ntu) counts files: three cameras per performance, so
# ceil(n / 3) performances. tiny: 16 performances (2 performers); default: 26 classes x 5 performers
# x 1 replication; paper: NTU-60 proportions, 40 performers x 26 classes x 2 replications.
D_SIZES = {"tiny": 48, "default": 390, "paper": 6240}
for _name, _n in D_SIZES.items():
    SIZES[_name]["D"] = _n


@dataclass(frozen=True)
class TakePlan:
    """One take to simulate: its labels, actor, output file (relative to the corpus folder) and seed."""

    corpus: str
    index: int
    emotion: str
    action: str
    actor: int
    rel_path: str
    fmt: str  # bvh | mvnx | kinect
    described: bool
    seed: tuple[int, ...]


@dataclass
class SimTake:
    """A simulated take: joint positions in metres (Y up) plus what is needed to write its raw file."""

    plan: TakePlan
    actor: Actor
    cues: Cues
    fps: float
    rig: Rig
    euler: np.ndarray  # (T, J, 3) local Euler degrees in the rig's BVH order
    order: str
    root_pos: np.ndarray  # (T, 3) metres
    description: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    _positions: np.ndarray | None = None

    @property
    def positions(self) -> np.ndarray:
        """(T, J, 3) world positions in metres, Y up, of the rig's joints (end sites included)."""
        if self._positions is None:
            from skellm.readers.bvh import forward_kinematics

            self._positions = forward_kinematics(
                self.rig.offsets, self.rig.parents, self.euler, self.root_pos, self.order
            )
        return self._positions


def counts_for(size: str | dict[str, int]) -> dict[str, int]:
    """Takes per corpus for a size name (tiny | default | paper) or an explicit {corpus: n} mapping."""
    if isinstance(size, dict):
        return {k: int(v) for k, v in size.items()}
    if size not in SIZES:
        raise ValueError(f"data.synth.size must be one of {', '.join(SIZES)} or a mapping, got {size!r}")
    return dict(SIZES[size])


def make_actors(spec: CorpusSpec, seed: int) -> list[Actor]:
    """The corpus's performers, each drawn from its own seed."""
    out = []
    for i in range(spec.n_actors):
        rng = np.random.default_rng([seed, ord(spec.name), 1000 + i])
        sex = "F" if rng.random() < 0.5 else "M"
        aid = f"{sex}{i + 1:02d}" if spec.name == "B" else f"{spec.actor_prefix}{i + 1:02d}"
        out.append(sample_actor(rng, aid, sex))
    return out


def plan_corpus(
    spec: CorpusSpec,
    n: int,
    seed: int,
    actors: list[Actor],
    describe_fraction: float = 0.4,
    mvnx_fraction: float = 0.15,
) -> list[TakePlan]:
    """Balanced emotions, random actors and actions, KDAE/Emilya/EGBM-style file names."""
    rng = np.random.default_rng([seed, ord(spec.name), 7])
    n_em = len(spec.emotions)
    emo_idx = rng.permutation(np.arange(n) % n_em)
    act_names = list(spec.actions)
    act_p = np.array([spec.actions[a] for a in act_names])
    counters: dict[tuple, int] = {}
    plans = []
    for i in range(n):
        emotion = spec.emotions[int(emo_idx[i])]
        action = act_names[int(rng.choice(len(act_names), p=act_p / act_p.sum()))]
        a = int(rng.integers(spec.n_actors))
        aid = actors[a].actor_id
        described = bool(rng.random() < describe_fraction)
        if spec.name == "A":
            fmt = "mvnx" if rng.random() < mvnx_fraction else "bvh"
            key = (aid, action, emotion)
            counters[key] = counters.get(key, 0) + 1
            rel = f"{aid}_{action}_{emotion}_T{counters[key]:03d}.{fmt}"
        elif spec.name == "B":
            fmt = "bvh"
            scenario = int(rng.integers(3))
            key = (aid, emotion, scenario)
            counters[key] = counters.get(key, 0) + 1
            rel = f"{aid}{KDAE_CODES[emotion]}{scenario}V{counters[key]}.bvh"
        else:
            fmt = "kinect"
            counters[aid] = counters.get(aid, 0) + 1
            rel = f"{emotion}/{aid}_{counters[aid]:03d}.txt"
        plans.append(
            TakePlan(spec.name, i, emotion, action, a, rel, fmt, described, (seed, ord(spec.name), i))
        )
    return plans


def simulate(plan: TakePlan, actor: Actor) -> SimTake:
    """Simulate one planned take: cues, pose channels, corpus noise and joint rotations."""
    spec = CORPORA[plan.corpus]
    rng = np.random.default_rng(list(plan.seed))
    cues = sample_cues(rng, plan.emotion, actor, noise=spec.noise, expressiveness=spec.expressiveness)
    n_frames = max(int(round(duration_s(plan.action, cues, rng) * spec.fps)), 2)
    pose = make_pose(plan.action, cues, actor, spec.fps, n_frames, rng)
    t = np.arange(n_frames) / spec.fps
    if spec.rig == "perception_neuron":  # inertial drift: slow wander of the root and the trunk
        pose["root_pos"][:, [0, 2]] += np.cumsum(rng.normal(0, 0.0012, (n_frames, 2)), axis=0)
        for key, amp in (("root_yaw", 2.0), ("spine_flex", 1.0), ("head_flex", 1.5), ("head_yaw", 2.0)):
            pose[key] += amp * band_noise(rng, t, 0.03, 0.2, 3)
    # Where the take happens: a heading and a start point in the room (Kinect: facing the sensor).
    if spec.rig == "kinect" and plan.action == "walk":  # walks cross the sensor's field of view
        side = 1.0 if rng.random() < 0.5 else -1.0
        heading, start = side * 90.0 + float(rng.normal(0.0, 8.0)), np.array([-side * 1.6, 0.0])
    elif spec.rig == "kinect":
        heading, start = float(rng.normal(0.0, 10.0)), np.zeros(2)
    else:
        heading, start = float(rng.uniform(-180, 180)), rng.uniform(-1.5, 1.5, 2)
    c, s = np.cos(np.deg2rad(heading)), np.sin(np.deg2rad(heading))
    x, z = pose["root_pos"][:, 0].copy(), pose["root_pos"][:, 2].copy()
    pose["root_pos"][:, 0] = c * x + s * z + start[0]
    pose["root_pos"][:, 2] = -s * x + c * z + start[1]
    pose["root_yaw"] = pose["root_yaw"] + heading
    rig = perception_neuron_rig(actor) if spec.rig == "perception_neuron" else xsens_rig(actor)
    order = "YXZ" if spec.rig == "perception_neuron" else "ZXY"
    local = local_rotations(rig, pose)
    euler = euler_degrees(local, order)
    # Own stream for the wording, so descriptions never shift the motion or the sensor noise.
    desc_rng = np.random.default_rng([*plan.seed, 1])
    desc = describe(cues, plan.action, desc_rng, spec.noise) if plan.described else None
    take = SimTake(plan, actor, cues, spec.fps, rig, euler, order, pose["root_pos"], desc)
    if plan.fmt in ("mvnx", "kinect"):
        take.extra["world"] = global_rotations(rig, local)
    if plan.fmt == "kinect":
        take.extra |= _kinect_view(take, rng)
    return take


# Kinect joints from the Xsens body: (source joint, toward joint, fraction) and orientation source.
_KINECT_FROM = {
    "SpineBase": ("Pelvis", None, 0.0),
    "SpineMid": ("L3", "T12", 0.5),
    "Neck": ("Neck", "Head", 0.5),
    "Head": ("Head", "Head_End", 0.45),
    "SpineShoulder": ("Neck", None, 0.0),
}
for _s, _S in (("Left", "Left"), ("Right", "Right")):
    _KINECT_FROM |= {
        f"Shoulder{_s}": (f"{_S}UpperArm", None, 0.0),
        f"Elbow{_s}": (f"{_S}ForeArm", None, 0.0),
        f"Wrist{_s}": (f"{_S}Hand", None, 0.0),
        f"Hand{_s}": (f"{_S}Hand", f"{_S}Hand_End", 0.45),
        f"HandTip{_s}": (f"{_S}Hand_End", None, 0.0),
        f"Thumb{_s}": (f"{_S}Hand", None, 0.0),
        f"Hip{_s}": (f"{_S}UpperLeg", None, 0.0),
        f"Knee{_s}": (f"{_S}LowerLeg", None, 0.0),
        f"Ankle{_s}": (f"{_S}Foot", None, 0.0),
        f"Foot{_s}": (f"{_S}Toe", None, 0.0),
    }
_KINECT_ORI = {
    "SpineBase": "Pelvis",
    "SpineMid": "T12",
    "Neck": "Neck",
    "Head": "Head",
    "SpineShoulder": "T8",
}
for _s in ("Left", "Right"):
    _KINECT_ORI |= {
        f"Shoulder{_s}": f"{_s}Shoulder", f"Elbow{_s}": f"{_s}UpperArm", f"Wrist{_s}": f"{_s}ForeArm",
        f"Hand{_s}": f"{_s}Hand", f"HandTip{_s}": f"{_s}Hand", f"Thumb{_s}": f"{_s}Hand",
        f"Hip{_s}": "Pelvis", f"Knee{_s}": f"{_s}UpperLeg", f"Ankle{_s}": f"{_s}LowerLeg",
        f"Foot{_s}": f"{_s}Foot",
    }  # fmt: skip
# Kinect joint groups that lose tracking together (occluded hands, feet, forearms).
KINECT_GROUPS = {
    "hand_l": ("WristLeft", "HandLeft", "HandTipLeft", "ThumbLeft"),
    "hand_r": ("WristRight", "HandRight", "HandTipRight", "ThumbRight"),
    "foot_l": ("AnkleLeft", "FootLeft"),
    "foot_r": ("AnkleRight", "FootRight"),
    "arm_l": ("ElbowLeft", "WristLeft", "HandLeft", "HandTipLeft", "ThumbLeft"),
    "arm_r": ("ElbowRight", "WristRight", "HandRight", "HandTipRight", "ThumbRight"),
}


def kinect_joints(rig: Rig, P: np.ndarray, world: list[Rotation]) -> tuple[np.ndarray, np.ndarray]:
    """Kinect v2 joints (T, 25, 3) and their orientations (T, 25, 4, xyzw) in the rig's world frame."""
    names = rig.joint_names
    T = P.shape[0]
    pos = np.empty((T, 25, 3))
    for k, jn in enumerate(KINECT_V2.joint_names):
        src, toward, frac = _KINECT_FROM[jn]
        p = P[:, names.index(src)]
        if toward is not None:
            p = p + frac * (P[:, names.index(toward)] - p)
        if jn.startswith("Thumb"):
            s = 1.0 if jn.endswith("Left") else -1.0
            p = p + world[names.index(src)].apply(np.array([s * 0.03, -0.015, 0.035]))
        pos[:, k] = p
    quat = np.stack([world[names.index(_KINECT_ORI[jn])].as_quat() for jn in KINECT_V2.joint_names], axis=1)
    return pos, quat


def _kinect_view(take: SimTake, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Kinect v2 camera-space joints (facing the sensor), orientations, jitter and lost tracking."""
    pos, quat = kinect_joints(take.rig, take.positions, take.extra["world"])
    T = pos.shape[0]
    # Camera: the body faces the sensor (turn 180 degrees about Y), 2.2-3.0 m away, sensor ~0.9 m high.
    cam = Rotation.from_euler("Y", 180, degrees=True)
    depth, height = rng.uniform(2.2, 3.0), rng.uniform(0.8, 1.0)
    pos = cam.apply(pos.reshape(-1, 3)).reshape(T, 25, 3) + np.array([0.0, -height, depth])
    quat = (cam * Rotation.from_quat(quat.reshape(-1, 4))).as_quat().reshape(T, 25, 4)
    quat = np.concatenate([quat[..., 3:], quat[..., :3]], axis=-1)  # xyzw -> wxyz
    # Sensor noise: depth jitter grows with distance and is worse at the extremities.
    sigma = np.full(25, 0.004)
    for g in ("hand_l", "hand_r", "foot_l", "foot_r"):
        sigma[[KINECT_V2.index(j) for j in KINECT_GROUPS[g]]] = 0.009
    noise = rng.normal(size=(T, 25, 3)) * sigma[None, :, None] * np.array([1.0, 1.0, 1.8])
    pos = pos + noise
    state = np.full((T, 25), 2, dtype=np.int64)
    bursts = []
    if take.cues.touch and "touch_t0" in take.cues.extra:  # the hand near the face occludes itself
        t0, t1 = take.cues.extra["touch_t0"], take.cues.extra["touch_t1"]
        bursts.append((f"hand_{take.cues.touch_side}", int(t0 * take.fps), int(t1 * take.fps)))
    for _ in range(rng.poisson(1.2)):
        g = str(rng.choice(list(KINECT_GROUPS)))
        b0 = int(rng.integers(0, T))
        bursts.append((g, b0, b0 + int(rng.integers(3, 30))))
    for g, b0, b1 in bursts:
        b0, b1 = max(b0, 0), min(b1, T)
        if b1 <= b0:
            continue
        idx = [KINECT_V2.index(j) for j in KINECT_GROUPS[g]]
        lost = rng.random() < 0.3
        state[b0:b1, idx] = 0 if lost else 1
        if lost:  # the SDK freezes a lost joint where it last saw it
            pos[b0:b1, idx] = pos[b0, idx][None]
        else:  # inferred joints wander
            pos[b0:b1, idx] += rng.normal(0, 0.025, (b1 - b0, len(idx), 3))
    return {"kinect_pos": pos, "kinect_quat": quat, "kinect_state": state}


def write_take(take: SimTake, corpus_dir: Path) -> None:
    """Write the take's raw file in its corpus format under ``corpus_dir``."""
    from skellm.readers.bvh import write_bvh
    from skellm.readers.kinect import write_kinect_text
    from skellm.readers.mvnx import write_mvnx

    path = corpus_dir / take.plan.rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    rig = take.rig
    n_core = rig.n_joints - rig.n_end_sites
    if take.plan.fmt == "bvh":
        cm = 100.0  # Xsens and Axis Neuron both export centimetres
        end_sites = {rig.parents[j]: rig.offsets[j] * cm for j in range(n_core, rig.n_joints)}
        write_bvh(
            path,
            rig.joint_names[:n_core],
            rig.parents[:n_core],
            rig.offsets[:n_core] * cm,
            take.euler[:, :n_core],
            take.root_pos * cm,
            take.fps,
            order=take.order,
            end_sites=end_sites,
        )
    elif take.plan.fmt == "mvnx":
        # Xsens world frame: X forward, Y left, Z up (a rotation of ours: x left, y up, z forward).
        basis = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        pos = take.positions[:, : XSENS23.n_joints] @ basis.T
        b = Rotation.from_matrix(basis)
        world = take.extra["world"][: XSENS23.n_joints]
        quat = np.stack([(b * w * b.inv()).as_quat() for w in world], axis=1)
        quat = np.concatenate([quat[..., 3:], quat[..., :3]], axis=-1)
        write_mvnx(path, list(XSENS23.joint_names), pos, quat, take.fps, subject=take.actor.actor_id)
    else:
        e = take.extra
        write_kinect_text(path, e["kinect_pos"], e["kinect_quat"], e["kinect_state"], fps=take.fps)


def annotation_row(take: SimTake) -> dict[str, str]:
    """The take's row in its corpus's annotations.csv."""
    row = {"filename": take.plan.rel_path, "intensity": f"{take.cues.intensity:.3f}",
           "description": take.description or ""}  # fmt: skip
    if take.plan.corpus == "C":  # EGBM-like names carry no actor: keep it with the labels
        row = {"filename": row["filename"], "subject": take.actor.actor_id} | {
            k: v for k, v in row.items() if k != "filename"
        }
    return row


def _csv_text(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _work(job: tuple) -> list[dict[str, str]]:
    if job[0] == "D":  # one NTU performance: three camera files
        from skellm.synth.ntu import work

        return work(job[1])
    _, plan, actor, corpus_dir = job
    take = simulate(plan, actor)
    write_take(take, Path(corpus_dir))
    return [annotation_row(take) | {"_actor": actor.actor_id}]


def generate(
    out: str | os.PathLike,
    size: str | dict[str, int] = SynthConfig.size,
    seed: int = 0,
    workers: int = 1,
    describe_fraction: float = SynthConfig.describe_fraction,
    mvnx_fraction: float = SynthConfig.mvnx_fraction,
    corpora: tuple[str, ...] = ("A", "B", "C", "D"),
    progress: bool = True,
) -> dict[str, int]:
    """Write the synthetic corpora under ``out`` (out/A ... out/D); returns takes (D: files) per corpus.

    D is written only when the size gives it files (a size mapping without "D" means no D). Every corpus
    written gets a knowledge.csv (label, part, text): per class and body part, what the generator does.
    """
    from tqdm import tqdm

    from skellm.synth import ntu

    out = Path(out)
    counts = counts_for(size)
    corpora = tuple(c for c in corpora if c != "D" or counts.get("D", 0) > 0)
    jobs: list[tuple] = []
    n_jobs: dict[str, int] = {}
    for name in corpora:
        (out / name).mkdir(parents=True, exist_ok=True)
        if name == "D":
            d_jobs = ntu.jobs_for(counts["D"], seed, str(out / name))
            jobs += [("D", j) for j in d_jobs]
            n_jobs[name] = len(d_jobs)
            continue
        spec = CORPORA[name]
        actors = make_actors(spec, seed)
        plans = plan_corpus(spec, counts.get(name, 0), seed, actors, describe_fraction, mvnx_fraction)
        jobs += [(name, p, actors[p.actor], str(out / name)) for p in plans]
        n_jobs[name] = len(plans)
    bar = tqdm(total=len(jobs), desc="synth", unit="take", disable=not progress)
    workers = resolve_threads(workers)
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            rows = []
            for r in pool.imap(_work, jobs, chunksize=4):
                rows.append(r)
                bar.update()
    else:
        rows = []
        for j in jobs:
            rows.append(_work(j))
            bar.update()
    bar.close()
    from skellm.io import write_text

    start = 0
    written: dict[str, int] = {}
    for name in corpora:
        n = n_jobs[name]
        part = [r for rs in rows[start : start + n] for r in rs]
        done, start = jobs[start : start + n], start + n
        written[name] = len(part)
        if not part:
            continue
        write_text(out / name / "annotations.csv", _csv_text([{k: v for k, v in r.items() if k != "_actor"}
                                                                for r in part]))  # fmt: skip
        if name == "B":
            info = [{"filename": Path(j[1].rel_path).stem, "emotion": j[1].emotion, "actor_ID": r["_actor"]}
                    for j, r in zip(done, part, strict=True)]  # fmt: skip
            write_text(out / name / "file-info.csv", _csv_text(info))
        if name == "D":
            from skellm.synth.actions import knowledge_rows

            know = knowledge_rows()
        else:
            from skellm.synth.describe import emotion_knowledge_rows

            know = emotion_knowledge_rows(CORPORA[name].emotions)
        write_text(out / name / "knowledge.csv", _csv_text(know))
    return written


def write_raw(data: DataConfig, seed: int) -> dict[str, int]:
    """Generate into a temporary folder beside ``data.synth.out`` then rename it onto that folder.

    With ``data.source`` other than ``synth`` the folder is left empty but for a README line, so the
    pipeline's outputs stay declared while users point the corpora at their own data.
    """
    import shutil
    import tempfile

    synth, source = data.synth, data.source
    out = Path(synth.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        counts: dict[str, int] = {}
        if source == "synth":
            counts = generate(
                tmp,
                size=synth.size,
                seed=seed,
                workers=synth.workers,
                describe_fraction=synth.describe_fraction,
                mvnx_fraction=synth.mvnx_fraction,
            )
        else:
            (tmp / "README.md").write_text(
                f"data.source is {source!r}: no synthetic corpus generated; the corpora roots in params.yaml "
                "point at your own recordings.\n"
            )
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
        return counts
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def run_stage(cfg: Config) -> dict[str, int]:
    """synth stage: the synthetic corpora under ``data.synth.out`` (nothing unless ``data.source: synth``)."""
    counts = write_raw(cfg.data, cfg.seed)
    done = ", ".join(f"{c} {n} takes" for c, n in counts.items())
    print("synth: " + (done or "no takes (data.source is not synth)"))
    return counts
