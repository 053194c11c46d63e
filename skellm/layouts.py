"""Skeleton layouts declared as data: joint names and bone graph per rig, and the canonical joint set.

A layout is matched to a file by its joint names (BVH End Sites are named ``<parent>_End`` by the
reader and are ignored when matching). The GCN builds its adjacency from ``parents``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    """A named skeleton: joints in order and each joint's parent (-1 for the root)."""

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    description: str = ""

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint: str) -> int:
        return self.joint_names.index(joint)

    def edges(self) -> list[tuple[int, int]]:
        """(child, parent) bone pairs."""
        return [(j, p) for j, p in enumerate(self.parents) if p >= 0]


def _from_pairs(name: str, pairs: list[tuple[str, str | None]], description: str = "") -> Layout:
    names = [n for n, _ in pairs]
    parents = [names.index(p) if p is not None else -1 for _, p in pairs]
    return Layout(name, tuple(names), tuple(parents), description)


def _chain(parent: str, names: list[str]) -> list[tuple[str, str]]:
    out, prev = [], parent
    for n in names:
        out.append((n, prev))
        prev = n
    return out


# Xsens MVN: 23 segments (MVNX and Xsens BVH export), Emilya-like corpus A.
XSENS23 = _from_pairs(
    "xsens23",
    [("Pelvis", None)]
    + _chain("Pelvis", ["L5", "L3", "T12", "T8", "Neck", "Head"])
    + _chain("T8", ["RightShoulder", "RightUpperArm", "RightForeArm", "RightHand"])
    + _chain("T8", ["LeftShoulder", "LeftUpperArm", "LeftForeArm", "LeftHand"])
    + _chain("Pelvis", ["RightUpperLeg", "RightLowerLeg", "RightFoot", "RightToe"])
    + _chain("Pelvis", ["LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "LeftToe"]),
    "Xsens MVN 23-segment body",
)

XSENS_END_SITES = ("Head", "RightHand", "LeftHand", "RightToe", "LeftToe")

# Xsens BVH export: the 23 segments plus End Sites on head, hands and toes (28 joints).
XSENS_BVH = Layout(
    "xsens_bvh",
    XSENS23.joint_names + tuple(f"{j}_End" for j in XSENS_END_SITES),
    XSENS23.parents + tuple(XSENS23.index(j) for j in XSENS_END_SITES),
    "Xsens MVN BVH export: 23 segments + 5 End Sites",
)


def _pn_arm(side: str) -> list[tuple[str, str]]:
    s = side
    out = _chain("Spine3", [f"{s}Shoulder", f"{s}Arm", f"{s}ForeArm", f"{s}Hand"])
    out += _chain(f"{s}Hand", [f"{s}HandThumb1", f"{s}HandThumb2", f"{s}HandThumb3"])
    for finger in ("Index", "Middle", "Ring", "Pinky"):
        out += _chain(
            f"{s}Hand",
            [f"{s}InHand{finger}", f"{s}Hand{finger}1", f"{s}Hand{finger}2", f"{s}Hand{finger}3"],
        )
    return out


# Perception Neuron BVH (KDAE-like corpus B): 59 joints with finger chains.
PERCEPTION_NEURON = _from_pairs(
    "perception_neuron",
    [("Hips", None)]
    + _chain("Hips", ["RightUpLeg", "RightLeg", "RightFoot"])
    + _chain("Hips", ["LeftUpLeg", "LeftLeg", "LeftFoot"])
    + _chain("Hips", ["Spine", "Spine1", "Spine2", "Spine3", "Neck", "Head"])
    + _pn_arm("Right")
    + _pn_arm("Left"),
    "Noitom Perception Neuron BVH, 59 joints incl. fingers",
)

# Kinect v2 body (EGBM-like corpus C) and NTU RGB+D: 25 joints in SDK order.
KINECT_V2 = _from_pairs(
    "kinect_v2",
    [
        ("SpineBase", None),
        ("SpineMid", "SpineBase"),
        ("Neck", "SpineShoulder"),
        ("Head", "Neck"),
        ("ShoulderLeft", "SpineShoulder"),
        ("ElbowLeft", "ShoulderLeft"),
        ("WristLeft", "ElbowLeft"),
        ("HandLeft", "WristLeft"),
        ("ShoulderRight", "SpineShoulder"),
        ("ElbowRight", "ShoulderRight"),
        ("WristRight", "ElbowRight"),
        ("HandRight", "WristRight"),
        ("HipLeft", "SpineBase"),
        ("KneeLeft", "HipLeft"),
        ("AnkleLeft", "KneeLeft"),
        ("FootLeft", "AnkleLeft"),
        ("HipRight", "SpineBase"),
        ("KneeRight", "HipRight"),
        ("AnkleRight", "KneeRight"),
        ("FootRight", "AnkleRight"),
        ("SpineShoulder", "SpineMid"),
        ("HandTipLeft", "HandLeft"),
        ("ThumbLeft", "HandLeft"),
        ("HandTipRight", "HandRight"),
        ("ThumbRight", "HandRight"),
    ],
    "Microsoft Kinect v2 / NTU RGB+D, 25 joints in SDK order",
)

# The shared joint set of `canonical` harmonisation: joints every full-body rig has.
CANONICAL = _from_pairs(
    "canonical",
    [
        ("pelvis", None),
        ("spine", "pelvis"),
        ("chest", "spine"),
        ("neck", "chest"),
        ("head", "neck"),
        ("l_shoulder", "chest"),
        ("l_elbow", "l_shoulder"),
        ("l_wrist", "l_elbow"),
        ("r_shoulder", "chest"),
        ("r_elbow", "r_shoulder"),
        ("r_wrist", "r_elbow"),
        ("l_hip", "pelvis"),
        ("l_knee", "l_hip"),
        ("l_ankle", "l_knee"),
        ("l_foot", "l_ankle"),
        ("r_hip", "pelvis"),
        ("r_knee", "r_hip"),
        ("r_ankle", "r_knee"),
        ("r_foot", "r_ankle"),
    ],
    "19 joints shared by every full-body rig skellm knows",
)

# CMU mocap database as BVH (the widely used cgspeed conversion): 31 joints.
CMU_BVH = _from_pairs(
    "cmu_bvh",
    [("Hips", None)]
    + _chain("Hips", ["LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase"])
    + _chain("Hips", ["RHipJoint", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase"])
    + _chain("Hips", ["LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head"])
    + _chain("Spine1", ["LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "LeftFingerBase"])
    + _chain("LeftFingerBase", ["LeftHandIndex1"])
    + _chain("LeftHand", ["LThumb"])
    + _chain("Spine1", ["RightShoulder", "RightArm", "RightForeArm", "RightHand", "RightFingerBase"])
    + _chain("RightFingerBase", ["RightHandIndex1"])
    + _chain("RightHand", ["RThumb"]),
    "CMU motion capture database, BVH conversion, 31 joints",
)

# CMU mocap database in its native ASF/AMC skeleton: 31 bones.
CMU_ASF = _from_pairs(
    "cmu_asf",
    [("root", None)]
    + _chain("root", ["lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes"])
    + _chain("root", ["rhipjoint", "rfemur", "rtibia", "rfoot", "rtoes"])
    + _chain("root", ["lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head"])
    + _chain("thorax", ["lclavicle", "lhumerus", "lradius", "lwrist", "lhand", "lfingers"])
    + _chain("lwrist", ["lthumb"])
    + _chain("thorax", ["rclavicle", "rhumerus", "rradius", "rwrist", "rhand", "rfingers"])
    + _chain("rwrist", ["rthumb"]),
    "CMU motion capture database, ASF/AMC skeleton, 31 bones",
)


def _mixamo_arm(side: str) -> list[tuple[str, str]]:
    s = side
    out = _chain("Spine2", [f"{s}Shoulder", f"{s}Arm", f"{s}ForeArm", f"{s}Hand"])
    for finger in ("Thumb", "Index", "Middle", "Ring", "Pinky"):
        out += _chain(f"{s}Hand", [f"{s}Hand{finger}{i}" for i in range(1, 5)])
    return out


# Mixamo rig (names carry a ``mixamorig:`` prefix in files; matching strips namespaces): 65 joints.
MIXAMO = _from_pairs(
    "mixamo",
    [("Hips", None)]
    + _chain("Hips", ["Spine", "Spine1", "Spine2", "Neck", "Head", "HeadTop_End"])
    + _mixamo_arm("Left")
    + _mixamo_arm("Right")
    + _chain("Hips", ["LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "LeftToe_End"])
    + _chain("Hips", ["RightUpLeg", "RightLeg", "RightFoot", "RightToeBase", "RightToe_End"]),
    "Adobe Mixamo humanoid rig with fingers, 65 joints",
)

# Ubisoft LAFAN1 BVH: 22 joints.
LAFAN1 = _from_pairs(
    "lafan1",
    [("Hips", None)]
    + _chain("Hips", ["LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToe"])
    + _chain("Hips", ["RightUpLeg", "RightLeg", "RightFoot", "RightToe"])
    + _chain("Hips", ["Spine", "Spine1", "Spine2", "Neck", "Head"])
    + _chain("Spine2", ["LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand"])
    + _chain("Spine2", ["RightShoulder", "RightArm", "RightForeArm", "RightHand"]),
    "Ubisoft La Forge LAFAN1 BVH, 22 joints",
)

LAYOUTS: dict[str, Layout] = {
    lay.name: lay
    for lay in (XSENS23, XSENS_BVH, PERCEPTION_NEURON, KINECT_V2, CMU_BVH, CMU_ASF, MIXAMO, LAFAN1, CANONICAL)
}


def _sides(spec: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Expand ``{s}``/``{S}`` placeholders of a joint map into l_/r_ entries (body left/right)."""
    out: dict[str, tuple[str, ...]] = {}
    for canon, names in spec.items():
        if "{" not in canon:
            out[canon] = names
            continue
        for side, word, letter in (("l", "Left", "L"), ("r", "Right", "R")):
            out[canon.format(s=side)] = tuple(n.format(s=word, S=letter, low=letter.lower()) for n in names)
    return out


# Joint maps onto CANONICAL, as data: canonical joint -> source joint names, first one present wins.
# Shoulder/hip are the ball joints (upper arm / thigh origins), not clavicles or hip bones.
# Mixamo, LAFAN1, Perception Neuron and CMU BVH use the same (HumanIK-style) names for the pelvis,
# neck, head and limbs; they differ in which spine joints are spine/chest and in the toe joint.
_HUMANIK_STYLE = {
    "pelvis": ("Hips",),
    "neck": ("Neck",),
    "head": ("Head",),
    "{s}_shoulder": ("{s}Arm",),
    "{s}_elbow": ("{s}ForeArm",),
    "{s}_wrist": ("{s}Hand",),
    "{s}_hip": ("{s}UpLeg",),
    "{s}_knee": ("{s}Leg",),
    "{s}_ankle": ("{s}Foot",),
}


def _humanik(spine: str, chest: str, *foot: str) -> dict[str, tuple[str, ...]]:
    """A HumanIK-style rig's map: the shared names plus its spine, chest and toe joint(s)."""
    return _sides({**_HUMANIK_STYLE, "spine": (spine,), "chest": (chest,), "{s}_foot": foot})


JOINT_MAPS: dict[str, dict[str, tuple[str, ...]]] = {
    "xsens23": _sides(
        {
            "pelvis": ("Pelvis",),
            "spine": ("L3",),
            "chest": ("T8",),
            "neck": ("Neck",),
            "head": ("Head",),
            "{s}_shoulder": ("{s}UpperArm",),
            "{s}_elbow": ("{s}ForeArm",),
            "{s}_wrist": ("{s}Hand",),
            "{s}_hip": ("{s}UpperLeg",),
            "{s}_knee": ("{s}LowerLeg",),
            "{s}_ankle": ("{s}Foot",),
            "{s}_foot": ("{s}Toe",),
        }
    ),
    # Perception Neuron has no toe joint: the foot's End Site is the toe tip.
    "perception_neuron": _humanik("Spine1", "Spine3", "{s}Foot_End", "{s}Foot"),
    "kinect_v2": _sides(
        {
            "pelvis": ("SpineBase",),
            "spine": ("SpineMid",),
            "chest": ("SpineShoulder",),
            "neck": ("Neck",),
            "head": ("Head",),
            "{s}_shoulder": ("Shoulder{s}",),
            "{s}_elbow": ("Elbow{s}",),
            "{s}_wrist": ("Wrist{s}",),
            "{s}_hip": ("Hip{s}",),
            "{s}_knee": ("Knee{s}",),
            "{s}_ankle": ("Ankle{s}",),
            "{s}_foot": ("Foot{s}",),
        }
    ),
    "cmu_bvh": _humanik("Spine", "Spine1", "{s}ToeBase"),
    "cmu_asf": _sides(
        {
            "pelvis": ("root",),
            "spine": ("upperback",),
            "chest": ("thorax",),
            "neck": ("lowerneck",),
            "head": ("head",),
            "{s}_shoulder": ("{low}humerus",),
            "{s}_elbow": ("{low}radius",),
            "{s}_wrist": ("{low}wrist",),
            "{s}_hip": ("{low}femur",),
            "{s}_knee": ("{low}tibia",),
            "{s}_ankle": ("{low}foot",),
            "{s}_foot": ("{low}toes",),
        }
    ),
    "mixamo": _humanik("Spine1", "Spine2", "{s}ToeBase"),
    "lafan1": _humanik("Spine1", "Spine2", "{s}Toe"),
    "canonical": {n: (n,) for n in CANONICAL.joint_names},
}
# The BVH variants share their base rig's map (End Sites are extra joints the maps do not need).
JOINT_MAPS["xsens_bvh"] = JOINT_MAPS["xsens23"]


# Where a joint name says its side, in order of precedence: (marker, side, the other side's marker).
# "Left"/"Right" anywhere (Xsens, Perception Neuron, Mixamo, Kinect's ShoulderLeft), canonical l_/r_,
# CMU's LHipJoint/RThumb.
_SIDE_MARKERS = tuple(
    (re.compile(pattern), side, other)
    for pattern, side, other in (
        (r"^l_", "l", "r_"),
        (r"^r_", "r", "l_"),
        (r"^L_", "l", "R_"),
        (r"^R_", "r", "L_"),
        ("Left", "l", "Right"),
        ("Right", "r", "Left"),
        ("left", "l", "right"),
        ("right", "r", "left"),
        ("LEFT", "l", "RIGHT"),
        ("RIGHT", "r", "LEFT"),
        (r"^L(?=[A-Z])", "l", "R"),
        (r"^R(?=[A-Z])", "r", "L"),
    )
)


def joint_side(name: str) -> str | None:
    """``"l"`` or ``"r"`` when the joint name marks a side, else None (a midline joint)."""
    return next((side for pattern, side, _ in _SIDE_MARKERS if pattern.search(name)), None)


def mirror_name(name: str) -> str:
    """The name of the joint's left/right counterpart (the name itself on the midline)."""
    for pattern, _, other in _SIDE_MARKERS:
        if pattern.search(name):
            return pattern.sub(other, name, count=1)
    return name


def mirror_permutation(joint_names: Sequence[str]) -> np.ndarray:
    """Index of each joint's left/right counterpart (itself on the midline), from the joint names.

    A joint whose mirrored name is absent maps to itself.
    """
    index = {n: i for i, n in enumerate(joint_names)}
    return np.array([index.get(mirror_name(n), i) for i, n in enumerate(joint_names)], dtype=np.int64)


def strip_namespace(name: str) -> str:
    """``mixamorig:LeftArm`` -> ``LeftArm`` (rig namespaces that exporters prepend)."""
    return name.rsplit(":", 1)[-1]


def get_layout(name: str) -> Layout:
    """The declared layout called ``name``; KeyError lists the known ones."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown layout {name!r}; known: {', '.join(sorted(LAYOUTS))}") from None


def match_layout(joint_names: list[str] | tuple[str, ...]) -> Layout | None:
    """The declared layout whose joints equal ``joint_names`` (exactly, or ignoring ``*_End`` sites).

    Rig namespaces (``mixamorig:``) are ignored.
    """
    names = tuple(strip_namespace(n) for n in joint_names)
    core = tuple(n for n in names if not n.endswith("_End"))
    for lay in LAYOUTS.values():
        if lay.joint_names in (names, core):
            return lay
    return None


def canonical_indices(
    joint_names: list[str] | tuple[str, ...], layout: str | None = None
) -> tuple[str, list[int]]:
    """Which source joint feeds each CANONICAL joint: (joint map name, index per canonical joint).

    Tries the map of ``layout`` (or of the matched layout) first, then every declared map whose
    joints are all present by name, the rig sharing most joint names with this one first (a Mixamo
    export without fingers also has every CMU-BVH joint the CMU map names, but not its spine).
    ValueError when no map fits.
    """
    names = [strip_namespace(n) for n in joint_names]
    pos = {n: i for i, n in enumerate(names)}
    first = layout or getattr(match_layout(names), "name", None)

    def overlap(map_name: str) -> float:
        theirs = set(LAYOUTS[map_name].joint_names) if map_name in LAYOUTS else set()
        return len(theirs & set(pos)) / max(1, len(theirs | set(pos)))

    rest = sorted((m for m in JOINT_MAPS if m != first), key=overlap, reverse=True)
    order = ([first] if first in JOINT_MAPS else []) + rest
    for map_name in order:
        idx = []
        for canon in CANONICAL.joint_names:
            hit = next((pos[n] for n in JOINT_MAPS[map_name][canon] if n in pos), None)
            if hit is None:
                break
            idx.append(hit)
        else:
            return map_name, idx
    raise ValueError(
        f"no joint map onto the canonical skeleton fits these {len(names)} joints "
        f"(declared maps: {', '.join(JOINT_MAPS)})"
    )
