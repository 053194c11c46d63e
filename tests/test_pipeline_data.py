"""A real ``dvc repro split`` of the data half in a temporary copy of the repo (tiny synthetic corpora)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pipeline_repo import REPO, dvc, make_repo

from skellm.data.table import read_quarantine, read_takes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPO / "stages" / "synth.py").exists():
        pytest.skip("stages/synth.py (the default data source) is not in this checkout yet")
    return make_repo(tmp_path_factory.mktemp("repo"), {"data.synth.size": "tiny"})


def test_dvc_repro_split_then_nothing_to_do(repo: Path) -> None:
    dvc(repo, "repro", "split")
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

    second = dvc(repo, "repro", "split")
    assert "Running stage" not in second and "up to date" in second
