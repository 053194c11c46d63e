"""Map any humanoid rig onto the canonical 19-joint skeleton, with a confidence and its evidence.

Order of precedence: a pinned map (``rigs/*.yaml``, written by ``skellm layout``) whose joints are all
present, then a declared map (:data:`skellm.layouts.JOINT_MAPS`), then the automatic map.

The automatic map reads names for *what* a joint is and the bone graph for *where* it sits:

- names are normalised (namespaces such as ``mixamorig:``, prefixes such as ``Bip01``/``Skeleton_``/
  ``CC_Base_``, case, separators, camelCase) into tokens, and a side is read from ``Left``/``Right``,
  ``L``/``R`` tokens, ``.L``/``_l``/``l_`` and glued letters (CMU's ``lhumerus``);
- the elbow is the joint named forearm/lowerarm/elbow/radius; the shoulder its parent; the wrist the
  first joint below named hand/wrist (else the forearm's main child). The knee is shin/calf/leg/knee/
  tibia; the hip its parent; the ankle the first joint below named foot/ankle; the canonical foot the
  ankle's main child (toe or End Site);
- the pelvis is the hips' lowest common ancestor, the chest the shoulders'; spine is the middle joint
  between them; neck the first joint from the chest towards the head;
- a side the names leave open comes from the first frame: up is pelvis to chest, forward is the feet's
  heel-to-toe direction, and the body's left is up x forward (right-handed axes).

Confidence starts at 1 and drops for evidence that is weaker than a name (sides from the pose only,
joints found by graph position only, a foot without a toe), for a body whose named left is on its
right, and for left/right limbs of very different lengths. A missing canonical joint makes it 0.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from skellm.layouts import CANONICAL, canonical_indices, strip_namespace
from skellm.readers.markersets import JC_PREFIX, marker_set_name

# Rig prefixes exporters put before the joint's own name (matched before a separator).
_PREFIX = re.compile(
    r"^(?:mixamorig\d*|bip0*\d+|biped\d*|cc_base|def|org|skeleton\d*|skel\d*|armature|char(?:acter)?\d*"
    r"|jnt|bn|b|j|sk)(?=[\s_.:\-|]|$)[\s_.:\-|]*",
    re.I,
)
_SEP = re.compile(r"[\s_.:\-|]+")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SIDE_WORDS = {"left": "l", "right": "r", "l": "l", "r": "r", "lft": "l", "rgt": "r", "lt": "l", "rt": "r"}
# Body-part words a side letter may be glued to (``lhumerus``, ``rfemur``, ``lshldr``).
_PARTS = frozenset(
    {
        "humerus",
        "radius",
        "ulna",
        "wrist",
        "hand",
        "femur",
        "tibia",
        "fibula",
        "foot",
        "toes",
        "toe",
        "clavicle",
        "collar",
        "thigh",
        "shin",
        "shldr",
        "forearm",
        "uparm",
        "upperarm",
        "lowerarm",
        "hip",
        "knee",
        "ankle",
        "elbow",
        "shoulder",
        "fingers",
        "finger",
        "thumb",
        "leg",
        "arm",
        "calf",
    }
)
_AUX = frozenset(
    {
        "twist",
        "roll",
        "share",
        "end",
        "nub",
        "tip",
        "top",
        "site",
        "helper",
        "ik",
        "fk",
        "pole",
        "target",
        "ctrl",
        "offset",
    }
)
_FINGERS = frozenset(
    {"thumb", "index", "middle", "ring", "pinky", "little", "finger", "fingers", "fingerbase"}
)
_FACE = frozenset({"eye", "eyes", "jaw", "ear", "nose", "lip", "tongue", "brow", "teeth"})
_ELBOW = ("forearm", "lowerarm", "lowarm", "loarm", "elbow", "radius", "ulna")
_KNEE = ("knee", "shin", "calf", "tibia", "lowerleg", "lowleg", "loleg", "shank")

CONFIDENCE_PENALTIES = {
    "pose_sides": 0.8,  # sides from the first frame only
    "mirrored": 0.4,  # the named left limbs are on the body's right
    "asymmetric": 0.8,  # a left/right bone pair differs by more than 25 %
    "graph_only": 0.9,  # a wrist/ankle/head found by graph position, no name
    "foot_is_ankle": 0.9,  # no toe joint or End Site below the ankle
}


def name_tokens(name: str) -> tuple[str | None, tuple[str, ...]]:
    """(side ``"l"``/``"r"``/None, lower-case tokens without the side marker) of a joint name."""
    s = re.split(r"[:|]", strip_namespace(name))[-1]
    for _ in range(2):
        s = _PREFIX.sub("", s, count=1)
    words: list[str] = []
    for part in _SEP.split(s):
        if re.fullmatch(r"[LTCS]\d+", part):  # Xsens/anatomical vertebra names: L5, T8, C7
            words.append("vertebra")
            continue
        for m in _WORDS.finditer(part):
            w = m.group(0)
            # an upper-case run glued to a word is letters (OptiTrack LUArm: L, U, Arm), not an acronym
            letters = w.isupper() and len(w) <= 2 and m.end() < len(part) and part[m.end()].isupper()
            words += list(w.lower()) if letters else [w.lower()]
    side = None
    rest: list[str] = []
    for w in words:
        if side is None and w in _SIDE_WORDS:
            side = _SIDE_WORDS[w]
            continue
        if side is None and len(w) > 3 and w[0] in "lr" and w[1:] in _PARTS:
            side, w = w[0], w[1:]
        rest.append(w)
    return side, tuple(rest)


def _core(tokens: Sequence[str]) -> str:
    return "".join(t for t in tokens if not t.isdigit())


def _is_aux(tokens: Sequence[str]) -> bool:
    return bool(_AUX & set(tokens))


def _role(tokens: Sequence[str]) -> str | None:
    """elbow | knee | wrist | ankle | head | neck (or None) from a joint's tokens."""
    if _is_aux(tokens):
        return None
    core, words = _core(tokens), set(tokens)
    if words & _FINGERS:
        return None
    if any(
        k in core for k in ("forearm", "lowerarm", "lowarm", "loarm", "elbow", "radius", "ulna")
    ) or core in (
        "farm",
        "larm",
    ):
        return "elbow"
    if any(
        k in core for k in ("knee", "shin", "calf", "tibia", "lowerleg", "lowleg", "loleg", "shank")
    ) or core in (
        "leg",
        "lleg",
    ):
        return "knee"
    if words & {"hand", "wrist", "palm"} or core in ("hand", "wrist"):
        return "wrist"
    if words & {"foot", "ankle"} or core in ("foot", "ankle"):
        return "ankle"
    if words & {"head", "face", "skull"} and not words & _FACE:
        return "head"
    if "neck" in words:
        return "neck"
    return None


