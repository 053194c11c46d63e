"""Rest skeletons built from an actor's proportions, and pose channels turned into joint rotations.

Every rig is Y up, facing +Z, in T-pose at rest (the actor's left arm along +X), offsets in metres.
A *pose* is a dict of per-frame channels in degrees (``spine_flex``, ``l_elbow``...) plus
``root_pos`` (T, 3) metres; :func:`local_rotations` maps it onto any rig through joint roles, so
one motion drives the Xsens, Perception Neuron and Kinect-shaped bodies alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from skellm.layouts import PERCEPTION_NEURON, XSENS23, XSENS_END_SITES

SIDES = {"l": 1.0, "r": -1.0}  # sign of the side along X (actor's left is +X)


@dataclass(frozen=True)
class Actor:
    """One performer: body size and proportions plus habitual posture and movement style."""

    actor_id: str
    sex: str  # "F" or "M"
    height: float  # metres
    ratios: dict[str, float]  # per segment group, multiplies the standard proportion
    habit: dict[str, float] = field(default_factory=dict)  # additive cue biases + tempo/amp factors


@dataclass
class Rig:
    """A rest skeleton: joints (end sites last), parents, offsets (J, 3) metres, and each joint's role."""

    joint_names: list[str]
    parents: list[int]
    offsets: np.ndarray
    roles: list[str]
    n_end_sites: int = 0

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    def index(self, name: str) -> int:
        return self.joint_names.index(name)


def sample_actor(rng: np.random.Generator, actor_id: str, sex: str) -> Actor:
    """Draw an actor: height by sex, segment proportions within +-4 %, posture and speed habits."""
    height = float(rng.normal(1.64 if sex == "F" else 1.77, 0.06))
    height = float(np.clip(height, 1.5, 1.95))
    ratios = {k: float(rng.normal(1.0, 0.025)) for k in ("leg", "trunk", "arm", "shoulder", "head")}
    habit = {
        "trunk_flex": float(rng.normal(0, 3.0)),
        "head_flex": float(rng.normal(0, 4.0)),
        "shoulder_raise": float(rng.normal(0, 2.5)),
        "expand": float(rng.normal(0, 4.0)),
        "jerk": float(rng.normal(0, 0.06)),
        "tempo": float(np.exp(rng.normal(0, 0.08))),
        "amplitude": float(np.exp(rng.normal(0, 0.08))),
    }
    return Actor(actor_id, sex, height, ratios, habit)


def _xsens_offsets(actor: Actor) -> dict[str, tuple[float, float, float]]:
    """Standard anthropometric proportions (fractions of height) scaled per actor, metres."""
    h, r = actor.height, actor.ratios
    leg, trunk, arm, sh, head = (h * r[k] for k in ("leg", "trunk", "arm", "shoulder", "head"))
    spine = 0.06 * trunk
    o: dict[str, tuple[float, float, float]] = {
        "Pelvis": (0.0, 0.0, 0.0),
        "L5": (0.0, 0.045 * trunk, -0.005 * h),
        "L3": (0.0, spine, 0.0),
        "T12": (0.0, spine, 0.0),
        "T8": (0.0, spine, 0.0),
        "Neck": (0.0, 0.063 * trunk, -0.01 * h),
        "Head": (0.0, 0.055 * head, 0.008 * h),
        "Head_End": (0.0, 0.12 * head, 0.0),
    }
    for s, x in (("Left", 1.0), ("Right", -1.0)):
        o |= {
            f"{s}Shoulder": (x * 0.02 * sh, 0.035 * trunk, 0.0),
            f"{s}UpperArm": (x * 0.1 * sh, 0.0, 0.0),
            f"{s}ForeArm": (x * 0.186 * arm, 0.0, 0.0),
            f"{s}Hand": (x * 0.146 * arm, 0.0, 0.0),
            f"{s}Hand_End": (x * 0.09 * arm, 0.0, 0.0),
            f"{s}UpperLeg": (x * 0.055 * h, -0.01 * h, 0.0),
            f"{s}LowerLeg": (0.0, -0.245 * leg, 0.0),
            f"{s}Foot": (0.0, -0.246 * leg, 0.0),
            f"{s}Toe": (0.0, -0.035 * h, 0.11 * h),
            f"{s}Toe_End": (0.0, 0.0, 0.04 * h),
        }
    return o


def pelvis_height(actor: Actor) -> float:
    """Height of the pelvis joint above the floor in the rest pose (metres)."""
    o = _xsens_offsets(actor)
    return -(o["LeftUpperLeg"][1] + o["LeftLowerLeg"][1] + o["LeftFoot"][1] + o["LeftToe"][1])


