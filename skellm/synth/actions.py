"""NTU RGB+D action classes as timelines of shared body-part primitives.

Each class is one structured spec (:class:`ActionClass`): a list of :class:`Move` items, each a
*primitive* (hand to a body target, arm raise, bend down, step, jump, head motion...) with its timing,
side and repetitions, plus a few sentences of how the action looks. The same spec drives the pose
channels (:func:`action_pose`), the per-take description (:func:`describe_take`) and the class
knowledge texts (:func:`knowledge_rows`), so the texts are true of the motion. Classes are built from
few primitives on purpose: a zero-shot protocol can hold a class out and still recognise it from text
about body-part motion that seen classes share (hand to the mouth, both arms forward, a step...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skellm.synth.motion import TOUCH_POSES, band_noise, smoothstep, window

PARTS = ("head", "hand", "arm", "hip", "leg", "foot", "visual")

# Arm poses (trunk frame, the same numbers for either side) where the hand reaches a target; fitted
# by forward kinematics on the Xsens body so that the Kinect hand joint lands on the target.
ARM_TARGETS: dict[str, dict[str, float]] = {
    **TOUCH_POSES,
    "ear": {"arm_flex": 66.0, "arm_down": -45.0, "arm_add": 93.0, "elbow": 144.0, "wrist": 10.0},
    "forehead": {"arm_flex": 41.0, "arm_down": -51.0, "arm_add": 89.0, "elbow": 118.0, "wrist": 0.0},
    "wave": {"arm_flex": 79.0, "arm_down": -45.0, "arm_add": 69.0, "elbow": 111.0, "wrist": 0.0},
    "point": {"arm_flex": 65.0, "arm_down": 37.0, "arm_add": 50.0, "elbow": 37.0, "wrist": 0.0},
    "cheer": {"arm_flex": 21.0, "arm_down": -82.0, "arm_add": 67.0, "elbow": 31.0, "wrist": 0.0},
    "clap": {"arm_flex": 13.0, "arm_down": 75.0, "arm_add": 40.0, "elbow": 98.0, "wrist": 0.0},
    "push": {"arm_flex": 44.0, "arm_down": 59.0, "arm_add": 31.0, "elbow": 62.0, "wrist": -20.0},
    "punch": {"arm_flex": 74.0, "arm_down": 36.0, "arm_add": 67.0, "elbow": 24.0, "wrist": 0.0},
    "chamber": {"arm_flex": 40.0, "arm_down": 70.0, "arm_add": 40.0, "elbow": 125.0, "wrist": 0.0},
    "shake": {"arm_flex": 29.0, "arm_down": 71.0, "arm_add": 52.0, "elbow": 37.0, "wrist": 0.0},
    "hug": {"arm_flex": 8.0, "arm_down": 24.0, "arm_add": 80.0, "elbow": 95.0, "wrist": 0.0},
    "guard": {"arm_flex": 45.0, "arm_down": 65.0, "arm_add": 35.0, "elbow": 95.0, "wrist": 0.0},
}
# How targets read in text.
TARGET_WORDS = {"mouth": "the mouth", "face": "the face", "head": "the top of the head",
                "neck": "the back of the neck", "chest": "the chest", "ear": "the ear",
                "forehead": "the forehead"}  # fmt: skip


@dataclass(frozen=True)
class Move:
    """One primitive in a class timeline; times in seconds after the lead-in at tempo 1."""

    prim: str  # key of PRIMITIVES
    start: float
    dur: float
    side: str = "dom"  # dom | off | both | right (handshakes are right-handed whatever the hand)
    reps: int = 1
    target: str = ""  # reach: key of ARM_TARGETS


@dataclass(frozen=True)
class ActionClass:
    """An NTU class: code, snake_case name, the moves of its (first) performer, how it looks."""

    code: str  # "A001"
    name: str
    duration: float  # seconds at tempo 1, lead-in and tail excluded
    moves: tuple[Move, ...]
    visual: tuple[str, ...]
    partner: tuple[Move, ...] = ()  # the second person's moves (two-person classes)
    gap: float = 0.0  # chest-to-chest distance of the two persons at the start (metres)

    @property
    def persons(self) -> int:
        return 2 if self.partner else 1


@dataclass
class Ctx:
    """What a primitive needs: time, side of the dominant hand, the take's tempo and amplitude."""

    t: np.ndarray
    dom: str  # "r" | "l"
    tempo: float
    amp: float
    height: float
    rng: np.random.Generator
    t0: float = 0.0  # lead-in (seconds)
    events: dict[str, Any] = field(default_factory=dict)  # what the sensor model needs (touch spans...)


def _sides(m: Move, ctx: Ctx) -> tuple[str, ...]:
    off = "l" if ctx.dom == "r" else "r"
    return {"dom": (ctx.dom,), "off": (off,), "both": ("l", "r"), "right": ("r",), "left": ("l",)}[m.side]


def _span(m: Move, ctx: Ctx) -> tuple[float, float]:
    s = ctx.t0 + m.start / ctx.tempo
    return s, s + m.dur / ctx.tempo


def _to(pose: dict, key: str, w: np.ndarray, target: float | np.ndarray) -> None:
    """Blend a channel toward ``target`` by weight ``w`` (0 keeps it, 1 replaces it)."""
    pose[key] = pose[key] + w * (target - pose[key])


def _hold(m: Move, ctx: Ctx, ramp: float = 0.35) -> tuple[np.ndarray, float, float]:
    a, b = _span(m, ctx)
    r = min(ramp / ctx.tempo, (b - a) / 3)
    return window(ctx.t, a + r, b - r, r), a, b


def _arm_to(pose: dict, side: str, w: np.ndarray, target: str) -> None:
    hang = 0.8 * (pose["spine_flex"] + pose["pelvis_pitch"])  # targets are in the trunk frame
    for key, v in ARM_TARGETS[target].items():
        _to(pose, f"{side}_{key}", w, v - hang if key == "arm_flex" else v)