@dataclass(frozen=True)
class RigMap:
    """Which source joint is each canonical joint, how sure, and why."""

    source: str  # "pinned:<name>" | "declared:<map>" | "auto"
    joint_names: tuple[str, ...]  # the source rig's joints
    joints: dict[str, int]  # canonical joint -> source joint index (found ones only)
    confidence: float
    evidence: dict[str, str] = field(default_factory=dict)  # canonical joint -> how it was found
    problems: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        return [c for c in CANONICAL.joint_names if c not in self.joints]

    @property
    def indices(self) -> list[int]:
        """Source index per canonical joint; ValueError naming the missing ones."""
        if self.missing:
            raise ValueError(f"rig lacks canonical joints: {', '.join(self.missing)}")
        return [self.joints[c] for c in CANONICAL.joint_names]

    def names(self) -> dict[str, str]:
        """Canonical joint -> source joint name."""
        return {c: self.joint_names[self.joints[c]] for c in CANONICAL.joint_names if c in self.joints}

    def reason(self, min_confidence: float) -> str | None:
        """Why this map cannot be used at ``min_confidence`` (None when it can)."""
        if self.missing:
            return f"no joint map onto the canonical skeleton: could not find {', '.join(self.missing)}" + (
                f" ({'; '.join(self.problems)})" if self.problems else ""
            )
        if self.confidence < min_confidence:
            why = "; ".join(self.problems) or "weak evidence"
            return f"joint map confidence {self.confidence:.2f} < {min_confidence} ({why})"
        return None


