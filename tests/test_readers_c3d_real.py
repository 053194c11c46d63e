"""A real Vicon Nexus C3D file (tests/fixtures/real, Human Body Model 2 lower-limb + trunk marker set)
checked against truth from outside skellm: the PyPI reader ``c3d`` (py-c3d) for points, labels, rate and
parameters, and Vicon's own segment outputs (hip, knee and ankle joint centres) for the joint centres
skellm computes from markers. Then its variants: Y up, invalid residuals, an unknown marker set, and the
take completed with arm and head markers, which goes through the canonical pipeline.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import c3d as pyc3d
import ezc3d
import numpy as np
import pytest

from skellm.config import HarmonizeConfig
from skellm.data.harmonize import harmonize_motion
from skellm.layouts import CANONICAL
from skellm.readers import read_motion
from skellm.readers.markersets import JC_PREFIX, joint_centres

REAL = Path(__file__).parent / "fixtures" / "real"
MANIFEST = json.loads((REAL / "manifest.json").read_text())
ENTRY = MANIFEST["c3d_files"][0]
VICON = REAL / ENTRY["file"]


def _peer(path: Path) -> tuple[list[str], np.ndarray, float, dict[str, str]]:
    """(labels, points (T, N, 3), rate, a few string parameters) read by py-c3d."""
    with open(path, "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # py-c3d warns at the end of the last frame
        r = pyc3d.Reader(f)
        labels = [lab.strip() for lab in r.point_labels]
        frames = np.stack([p[:, :3].copy() for _, p, _ in r.read_frames()])
        params = {k: r.get(f"POINT:{k}").string_value.strip() for k in ("UNITS", "X_SCREEN", "Y_SCREEN")}
        groups = {
            g: [s.strip() for s in r.get(f"POINT:{g}").string_array]
            for g in ("ANGLES", "FORCES", "MOMENTS", "POWERS")
        }
        return labels, frames, float(r.point_rate), {**params, **{g: groups[g] for g in groups}}


def _motion(path: Path = VICON):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_motion(path)


def test_fixture_is_as_recorded():
    import hashlib

    assert hashlib.sha256(VICON.read_bytes()).hexdigest() == ENTRY["sha256"]
    assert ENTRY["licence"] and ENTRY["exporter"] and ENTRY["source"]["channel"]


def test_points_units_up_axis_and_modelled_outputs_against_py_c3d():
    labels, points, rate, params = _peer(VICON)
    m = _motion()
    truth = ENTRY["truth"]
    assert len(labels) == truth["points"] and rate == truth["rate"] == m.fps
    assert (params["UNITS"], params["Y_SCREEN"]) == ("mm", "+Z") and (m.units, m.up_axis) == ("mm", "z")
    modelled = {x for g in ("ANGLES", "FORCES", "MOMENTS", "POWERS") for x in params[g]}
    assert len(modelled) == truth["modelled_outputs"]
    assert m.meta["modelled_outputs"]["ANGLES"] == params["ANGLES"]
    markers = [n for n in m.joint_names if not n.startswith(JC_PREFIX)]
    assert markers == [lab for lab in labels if lab not in modelled]  # every position, nothing else
    assert not set(markers) & modelled
    cols = [labels.index(n) for n in markers]
    valid = m.tracked[:, : len(markers)]
    np.testing.assert_allclose(m.positions[:, : len(markers)][valid], points[:, cols][valid], atol=1e-3)


def test_joint_centres_from_markers_agree_with_vicons_own():
    """Harrington hips, epicondyle/malleolus midpoints from the markers alone (segment outputs removed)
    are within 4 cm of the joint centres Vicon's model wrote (LFEP, LFEO, LTIO...)."""
    m = _motion()
    names = [n for n in m.joint_names if not n.startswith(JC_PREFIX)]
    pos = m.positions[:, : len(names)].astype(np.float64)
    vicon = {n: pos[:, names.index(n)] for n in names}
    markers_only = [n for n in names if not re.fullmatch(r"(PEL|[LR](FE|TI|FO|TO))[OALP]", n)]
    keep = [names.index(n) for n in markers_only]
    centres, how = joint_centres(
        markers_only, pos[:, keep], 1.0, {"LKneeWidth": 105.75, "RKneeWidth": 103.38}
    )
    for s in "lr":
        S = s.upper()
        for joint, ref in (("hip", f"{S}FEP"), ("knee", f"{S}FEO"), ("ankle", f"{S}TIO")):
            err = np.linalg.norm(centres[f"{s}_{joint}"] - vicon[ref], axis=-1).mean()
            assert err < 40.0, (joint, s, how[f"{s}_{joint}"], err)
    assert how["l_hip"].startswith("Harrington")
    # the other side's hip is far from this one: a side error would not pass the check above
    assert np.linalg.norm(centres["l_hip"] - vicon["RFEP"], axis=-1).mean() > 120.0
    # with the segment outputs present they win, exactly
    m_all = _motion()
    jc = m_all.joint_names.index(JC_PREFIX + "l_knee")
    np.testing.assert_array_equal(m_all.positions[:, jc], m_all.positions[:, m_all.joint_names.index("LFEO")])