# --- primitives: each changes the pose channels inside its move's span --------------------------------


def _reach(pose, m: Move, ctx: Ctx) -> None:
    a, b = _span(m, ctx)
    seg = (b - a) / m.reps
    w = np.zeros_like(ctx.t)
    for k in range(m.reps):  # repeated reaches (eating) go back part way between bites
        r = min(0.3 / ctx.tempo, seg / 3)
        w = np.maximum(w, window(ctx.t, a + k * seg + r, a + (k + 1) * seg - r, r))
    if m.reps > 1:
        w = 0.35 * smoothstep((ctx.t - a) / 0.3) * (1 - smoothstep((ctx.t - b + 0.3) / 0.3)) + 0.65 * w
    for side in _sides(m, ctx):
        _arm_to(pose, side, w, m.target)
    # The hand at the face or chest hides itself from the sensor: the view model makes it inferred.
    ctx.events.setdefault("touch_spans", []).append((a, b, _sides(m, ctx)))


def _scrub(pose, m: Move, ctx: Ctx) -> None:
    """Small fast back-and-forth hand motion (brushing) on top of a reach."""
    w, a, _ = _hold(m, ctx, 0.2)
    osc = np.sin(2 * np.pi * 3.2 * ctx.tempo * (ctx.t - a))
    for side in _sides(m, ctx):
        pose[f"{side}_arm_add"] += w * 9 * ctx.amp * osc
        pose[f"{side}_wrist"] += w * 12 * ctx.amp * osc


def _head_back(pose, m: Move, ctx: Ctx) -> None:
    w, _, _ = _hold(m, ctx)
    pose["head_flex"] -= w * 24 * ctx.amp
    pose["neck_flex"] -= w * 10 * ctx.amp


def _head_down(pose, m: Move, ctx: Ctx) -> None:
    w, _, _ = _hold(m, ctx)
    pose["head_flex"] += w * 16 * ctx.amp
    pose["neck_flex"] += w * 8 * ctx.amp


def _head_tilt(pose, m: Move, ctx: Ctx) -> None:
    """Head tilted toward the dominant side (a phone held to the ear)."""
    w, _, _ = _hold(m, ctx)
    pose["head_roll"] += w * (14 if ctx.dom == "r" else -14) * ctx.amp


def _head_shake(pose, m: Move, ctx: Ctx) -> None:
    w, a, b = _hold(m, ctx, 0.2)
    f = m.reps / max(b - a, 1e-3)
    pose["head_yaw"] += w * 28 * ctx.amp * np.sin(2 * np.pi * f * (ctx.t - a))


def _bow(pose, m: Move, ctx: Ctx) -> None:
    w, _, _ = _hold(m, ctx, 0.45)
    pose["spine_flex"] += w * 32 * ctx.amp
    pose["pelvis_pitch"] += w * 8 * ctx.amp
    pose["head_flex"] += w * 18
    pose["neck_flex"] += w * 8


def _lean(pose, m: Move, ctx: Ctx) -> None:
    """A slight forward bend of the trunk (as if in pain)."""
    w, _, _ = _hold(m, ctx)
    pose["spine_flex"] += w * 14 * ctx.amp


def _wave(pose, m: Move, ctx: Ctx) -> None:
    w, a, b = _hold(m, ctx)
    f = m.reps / max(b - a, 1e-3)
    for side in _sides(m, ctx):
        _arm_to(pose, side, w, "wave")
        ph = 2 * np.pi * f * (ctx.t - a)
        pose[f"{side}_arm_add"] += w * 24 * ctx.amp * np.sin(ph)
        pose[f"{side}_elbow"] += w * 14 * ctx.amp * np.sin(ph + 0.6)
        pose[f"{side}_curl"] = pose[f"{side}_curl"] * (1 - w)


def _cheer(pose, m: Move, ctx: Ctx) -> None:
    w, a, b = _hold(m, ctx, 0.3)
    f = m.reps / max(b - a, 1e-3)
    pump = 0.5 - 0.5 * np.cos(2 * np.pi * f * (ctx.t - a))
    for side in _sides(m, ctx):
        _arm_to(pose, side, w, "cheer")
        pose[f"{side}_arm_down"] += w * 28 * ctx.amp * pump
        pose[f"{side}_elbow"] += w * 35 * pump
    pose["head_flex"] -= w * 10
    pose["root_pos"][:, 1] += w * 0.03 * ctx.amp * pump


def _point(pose, m: Move, ctx: Ctx) -> None:
    w, _, _ = _hold(m, ctx, 0.3)
    for side in _sides(m, ctx):
        _arm_to(pose, side, w, "point")
        _to(pose, f"{side}_curl", w, 0.6)
    pose["head_flex"] -= w * 4


def _throw(pose, m: Move, ctx: Ctx) -> None:
    a, b = _span(m, ctx)
    t, amp = ctx.t, ctx.amp
    tau = (b - a) / 2.3  # wind-up, release, follow-through and recovery share the span
    wind = smoothstep((t - a) / (0.6 * tau))
    rel_t = a + 0.7 * tau
    rel = smoothstep((t - rel_t) / (0.18 * tau))
    back = smoothstep((t - rel_t - 0.8 * tau) / (0.9 * tau))
    for side in _sides(m, ctx):
        yaw = 1.0 if side == "r" else -1.0
        pose[f"{side}_arm_down"] += (-55 * amp * wind * (1 - rel) - 25 * rel) * (1 - back)
        pose[f"{side}_arm_flex"] += (-30 * amp * wind * (1 - rel) + 95 * amp * rel) * (1 - back)
        pose[f"{side}_elbow"] += (95 * wind * (1 - rel) + 10 * rel) * (1 - back)
        pose[f"{side}_curl"] += 0.5 * wind * (1 - rel)
        pose["spine_yaw"] += yaw * (-25 * amp * wind * (1 - rel) + 20 * amp * rel) * (1 - back)
        off = "l" if side == "r" else "r"
        step = smoothstep((t - rel_t + 0.4 * tau) / (0.8 * tau))
        pose[f"{off}_hip_flex"] += 22 * amp * np.sin(np.pi * step)
        pose["root_pos"][:, 2] += 0.25 * amp * step
    pose["spine_flex"] += 14 * amp * rel * (1 - back)