# ----------------------------------------------------------------------------------- the bone graph


class _Graph:
    def __init__(self, parents: Sequence[int]):
        self.parents = [int(p) for p in parents]
        self.children: list[list[int]] = [[] for _ in self.parents]
        for j, p in enumerate(self.parents):
            if p >= 0:
                self.children[p].append(j)
        self.size = [1] * len(self.parents)
        for j in sorted(range(len(self.parents)), key=self.depth, reverse=True):
            if self.parents[j] >= 0:
                self.size[self.parents[j]] += self.size[j]

    def depth(self, j: int) -> int:
        d = 0
        while self.parents[j] >= 0:
            j, d = self.parents[j], d + 1
        return d

    def ancestors(self, j: int) -> list[int]:
        """``j`` and every joint above it, nearest first."""
        out = [j]
        while self.parents[out[-1]] >= 0:
            out.append(self.parents[out[-1]])
        return out

    def lca(self, a: int, b: int) -> int:
        up = set(self.ancestors(a))
        return next(j for j in self.ancestors(b) if j in up)

    def main_child(self, j: int, skip: Sequence[int] = ()) -> int | None:
        """The child with the largest subtree (the limb goes on; roll/twist leaves do not)."""
        kids = [c for c in self.children[j] if c not in skip]
        return max(kids, key=lambda c: self.size[c]) if kids else None


# --------------------------------------------------------------------------------------- auto map