def _variant(tmp_path: Path, edit, name: str = "v.c3d") -> Path:
    c = ezc3d.c3d(str(VICON))
    edit(c)
    out = tmp_path / name
    c.write(str(out))
    return out


def test_y_up_from_y_screen(tmp_path):
    def y_up(c):
        c["parameters"]["POINT"]["Y_SCREEN"]["value"] = ["+Y"]

    assert _motion(_variant(tmp_path, y_up)).up_axis == "y"


def test_negative_residuals_are_gaps(tmp_path):
    lab = ezc3d.c3d(str(VICON))["parameters"]["POINT"]["LABELS"]["value"].index("LLEK")

    def lose(c):
        res = c["data"]["meta_points"]["residuals"]
        res[0, lab, 40:50] = -1.0
        c["data"]["meta_points"]["residuals"] = res

    m = _motion(_variant(tmp_path, lose))
    j = m.joint_names.index("LLEK")
    assert not m.tracked[40:50, j].any() and m.tracked[39, j] and m.tracked[50, j]
    clean = _motion()
    lin = clean.positions[39, j] + (clean.positions[50, j] - clean.positions[39, j]) * (5 / 11)
    np.testing.assert_allclose(m.positions[44, j], lin, atol=1e-3)


def test_lower_body_marker_set_says_what_it_lacks():
    m = _motion()
    assert m.meta["joint_centres"]["missing"] == [
        "head",
        "l_shoulder",
        "l_elbow",
        "l_wrist",
        "r_shoulder",
        "r_elbow",
        "r_wrist",
    ]
    with pytest.raises(ValueError, match=r"could not find head, l_shoulder.*no arm markers, no head markers"):
        harmonize_motion(m, HarmonizeConfig(joints="canonical"))


def test_unknown_marker_set_is_a_clear_reason(tmp_path):
    def anonymous(c):
        n = len(c["parameters"]["POINT"]["LABELS"]["value"])
        c["parameters"]["POINT"]["LABELS"]["value"] = [f"M{i:03d}" for i in range(n)]
        for g in ("ANGLES", "FORCES", "MOMENTS", "POWERS"):
            c["parameters"]["POINT"][g]["value"] = ["none"]

    m = _motion(_variant(tmp_path, anonymous))
    assert not any(n.startswith(JC_PREFIX) for n in m.joint_names)
    with pytest.raises(ValueError, match="unknown marker set"):
        harmonize_motion(m, HarmonizeConfig(joints="canonical"))


def _with_arms_and_head(c) -> None:
    """The real take plus Plug-in Gait arm and head markers placed from its trunk markers (mm)."""
    labels = list(c["parameters"]["POINT"]["LABELS"]["value"])
    pts = np.asarray(c["data"]["points"])
    p = {n: pts[:3, labels.index(n)].T for n in ("C7", "JN", "LASIS", "RASIS")}
    right = p["RASIS"] - p["LASIS"]
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    up = np.array([0.0, 0.0, 1.0])
    neck = (p["C7"] + p["JN"]) / 2
    new = {}
    for s, sign in (("L", -1.0), ("R", 1.0)):
        side = sign * right
        new[f"{s}SHO"] = neck + 180 * side - 20 * up
        new[f"{s}ELB"] = new[f"{s}SHO"] + 20 * side - 290 * up
        new[f"{s}WRA"] = new[f"{s}ELB"] - 250 * up + 20 * side
        new[f"{s}WRB"] = new[f"{s}WRA"] - 40 * side
        new[f"{s}FHD"] = neck + 60 * side + 200 * up + 80 * np.cross(up, right) * -1
        new[f"{s}BHD"] = neck + 60 * side + 200 * up - 80 * np.cross(up, right) * -1
    block = np.ones((4, len(new), pts.shape[2]))
    block[:3] = np.stack(list(new.values()), axis=1).transpose(2, 1, 0)
    c["data"]["points"] = np.concatenate([pts, block], axis=1)
    for k in ("residuals", "camera_masks"):
        meta = np.asarray(c["data"]["meta_points"][k])
        extra = np.zeros((meta.shape[0], len(new), pts.shape[2]), meta.dtype)
        c["data"]["meta_points"][k] = np.concatenate([meta, extra], axis=1)
    c["parameters"]["POINT"]["LABELS"]["value"] = labels + list(new)


def test_full_body_markers_reach_the_canonical_skeleton(tmp_path):
    m = _motion(_variant(tmp_path, _with_arms_and_head))
    assert m.meta["joint_centres"]["missing"] == []
    pos, names, parents, _ = harmonize_motion(m, HarmonizeConfig(joints="canonical"))
    assert names == list(CANONICAL.joint_names) and pos.shape == (64, 19, 3)
    c = CANONICAL.index
    first = pos[0]
    assert first[c("head"), 1] > first[c("neck"), 1] > first[c("chest"), 1] > first[c("pelvis"), 1]
    assert (
        first[c("l_hip"), 0] > first[c("r_hip"), 0] and first[c("l_shoulder"), 0] > first[c("r_shoulder"), 0]
    )
    assert 1.4 < first[:, 1].max() - first[:, 1].min() < 2.0  # a 1.72 m subject (PROCESSING:Height)
