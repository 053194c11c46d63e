"""Automatic canonical rig maps: every declared map reproduced from names and bone graph alone, the five
real exporters' rigs (tests/fixtures/real) mapped as their hierarchies say, one real take renamed into
every common exporter's naming convention mapped to the same canonical positions as its declared map,
sides from the rest pose when names do not say them, and low confidence where the evidence is weak.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from skellm.data.rigmap import auto_map, map_rig, name_tokens, rig_yaml
from skellm.layouts import CANONICAL, LAYOUTS, canonical_indices
from skellm.readers import read_motion

REAL = Path(__file__).parent / "fixtures" / "real"
CMU = REAL / "cmu_cgspeed_01_01.bvh"


def _read(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_motion(path)


@pytest.mark.parametrize(
    "name, side, tokens",
    [
        ("mixamorig:LeftForeArm", "l", ("fore", "arm")),
        ("Bip01 L Thigh", "l", ("thigh",)),
        ("Bip01_R_Calf", "r", ("calf",)),
        ("Skeleton_LUArm", "l", ("u", "arm")),  # OptiTrack Motive
        ("lhumerus", "l", ("humerus",)),  # CMU ASF
        ("thigh.R", "r", ("thigh",)),  # Blender
        ("calf_twist_01_l", "l", ("calf", "twist", "01")),  # Unreal
        ("Character1_RightUpLeg", "r", ("up", "leg")),  # MotionBuilder HumanIK
        ("lShldr", "l", ("shldr",)),  # Daz / Poser
        ("ShoulderRight", "r", ("shoulder",)),  # Kinect
        ("CC_Base_L_Forearm", "l", ("forearm",)),  # Reallusion Character Creator
        ("L5", None, ("vertebra",)),  # Xsens: a vertebra, not a left joint
        ("HIPS", None, ("hips",)),
        ("spine.001", None, ("spine", "001")),
    ],
)
def test_name_tokens(name, side, tokens):
    assert name_tokens(name) == (side, tokens)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_auto_map_reproduces_every_declared_map(layout):
    """Names and bone graph alone (no positions) give the hand-written map of every declared rig."""
    lay = LAYOUTS[layout]
    rig = auto_map(lay.joint_names, lay.parents)
    _, idx = canonical_indices(list(lay.joint_names), layout)
    assert rig.missing == []
    assert rig.names() == {c: lay.joint_names[i] for c, i in zip(CANONICAL.joint_names, idx, strict=True)}
    # Perception Neuron's layout has no toe joint (its files add Foot End Sites): noted, slightly less sure
    assert rig.confidence == (0.9 if layout == "perception_neuron" else 1.0), rig.problems


# The real exporters' rigs, mapped as their hierarchies (tests/fixtures/real/README.md) say.
REAL_MAPS = {
    "biovision_boxing_toes.bvh": dict(
        pelvis="Hips", spine="Ab", chest="Chest", neck="Neck", head="Head",
        shoulder="{S}Shoulder", elbow="{S}Elbow", wrist="{S}Wrist",
        hip="{S}Hip", knee="{S}Knee", ankle="{S}Ankle", foot="{S}Toes",
    ),
    "blender_metarig.bvh": dict(
        pelvis="pelvis", spine="spine", chest="spine.001", neck="neck", head="face",
        shoulder="upper_arm.{s}", elbow="forearm.{s}", wrist="forearm.{s}_End",
        hip="thigh.{s}", knee="shin.{s}", ankle="foot.{s}", foot="foot.{s}_End",
    ),
    "cmu_cgspeed_01_01.bvh": dict(
        pelvis="Hips", spine="Spine", chest="Spine1", neck="Neck", head="Head",
        shoulder="{S}Arm", elbow="{S}ForeArm", wrist="{S}Hand",
        hip="{S}UpLeg", knee="{S}Leg", ankle="{S}Foot", foot="{S}ToeBase",
    ),
    "mixamo_freebvh.bvh": dict(
        pelvis="Hips", spine="Spine1", chest="Spine2", neck="Neck", head="Head",
        shoulder="{S}Arm", elbow="{S}ForeArm", wrist="{S}Hand",
        hip="{S}UpLeg", knee="{S}Leg", ankle="{S}Foot", foot="{S}ToeBase",
    ),
    "mocapbank_walk.bvh": dict(
        pelvis="Hips", spine="Chest", chest="Chest2", neck="Neck", head="Head",
        shoulder="{S}Shoulder", elbow="{S}Elbow", wrist="{S}Wrist",
        hip="{S}Hip", knee="{S}Knee", ankle="{S}Ankle", foot="{S}Ankle_End",
    ),
}  # fmt: skip


def _expected(spec: dict[str, str]) -> dict[str, str]:
    out = {}
    for canon in CANONICAL.joint_names:
        side, part = (canon[0], canon[2:]) if canon[1] == "_" else (None, canon)
        word = {"l": ("Left", "L"), "r": ("Right", "R")}.get(side or "", ("", ""))
        out[canon] = spec[part].format(S=word[0], s=word[1])
    return out


@pytest.mark.parametrize("name", sorted(REAL_MAPS))
def test_real_rigs_map_as_their_hierarchies_say(name):
    m = _read(REAL / name)
    rig = auto_map(m.joint_names, m.parents, m.positions)
    assert rig.names() == _expected(REAL_MAPS[name])
    # a forearm End Site as the wrist (Blender's metarig has no hand bone) is found by the graph alone
    assert rig.confidence == (0.9 if name == "blender_metarig.bvh" else 1.0), rig.problems
    assert not any("mirrored" in p for p in rig.problems)
    # where a declared map also fits, it wins and agrees
    chosen = map_rig(m.joint_names, m.parents, m.positions)
    if chosen.source.startswith("declared"):
        assert chosen.names() == rig.names()


def _split_cmu(name: str) -> tuple[str | None, str]:
    """CMU-BVH name -> (side letter, HumanIK part): LeftForeArm -> (L, ForeArm), LThumb -> (L, Thumb)."""
    m = re.fullmatch(r"(Left|Right|L|R)([A-Z]\w*)", name)
    return (m.group(1)[0], m.group(2)) if m else (None, name)


BIPED_PARTS = dict(
    UpLeg="Thigh", Leg="Calf", ToeBase="Toe0", Shoulder="Clavicle", Arm="UpperArm", ForeArm="Forearm"
)

MIXAMO_MIDLINE = dict(
    Hips="Hips", LowerBack="Spine", Spine="Spine1", Spine1="Spine2", Neck="Neck", Neck1="Neck1", Head="Head"
)

# Exporters' naming conventions: (side-and-part formatter, part names, midline names); parts not listed
# keep their CMU name.
CONVENTIONS = {
    "3ds_max_biped_spaces": (
        lambda s, p: f"Bip01 {s} {p}",
        BIPED_PARTS,
        dict(Hips="Bip01 Pelvis", LowerBack="Bip01 Spine", Spine="Bip01 Spine1", Spine1="Bip01 Spine2",
             Neck="Bip01 Neck", Neck1="Bip01 Neck1", Head="Bip01 Head"),
    ),
    "truebones_underscores": (
        lambda s, p: f"Bip001_{s}_{p}",
        BIPED_PARTS,
        dict(Hips="Bip001_Pelvis", LowerBack="Bip001_Spine", Spine="Bip001_Spine1", Spine1="Bip001_Spine2",
             Neck="Bip001_Neck", Neck1="Bip001_Neck1", Head="Bip001_Head"),
    ),
    "blender_dot_side": (
        lambda s, p: f"{p}.{s}",
        dict(UpLeg="thigh", Leg="shin", Foot="foot", ToeBase="toe", Shoulder="shoulder", Arm="upper_arm",
             ForeArm="forearm", Hand="hand"),
        dict(Hips="hips", LowerBack="spine", Spine="spine.001", Spine1="spine.002", Neck="spine.004",
             Neck1="spine.005", Head="spine.006"),
    ),
    "unreal_suffix": (
        lambda s, p: f"{p}_{s.lower()}",
        dict(UpLeg="thigh", Leg="calf", Foot="foot", ToeBase="ball", Shoulder="clavicle", Arm="upperarm",
             ForeArm="lowerarm", Hand="hand"),
        dict(Hips="pelvis", LowerBack="spine_01", Spine="spine_02", Spine1="spine_03", Neck="neck_01",
             Neck1="neck_02", Head="head"),
    ),
    "prefix_l_underscore": (
        lambda s, p: f"{s.lower()}_{p}",
        dict(UpLeg="hip", Leg="knee", Foot="ankle", ToeBase="toe", Shoulder="clavicle", Arm="shoulder",
             ForeArm="elbow", Hand="wrist"),
        dict(Hips="root", LowerBack="spine_a", Spine="spine_b", Spine1="chest", Neck="neck", Neck1="neck_b",
             Head="head"),
    ),
    "optitrack_motive": (
        lambda s, p: f"Skeleton_{s}{p}",
        dict(UpLeg="Thigh", Leg="Shin", ToeBase="Toe", Shoulder="Shoulder", Arm="UArm", ForeArm="FArm"),
        dict(Hips="Skeleton_Hip", LowerBack="Skeleton_Ab", Spine="Skeleton_Ab2", Spine1="Skeleton_Chest",
             Neck="Skeleton_Neck", Neck1="Skeleton_Neck2", Head="Skeleton_Head"),
    ),
    "motionbuilder_character": (
        lambda s, p: f"Character1_{'Left' if s == 'L' else 'Right'}{p}",
        {},
        {k: f"Character1_{v}" for k, v in MIXAMO_MIDLINE.items()},
    ),
    "rokoko": (
        lambda s, p: f"{'Left' if s == 'L' else 'Right'}{p}",
        dict(UpLeg="Thigh", Leg="Shin", ToeBase="Toe"),
        dict(Hips="Hips", LowerBack="Spine1", Spine="Spine2", Spine1="Spine4", Neck="Neck", Neck1="Neck2",
             Head="Head"),
    ),
    "daz_poser": (
        lambda s, p: f"{s.lower()}{p}",
        dict(UpLeg="Thigh", Leg="Shin", ToeBase="Toe", Shoulder="Collar", Arm="Shldr"),
        dict(Hips="hip", LowerBack="abdomenLower", Spine="abdomenUpper", Spine1="chestUpper",
             Neck="neckLower", Neck1="neckUpper", Head="head"),
    ),
    "xsens_mvn": (
        lambda s, p: f"{'Left' if s == 'L' else 'Right'}{p}",
        dict(UpLeg="UpperLeg", Leg="LowerLeg", ToeBase="Toe", Arm="UpperArm"),
        dict(Hips="Pelvis", LowerBack="L5", Spine="L3", Spine1="T8", Neck="Neck", Neck1="Neck2", Head="Head"),
    ),
    "cmu_asf_glued": (
        lambda s, p: f"{s.lower()}{p}",
        dict(UpLeg="femur", Leg="tibia", Foot="foot", ToeBase="toes", Shoulder="clavicle", Arm="humerus",
             ForeArm="radius", Hand="wrist", HipJoint="hipjoint"),
        dict(Hips="root", LowerBack="lowerback", Spine="upperback", Spine1="thorax", Neck="lowerneck",
             Neck1="upperneck", Head="head"),
    ),
    "mixamo_namespace": (
        lambda s, p: f"mixamorig:{'Left' if s == 'L' else 'Right'}{p}",
        {},
        {k: f"mixamorig:{v}" for k, v in MIXAMO_MIDLINE.items()},
    ),
}  # fmt: skip


def _renamed(tmp_path: Path, rename) -> Path:
    """The real CMU take with every ROOT/JOINT renamed by ``rename(old) -> new``."""
    text = CMU.read_bytes().decode("ascii")
    out = re.sub(
        r"^([ \t]*(?:ROOT|JOINT)[ \t]+)(\S+)",
        lambda m: m.group(1) + rename(m.group(2)),
        text,
        flags=re.M,
    )
    p = tmp_path / "renamed.bvh"
    p.write_bytes(out.encode("ascii"))
    return p


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_every_exporters_naming_maps_to_the_same_canonical_body(tmp_path, convention):
    fmt, parts, midline = CONVENTIONS[convention]

    def rename(old: str) -> str:
        side, part = _split_cmu(old)
        return midline.get(old, old) if side is None else fmt(side, parts.get(part, part))

    original = _read(CMU)
    truth = original.positions[:, canonical_indices(original.joint_names, "cmu_bvh")[1]]
    m = _read(_renamed(tmp_path, rename))
    assert m.joint_names != original.joint_names
    rig = auto_map(m.joint_names, m.parents, m.positions)
    assert rig.missing == [] and rig.confidence >= 0.9, (rig.names(), rig.problems)
    np.testing.assert_array_equal(m.positions[:, rig.indices], truth)


@pytest.mark.parametrize("numbers", ["12", "21"])
def test_sides_from_the_rest_pose_when_names_do_not_say(tmp_path, numbers):
    """Limb names stripped of every side marker (LeftArm -> Arm_1, RightArm -> Arm_2, and the other
    way round): the first frame still tells the body's left."""
    letters = dict(zip("LR", numbers, strict=True))

    def rename(old: str) -> str:
        side, part = _split_cmu(old)
        return old if side is None else f"{part}_{letters[side]}"

    original = _read(CMU)
    truth = original.positions[:, canonical_indices(original.joint_names, "cmu_bvh")[1]]
    m = _read(_renamed(tmp_path, rename))
    rig = auto_map(m.joint_names, m.parents, m.positions)
    assert rig.missing == []
    np.testing.assert_array_equal(m.positions[:, rig.indices], truth)
    assert rig.confidence == 0.8 and any("first frame" in p for p in rig.problems)
    # without positions there is nothing to tell left from right: the limbs stay unmapped
    blind = auto_map(m.joint_names, m.parents)
    assert blind.confidence == 0.0 and "l_elbow" in blind.missing
    assert "could not find" in blind.reason(0.5) and "l_elbow" in blind.reason(0.5)