def _punch(pose, m: Move, ctx: Ctx) -> None:
    a, b = _span(m, ctx)
    w_guard = window(ctx.t, a + 0.2 / ctx.tempo, b - 0.2 / ctx.tempo, 0.2 / ctx.tempo)
    seg = (b - a) / m.reps
    hit = np.zeros_like(ctx.t)
    for k in range(m.reps):  # quick extension and recoil of the fist
        c = a + (k + 0.55) * seg
        hit = np.maximum(hit, window(ctx.t, c - 0.04, c + 0.06, 0.1 / ctx.tempo))
    for side in _sides(m, ctx):
        _arm_to(pose, side, w_guard, "chamber")
        _arm_to(pose, side, hit, "punch")
        _to(pose, f"{side}_curl", w_guard, 1.0)
        pose["spine_yaw"] += hit * (12 if side == "r" else -12) * ctx.amp
    pose["spine_flex"] += hit * 8


def _push(pose, m: Move, ctx: Ctx) -> None:
    a, b = _span(m, ctx)
    lift = window(ctx.t, a + 0.25 / ctx.tempo, b - 0.3 / ctx.tempo, 0.25 / ctx.tempo)
    c = a + 0.55 * (b - a)
    shove = smoothstep((ctx.t - c + 0.12) / 0.2) * (1 - smoothstep((ctx.t - b + 0.35 / ctx.tempo) / 0.3))
    for side in _sides(m, ctx):
        _arm_to(pose, side, lift, "guard")
        _arm_to(pose, side, shove, "push")
    pose["spine_flex"] += shove * 14 * ctx.amp
    pose["root_pos"][:, 2] += 0.12 * ctx.amp * smoothstep((ctx.t - c + 0.1) / 0.3)


def _clap(pose, m: Move, ctx: Ctx) -> None:
    w, a, b = _hold(m, ctx, 0.3)
    f = m.reps / max(b - a, 1e-3)
    apart = 0.5 + 0.5 * np.cos(2 * np.pi * f * (ctx.t - a))  # 0 when the palms meet
    for side in _sides(m, ctx):
        _arm_to(pose, side, w, "clap")
        pose[f"{side}_arm_add"] -= w * 26 * ctx.amp * apart
        pose[f"{side}_curl"] = pose[f"{side}_curl"] * (1 - w)


def _handshake(pose, m: Move, ctx: Ctx) -> None:
    w, a, b = _hold(m, ctx, 0.35)
    f = m.reps / max(b - a, 1e-3)
    for side in _sides(m, ctx):
        _arm_to(pose, side, w, "shake")
        pose[f"{side}_arm_flex"] += w * 9 * ctx.amp * np.sin(2 * np.pi * f * (ctx.t - a))
        _to(pose, f"{side}_curl", w, 0.7)


def _hug(pose, m: Move, ctx: Ctx) -> None:
    w, _, _ = _hold(m, ctx, 0.45)
    for side in _sides(m, ctx):
        _arm_to(pose, side, w, "hug")
    pose["head_yaw"] += w * (18 if ctx.dom == "r" else -18)
    pose["spine_flex"] += w * 6


def _pick_up(pose, m: Move, ctx: Ctx) -> None:
    a, b = _span(m, ctx)
    w = window(ctx.t, a + 0.55 * (b - a) / 2, a + 1.1 * (b - a) / 2, 0.45 / ctx.tempo)
    h = ctx.height
    for side in ("l", "r"):
        pose[f"{side}_hip_flex"] += 75 * w
        pose[f"{side}_knee"] += 100 * w
        pose[f"{side}_ankle"] += 18 * w
    pose["spine_flex"] += 62 * w
    pose["head_flex"] -= 15 * w
    pose["root_pos"][:, 1] -= 0.19 * h * w
    pose["root_pos"][:, 2] -= 0.08 * h * w
    after = smoothstep((ctx.t - (a + 1.1 * (b - a) / 2)) / 0.4)
    for side in _sides(m, ctx):
        pose[f"{side}_arm_flex"] += 25 * w + 30 * after * (1 - w)
        pose[f"{side}_elbow"] += 60 * after * (1 - w)
        pose[f"{side}_curl"] += 0.5 * after


def _sit(pose, m: Move, ctx: Ctx, reverse: bool = False) -> None:
    a, b = _span(m, ctx)
    s = smoothstep((ctx.t - a) / max(b - a, 1e-3))
    if reverse:
        s = 1 - s
    bump = np.sin(np.pi * s)  # the trunk leans forward on the way down (or up)
    h = ctx.height
    for side in ("l", "r"):
        pose[f"{side}_hip_flex"] += 88 * s
        pose[f"{side}_knee"] += 92 * s
        pose[f"{side}_ankle"] += 8 * s
        pose[f"{side}_arm_flex"] += 20 * ctx.amp * bump + 28 * s
        pose[f"{side}_elbow"] += 45 * s
        pose[f"{side}_arm_add"] += 8 * s
    pose["spine_flex"] += 32 * bump
    pose["pelvis_pitch"] += 8 * bump
    pose["root_pos"][:, 1] -= 0.235 * h * s
    pose["root_pos"][:, 2] -= 0.1 * h * s
    ctx.events["seated"] = s


