"""How each emotion shows in the body: a cue profile per emotion, and per-take cue sampling.

Profiles follow the body-expression literature (Wallbott 1998; Dael et al. 2012; Kleinsmith &
Bianchi-Berthouze 2013): sadness and shame lower the head and flex the trunk with slow, small
movement; anger and joy are fast and expansive, anger jerky and approaching; fear, panic and
anxiety raise the shoulders, withdraw, scan and self-touch; surprise lifts the arms and steps
back; disgust turns the head away. Near emotions share most of their profile on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skellm.synth.body import Actor

# Continuous cues: degrees for postures, multipliers for tempo/amplitude, 0..1 for jerk/tremble/curl,
# metres over the take for approach (+) / withdrawal (-).
NEUTRAL = {
    "trunk_flex": 2.0,  # forward trunk flexion
    "head_flex": 3.0,  # head pitch, + down
    "shoulder_raise": 0.0,
    "shoulder_protr": 0.0,  # shoulders rolled forward
    "tempo": 1.0,
    "amplitude": 1.0,
    "jerk": 0.1,
    "approach": 0.0,
    "expand": 0.0,  # arms away from (+) or close to (-) the body, degrees
    "scan": 3.0,  # head yaw look-around amplitude, degrees
    "avert": 0.0,  # head turned away, degrees
    "tremble": 0.0,
    "curl": 0.25,  # finger flexion, 1 = fist
}
# Take-to-take spread of each cue (before the corpus noise factor).
SPREAD = {
    "trunk_flex": 3.0,
    "head_flex": 4.0,
    "shoulder_raise": 2.5,
    "shoulder_protr": 2.5,
    "tempo": 0.08,
    "amplitude": 0.10,
    "jerk": 0.08,
    "approach": 0.12,
    "expand": 4.0,
    "scan": 3.0,
    "avert": 4.0,
    "tremble": 0.08,
    "curl": 0.1,
}

_P = dict  # profile: deviations applied at full intensity; missing cues stay neutral
PROFILES: dict[str, dict[str, float]] = {
    "neutral": _P(),
    "joy": _P(
        trunk_flex=-4,
        head_flex=-9,
        shoulder_protr=-4,
        tempo=1.25,
        amplitude=1.35,
        jerk=0.3,
        approach=0.25,
        expand=14,
        scan=6,
        curl=0.1,
    ),
    "anger": _P(
        trunk_flex=8,
        head_flex=-3,
        shoulder_raise=4,
        shoulder_protr=6,
        tempo=1.3,
        amplitude=1.4,
        jerk=0.75,
        approach=0.5,
        expand=9,
        scan=2,
        curl=0.85,
    ),
    "panic": _P(
        trunk_flex=7,
        head_flex=2,
        shoulder_raise=11,
        shoulder_protr=5,
        tempo=1.55,
        amplitude=1.25,
        jerk=0.85,
        approach=-0.35,
        expand=6,
        scan=22,
        tremble=0.4,
        curl=0.5,
    ),
    "fear": _P(
        trunk_flex=11,
        head_flex=7,
        shoulder_raise=11,
        shoulder_protr=8,
        tempo=1.05,
        amplitude=0.75,
        jerk=0.55,
        approach=-0.5,
        expand=-10,
        scan=14,
        tremble=0.6,
        curl=0.55,
    ),
    "anxiety": _P(
        trunk_flex=6,
        head_flex=9,
        shoulder_raise=8,
        shoulder_protr=5,
        tempo=1.15,
        amplitude=0.8,
        jerk=0.5,
        approach=-0.15,
        expand=-9,
        scan=11,
        tremble=0.35,
        curl=0.45,
    ),
    "sadness": _P(
        trunk_flex=15,
        head_flex=21,
        shoulder_raise=-4,
        shoulder_protr=8,
        tempo=0.7,
        amplitude=0.55,
        jerk=0.05,
        expand=-8,
        scan=1,
        curl=0.2,
    ),
    "shame": _P(
        trunk_flex=13,
        head_flex=27,
        shoulder_raise=3,
        shoulder_protr=10,
        tempo=0.8,
        amplitude=0.62,
        jerk=0.15,
        approach=-0.25,
        expand=-11,
        scan=2,
        avert=14,
        curl=0.3,
    ),
    "disgust": _P(
        trunk_flex=-4,
        head_flex=-3,
        shoulder_raise=4,
        tempo=0.95,
        amplitude=0.9,
        jerk=0.35,
        approach=-0.4,
        expand=-4,
        avert=24,
        curl=0.4,
    ),
    "surprise": _P(
        trunk_flex=-7,
        head_flex=-9,
        shoulder_raise=9,
        tempo=1.15,
        amplitude=1.15,
        jerk=0.65,
        approach=-0.3,
        expand=12,
        scan=9,
        curl=0.15,
    ),
}
PROFILES["happiness"] = {**PROFILES["joy"], "tempo": 1.2, "amplitude": 1.3}

# Probability of self-touch at full intensity and where the hand goes.
TOUCH: dict[str, tuple[float, dict[str, float]]] = {
    "neutral": (0.04, {"arm": 1.0}),
    "joy": (0.05, {"face": 1.0}),
    "happiness": (0.05, {"face": 1.0}),
    "anger": (0.04, {"head": 1.0}),
    "panic": (0.35, {"head": 0.6, "face": 0.4}),
    "fear": (0.45, {"face": 0.5, "chest": 0.3, "mouth": 0.2}),
    "anxiety": (0.6, {"neck": 0.45, "arm": 0.35, "face": 0.2}),
    "sadness": (0.3, {"face": 0.6, "arm": 0.4}),
    "shame": (0.5, {"face": 0.7, "neck": 0.3}),
    "disgust": (0.3, {"mouth": 0.7, "chest": 0.3}),
    "surprise": (0.35, {"mouth": 0.6, "chest": 0.4}),
}
# Probability of a raised-arms event (jubilation, startle, threat) at full intensity.
RAISE = {"joy": 0.45, "happiness": 0.45, "surprise": 0.55, "anger": 0.25, "panic": 0.2, "fear": 0.15}

_MULTIPLICATIVE = ("tempo", "amplitude")


@dataclass
class Cues:
    """The cues one take actually shows (after intensity, actor habit and noise)."""

    emotion: str
    intensity: float
    values: dict[str, float]
    touch: str | None = None  # self-touch target, if any
    touch_side: str = "r"
    raise_arms: bool = False
    extra: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.values[key]


def sample_cues(
    rng: np.random.Generator, emotion: str, actor: Actor, noise: float = 1.0, expressiveness: float = 1.0
) -> Cues:
    """Draw one take's cues: intensity u in [0, 1] scales the emotion's profile, then actor habit and noise.

    ``noise`` widens the take-to-take spread (cue overlap); ``expressiveness`` shrinks or grows every
    emotion's deviation from neutral (how readable a corpus is).
    """
    if emotion not in PROFILES:
        raise ValueError(f"unknown emotion {emotion!r}; known: {', '.join(sorted(PROFILES))}")
    u = float(rng.beta(2.2, 1.8))
    gain = expressiveness * (0.35 + 0.65 * u)
    prof = PROFILES[emotion]
    vals: dict[str, float] = {}
    for cue, base in NEUTRAL.items():
        target = prof.get(cue, base)
        z = float(rng.normal())
        if cue in _MULTIPLICATIVE:
            v = np.exp(gain * np.log(target / base) + noise * SPREAD[cue] * z) * base
            v *= actor.habit.get(cue, 1.0)
        else:
            v = base + gain * (target - base) + noise * SPREAD[cue] * z + actor.habit.get(cue, 0.0)
        vals[cue] = float(v)
    for cue in ("jerk", "tremble", "curl", "scan", "avert"):
        vals[cue] = float(np.clip(vals[cue], 0.0, 1.0 if cue in ("jerk", "tremble", "curl") else 90.0))
    p_touch, targets = TOUCH[emotion]
    touch = None
    if rng.random() < 0.03 + gain * p_touch:
        names = list(targets)
        touch = names[int(rng.choice(len(names), p=np.array([targets[n] for n in names])))]
    side = "r" if rng.random() < 0.7 else "l"
    raise_arms = bool(rng.random() < gain * RAISE.get(emotion, 0.0) + 0.02)
    return Cues(emotion, u, vals, touch, side, raise_arms)
