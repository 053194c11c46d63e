"""`skellm inspect` through the real console entry point."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skellm.readers.kinect import write_kinect_text

FIX = Path(__file__).parent / "fixtures"


def _inspect(*args):
    return subprocess.run(
        [sys.executable, "-m", "skellm.apps.cli", "inspect", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_inspect_json_of_a_cmu_file():
    r = _inspect(FIX / "cmu_01_01.bvh", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["format"] == "bvh" and rep["frames"] == 4 and rep["joints"] == 38 and rep["fps"] == 120.0
    assert rep["layout"] == "cmu_bvh" and rep["units"] == "cmu" and 1.3 < rep["height_m"] < 2.0
    assert rep["duration_s"] == round(4 / 120, 4) and rep["joint_names"][1] == "LHipJoint"
    assert rep["problems"] == []


def test_inspect_reports_lost_tracking(tmp_path):
    pos = np.zeros((5, 25, 3))
    pos[:, :, 1] = np.linspace(0, 1.6, 25)
    pos += np.random.default_rng(0).normal(scale=0.01, size=pos.shape)
    state = np.full((5, 25), 2)
    state[:, :5] = 0
    write_kinect_text(tmp_path / "k.txt", pos, np.ones((5, 25, 4)), state)
    r = _inspect(tmp_path / "k.txt")
    assert r.returncode == 0
    assert "20.0% of joint samples not tracked" in r.stdout and "kinect_v2" in r.stdout


def test_inspect_unreadable_file_exits_nonzero_with_one_line(tmp_path):
    p = tmp_path / "broken.bvh"
    p.write_text((FIX / "xsens_mvn.bvh").read_text()[:500])
    r = _inspect(p)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "broken.bvh" in r.stderr and "Traceback" not in r.stderr


def test_inspect_nan_is_a_problem(tmp_path):
    p = tmp_path / "nan.bvh"
    p.write_text((FIX / "xsens_mvn.bvh").read_text().replace("\n0.0000 ", "\nnan ", 1))
    r = _inspect(p, "--json")
    assert r.returncode == 1 and "non-finite" in r.stderr
    assert "non-finite" in json.loads(r.stdout)["problems"][0]


REAL = FIX / "real"
MANIFEST = {e["file"]: e for e in json.loads((REAL / "manifest.json").read_text())["files"]}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_inspect_reads_real_exports(name):
    # The report that started this: CRLF line endings and tabs after 'Frames:' made inspect fail.
    r = _inspect(REAL / name, "--json")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # a reader warning is a listed problem, not a stray Python warning line
    rep = json.loads(r.stdout)
    e = MANIFEST[name]
    assert rep["frames"] == e["frames_kept"] and rep["joints"] == e["joints"] + e["end_sites"]
    assert rep["fps"] == pytest.approx(1 / e["frame_time"], rel=1e-3)
    extra = [p for p in rep["problems"] if p.startswith("extra frames")]
    if e["frames_declared"] != e["frames_kept"]:
        assert extra == [
            f"extra frames: header declares {e['frames_declared']} frames, file has {e['frames_kept']}"
            f" complete frames, kept all {e['frames_kept']}"
        ]
    else:
        assert extra == []


def test_inspect_truncated_bvh_is_a_problem_with_its_report(tmp_path):
    text = (REAL / "mocapbank_walk.bvh").read_bytes().replace(b"Frames:\t30", b"Frames:\t45")
    (tmp_path / "short.bvh").write_bytes(text)
    r = _inspect(tmp_path / "short.bvh")
    why = "truncated: header declares 45 frames, file has 30 complete frames"
    assert r.returncode == 1 and r.stderr == f"skellm inspect: {tmp_path / 'short.bvh'}: {why}\n"
    problems = next(ln for ln in r.stdout.splitlines() if ln.strip().startswith("problems:"))
    assert problems.strip().startswith(f"problems: {why}") and "frames: 30" in r.stdout