_XSENS_ROLES = {
    "Pelvis": "root",
    "L5": "spine",
    "L3": "spine",
    "T12": "spine",
    "T8": "spine",
    "Neck": "neck",
    "Head": "head",
}
_LIMB_ROLES = {
    "Shoulder": "clav",
    "UpperArm": "uarm",
    "ForeArm": "farm",
    "Hand": "hand",
    "UpperLeg": "uleg",
    "LowerLeg": "lleg",
    "Foot": "foot",
    "Toe": "toe",
}


def _role(name: str, limb: dict[str, str], trunk: dict[str, str]) -> str:
    if name.endswith("_End"):
        return "end"
    if name in trunk:
        return trunk[name]
    for side in ("Left", "Right"):
        if name.startswith(side):
            rest = name[len(side) :]
            if rest in limb:
                return f"{side[0].lower()}_{limb[rest]}"
            return f"{side[0].lower()}_finger"
    raise ValueError(f"no role for joint {name}")


def xsens_rig(actor: Actor) -> Rig:
    """The Xsens MVN BVH body: 23 segments then 5 End Sites (skellm.layouts.XSENS_BVH order)."""
    o = _xsens_offsets(actor)
    names = list(XSENS23.joint_names) + [f"{j}_End" for j in XSENS_END_SITES]
    parents = list(XSENS23.parents) + [XSENS23.index(j) for j in XSENS_END_SITES]
    offsets = np.array([o[n] for n in names], dtype=np.float64)
    roles = [_role(n, _LIMB_ROLES, _XSENS_ROLES) for n in names]
    return Rig(names, parents, offsets, roles, n_end_sites=len(XSENS_END_SITES))


_PN_TRUNK = {
    "Hips": "root",
    "Spine": "spine",
    "Spine1": "spine",
    "Spine2": "spine",
    "Spine3": "spine",
    "Neck": "neck",
    "Head": "head",
}
_PN_LIMB = {
    "Shoulder": "clav",
    "Arm": "uarm",
    "ForeArm": "farm",
    "Hand": "hand",
    "UpLeg": "uleg",
    "Leg": "lleg",
    "Foot": "foot",
}
_PN_END_PARENTS = ("Head", "RightFoot", "LeftFoot") + tuple(
    f"{s}Hand{f}3" for s in ("Right", "Left") for f in ("Thumb", "Index", "Middle", "Ring", "Pinky")
)


def perception_neuron_rig(actor: Actor) -> Rig:
    """The Perception Neuron body: 59 joints with finger chains, then End Sites on head, feet, fingertips."""
    o = _xsens_offsets(actor)
    hand = actor.height * actor.ratios["arm"] * 0.09
    pn: dict[str, tuple[float, float, float]] = {"Hips": o["Pelvis"]}
    for a, b in (("Spine", "L5"), ("Spine1", "L3"), ("Spine2", "T12"), ("Spine3", "T8")):
        pn[a] = o[b]
    pn |= {"Neck": o["Neck"], "Head": o["Head"], "Head_End": o["Head_End"]}
    for s, x in (("Left", 1.0), ("Right", -1.0)):
        lower = np.add(o[f"{s}Foot"], o[f"{s}Toe"])  # PN has no toe joint: ankle sits lower
        pn |= {
            f"{s}Shoulder": o[f"{s}Shoulder"],
            f"{s}Arm": o[f"{s}UpperArm"],
            f"{s}ForeArm": o[f"{s}ForeArm"],
            f"{s}Hand": o[f"{s}Hand"],
            f"{s}UpLeg": o[f"{s}UpperLeg"],
            f"{s}Leg": o[f"{s}LowerLeg"],
            f"{s}Foot": (0.0, lower[1], 0.0),
            f"{s}Foot_End": (0.0, 0.0, 0.15 * actor.height),
            f"{s}HandThumb1": (x * 0.2 * hand, -0.05 * hand, 0.25 * hand),
            f"{s}HandThumb2": (x * 0.25 * hand, 0.0, 0.12 * hand),
            f"{s}HandThumb3": (x * 0.2 * hand, 0.0, 0.05 * hand),
            f"{s}HandThumb3_End": (x * 0.18 * hand, 0.0, 0.0),
        }
        for k, (f, z) in enumerate((("Index", 0.16), ("Middle", 0.05), ("Ring", -0.05), ("Pinky", -0.15))):
            seg = 0.22 - 0.02 * k
            pn |= {
                f"{s}InHand{f}": (x * 0.15 * hand, 0.0, z * hand),
                f"{s}Hand{f}1": (x * 0.38 * hand, 0.0, 0.0),
                f"{s}Hand{f}2": (x * seg * hand, 0.0, 0.0),
                f"{s}Hand{f}3": (x * 0.7 * seg * hand, 0.0, 0.0),
                f"{s}Hand{f}3_End": (x * 0.5 * seg * hand, 0.0, 0.0),
            }
    names = list(PERCEPTION_NEURON.joint_names) + [f"{j}_End" for j in _PN_END_PARENTS]
    parents = list(PERCEPTION_NEURON.parents) + [PERCEPTION_NEURON.index(j) for j in _PN_END_PARENTS]
    offsets = np.array([pn[n] for n in names], dtype=np.float64)
    roles = [_role(n, _PN_LIMB, _PN_TRUNK) for n in names]
    return Rig(names, parents, offsets, roles, n_end_sites=len(_PN_END_PARENTS))


