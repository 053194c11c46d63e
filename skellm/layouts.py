"""Skeleton layouts declared as data: joint names and bone graph per rig, and the canonical joint set.

A layout is matched to a file by its joint names (BVH End Sites are named ``<parent>_End`` by the
reader and are ignored when matching). The GCN builds its adjacency from ``parents``.
"""

from __future__ import annotations

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

    def adjacency(self) -> np.ndarray:
        """Symmetric 0/1 adjacency (J, J) without self loops."""
        a = np.zeros((self.n_joints, self.n_joints), dtype=np.float32)
        for c, p in self.edges():
            a[c, p] = a[p, c] = 1.0
        return a


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

LAYOUTS: dict[str, Layout] = {
    lay.name: lay for lay in (XSENS23, XSENS_BVH, PERCEPTION_NEURON, KINECT_V2, CANONICAL)
}


def get_layout(name: str) -> Layout:
    """The declared layout called ``name``; KeyError lists the known ones."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown layout {name!r}; known: {', '.join(sorted(LAYOUTS))}") from None


def match_layout(joint_names: list[str] | tuple[str, ...]) -> Layout | None:
    """The declared layout whose joints equal ``joint_names`` (exactly, or ignoring ``*_End`` sites)."""
    names = tuple(joint_names)
    core = tuple(n for n in names if not n.endswith("_End"))
    for lay in LAYOUTS.values():
        if lay.joint_names in (names, core):
            return lay
    return None