def _stand_up(pose, m: Move, ctx: Ctx) -> None:
    _sit(pose, m, ctx, reverse=True)


def _fall(pose, m: Move, ctx: Ctx) -> None:
    a, b = _span(m, ctx)
    t, h = ctx.t, ctx.height
    knees = smoothstep((t - a) / (0.45 * (b - a)))  # knees give way, then the body tips onto its side
    tip = smoothstep((t - a - 0.35 * (b - a)) / (0.5 * (b - a)))
    side_sgn = 1.0 if ctx.dom == "r" else -1.0  # falls toward the dominant side, bracing with that hand
    for side in ("l", "r"):
        pose[f"{side}_hip_flex"] += 85 * knees - 45 * tip
        pose[f"{side}_knee"] += 110 * knees - 60 * tip
        pose[f"{side}_arm_down"] -= 40 * knees
        pose[f"{side}_arm_flex"] += 35 * knees
    pose["spine_flex"] += 30 * knees - 20 * tip
    pose["pelvis_roll"] -= side_sgn * 75 * tip
    pose["head_roll"] += side_sgn * 15 * tip
    base = pose["root_pos"][0, 1]
    pose["root_pos"][:, 1] -= (0.3 * h) * knees + (base - 0.3 * h - 0.16) * tip
    pose["root_pos"][:, 0] -= side_sgn * 0.25 * tip  # body's right is -X
    pose["root_pos"][:, 2] += 0.15 * knees


def _kick(pose, m: Move, ctx: Ctx) -> None:
    a, b = _span(m, ctx)
    t = ctx.t
    c = a + 0.5 * (b - a)
    lift = window(t, c - 0.08, c + 0.05, 0.28 / ctx.tempo)
    ext = smoothstep((t - c + 0.15) / 0.15) * (1 - smoothstep((t - c - 0.05) / 0.25))
    for side in _sides(m, ctx):
        pose[f"{side}_hip_flex"] += 75 * ctx.amp * lift
        pose[f"{side}_knee"] += 70 * lift * (1 - ext) + 8 * lift
        pose[f"{side}_ankle"] -= 15 * lift
    for side in ("l", "r"):  # arms out for balance
        pose[f"{side}_arm_down"] -= 18 * lift
        pose[f"{side}_elbow"] += 20 * lift
    pose["spine_flex"] -= 12 * lift


def _hop(pose, m: Move, ctx: Ctx) -> None:
    w, a, b = _hold(m, ctx, 0.3)
    f = m.reps / max(b - a, 1e-3)
    ph = np.clip((ctx.t - a) * f, 0, m.reps)
    air = np.sin(np.pi * (ph % 1.0)) * w
    stand = _sides(m, ctx)[0]
    lifted = "l" if stand == "r" else "r"
    pose[f"{lifted}_hip_flex"] += w * 40
    pose[f"{lifted}_knee"] += w * 85
    pose[f"{stand}_knee"] += 22 * w * (1 - air)
    pose[f"{stand}_hip_flex"] += 10 * w * (1 - air)
    pose["root_pos"][:, 1] += 0.09 * ctx.amp * air - 0.03 * w * (1 - air)
    pose["root_pos"][:, 2] += 0.12 * ph
    for side in ("l", "r"):
        pose[f"{side}_arm_down"] -= 15 * w
        pose[f"{side}_elbow"] += 30 * w


def _jump(pose, m: Move, ctx: Ctx) -> None:
    a, b = _span(m, ctx)
    t, h, d = ctx.t, ctx.height, b - a
    crouch = window(t, a + 0.3 * d, a + 0.38 * d, 0.22 * d) + window(t, a + 0.7 * d, a + 0.72 * d, 0.15 * d)
    up0, up1 = a + 0.45 * d, a + 0.68 * d
    air = np.clip((t - up0) / (up1 - up0), 0, 1)
    air = 4 * air * (1 - air)  # ballistic hop
    for side in ("l", "r"):
        pose[f"{side}_hip_flex"] += 50 * crouch + 5 * air
        pose[f"{side}_knee"] += 65 * crouch + 12 * air
        pose[f"{side}_ankle"] += 12 * crouch - 20 * air
        pose[f"{side}_arm_flex"] += -25 * crouch + 110 * ctx.amp * air
    pose["spine_flex"] += 22 * crouch
    pose["root_pos"][:, 1] += -0.1 * h * crouch + 0.28 * ctx.amp * air


def _step_in(pose, m: Move, ctx: Ctx, sign: float = 1.0, dist: float = 0.3) -> None:
    a, b = _span(m, ctx)
    s = smoothstep((ctx.t - a) / max(b - a, 1e-3))
    lead = _sides(m, ctx)[0]
    pose[f"{lead}_hip_flex"] += 18 * np.sin(np.pi * s)
    pose[f"{lead}_knee"] += 22 * np.sin(np.pi * s)
    pose["root_pos"][:, 2] += sign * dist * ctx.amp**0.5 * s
    pose["root_pos"][:, 1] += 0.01 * np.sin(np.pi * s)


def _recoil(pose, m: Move, ctx: Ctx) -> None:
    """Knocked backward: the trunk and head snap back, a step back, the arms come up."""
    w, a, _ = _hold(m, ctx, 0.15)
    _step_in(pose, m, ctx, sign=-1.0, dist=0.3)
    pose["spine_flex"] -= 16 * ctx.amp * w
    pose["head_flex"] -= 12 * w
    for side in ("l", "r"):
        _arm_to(pose, side, 0.6 * w, "guard")