def _rot(seq: str, *angles: np.ndarray) -> Rotation:
    return Rotation.from_euler(seq, np.stack(angles, axis=-1), degrees=True)


def local_rotations(rig: Rig, pose: dict[str, np.ndarray]) -> list[Rotation]:
    """Each joint's rotation relative to its parent, per frame, from the pose channels."""
    T = len(pose["root_yaw"])
    zero = np.zeros(T)
    n_spine = sum(r == "spine" for r in rig.roles)
    hang = 0.8 * (pose["spine_flex"] + pose["pelvis_pitch"])  # hanging arms follow gravity, not the trunk
    out: list[Rotation] = []
    fingers: dict[tuple[str, float], Rotation] = {}
    for name, role in zip(rig.joint_names, rig.roles, strict=True):
        side, _, part = role.partition("_") if role[:2] in ("l_", "r_") else ("", "", role)
        s = SIDES.get(side, 0.0)

        def ch(key: str, side: str = side) -> np.ndarray:
            return pose[f"{side}_{key}"]

        if part == "root":
            r = _rot("YXZ", pose["root_yaw"], pose["pelvis_pitch"], pose["pelvis_roll"])
        elif part == "spine":
            k = 1.0 / n_spine
            r = _rot("YXZ", k * pose["spine_yaw"], k * pose["spine_flex"], k * pose["spine_lat"])
        elif part == "neck":
            r = _rot("YX", 0.3 * pose["head_yaw"], pose["neck_flex"])
        elif part == "head":
            r = _rot("YXZ", 0.7 * pose["head_yaw"], pose["head_flex"], pose["head_roll"])
        elif part == "clav":
            r = _rot("YZ", -s * ch("clav_protr"), s * ch("clav_elev"))
        elif part == "uarm":
            down = ch("arm_down") + ch("clav_elev")
            r = _rot("YXZ", -s * ch("arm_add"), -(ch("arm_flex") + hang), -s * down)
            r = r * _rot("X", s * ch("arm_twist"))
        elif part == "farm":
            r = _rot("Y", -s * ch("elbow"))
        elif part == "hand":
            r = _rot("Z", -s * ch("wrist"))
        elif part == "finger":  # many joints share a few curls: compute each once
            w = 0.5 if "Thumb" in name else (0.0 if "InHand" in name else 1.0)
            if (side, w) not in fingers:
                fingers[side, w] = _rot("Z", -s * w * ch("curl"))
            r = fingers[side, w]
        elif part == "uleg":
            r = _rot("XZ", -ch("hip_flex"), s * ch("hip_abd"))
        elif part == "lleg":
            r = _rot("X", ch("knee"))
        elif part == "foot":
            r = _rot("X", -ch("ankle"))
        else:  # toe, end sites
            r = _rot("X", zero)
        out.append(r)
    return out


def global_rotations(rig: Rig, local: list[Rotation]) -> list[Rotation]:
    """Each joint's world orientation (parents precede children in every rig here)."""
    world: list[Rotation] = []
    for j, p in enumerate(rig.parents):
        world.append(local[j] if p < 0 else world[p] * local[j])
    return world


def euler_degrees(local: list[Rotation], order: str) -> np.ndarray:
    """(T, J, 3) BVH Euler angles in degrees, channel order ``order`` (intrinsic, e.g. ZXY)."""
    return np.stack([r.as_euler(order.upper(), degrees=True) for r in local], axis=1)
