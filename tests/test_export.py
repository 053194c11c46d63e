"""`skellm export`: one self-contained folder, a model card, and the same answers from `predict --model`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tinymodels import make_tiny_repo, run_cli, sample_files

from skellm.apps.cli import main


@pytest.fixture(scope="module")
def repo(tmp_path_factory, tiny_llm_dir):
    base = tmp_path_factory.mktemp("export")
    return make_tiny_repo(base / "repo", tiny_llm_dir, base / "samples")


def _files(repo) -> dict[str, Path]:
    return sample_files(repo.parent / "samples")


def _export(argv, monkeypatch, capsys, cwd):
    return run_cli(["export", *argv], monkeypatch, capsys, cwd)


def _predict(argv, monkeypatch, capsys, cwd):
    return run_cli(["predict", *argv], monkeypatch, capsys, cwd)


def test_export_then_predict_elsewhere_gives_identical_answers(repo, tmp_path, monkeypatch, capsys):
    files = [str(p) for p in _files(repo).values()]
    rc, in_repo, err = _predict(["--json", *files], monkeypatch, capsys, repo)
    assert rc == 0, err
    rc, out, err = _export([tmp_path / "dist" / "model"], monkeypatch, capsys, repo)
    assert rc == 0 and err == "" and "skellm predict --model" in out, err
    # move the folder away and predict from a directory that is no repo
    moved = tmp_path / "elsewhere" / "model"
    shutil.move(tmp_path / "dist" / "model", moved)
    rc, exported, err = _predict(["--json", "--model", moved, *files], monkeypatch, capsys, tmp_path)
    assert rc == 0, err
    a = [json.loads(x) for x in in_repo.splitlines()]
    b = [json.loads(x) for x in exported.splitlines()]
    assert len(a) == len(files) and a == b  # labels, probabilities (exact), explanations, corpora


def test_folder_contents_weights_and_model_card(repo, tmp_path, monkeypatch, capsys):
    out = tmp_path / "m"
    rc, _, err = _export([out], monkeypatch, capsys, repo)
    assert rc == 0, err
    spec = json.loads((out / "skellm.json").read_text())
    assert spec["format"] == "skellm-model" and spec["llm"] == "copied"
    assert spec["settings"]["harmonize"]["frames"] == 64 and "corpus_roots" not in spec["settings"]
    assert json.loads((out / "labels.json").read_text()) == json.loads(
        (repo / "data/split/labels.json").read_text()
    )
    assert (out / "encoder/index.json").is_file() and (out / "lora/adapter").is_dir()
    suffixes = {p.suffix for p in out.rglob("*") if p.is_file()}
    assert suffixes <= {".safetensors", ".json", ".md", ".jinja", ".txt"}, suffixes  # no pickles
    assert {p.name for p in out.rglob("*.safetensors")} >= {
        "model.safetensors",
        "projector.safetensors",
        "adapter_model.safetensors",
    }
    card = (out / "README.md").read_text()
    assert "Synthetic data" in card and "| A | 250 |" in card and "| C | 140 |" in card
    assert "| score | 0.600 (0.100) |" in card and "skellm predict --model" in card
    assert json.loads((out / "metrics/data.json").read_text())["takes"]["total"] == 390
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_existing_folder_force_and_atomic_failure(repo, tmp_path, monkeypatch, capsys):
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("user file")
    rc, _, err = _export([out], monkeypatch, capsys, repo)
    assert rc == 1 and err.count("\n") == 1 and str(out) in err and "--force" in err
    assert (out / "keep.txt").exists()

    import skellm.apps.export as export

    def boom(*a, **k):
        raise OSError(28, "No space left on device", "README.md")

    monkeypatch.setattr(export, "write_text", boom)
    rc, _, err = _export([out, "--force"], monkeypatch, capsys, repo)
    assert rc == 1 and err.count("\n") == 1 and "No space left" in err
    assert (out / "keep.txt").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    monkeypatch.undo()
    rc, _, err = _export([out, "--force"], monkeypatch, capsys, repo)
    assert rc == 0 and not (out / "keep.txt").exists() and (out / "skellm.json").is_file()


def test_user_llm_folder_copied_or_linked(repo, tmp_path, monkeypatch, capsys):
    user = tmp_path / "repo2"
    shutil.copytree(repo, user)
    ext = tmp_path / "my-llama"
    shutil.move(user / "models/llm", ext)
    (ext / "source.json").unlink()
    (user / "models/llm").mkdir()
    (user / "models/llm/source.json").write_text(json.dumps({"external": str(ext)}))
    (ext / "pytorch_model.bin").write_bytes(b"pickle")  # never shipped

    rc, _, err = _export([tmp_path / "copied"], monkeypatch, capsys, user)
    assert rc == 0, err
    src = json.loads((tmp_path / "copied/llm/source.json").read_text())
    assert src["external"] is None and src["copied_from"] == str(ext)
    assert (tmp_path / "copied/llm/model.safetensors").is_file()
    assert not (tmp_path / "copied/llm/pytorch_model.bin").exists()

    rc, _, err = _export([tmp_path / "linked", "--link"], monkeypatch, capsys, user)
    assert rc == 0, err
    assert [p.name for p in (tmp_path / "linked/llm").iterdir()] == ["source.json"]
    assert json.loads((tmp_path / "linked/skellm.json").read_text())["llm_path"] == str(ext)

    f = str(_files(repo)["kinect"])
    answers = []
    for folder in ("copied", "linked"):
        rc, out, err = _predict(["--json", "--model", tmp_path / folder, f], monkeypatch, capsys, tmp_path)
        assert rc == 0, err
        answers.append(json.loads(out))
    assert answers[0] == answers[1]


def test_export_outside_a_repo_is_one_line(tmp_path, monkeypatch, capsys):
    rc, out, err = _export([tmp_path / "m"], monkeypatch, capsys, tmp_path)
    assert rc == 1 and out == "" and err.count("\n") == 1 and "params.yaml" in err


def test_help_shows_example(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "example:\n  skellm export" in capsys.readouterr().out


def test_model_card_for_recorded_data():
    from skellm.apps.export import model_card
    from skellm.config import config_from_dict

    settings = {"labels": {"classes": ["a", "b"], "corpora": {"X": ["a", "b"]}}, "harmonize": {}}
    cfg = config_from_dict({"data": {"source": "files"}})
    card = model_card(cfg, settings, {}, {"llm": "linked", "llm_path": "/m"})
    assert "Synthetic" not in card and "| X | – | a, b |" in card and "No metrics" in card
    assert Path("/m").as_posix() in card