@dataclass(frozen=True)
class Primitive:
    """Motion of one primitive plus its texts: knowledge per body part and per-take clauses.

    Text templates: {hand}/{arm}/{leg} ("one hand" in knowledge, "the right hand" per take),
    {target}, {n} (repetitions in words), {side} ("right", "left" or "both").
    """

    apply: Callable[[dict, Move, Ctx], None]
    parts: dict[str, tuple[str, ...]]
    clause: tuple[str, ...]


P = Primitive
PRIMITIVES: dict[str, Primitive] = {
    "reach": P(
        _reach,
        {
            "hand": ("{hand} is brought up to {target}", "{hand} ends up touching {target}"),
            "arm": (
                "{arm} lifts from the side and the elbow bends sharply",
                "the forearm folds up toward the body",
            ),
        },
        ("{hand} rises to {target}", "{hand} comes up to {target}"),
    ),
    "scrub": P(
        _scrub,
        {
            "hand": (
                "{hand} moves quickly back and forth in small strokes",
                "the wrist makes a fast, small repeated motion",
            ),
            "arm": (
                "the forearm jiggles rapidly while the elbow stays bent",
                "the upper arm stays raised and still",
            ),
        },
        ("and moves quickly back and forth there",),
    ),
    "head_back": P(
        _head_back,
        {
            "head": ("the head tips back", "the chin lifts and the face turns upward"),
        },
        ("the head tips back", "the chin lifts"),
    ),
    "head_down": P(
        _head_down,
        {
            "head": ("the head bends slightly forward", "the chin lowers toward the chest"),
        },
        ("the head lowers", "the head bends forward a little"),
    ),
    "head_tilt": P(
        _head_tilt,
        {
            "head": (
                "the head tilts to one side, toward the raised hand",
                "the ear leans toward the shoulder",
            ),
        },
        ("the head tilts toward that hand",),
    ),
    "head_shake": P(
        _head_shake,
        {
            "head": (
                "the head turns left and right several times",
                "the head rotates side to side about the neck",
            ),
        },
        ("the head turns from side to side {n}",),
    ),
    "bow": P(
        _bow,
        {
            "head": ("the head bows down", "the head drops forward with the trunk"),
            "hip": ("the upper body bends forward at the hips", "the trunk tips forward and comes back up"),
        },
        ("the upper body bows forward and straightens again",),
    ),
    "lean": P(
        _lean,
        {
            "hip": ("the trunk bends forward a little at the waist", "the upper body hunches slightly"),
        },
        ("the upper body hunches forward a little",),
    ),
    "wave": P(
        _wave,
        {
            "hand": ("{hand} is raised above the shoulder", "{hand} swings side to side, palm open"),
            "arm": ("{arm} is lifted high with the elbow bent", "the forearm sways left and right {n}"),
        },
        ("{hand} is raised high and sways side to side {n}",),
    ),
    "cheer": P(
        _cheer,
        {
            "hand": ("both hands go up above the head", "the hands are high over the head"),
            "arm": ("both arms are raised straight overhead", "the arms pump up and down above the head"),
            "head": ("the head lifts slightly upward",),
        },
        ("both arms shoot up overhead and pump {n}",),
    ),
    "point": P(
        _point,
        {
            "hand": ("{hand} is held out in front of the body", "one finger points forward from {hand}"),
            "arm": (
                "{arm} stretches out straight forward at shoulder height",
                "the elbow is almost straight",
            ),
        },
        ("{arm} stretches out forward and holds there",),
    ),
    "throw": P(
        _throw,
        {
            "hand": ("{hand} goes back behind the shoulder and then forward", "{hand} releases at the front"),
            "arm": (
                "{arm} swings overhead from back to front",
                "the elbow leads the arm through a fast forward swing",
            ),
            "hip": (
                "the trunk twists back and then forward with the throw",
                "the upper body rotates into the throw",
            ),
            "leg": ("the opposite leg steps forward", "the weight shifts onto the front leg"),
            "foot": (
                "one foot steps forward during the throw",
                "the front foot plants as the arm comes through",
            ),
        },
        ("{arm} winds back and swings forward overhead while the opposite leg steps in",),
    ),
    "punch": P(
        _punch,
        {
            "hand": ("{hand} is clenched into a fist", "the fist shoots forward toward the other person"),
            "arm": (
                "{arm} extends quickly straight forward and pulls back",
                "the elbow snaps straight in a jab",
            ),
            "hip": ("the trunk twists into the punch",),
        },
        ("{hand} forms a fist and jabs forward {n}",),
    ),
    "push": P(
        _push,
        {
            "hand": ("both palms face forward at chest height", "the hands press against the other person"),
            "arm": ("both arms thrust forward from the chest", "the elbows straighten in a quick shove"),
            "hip": ("the trunk leans forward into the push", "the upper body drives forward"),
        },
        ("both arms thrust forward in a shove",),
    ),
    "clap": P(
        _clap,
        {
            "hand": (
                "the palms meet in front of the chest again and again",
                "the hands come together and apart",
            ),
            "arm": (
                "both forearms are held in front of the body",
                "the arms open and close in front of the chest",
            ),
        },
        ("both hands clap together in front of the chest {n}",),
    ),
    "handshake": P(
        _handshake,
        {
            "hand": (
                "the right hand grips the other person's right hand",
                "the clasped hands pump up and down",
            ),
            "arm": (
                "the right arm reaches forward at waist height",
                "the right forearm moves up and down a few times",
            ),
        },
        ("the right hand reaches forward and shakes the other's hand {n}",),
    ),
    "hug": P(
        _hug,
        {
            "hand": ("the hands wrap around the other person's back", "the hands meet behind the partner"),
            "arm": (
                "both arms open and close around the other person",
                "the arms encircle the partner's shoulders",
            ),
            "head": ("the head turns aside, past the other person's shoulder",),
        },
        ("both arms wrap around the other person",),
    ),
    "pick_up": P(
        _pick_up,
        {
            "hand": ("{hand} reaches down to the floor", "{hand} grasps something near the feet"),
            "arm": (
                "{arm} hangs down toward the ground and then lifts",
                "the arm brings the object up to the waist",
            ),
            "hip": ("the trunk bends deeply forward", "the hips lower and then rise back up"),
            "leg": ("both knees bend to lower the body", "the legs straighten again after the reach"),
            "foot": ("the feet stay planted while the body bends", "the heels stay on the ground"),
        },
        ("the body bends down while {hand} reaches to the floor and comes back up",),
    ),
    "sit": P(
        _sit,
        {
            "hip": ("the hips move backward and down onto a seat", "the pelvis lowers onto a chair"),
            "leg": ("both knees bend to a right angle", "the thighs become horizontal"),
            "foot": ("the feet stay on the floor in front of the seat", "the feet remain planted"),
            "arm": (
                "the arms come forward for balance and rest on the lap",
                "the hands move onto the thighs",
            ),
            "head": ("the head moves forward and down with the trunk", "the head dips as the body lowers"),
        },
        ("the body lowers onto a seat, leaning forward on the way down",),
    ),
    "stand_up": P(
        _stand_up,
        {
            "hip": ("the hips rise from the seat", "the pelvis lifts up and forward"),
            "leg": ("both knees straighten from a bent position", "the legs push the body up"),
            "foot": ("the feet push against the floor", "the feet stay planted as the body rises"),
            "arm": ("the hands leave the lap", "the arms swing forward to help the rise"),
            "head": ("the head moves forward and then up", "the head rises with the body"),
        },
        ("the body rises from the seat, leaning forward to push up",),
    ),
    "fall": P(
        _fall,
        {
            "hip": ("the hips drop toward the floor", "the body tips over onto its side"),
            "leg": ("the knees buckle", "the legs fold under the body"),
            "foot": ("the feet slip out as the body goes down", "the feet end up off to one side"),
            "arm": ("the arms reach out to break the fall", "the arms spread to the sides"),
            "head": ("the head goes down to near the floor", "the head drops with the falling body"),
        },
        ("the knees buckle and the body falls to the floor on the {side} side",),
    ),
    "kick": P(
        _kick,
        {
            "leg": ("{leg} swings forward and the knee snaps straight", "{leg} lifts in front of the body"),
            "foot": ("one foot strikes forward at knee height", "the foot kicks out in front"),
            "arm": ("the arms open slightly for balance", "the arms move out to the sides"),
            "hip": ("the trunk leans back a little as the leg swings", "the hips push forward with the kick"),
        },
        ("{leg} swings forward in a kick",),
    ),
    "hop": P(
        _hop,
        {
            "leg": (
                "one leg is lifted with the knee bent",
                "the standing leg bends and pushes off repeatedly",
            ),
            "foot": ("one foot stays off the ground", "the supporting foot leaves the floor with each hop"),
            "hip": ("the hips bob up and down", "the body rises and falls rhythmically"),
            "arm": ("the arms are held out a little for balance", "the elbows bend slightly"),
        },
        ("standing on {leg}, the person hops {n} with the other foot raised",),
    ),
    "jump": P(
        _jump,
        {
            "leg": ("both knees bend deeply and then extend", "the legs push off together"),
            "foot": ("both feet leave the ground at the same time", "the feet land together"),
            "hip": ("the hips drop into a crouch and spring up", "the body rises straight up"),
            "arm": ("the arms swing up with the jump", "both arms swing back and then forward and up"),
        },
        ("the person crouches and jumps straight up with both feet",),
    ),
    "step_in": P(
        _step_in,
        {
            "leg": (
                "one leg steps forward toward the other person",
                "the legs carry the body forward a step",
            ),
            "foot": ("the feet move toward the partner", "one foot steps ahead"),
        },
        ("steps toward the other person",),
    ),
    "recoil": P(
        _recoil,
        {
            "hip": ("the trunk jerks backward", "the upper body is knocked back"),
            "leg": ("one leg steps back to catch the body", "the legs retreat a step"),
            "foot": ("a foot moves backward", "the feet shuffle back"),
            "head": ("the head snaps back", "the head moves away from the other person"),
            "arm": ("the arms come up in front of the body", "the forearms rise defensively"),
        },
        ("the other person is knocked back a step with the head snapping back",),
    ),
}
# What a part does when no primitive moves it (true for every class that leaves it alone).
REST: dict[str, tuple[str, ...]] = {
    "head": ("the head stays upright and faces forward", "the head hardly moves"),
    "hand": ("the hands hang relaxed at the sides", "the hands stay low and still"),
    "arm": ("the arms hang down beside the body", "the arms stay relaxed"),
    "hip": ("the trunk stays upright", "the hips stay level and in place"),
    "leg": ("the legs stand straight", "the legs stay still"),
    "foot": ("the feet stay on the floor", "the feet do not move"),
}
_NUM = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times", 6: "six times"}
_NUMW = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}

