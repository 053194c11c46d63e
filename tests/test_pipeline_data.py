"""A real ``dvc repro split`` of the data half in a temporary copy of the repo (tiny synthetic corpora)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skellm.table import read_quarantine, read_takes

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _dvc(cwd: Path, *args: str) -> str:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(cwd)  # the copy's own skellm, not the checkout's
    proc = subprocess.run(
        ["dvc", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPO / "stages" / "synth.py").exists():
        pytest.skip("stages/synth.py (the default data source) is not in this checkout yet")
    dst = tmp_path_factory.mktemp("repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("dvc.yaml", "params.yaml", ".dvcignore"):
        shutil.copy(REPO / name, dst / name)
    for name in ("stages", "skellm"):
        shutil.copytree(REPO / name, dst / name, ignore=ignore)
    (dst / ".dvc").mkdir()
    shutil.copy(REPO / ".dvc" / "config", dst / ".dvc" / "config")
    params = yaml.safe_load((dst / "params.yaml").read_text())
    params["data"]["synth"]["size"] = "tiny"
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q", str(dst)], check=True)
    return dst


def test_dvc_repro_split_then_nothing_to_do(repo: Path) -> None:
    _dvc(repo, "repro", "split")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    corpora = sorted(params["data"]["corpora"])

    raw_files = {
        c: sum(
            1 for pat in params["data"]["corpora"][c]["patterns"] for _ in (repo / "data/raw" / c).glob(pat)
        )
        for c in corpora
    }
    takes = read_takes(repo / "data/validated/takes.parquet")
    quarantine = read_quarantine(repo / "data/validated/quarantine.parquet")
    for c in corpora:  # every raw file is a take or quarantined, per corpus
        kept = takes.column("corpus").to_pylist().count(c)
        dropped = quarantine.column("corpus").to_pylist().count(c)
        assert raw_files[c] > 0 and kept + dropped == raw_files[c], c
    metrics = json.loads((repo / "metrics/data.json").read_text())
    assert metrics["takes"]["total"] == takes.num_rows

    harmonized = read_takes(
        repo / "data/harmonized/takes.parquet", columns=["take_id", "n_frames", "layout", "units"]
    )
    assert set(harmonized.column("n_frames").to_pylist()) == {params["harmonize"]["frames"]}
    assert set(harmonized.column("units").to_pylist()) == {"m"}
    layouts = json.loads((repo / "data/harmonized/layouts.json").read_text())
    assert set(harmonized.column("layout").to_pylist()) == set(layouts)

    train = read_takes(repo / "data/split/train.parquet", columns=["take_id", "corpus", "split"])
    test = read_takes(repo / "data/split/test.parquet", columns=["take_id", "corpus", "split"])
    assert train.num_rows + test.num_rows == harmonized.num_rows == takes.num_rows
    assert not set(train.column("take_id").to_pylist()) & set(test.column("take_id").to_pylist())
    assert set(test.column("corpus").to_pylist()) == set(corpora)
    labels = json.loads((repo / "data/split/labels.json").read_text())
    for c in corpora:
        assert set(labels["corpora"][c]) <= set(params["data"]["corpora"][c]["label_set"])

    second = _dvc(repo, "repro", "split")
    assert "Running stage" not in second and "up to date" in second
