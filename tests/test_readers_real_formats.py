"""Real Xsens MVNX (versions 3 and 4) and Kinect v2 KinectReader files (tests/fixtures/real) read through
skellm and checked against numbers a few lines of regular expressions and ``str.split`` take from the
same bytes; then the three takes go through ingest -> validate -> harmonize onto the canonical skeleton.

No real NTU RGB+D ``.skeleton`` file is kept: every one found is a copy of the NTU release, whose terms
bar redistribution (manifest ``not_kept``, README "Left out").
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from test_rigmap_pipeline import _ingest, assert_canonical_pose

from skellm.config import HarmonizeConfig
from skellm.data.harmonize import harmonize_table
from skellm.data.table import row_positions, take_rows
from skellm.data.validate import ValidationRules, validate_takes
from skellm.layouts import CANONICAL, KINECT_V2, XSENS23
from skellm.readers import ReadError, read_motion

REAL = Path(__file__).parent / "fixtures" / "real"
MANIFEST = json.loads((REAL / "manifest.json").read_text())
MVNX = {e["file"]: e for e in MANIFEST["mvnx_files"]}
KINECT = {e["file"]: e for e in MANIFEST["kinect_files"]}
ENTRIES = {**MVNX, **KINECT}
C = CANONICAL.index


def _raw_mvnx(path: Path) -> dict:
    """What an MVNX file says, by regular expressions: header values, bone pairs, calibration and motion
    frames (attributes, positions (23, 3), orientations (23, 4))."""
    text = path.read_text()
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)  # MVN Studio 4 leaves a commented-out <mvnx> tag
    frames = re.findall(r"<frame ([^>]*)>(.*?)</frame>", text, re.S)
    normal = [(a, b) for a, b in frames if 'type="normal"' in a]

    def values(tag: str, body: str, width: int) -> np.ndarray:
        numbers = re.search(rf"<{tag}>(.*?)</{tag}>", body, re.S).group(1).split()
        return np.array(numbers, float).reshape(-1, width)

    return {
        "version": re.search(r'<mvnx [^>]*version="(\d+)"', text).group(1),
        "frame_rate": float(re.search(r'<subject [^>]*frameRate="([^"]+)"', text).group(1)),
        "segments": re.findall(r'<segment label="([^"]+)" id="\d+"', text),
        "sensors": len(re.findall(r"<sensor label=", text)),
        "bones": re.findall(r"<connector1>([^/]+)/[^<]*</connector1>\s*<connector2>([^/]+)/", text),
        "calibration": [re.search(r'type="([^"]+)"', a).group(1) for a, _ in frames if a not in dict(normal)],
        "times": [int(re.search(r'time="(\d+)"', a).group(1)) for a, _ in normal],
        "positions": np.stack([values("position", b, 3) for _, b in normal]),
        "orientations": np.stack([values("orientation", b, 4) for _, b in normal]),
        "tpose": values("position", next(b for a, b in frames if 'type="tpose"' in a), 3),
    }


def _raw_kinect(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """KinectReader joints.csv by str.split: timestamps (ticks), xyz (T, 25, 3), states (T, 25), fields."""
    rows = [ln.split(",") for ln in path.read_text().split("\n") if ln]
    fields = {len(r) for r in rows}
    body = np.array([r[1:101] for r in rows], float).reshape(len(rows), 25, 4)
    return np.array([int(r[0]) for r in rows]), body[..., :3], body[..., 3].astype(int), fields.pop()


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_fixture_is_as_recorded(name):
    entry = ENTRIES[name]
    data = (REAL / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert len(data) <= 200_000
    assert entry["licence"] and entry["exporter"] and entry["source"]["commit"]
    if not entry["trimmed"]:
        assert entry["sha256"] == entry["source"]["sha256"]  # kept byte for byte


def test_no_file_of_a_format_left_out_is_here():
    assert [e["format"] for e in MANIFEST["not_kept"]] == ["NTU RGB+D .skeleton"]
    assert not list(REAL.glob("*.skeleton"))


@pytest.mark.parametrize("name", sorted(MVNX))
def test_mvnx_header_frames_and_positions(name):
    raw, truth = _raw_mvnx(REAL / name), MVNX[name]["truth"]
    assert raw["version"] == truth["mvnx_version"] and raw["frame_rate"] == truth["frame_rate"]
    assert (len(raw["segments"]), len(raw["bones"]), raw["sensors"]) == (
        truth["segments"],
        truth["joints"],
        truth["sensors"],
    )
    assert raw["calibration"] == truth["calibration_frames"]
    m = read_motion(REAL / name)
    assert (m.fmt, m.units, m.up_axis, m.layout) == ("mvnx", "m", "z", XSENS23.name)
    assert m.n_frames == MVNX[name]["frames_kept"] == len(raw["times"])
    assert m.joint_names == raw["segments"] == list(XSENS23.joint_names) and m.fps == truth["frame_rate"]
    # motion frames only, in file order: the calibration poses are not frames
    np.testing.assert_allclose(m.positions, raw["positions"], atol=1e-6)
    np.testing.assert_allclose(m.orientations, raw["orientations"], atol=1e-6)
    assert not np.allclose(m.positions[0], raw["tpose"], atol=1e-3)
    for seg, xyz in truth["first_frame_position"].items():
        np.testing.assert_array_equal(raw["positions"][0, raw["segments"].index(seg)], xyz)
        np.testing.assert_allclose(m.positions[0, m.joint_names.index(seg)], xyz, atol=1e-6)
    # the bone graph is the file's <joints> connectors
    for parent, child in raw["bones"]:
        assert m.parents[m.joint_names.index(child)] == m.joint_names.index(parent)
    assert m.parents == list(XSENS23.parents)


def test_mvnx3_frame_times_are_the_declared_rate():
    raw = _raw_mvnx(REAL / "xsens_mvnx3_bowing.mvnx")
    assert raw["times"] == MVNX["xsens_mvnx3_bowing.mvnx"]["truth"]["frame_times_ms"]
    assert raw["times"] == [round(k * 1000 / raw["frame_rate"]) for k in range(4)]


def test_kinectreader_csv_positions_states_and_rate():
    name = "kinectreader_wavehand.csv"
    ticks, xyz, state, fields = _raw_kinect(REAL / name)
    truth = KINECT[name]["truth"]
    assert fields == truth["values_per_line"] and len(ticks) == KINECT[name]["frames_kept"]
    assert (ticks[0], ticks[-1], int(np.median(np.diff(ticks)))) == (
        truth["first_timestamp"],
        truth["last_timestamp"],
        truth["median_step_ticks"],
    )
    assert int((np.diff(ticks) > 500_000).sum()) == truth["steps_over_50ms"]
    assert int((state == 1).sum()) == truth["inferred_joints"] and not (state == 0).any()
    np.testing.assert_array_equal(xyz[0, 0], truth["first_frame_spine_base"])

    m = read_motion(REAL / name)
    assert (m.fmt, m.units, m.up_axis, m.layout) == ("kinect", "m", "y", KINECT_V2.name)
    assert m.n_frames == len(ticks) and m.joint_names == list(KINECT_V2.joint_names)
    np.testing.assert_allclose(m.positions, xyz, atol=1e-6)
    np.testing.assert_array_equal(m.tracked, state > 0)  # inferred joints count as tracked
    first = tuple(truth["first_inferred"])
    assert m.tracked[first] and state[first] == 1
    assert m.meta["inferred_share"] == pytest.approx(truth["inferred_joints"] / (len(ticks) * 25))
    # 100-ns ticks: a 33.0 ms median step is 30.3 frames per second, not 30,303
    assert m.fps == pytest.approx(1e7 / truth["median_step_ticks"], abs=1e-3)
    assert m.orientations is None  # KinectReader writes no orientations
    # Y up, Z away from the sensor: the head is above the spine base, the body ~2.7 m in front
    assert m.positions[0, KINECT_V2.index("Head"), 1] > m.positions[0, 0, 1] + 0.5
    assert 2.0 < m.positions[0, 0, 2] < 3.5


def _edited_kinect(tmp_path: Path, edit) -> Path:
    lines = (REAL / "kinectreader_wavehand.csv").read_text().split("\n")
    out = tmp_path / "joints.csv"
    out.write_text("\n".join(edit(lines)))
    return out


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda ls: [*ls[:10], ",".join(ls[10].split(",")[:-5]) + ",", *ls[11:]], "line 11 has 97 values"),
        (lambda ls: [*ls[:5], ls[5].replace(",2,", ",3,", 1), *ls[6:]], r"tracking state outside 0/1/2"),
        (lambda ls: [*ls[:7], ls[7].replace("2.", "x.", 1), *ls[8:]], r"non-numeric value in Kinect CSV"),
    ],
    ids=["short-line", "bad-state", "non-numeric"],
)
def test_damaged_kinectreader_csv_is_a_one_line_read_error(tmp_path, edit, reason):
    path = _edited_kinect(tmp_path, edit)
    with pytest.raises(ReadError, match=reason) as err:
        read_motion(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_kinectreader_csv_without_the_trailing_commas_reads_the_same(tmp_path):
    path = _edited_kinect(tmp_path, lambda ls: [ln.rstrip(",") for ln in ls])
    np.testing.assert_array_equal(
        read_motion(path).positions, read_motion(REAL / "kinectreader_wavehand.csv").positions
    )


def test_truncated_mvnx_is_a_one_line_read_error(tmp_path):
    data = (REAL / "xsens_mvnx4_upperbody.mvnx").read_bytes()
    path = tmp_path / "cut.mvnx"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ReadError, match="corrupt or truncated XML") as err:
        read_motion(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_real_takes_through_ingest_validate_and_canonical_harmonize(tmp_path):
    files = [REAL / n for n in sorted(ENTRIES)]
    table = _ingest(tmp_path, files)
    assert sorted(table.column("format").to_pylist()) == ["kinect", "mvnx", "mvnx"]
    rules = ValidationRules(harmonize=HarmonizeConfig(joints="canonical"))
    valid, failures = validate_takes(table, rules)
    assert failures == [] and valid.num_rows == len(files)
    out, layouts = harmonize_table(valid, HarmonizeConfig(joints="canonical"))
    assert list(layouts) == ["canonical"]
    assert layouts["canonical"]["joint_names"] == list(CANONICAL.joint_names)
    for row in take_rows(out):
        pos = row_positions(row, np.float64)
        assert pos.shape[1:] == (19, 3) and np.isfinite(pos).all(), row["take_id"]
        # upright (Z-up MVNX and Y-up Kinect alike), facing +Z with the body's left towards +X
        assert_canonical_pose(row["take_id"], pos[0], (1.2, 2.0))