def test_swapped_left_right_names_lower_the_confidence(tmp_path):
    swap = {"Left": "Right", "Right": "Left", "L": "R", "R": "L"}
    m = _read(
        _renamed(tmp_path, lambda old: re.sub(r"^(Left|Right|L|R)(?=[A-Z])", lambda s: swap[s[0]], old))
    )
    rig = auto_map(m.joint_names, m.parents, m.positions)
    assert rig.missing == [] and rig.confidence == 0.4
    assert "mirrored" in rig.reason(0.5)
    assert rig.reason(0.3) is None


def test_a_rig_without_arms_is_not_mapped_and_says_what_is_missing(tmp_path):
    m = _read(
        _renamed(tmp_path, lambda old: re.sub(r"(Arm|ForeArm|Hand)$", lambda s: f"Seg{len(s[0])}", old))
    )
    rig = auto_map(m.joint_names, m.parents, m.positions)
    assert rig.confidence == 0.0
    assert {"l_elbow", "r_elbow", "l_wrist", "chest"} <= set(rig.missing)
    assert rig.joints["l_knee"] == m.joint_names.index("LeftLeg")


def test_biped_clavicles_under_the_neck():
    """3ds Max Biped hangs the clavicles off the neck: the shoulders' common ancestor is the neck."""
    pairs = [
        ("Bip01", None),
        ("Bip01 Pelvis", "Bip01"),
        ("Bip01 Spine", "Bip01 Pelvis"),
        ("Bip01 Spine1", "Bip01 Spine"),
        ("Bip01 Neck", "Bip01 Spine1"),
        ("Bip01 Head", "Bip01 Neck"),
    ]
    for s in "LR":
        pairs += [(f"Bip01 {s} Clavicle", "Bip01 Neck"), (f"Bip01 {s} UpperArm", f"Bip01 {s} Clavicle"),
                  (f"Bip01 {s} Forearm", f"Bip01 {s} UpperArm"), (f"Bip01 {s} Hand", f"Bip01 {s} Forearm"),
                  (f"Bip01 {s} Thigh", "Bip01 Pelvis"), (f"Bip01 {s} Calf", f"Bip01 {s} Thigh"),
                  (f"Bip01 {s} Foot", f"Bip01 {s} Calf"), (f"Bip01 {s} Toe0", f"Bip01 {s} Foot")]  # fmt: skip
    names = [n for n, _ in pairs]
    rig = auto_map(names, [names.index(p) if p else -1 for _, p in pairs])
    got = rig.names()
    assert (got["pelvis"], got["spine"], got["chest"], got["neck"], got["head"]) == (
        "Bip01 Pelvis", "Bip01 Spine", "Bip01 Spine1", "Bip01 Neck", "Bip01 Head",
    )  # fmt: skip
    assert got["l_shoulder"] == "Bip01 L UpperArm" and got["r_foot"] == "Bip01 R Toe0"
    assert rig.confidence == 1.0


def test_pinned_map_wins_and_round_trips(tmp_path):
    m = _read(REAL / "blender_metarig.bvh")
    auto = auto_map(m.joint_names, m.parents, m.positions)
    doc = rig_yaml(auto, "metarig")
    doc["map"]["head"] = "neck"  # a user's own decision, which the pinned map must carry
    path = tmp_path / "metarig.yaml"
    path.write_text(yaml.safe_dump(doc))
    rig = map_rig(m.joint_names, m.parents, m.positions, pinned=[path])
    assert rig.source == "pinned:metarig" and rig.confidence == 1.0
    assert rig.names() == {**auto.names(), "head": "neck"}
    # a pinned map naming joints this rig lacks is skipped
    other = _read(REAL / "mocapbank_walk.bvh")
    assert map_rig(other.joint_names, other.parents, other.positions, pinned=[path]).source == "auto"
