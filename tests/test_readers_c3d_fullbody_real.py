"""A real full-body Vicon Nexus C3D file (tests/fixtures/real, Plug-in Gait full body, stair descent)
checked against truth from outside skellm: the PyPI reader ``c3d`` (py-c3d) for points, residuals, labels
and parameters, and the Plug-in Gait segment outputs Vicon wrote (LFEP, LFEO, LTIO, HEDO, LHUO...) for the
joint centres skellm computes from the markers alone. Then the take goes through ingest -> validate ->
harmonize onto all 19 canonical joints.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import c3d as pyc3d
import ezc3d
import numpy as np
import pytest
from test_readers_c3d_real import MANIFEST, REAL, _motion
from test_rigmap_pipeline import _ingest, assert_canonical_pose

from skellm.config import HarmonizeConfig
from skellm.data.body import estimate_height_m
from skellm.data.harmonize import harmonize_table
from skellm.data.table import row_positions, take_rows
from skellm.data.validate import ValidationRules, validate_takes
from skellm.layouts import CANONICAL
from skellm.readers.markersets import JC_PREFIX, joint_centres

ENTRY = next(e for e in MANIFEST["c3d_files"] if e["file"] == "vicon_pig_fullbody_stairs.c3d")
FULL = REAL / ENTRY["file"]
TRUTH = ENTRY["truth"]
GROUPS = ("ANGLES", "FORCES", "MOMENTS", "POWERS", "MODELED_MARKERS")
# Plug-in Gait segment outputs: origin, anterior, lateral and proximal points of each bone
SEGMENT = re.compile(r"(PEL|HED|TRX|[LR](FE|TI|FO|TO|CL|HU|RA|HN))[OALP]")


def _peer(path: Path = FULL) -> dict:
    """What py-c3d reads: labels, points (T, N, 3), residuals (T, N), rate and a few parameters."""
    with open(path, "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # py-c3d warns at the end of the last frame
        r = pyc3d.Reader(f)
        frames = np.stack([p.copy() for _, p, _ in r.read_frames()])
        out = {
            "labels": [lab.strip() for lab in r.point_labels],
            "points": frames[..., :3],
            "residuals": frames[..., 3],
            "rate": float(r.point_rate),
            "groups": {g: [s.strip() for s in r.get(f"POINT:{g}").string_array] for g in GROUPS},
            "marker_set": r.get("SUBJECTS:MARKER_SETS").string_array[0].strip(),
            "height_mm": float(r.get("PROCESSING:Height").float_value),
        }
        for k in ("UNITS", "X_SCREEN", "Y_SCREEN"):
            out[k] = r.get(f"POINT:{k}").string_value.strip()
        for k in ("LKneeWidth", "RKneeWidth", "LAnkleWidth", "RAnkleWidth"):
            out[k] = float(r.get(f"PROCESSING:{k}").float_value)
        return out


def test_fixture_is_as_recorded():
    data = FULL.read_bytes()
    assert hashlib.sha256(data).hexdigest() == ENTRY["sha256"] and len(data) <= 300_000
    assert ENTRY["licence"].startswith("MIT") and ENTRY["exporter"] and ENTRY["source"]["commit"]
    peer = _peer()
    assert len(peer["labels"]) == TRUTH["points"] and peer["points"].shape[0] == ENTRY["frames_kept"]
    assert (peer["rate"], peer["UNITS"], peer["X_SCREEN"], peer["Y_SCREEN"]) == (
        TRUTH["rate"],
        TRUTH["units"],
        TRUTH["x_screen"],
        TRUTH["y_screen"],
    )
    assert peer["marker_set"] == TRUTH["marker_set"] and peer["height_mm"] == TRUTH["subject_height_mm"]
    assert sum(len(peer["groups"][g]) for g in GROUPS[:4]) == TRUTH["modelled_outputs"]
    assert peer["groups"]["MODELED_MARKERS"] == TRUTH["modeled_markers"]
    assert sum(lab.startswith("*") for lab in peer["labels"]) == TRUTH["unlabelled"]
    assert int((peer["residuals"] < 0).sum()) == TRUTH["invalid_samples"]
    never = [lab for i, lab in enumerate(peer["labels"]) if (peer["residuals"][:, i] < 0).all()]
    assert never == TRUTH["never_seen_in_trim"]


@pytest.mark.parametrize("frame", [0, 17, 39])
def test_points_and_gaps_equal_py_c3d(frame):
    """Every body position skellm keeps is py-c3d's point (mm, the file's own axes, Z up), untracked exactly
    where py-c3d's residual is negative; modelled outputs, the centre of mass and never-seen markers are not
    among the positions."""
    peer, m = _peer(), _motion(FULL)
    groups = peer["groups"]
    modelled = {x for g in GROUPS for x in groups[g]}
    never = set(TRUTH["never_seen_in_trim"])
    markers = [n for n in m.joint_names if not n.startswith(JC_PREFIX)]
    assert markers == [lab for lab in peer["labels"] if lab not in modelled and lab not in never]
    assert m.meta["dropped_markers"] == ["*155", "*156"]  # unlabelled, never seen in the kept frames
    assert {g: m.meta["modelled_outputs"][g] for g in GROUPS[:4]} == {g: groups[g] for g in GROUPS[:4]}
    assert m.meta["modelled_outputs"]["CENTRE_OF_MASS"] == groups["MODELED_MARKERS"]
    cols = [peer["labels"].index(n) for n in markers]
    valid = peer["residuals"][frame, cols] >= 0
    np.testing.assert_array_equal(m.tracked[frame, : len(markers)], valid)
    got = m.positions[frame, : len(markers)][valid]
    np.testing.assert_allclose(got, peer["points"][frame, cols][valid], atol=1e-3)
    assert (m.fps, m.units, m.up_axis) == (120.0, "mm", "z") and m.meta["up_axis_declared"]


@pytest.mark.parametrize(
    ("key", "value", "units", "up"),
    [("Y_SCREEN", "+Y", "mm", "y"), ("UNITS", "m", "m", "z"), ("Y_SCREEN", "+Z", "mm", "z")],
)
def test_units_and_up_axis_come_from_point_parameters(tmp_path, key, value, units, up):
    c = ezc3d.c3d(str(FULL))
    c["parameters"]["POINT"][key]["value"] = [value]
    c.write(str(tmp_path / "v.c3d"))
    m = _motion(tmp_path / "v.c3d")
    assert (m.units, m.up_axis, m.meta["declared_units"]) == (units, up, units)


def test_joint_centres_from_markers_alone_agree_with_plug_in_gait():
    """With Vicon's segment outputs removed, the markers give all 19 canonical joints: hips by Harrington
    within 3.5 cm of LFEP/RFEP, knees and ankles by Plug-in Gait's chord function within 1.5 cm of
    LFEO/LTIO; head, shoulders, elbows and wrists (skin markers, no offsets) within 7 cm of HEDO, LHUP,
    LHUO, LRAO. With the segment outputs present they are the joint centres, exactly."""
    peer, m = _peer(), _motion(FULL)
    names = [n for n in m.joint_names if not n.startswith(JC_PREFIX)]
    pos = m.positions[:, : len(names)].astype(np.float64)
    vicon = {n: pos[:, names.index(n)] for n in names}
    markers = [n for n in names if not SEGMENT.fullmatch(n)]
    assert {"LFHD", "C7", "LSHO", "LELB", "LWRA", "LASI", "LTHI", "LKNE", "LTIB", "LANK", "LTOE"} <= set(
        markers
    )
    widths = {k: peer[k] for k in ("LKneeWidth", "RKneeWidth", "LAnkleWidth", "RAnkleWidth")}
    centres, how = joint_centres(markers, pos[:, [names.index(n) for n in markers]], 1.0, widths)
    assert set(centres) == set(CANONICAL.joint_names)

    def err(joint: str, ref: str) -> float:
        return float(np.linalg.norm(centres[joint] - vicon[ref], axis=-1).mean())

    for s in "lr":
        S = s.upper()
        assert how[f"{s}_knee"].startswith("Plug-in Gait chord") and how[f"{s}_ankle"].startswith(
            "Plug-in Gait"
        )
        assert err(f"{s}_hip", f"{S}FEP") < 35.0
        assert err(f"{s}_knee", f"{S}FEO") < 15.0 and err(f"{s}_ankle", f"{S}TIO") < 15.0
        for joint, ref in (("shoulder", "HUP"), ("elbow", "HUO"), ("wrist", "RAO")):
            assert err(f"{s}_{joint}", S + ref) < 70.0, (joint, s)
    assert err("head", "HEDO") < 70.0
    # a side error would not pass: the other knee is far away
    assert np.linalg.norm(centres["l_knee"] - vicon["RFEO"], axis=-1).mean() > 150.0
    for joint, ref in (("l_knee", "LFEO"), ("r_wrist", "RRAO"), ("head", "HEDO"), ("l_shoulder", "LHUP")):
        jc = m.positions[:, m.joint_names.index(JC_PREFIX + joint)]
        np.testing.assert_array_equal(jc, m.positions[:, m.joint_names.index(ref)])


def test_full_body_take_through_ingest_validate_and_canonical_harmonize(tmp_path):
    table = _ingest(tmp_path, [FULL])
    row = take_rows(table)[0]
    assert (row["format"], row["units"], row["up_axis"], row["fps"]) == ("c3d", "mm", "z", 120.0)
    assert not {"CentreOfMass", "CentreOfMassFloor"} & set(row["joint_names"])
    # the floor point, 0.6 m below the step the subject stands on, is not part of the body's height
    pos = row_positions(row, np.float64)
    tracked = np.asarray(row["tracked"], dtype=bool).reshape(pos.shape[:2])
    height = estimate_height_m(pos, row["units"], row["up_axis"], tracked)
    assert abs(height - TRUTH["subject_height_mm"] / 1000) < 0.05, height

    valid, failures = validate_takes(table, ValidationRules(harmonize=HarmonizeConfig(joints="canonical")))
    assert failures == [] and valid.num_rows == 1
    out, layouts = harmonize_table(valid, HarmonizeConfig(joints="canonical"))
    assert list(layouts) == ["canonical"] and layouts["canonical"]["joint_names"] == list(
        CANONICAL.joint_names
    )
    canon = row_positions(take_rows(out)[0], np.float64)
    assert canon.shape == (64, 19, 3) and np.isfinite(canon).all()
    assert_canonical_pose("full body", canon[0], (1.2, 1.9))
    # joint centres span head centre to the lower foot: most of the subject's 1.679 m (PROCESSING:Height)
    span = canon[0, :, 1].max() - canon[0, :, 1].min()
    assert 0.75 < span / (TRUTH["subject_height_mm"] / 1000) < 1.0, span