M = Move
CLASSES: tuple[ActionClass, ...] = (
    ActionClass("A001", "drink_water", 2.6,
                (M("reach", 0.0, 2.6, target="mouth"), M("head_back", 0.9, 1.2)),
                ("a person lifts a cup to the mouth and drinks",
                 "someone raises a glass to the lips and tips the head back")),
    ActionClass("A002", "eat_meal", 3.0,
                (M("reach", 0.0, 3.0, reps=3, target="mouth"), M("head_down", 0.0, 3.0)),
                ("a person eats, bringing food to the mouth bite after bite",
                 "someone takes several bites from a spoon")),
    ActionClass("A003", "brushing_teeth", 3.0,
                (M("reach", 0.0, 3.0, target="mouth"), M("scrub", 0.5, 2.0)),
                ("a person brushes their teeth",
                 "someone scrubs the teeth with a toothbrush held at the mouth")),
    ActionClass("A006", "pickup", 2.6,
                (M("pick_up", 0.0, 2.6),),
                ("a person bends down and picks something up from the floor",
                 "someone lifts an object off the ground")),
    ActionClass("A007", "throw", 2.2,
                (M("throw", 0.0, 2.2),),
                ("a person throws a ball overhand", "someone hurls an object forward")),
    ActionClass("A008", "sitting_down", 2.0,
                (M("sit", 0.0, 1.8),),
                ("a person sits down on a chair", "someone lowers themselves onto a seat")),
    ActionClass("A009", "standing_up", 2.0,
                (M("stand_up", 0.2, 1.8),),
                ("a person stands up from a chair", "someone gets up out of a seat")),
    ActionClass("A010", "clapping", 2.4,
                (M("clap", 0.0, 2.4, side="both", reps=5),),
                ("a person claps their hands", "someone applauds")),
    ActionClass("A022", "cheer_up", 2.4,
                (M("cheer", 0.0, 2.4, side="both", reps=2),),
                ("a person cheers with both arms in the air", "someone celebrates, throwing the arms up")),
    ActionClass("A023", "hand_waving", 2.6,
                (M("wave", 0.0, 2.6, reps=3),),
                ("a person waves hello", "someone waves a raised hand at somebody")),
    ActionClass("A024", "kicking_something", 1.8,
                (M("kick", 0.0, 1.8),),
                ("a person kicks something in front of them", "someone kicks a ball forward")),
    ActionClass("A026", "hopping", 2.6,
                (M("hop", 0.0, 2.6, reps=3),),
                ("a person hops on one foot", "someone hops in place on one leg")),
    ActionClass("A027", "jump_up", 2.0,
                (M("jump", 0.0, 2.0),),
                ("a person jumps up in the air", "someone jumps straight up on the spot")),
    ActionClass("A028", "make_a_phone_call", 3.0,
                (M("reach", 0.0, 3.0, target="ear"), M("head_tilt", 0.6, 2.0)),
                ("a person holds a phone to the ear and talks", "someone makes a phone call")),
    ActionClass("A031", "pointing_to_something", 2.2,
                (M("point", 0.0, 2.2),),
                ("a person points at something in front of them",
                 "someone points a finger at an object ahead")),
    ActionClass("A035", "nod_head_bow", 2.0,
                (M("bow", 0.0, 2.0),),
                ("a person bows", "someone nods and bows politely")),
    ActionClass("A036", "shake_head", 2.0,
                (M("head_shake", 0.0, 2.0, reps=3),),
                ("a person shakes their head to say no", "someone shakes the head in disagreement")),
    ActionClass("A038", "salute", 2.0,
                (M("reach", 0.0, 2.0, target="forehead"),),
                ("a person gives a military salute", "someone salutes with a hand at the brow")),
    ActionClass("A043", "falling", 2.0,
                (M("fall", 0.0, 2.0),),
                ("a person falls down to the floor", "someone collapses onto the ground")),
    ActionClass("A044", "touch_head", 2.8,
                (M("reach", 0.0, 2.8, target="head"), M("head_down", 0.3, 2.3)),
                ("a person holds their head as if it aches", "someone has a headache and touches the head")),
    ActionClass("A045", "touch_chest", 2.8,
                (M("reach", 0.0, 2.8, target="chest"), M("lean", 0.3, 2.3)),
                ("a person holds their chest in pain", "someone clutches the chest or stomach")),
    ActionClass("A047", "touch_neck", 2.8,
                (M("reach", 0.0, 2.8, target="neck"), M("head_down", 0.3, 2.3)),
                ("a person rubs a sore neck", "someone touches the back of the neck as if it hurts")),
    ActionClass("A050", "punching", 2.4,
                (M("step_in", 0.0, 0.8), M("punch", 0.6, 1.4, reps=2)),
                ("a person punches another person", "someone hits the other person with a fist"),
                partner=(M("recoil", 1.15, 1.1),), gap=1.2),
    ActionClass("A052", "pushing", 2.4,
                (M("step_in", 0.0, 0.8), M("push", 0.5, 1.6, side="both")),
                ("a person pushes another person away", "someone shoves the other person with both hands"),
                partner=(M("recoil", 1.25, 1.1),), gap=0.95),
    ActionClass("A055", "hugging", 3.2,
                (M("step_in", 0.0, 1.0), M("hug", 0.7, 2.3, side="both")),
                ("two people hug each other", "two persons embrace"),
                partner=(M("step_in", 0.0, 1.0, side="off"), M("hug", 0.7, 2.3, side="both")), gap=1.0),
    ActionClass("A058", "handshaking", 3.0,
                (M("step_in", 0.0, 1.0), M("handshake", 0.8, 1.8, side="right", reps=3)),
                ("two people shake hands", "two persons greet each other with a handshake"),
                partner=(M("step_in", 0.0, 1.0, side="off"),
                         M("handshake", 0.8, 1.8, side="right", reps=3)), gap=1.45),
)  # fmt: skip
BY_NAME = {c.name: c for c in CLASSES}
ACTION_CODES = {c.name: c.code for c in CLASSES}