def auto_map(
    joint_names: Sequence[str], parents: Sequence[int], positions: np.ndarray | None = None
) -> RigMap:
    """The automatic canonical map of a rig; ``positions`` (T, J, 3), any units and up axis, settle sides."""
    names = tuple(joint_names)
    g = _Graph(parents)
    parsed = [name_tokens(n) for n in names]
    is_end = [n.endswith("_End") or "end" in t for n, (_, t) in zip(names, parsed, strict=True)]
    roles = [None if is_end[j] else _role(t) for j, (_, t) in enumerate(parsed)]
    problems: list[str] = []
    evidence: dict[str, str] = {}
    factor: dict[str, float] = {}
    found: dict[str, int] = {}

    def chain_side(j: int) -> str | None:
        # the limb joint's own name, else the nearest of the two joints above it that names a side
        return next((parsed[a][0] for a in g.ancestors(j)[:3] if parsed[a][0]), None)

    def pick(role: str) -> dict[str, int]:
        """side -> the shallowest joint with ``role`` there; unnamed sides as ``?0``/``?1``."""
        chosen: dict[str, int] = {}
        unsided: list[int] = []
        for j in sorted((j for j, r in enumerate(roles) if r == role), key=g.depth):
            if any(a in chosen.values() or a in unsided for a in g.ancestors(j)):
                continue  # a second joint further down the same limb
            side = chain_side(j)
            if side is None:
                unsided.append(j)
            elif side not in chosen:
                chosen[side] = j
        for k, j in enumerate(unsided[: max(0, 2 - len(chosen))]):
            chosen[f"?{k}"] = j
        return chosen

    def above(j: int) -> int:
        return g.parents[j] if g.parents[j] >= 0 else j

    def below(j: int, role: str, what: str) -> int | None:
        """First joint under ``j`` along its main chain with ``role``; else ``j``'s main child."""
        k = first = g.main_child(j)
        while k is not None:
            if roles[k] == role:
                return k
            k = g.main_child(k)
        if first is not None:
            factor["graph_only"] = CONFIDENCE_PENALTIES["graph_only"]
            problems.append(f"{what} under {names[j]} found by the bone graph, not by name")
        return first

    arms = {
        s: {"shoulder": above(e), "elbow": e, "wrist": below(e, "wrist", "wrist")}
        for s, e in pick("elbow").items()
    }
    legs: dict[str, dict[str, int | None]] = {}
    for s, k in pick("knee").items():
        ankle = below(k, "ankle", "ankle")
        legs[s] = {
            "hip": above(k),
            "knee": k,
            "ankle": ankle,
            "foot": None if ankle is None else g.main_child(ankle),
        }
    pelvis = g.lca(*(v["hip"] for v in legs.values())) if len(legs) == 2 else None
    chest = g.lca(*(v["shoulder"] for v in arms.values())) if len(arms) == 2 else None
    neck_at_chest = None
    if chest is not None and roles[chest] == "neck" and g.parents[chest] >= 0:
        neck_at_chest, chest = chest, g.parents[chest]  # 3ds Max Biped hangs the clavicles off the neck
    p0 = None if positions is None else np.asarray(positions, dtype=np.float64)[0]
    left = None if p0 is None else _body_left(p0, pelvis, chest, list(legs.values()))

    named = True
    for group, key in ((arms, "elbow"), (legs, "knee")):
        if set(group) <= {"l", "r"}:
            continue
        named = False
        if len(group) == 2 and left is not None and p0 is not None:
            a, b = group.values()
            a_left = float(np.dot(p0[a[key]] - p0[b[key]], left)) > 0  # type: ignore[index]
            group.clear()
            group.update(l=a if a_left else b, r=b if a_left else a)
            factor["pose_sides"] = CONFIDENCE_PENALTIES["pose_sides"]
            problems.append(f"{key} sides from the first frame (the names do not say left/right)")
        else:
            for s in [s for s in group if s not in ("l", "r")]:
                del group[s]
            problems.append(f"{key} sides not named and the pose cannot tell them (no toes to face by)")
    if named and left is not None and p0 is not None and {"l", "r"} <= set(arms) & set(legs):
        across = sum(p0[g_["l"][k]] - p0[g_["r"][k]] for g_, k in ((legs, "hip"), (arms, "shoulder")))
        if float(np.dot(across, left)) < 0:
            factor["mirrored"] = CONFIDENCE_PENALTIES["mirrored"]
            problems.append("the joints named left are on the body's right (mirrored rig or swapped names)")

    for group in (arms, legs):
        for side, parts in group.items():
            for part, j in parts.items():
                if j is not None:
                    found[f"{side}_{part}"] = j
                    evidence[f"{side}_{part}"] = _why(part, j, parts, roles, names)
            if parts.get("ankle") is not None and parts.get("foot") is None:
                found[f"{side}_foot"] = parts["ankle"]  # type: ignore[assignment]
                factor["foot_is_ankle"] = CONFIDENCE_PENALTIES["foot_is_ankle"]
                problems.append(f"{side}_foot is the ankle {names[parts['ankle']]} (no toe joint below it)")
    if pelvis is not None:
        found["pelvis"], evidence["pelvis"] = pelvis, "lowest common ancestor of the hips"
    if chest is not None:
        found["chest"], evidence["chest"] = chest, "lowest common ancestor of the shoulders"
    if pelvis is not None and chest is not None and pelvis != chest:
        path = _path(g, pelvis, chest)
        if path:
            found["spine"], evidence["spine"] = path[len(path) // 2], "middle joint between pelvis and chest"
    if chest is not None:
        shoulders = {v["shoulder"] for v in arms.values()}
        head, neck = _head_and_neck(g, chest, shoulders, roles, is_end)
        if head is not None:
            found["head"] = head
            evidence["head"] = (
                "named as a head" if roles[head] == "head" else "end of the chain above the chest"
            )
            if roles[head] != "head":
                factor["graph_only"] = CONFIDENCE_PENALTIES["graph_only"]
                problems.append(f"head is {names[head]}, the end of the neck chain (no joint named head)")
        neck = neck_at_chest if neck_at_chest is not None else neck
        if neck is not None:
            found["neck"], evidence["neck"] = neck, "first joint from the chest towards the head"

    if p0 is not None and _asymmetric(p0, found):
        factor["asymmetric"] = CONFIDENCE_PENALTIES["asymmetric"]
        problems.append("left and right limb bones differ by more than 25 % in length")
    missing = [c for c in CANONICAL.joint_names if c not in found]
    confidence = 0.0 if missing else float(np.prod(list(factor.values()) or [1.0]))
    return RigMap("auto", names, found, round(confidence, 3), evidence, tuple(problems))


_NAMED_AS = {"elbow": "forearm/elbow", "knee": "shin/knee", "wrist": "hand/wrist", "ankle": "foot/ankle"}
_BELOW = {"shoulder": "elbow", "hip": "knee", "wrist": "elbow", "ankle": "knee", "foot": "ankle"}


def _why(
    part: str, j: int, limb: dict[str, int | None], roles: list[str | None], names: Sequence[str]
) -> str:
    """One line of evidence for a limb joint: its name, or where it sits relative to a named joint."""
    if part in _NAMED_AS and roles[j] == part:
        return f"named as a {_NAMED_AS[part]}"
    ref = limb.get(_BELOW[part]) if part in _BELOW else None
    if ref is None:
        return "bone graph"
    rel = "parent" if part in ("shoulder", "hip") else "main child"
    return f"{rel} of {names[ref]}"


def _path(g: _Graph, lo: int, hi: int) -> list[int]:
    """Joints strictly between ``lo`` and ``hi`` on the bone path joining them, from ``lo`` up."""
    top = g.lca(lo, hi)
    up = g.ancestors(lo)[1 : g.ancestors(lo).index(top) + 1]
    down = g.ancestors(hi)[1 : g.ancestors(hi).index(top)][::-1]
    return [j for j in up + down if j not in (lo, hi)]


def _head_and_neck(
    g: _Graph, chest: int, arms: set[int], roles: list[str | None], is_end: list[bool]
) -> tuple[int | None, int | None]:
    """The head (named, or the last joint of the chest's non-arm chain) and the joint after the chest."""
    arm_roots = {a for s in arms for a in g.ancestors(s)}
    skip = [c for c in g.children[chest] if c in arm_roots]
    chain: list[int] = []
    k = g.main_child(chest, skip)
    while k is not None and not is_end[k]:
        chain.append(k)
        k = g.main_child(k)
    named = [j for j in chain if roles[j] == "head"]
    if not named:  # a head off the main chain (beside the neck chain)
        named = sorted(
            (
                j
                for j, r in enumerate(roles)
                if r == "head" and chest in g.ancestors(j) and j not in arm_roots
            ),
            key=g.depth,
        )
    head = named[0] if named else (chain[-1] if chain else None)
    if head is None:
        return None, None
    between = _path(g, chest, head)
    return head, (between[0] if between else None)


def _body_left(p0: np.ndarray, pelvis: int | None, chest: int | None, legs: list[dict]) -> np.ndarray | None:
    """The body's left in the first frame: up (pelvis to chest) x forward (heel to toe), right-handed."""
    if pelvis is None or chest is None:
        return None
    up = p0[chest] - p0[pelvis]
    feet = [p0[leg["foot"]] - p0[leg["ankle"]] for leg in legs if leg.get("foot") is not None]
    if not feet or np.linalg.norm(up) < 1e-9:
        return None
    up = up / np.linalg.norm(up)
    fwd = np.mean(feet, axis=0)
    fwd = fwd - np.dot(fwd, up) * up
    if np.linalg.norm(fwd) < 1e-9:
        return None
    return np.cross(up, fwd / np.linalg.norm(fwd))


def _asymmetric(p0: np.ndarray, found: dict[str, int]) -> bool:
    for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")):
        keys = [f"{s}_{a}" for s in "lr"] + [f"{s}_{b}" for s in "lr"]
        if not all(k in found for k in keys):
            continue
        ln = [np.linalg.norm(p0[found[f"{s}_{a}"]] - p0[found[f"{s}_{b}"]]) for s in "lr"]
        if max(ln) > 0 and abs(ln[0] - ln[1]) / max(ln) > 0.25:
            return True
    return False


# ------------------------------------------------------------------------------ pinned and declared


def declared_map(joint_names: Sequence[str], layout: str | None = None) -> RigMap | None:
    """The declared :data:`JOINT_MAPS` map of a rig (:func:`skellm.layouts.canonical_indices`), or None."""
    try:
        map_name, idx = canonical_indices(list(joint_names), layout)
    except ValueError:
        return None
    found = dict(zip(CANONICAL.joint_names, idx, strict=True))
    return RigMap(f"declared:{map_name}", tuple(joint_names), found, 1.0, {c: "declared map" for c in found})


@lru_cache(maxsize=64)
def load_pinned(path: str) -> tuple[str, dict[str, str]]:
    """A pinned map file (YAML ``{name, map: {canonical: source joint}}``) -> (name, map)."""
    import yaml

    doc = yaml.safe_load(Path(path).read_text())
    if not isinstance(doc, dict) or not isinstance(doc.get("map"), dict):
        raise ValueError(f"{path}: a joint map file needs a 'map' of canonical joint -> source joint name")
    unknown = sorted(set(doc["map"]) - set(CANONICAL.joint_names))
    if unknown:
        raise ValueError(f"{path}: not canonical joints: {', '.join(unknown)}")
    return str(doc.get("name") or Path(path).stem), {str(k): str(v) for k, v in doc["map"].items()}


def pinned_map(joint_names: Sequence[str], paths: Sequence[str | os.PathLike]) -> RigMap | None:
    """The first pinned map whose 19 source joints are all in ``joint_names``."""
    names = tuple(joint_names)
    pos = {n: i for i, n in enumerate(names)}
    pos.update({strip_namespace(n): i for i, n in enumerate(names)})
    for p in paths:
        name, mapping = load_pinned(str(p))
        if set(mapping) == set(CANONICAL.joint_names) and all(v in pos for v in mapping.values()):
            found = {c: pos[mapping[c]] for c in CANONICAL.joint_names}
            return RigMap(f"pinned:{name}", names, found, 1.0, {c: f"pinned map {p}" for c in found})
    return None


def map_rig(
    joint_names: Sequence[str],
    parents: Sequence[int],
    positions: np.ndarray | None = None,
    layout: str | None = None,
    pinned: Sequence[str | os.PathLike] = (),
) -> RigMap:
    """The canonical map of a rig: pinned map, else declared map, else :func:`marker_map` for marker
    data (no bone graph), else :func:`auto_map`."""
    found = pinned_map(joint_names, pinned) or declared_map(joint_names, layout)
    if found is not None:
        return found
    markers = [p for n, p in zip(joint_names, parents, strict=True) if not n.startswith(JC_PREFIX)]
    if len(joint_names) > 1 and all(p < 0 for p in markers):
        return marker_map(joint_names)
    return auto_map(joint_names, parents, positions)


def marker_map(joint_names: Sequence[str]) -> RigMap:
    """The canonical map of a marker take: its ``jc:`` joint centres (:mod:`skellm.readers.markersets`)."""
    names = tuple(joint_names)
    found = {n[len(JC_PREFIX) :]: i for i, n in enumerate(names) if n.startswith(JC_PREFIX)}
    found = {c: found[c] for c in CANONICAL.joint_names if c in found}
    complete = len(found) == CANONICAL.n_joints
    problems = (
        () if complete else (f"markers: {marker_set_name(names)}; joint centres for {len(found)} of 19",)
    )
    evidence = {c: "joint centre from the marker set" for c in found}
    return RigMap("markers", names, found, 1.0 if complete else 0.0, evidence, problems)


def rig_yaml(rig: RigMap, name: str) -> dict[str, Any]:
    """The pinned-map document of ``rig`` (``skellm layout -o``): name, confidence, source, map."""
    return {
        "name": name,
        "source": rig.source,
        "confidence": rig.confidence,
        "problems": list(rig.problems),
        "map": rig.names(),
    }
