"""skellm.config: the typed params.yaml (defaults == shipped file, one-line errors, DVC's YAML 1.2 form)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from skellm.config import PATHS, Config, ConfigError, config_from_dict, default_corpora, load_config

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def _error(d: dict) -> str:
    with pytest.raises(ConfigError) as info:
        config_from_dict(d, source="params.yaml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("params.yaml: ")
    return message


def test_shipped_params_equal_the_defaults():
    cfg = load_config(PARAMS)
    assert cfg == Config()
    assert cfg.data.corpora == default_corpora()
    assert sorted(cfg.data.corpora) == ["A", "B", "C", "D"]
    assert set(cfg.split.unseen["D"]) < set(cfg.data.corpora["D"].label_set)
    assert cfg.lora.mixed_precision == "no"
    assert cfg.lora.recognize.steps == 280 and cfg.lora.describe.steps == 30
    assert cfg.encoder.stage_blocks == (1, 1, 1) and cfg.lora.target_modules == ("q_proj", "v_proj")


def test_missing_keys_take_the_defaults():
    cfg = config_from_dict({"lora": {"recognize": {"steps": 5}}})
    assert cfg.lora.recognize == dataclasses.replace(Config().lora.recognize, steps=5)
    assert cfg.lora.recognize.warmup_steps == 10 and cfg.lora.recognize.rehearse == 0.3
    assert dataclasses.replace(cfg, lora=Config().lora) == Config()


def test_misspelt_key_names_the_dotted_key_and_the_closest():
    message = _error({"lora": {"rnak": 128}})
    assert "lora.rnak" in message and "lora.rank" in message


def test_unknown_nested_key_and_section():
    assert "encoder.augment.rotate" in _error({"encoder": {"augment": {"rotat": 0.1}}})
    assert "'lroa'" in _error({"lroa": {"rank": 1}})
    assert "did you mean" not in _error({"zzzzzz": 1})


def test_label_sources_are_free_form():
    corpus = {"root": "r", "labels": [{"kind": "csv", "path": "x.csv", "anything": [1, 2]}]}
    cfg = config_from_dict({"data": {"corpora": {"D": corpus}}})
    assert list(cfg.data.corpora) == ["D"]
    assert cfg.data.corpora["D"].labels == ({"kind": "csv", "path": "x.csv", "anything": [1, 2]},)
    assert "data.corpora.D.root" in _error({"data": {"corpora": {"D": {"patterns": ["*"]}}}})


def test_wrong_type():
    assert _error({"lora": {"rank": "abc"}}) == "params.yaml: lora.rank must be int, got str 'abc'"
    assert "lora.rank must be int" in _error({"lora": {"rank": True}})  # bool is not an int
    assert "lora.target_modules" in _error({"lora": {"target_modules": "q_proj"}})
    assert "seed" in _error({"seed": None})  # None only where Optional
    assert config_from_dict({"llm": {"path": None}}).llm.path is None


def test_int_is_accepted_as_float():
    cfg = config_from_dict({"lora": {"describe": {"lr": 1}}})
    assert cfg.lora.describe.lr == 1.0 and isinstance(cfg.lora.describe.lr, float)


def test_params_as_dvc_exp_run_writes_them(tmp_path):
    # `dvc exp run -S lora.rank=128 -S lora.mixed_precision=no` rewrites params.yaml in YAML 1.2 form
    text = PARAMS.read_text()
    assert "rank: 64" in text and 'mixed_precision: "no"' in text
    path = tmp_path / "params.yaml"
    path.write_text(
        text.replace("rank: 64", "rank: 128").replace('mixed_precision: "no"', "mixed_precision: no")
    )
    cfg = load_config(path)
    assert cfg.lora.rank == 128 and cfg.lora.mixed_precision == "no"
    assert dataclasses.replace(cfg, lora=dataclasses.replace(cfg.lora, rank=64)) == Config()


def test_load_config_error_names_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("lora:\n  rnak: 128\n")
    with pytest.raises(
        ConfigError, match=r"params\.yaml: unknown key 'lora\.rnak' \(did you mean 'lora\.rank'\?\)"
    ):
        load_config(path)


def test_frozen():
    cfg = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lora.rank = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 1  # type: ignore[misc]
    assert hash(cfg.lora) == hash(Config().lora)


def test_to_dict_round_trips(tmp_path):
    cfg = config_from_dict({"seed": 3, "lora": {"holdout_labels": ["surprise"]}})
    d = cfg.to_dict()
    assert d["lora"]["holdout_labels"] == ["surprise"] and d["encoder"]["stage_blocks"] == [1, 1, 1]
    assert json.loads(json.dumps(d)) == d  # plain JSON types only
    assert config_from_dict(d) == cfg
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(d))
    assert load_config(path) == cfg


def test_paths():
    assert PATHS.labels_json == Path("data/split/labels.json") == PATHS.split / "labels.json"
    assert PATHS.metrics_json("lora_recognize") == Path("metrics/lora_recognize.json")
    assert PATHS.text_features.with_suffix(".safetensors") == Path("data/text/features.safetensors")


def test_a_stage_stops_on_a_misspelt_key_with_one_line(tmp_path):
    """The real stage script, run as dvc runs it, on a params.yaml with a typo."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "params.yaml").write_text("lora:\n  rnak: 8\n")
    run = subprocess.run(
        [sys.executable, str(root / "stages" / "split.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "error: params.yaml: unknown key 'lora.rnak' (did you mean 'lora.rank'?)"
    ]


def test_unseen_classes_must_be_in_the_corpus_label_set():
    message = _error({"split": {"unseen": {"D": ["drink_water", "moonwalk"]}}})
    assert "split.unseen.D" in message and "moonwalk" in message and "drink_water" not in message


def test_set_dotted_sets_existing_keys_only():
    from skellm.config import set_dotted

    params = {"encoder": {"epochs": 40, "augment": {"mirror": 0.0}}, "seed": 0}
    set_dotted(params, "encoder.augment.mirror", 0.5)
    set_dotted(params, "seed", 3)
    assert params == {"encoder": {"epochs": 40, "augment": {"mirror": 0.5}}, "seed": 3}
    for stale in ("encoder.epoch", "encoder.epochs.x", "lora.rank"):
        with pytest.raises(KeyError, match=stale):
            set_dotted(params, stale, 1)