def action_pose(pose: dict, cls: ActionClass | tuple[Move, ...], ctx: Ctx) -> None:
    """Apply a class's moves (or a partner's move list) to ``pose`` in place."""
    moves = cls.moves if isinstance(cls, ActionClass) else cls
    for m in moves:
        PRIMITIVES[m.prim].apply(pose, m, ctx)


def _fill(text: str, m: Move, side: str | None) -> str:
    """Template text for a move; ``side`` None gives the class-level wording ("one hand")."""
    both = m.side == "both"
    if m.side == "right":
        side = "r"
    word = {"r": "right", "l": "left"}.get(side or "", "")
    if both:
        hand, arm, leg = "both hands", "both arms", "both legs"
    elif side is None:
        hand, arm, leg = "one hand", "one arm", "one leg"
    else:
        if m.side == "off":
            word = "left" if side == "r" else "right"
        hand, arm, leg = f"the {word} hand", f"the {word} arm", f"the {word} leg"
    out = text.format(hand=hand, arm=arm, leg=leg, target=TARGET_WORDS.get(m.target, m.target),
                      n=_NUM.get(m.reps, f"{m.reps} times"), side=word or "one")  # fmt: skip
    return out


def knowledge_rows(classes: tuple[ActionClass, ...] = CLASSES) -> list[dict[str, str]]:
    """SUGAR-style class knowledge: per class, >= 2 sentences per body part and visual sentences."""
    rows = []
    for c in classes:
        per: dict[str, list[str]] = {p: [] for p in PARTS}
        for m in c.moves:
            for part, texts in PRIMITIVES[m.prim].parts.items():
                per[part] += [_fill(x, m, None) for x in texts]
        own_prims = {m.prim for m in c.moves}
        for m in c.partner:  # what the partner does differently (a mirrored move is said once)
            if m.prim in own_prims:
                continue
            for part, texts in PRIMITIVES[m.prim].parts.items():
                per[part] += [f"for the other person, {_fill(x, m, None)}" for x in texts]
        for part in PARTS[:-1]:
            own = [x for x in per[part] if not x.startswith("for the other person")]
            if len(own) < 2:  # parts the class leaves alone (or barely uses) say so
                per[part] = [x for x in REST[part] if x not in own][: 2 - len(own)] + per[part]
        per["visual"] = list(c.visual)
        for part in PARTS:
            seen = set()
            for text in per[part]:
                if text not in seen:
                    seen.add(text)
                    rows.append({"label": c.name, "part": part, "text": _sentence(text)})
    return rows


