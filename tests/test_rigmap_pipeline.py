"""Real exporters' takes through ingest -> validate -> harmonize (canonical) with no hand-written map:
the auto-mapped bodies come out on the canonical skeleton, upright, facing +Z, of human size; a take
whose rig cannot be mapped is quarantined by validate with the joints it lacks; ``skellm layout``
writes a pinned map that the pipeline then uses.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from skellm.config import HarmonizeConfig
from skellm.data.harmonize import harmonize_table
from skellm.data.ingest import ingest_files
from skellm.data.table import read_takes, row_positions, take_rows
from skellm.data.validate import ValidationRules, validate_takes
from skellm.layouts import CANONICAL

REAL = Path(__file__).parent / "fixtures" / "real"
BVH = sorted(REAL.glob("*.bvh"))
C = CANONICAL.index


def assert_canonical_pose(take: str, first, height: tuple[float, float]) -> None:
    """A canonical first frame is upright (head over chest over pelvis, knees over ankles), faces +Z
    with the body's left towards +X (harmonize's convention), and spans a human ``height`` in metres."""
    assert first[C("head"), 1] > first[C("chest"), 1] > first[C("pelvis"), 1], take
    assert first[C("l_knee"), 1] > first[C("l_ankle"), 1] and first[C("r_knee"), 1] > first[C("r_ankle"), 1]
    assert (
        first[C("l_hip"), 0] > first[C("r_hip"), 0] and first[C("l_shoulder"), 0] > first[C("r_shoulder"), 0]
    )
    toes = (first[C("l_foot")] - first[C("l_ankle")] + first[C("r_foot")] - first[C("r_ankle")])[2]
    assert toes > 0, f"{take}: toes point backwards"
    span = first[:, 1].max() - first[:, 1].min()
    assert height[0] < span < height[1], (take, span)


def _armless(tmp_path: Path) -> Path:
    """The real CMU take with its arm joints renamed to anonymous segments."""
    text = (REAL / "cmu_cgspeed_01_01.bvh").read_bytes().decode("ascii")
    out = re.sub(
        r"(JOINT\s+)(Left|Right)(Arm|ForeArm|Hand)\b", lambda m: f"{m[1]}Seg{m[2][0]}{len(m[3])}", text
    )
    p = tmp_path / "armless.bvh"
    p.write_bytes(out.encode("ascii"))
    return p


def _ingest(tmp_path: Path, files: list[Path]):
    src = tmp_path / "raw"
    src.mkdir()
    for f in files:
        shutil.copy(f, src / f.name)
    ingest_files(sorted(src.iterdir()), "R", tmp_path / "R.parquet", root=src, label_field="emotion")
    return read_takes(tmp_path / "R.parquet")


def test_real_takes_auto_mapped_through_validate_and_harmonize(tmp_path):
    table = _ingest(tmp_path, [*BVH, _armless(tmp_path), REAL / "vicon_hbm2_treadmill.c3d"])
    assert table.num_rows == len(BVH) + 2
    rules = ValidationRules(harmonize=HarmonizeConfig(joints="canonical"))
    valid, failures = validate_takes(table, rules)
    assert [f["take_id"] for f in failures] == ["R/armless", "R/vicon_hbm2_treadmill"]
    assert {f["kind"] for f in failures} == {"joint_map"}
    assert re.search(r"could not find .*l_elbow.*r_wrist", failures[0]["reason"]), failures[0]["reason"]
    # the lower-body Vicon take: its joint centres cover 12 of 19, and the reason says why
    lacks = r"could not find head, l_shoulder.*no arm markers, no head markers"
    assert re.search(lacks, failures[1]["reason"]), failures[1]["reason"]
    # native harmonisation needs no joint map: nothing is quarantined for it
    native = ValidationRules(harmonize=HarmonizeConfig(joints="native"))
    assert validate_takes(table, native)[1] == []

    out, layouts = harmonize_table(valid, HarmonizeConfig(joints="canonical"))
    assert list(layouts) == ["canonical"] and out.num_rows == len(BVH)
    for row in take_rows(out):
        pos = row_positions(row, np.float64)
        assert pos.shape == (64, 19, 3), row["take_id"]
        assert_canonical_pose(row["take_id"], pos[0], (1.0, 2.1))


def test_layout_writes_a_pinned_map_the_pipeline_uses(tmp_path):
    blender = REAL / "blender_metarig.bvh"
    rig = tmp_path / "rigs" / "metarig.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "skellm.apps.cli", "layout", str(blender), "-o", str(rig), "--json"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["source"] == "auto" and doc["usable"] and doc["map"]["l_elbow"] == "forearm.L"
    pinned = yaml.safe_load(rig.read_text())
    assert pinned["map"] == doc["map"] and pinned["name"] == "metarig"
    # a user edits one joint of the pinned map; harmonize follows the file, not the automatic map
    pinned["map"]["head"] = "neck"
    rig.write_text(yaml.safe_dump(pinned))
    table = _ingest(tmp_path, [blender])
    cfg = HarmonizeConfig(joints="canonical")
    auto, _ = harmonize_table(table, cfg)
    mine, _ = harmonize_table(table, dataclasses.replace(cfg, joint_maps=(str(rig),)))
    a, b = (row_positions(take_rows(t)[0], np.float64) for t in (auto, mine))
    np.testing.assert_array_equal(b[:, C("head")], a[:, C("neck")])
    np.testing.assert_array_equal(np.delete(b, C("head"), 1), np.delete(a, C("head"), 1))


def test_layout_of_an_unmappable_rig_exits_1_naming_the_missing_joints(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "skellm.apps.cli",
            "layout",
            str(_armless(tmp_path)),
            "-o",
            str(tmp_path / "x.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "l_elbow" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.yaml").exists()