def _sentence(s: str) -> str:
    s = s[:1].upper() + s[1:]
    return s if s.endswith(".") else s + "."


def describe_take(cls: ActionClass, dom: str, tempo: float, amp: float, rng: np.random.Generator) -> str:
    """One or two sentences on the body cues of this take, with its real side, tempo and amplitude."""
    clauses = []
    for m in cls.moves:
        opts = PRIMITIVES[m.prim].clause
        c = _fill(str(opts[int(rng.integers(len(opts)))]), m, dom)
        if m.prim == "scrub" and clauses:
            clauses[-1] += " " + c
            continue
        if m.prim == "step_in":
            c = "one person " + c
        clauses.append(c)
    text = clauses[0][:1].upper() + clauses[0][1:]
    if len(clauses) > 1:
        text += (" while " if cls.moves[1].prim.startswith("head") else ", then ") + ", ".join(clauses[1:])
    text = text.rstrip(".") + "."
    if cls.partner:
        partner = [m for m in cls.partner if m.prim != "step_in"]
        if partner and partner[0].prim == "recoil":
            text += " " + _sentence(PRIMITIVES["recoil"].clause[0])
        elif partner:
            text += " The other person does the same."
    if tempo > 1.15:
        text += " " + str(rng.choice(list(_MANNER[("tempo", 1)])))
    elif tempo < 0.87:
        text += " " + str(rng.choice(list(_MANNER[("tempo", -1)])))
    if amp > 1.15:
        text += " " + _MANNER[("amplitude", 1)][0]
    elif amp < 0.85:
        text += " " + _MANNER[("amplitude", -1)][0]
    return text


# how a take's tempo and amplitude are said, by (cue, direction): the emotion corpora's cue names
_MANNER = {
    ("tempo", 1): ("The movement is quick.", "It is done briskly."),
    ("tempo", -1): ("The movement is slow.", "It is done unhurriedly."),
    ("amplitude", 1): ("The motion is large.",),
    ("amplitude", -1): ("The motion is small.",),
}


def move_cue(m: Move) -> str:
    """The cue name of one move: its primitive, and where it reaches to (``reach@mouth``)."""
    return f"{m.prim}@{m.target}" if m.target else m.prim


def lexicon(classes: tuple[ActionClass, ...] = CLASSES) -> dict[str, tuple[str, int]]:
    """The clauses :func:`describe_take` writes, read back: clause -> (cue, +1) for every move of
    every class on either side (:func:`move_cue`), and the tempo/amplitude sentences."""
    out: dict[str, tuple[str, int]] = {}
    for c in classes:
        for m in (*c.moves, *c.partner):
            for opt in PRIMITIVES[m.prim].clause:
                for side in ("r", "l"):
                    out.setdefault(_fill(str(opt), m, side).rstrip("."), (move_cue(m), 1))
    return out | {t.rstrip("."): key for key, texts in _MANNER.items() for t in texts}


def idle(pose: dict, ctx: Ctx, sway: float) -> None:
    """Standing still is never still: breathing, weight shifts and small head motion."""
    t, rng = ctx.t, ctx.rng
    s = band_noise(rng, t, 0.08, 0.3, 3)
    pose["root_pos"][:, 0] += 0.015 * sway * s
    pose["pelvis_roll"] += 1.5 * sway * s
    pose["spine_flex"] += 1.0 * band_noise(rng, t, 0.2, 0.35, 2)  # breathing
    pose["head_yaw"] += 3.0 * sway * band_noise(rng, t, 0.1, 0.5, 3)
    pose["head_flex"] += 1.5 * band_noise(rng, t, 0.1, 0.6, 3)
    for side in ("l", "r"):
        pose[f"{side}_arm_flex"] += 2.0 * band_noise(rng, t, 0.1, 0.5, 3)
        pose[f"{side}_elbow"] += 3.0 * band_noise(rng, t, 0.1, 0.5, 3)
