"""The whole pipeline through a real `dvc repro` (tiny corpora, the packaged SmolLM2), then `dvc exp run`.

In the session's shared tiny repro (conftest.tiny_pipeline), in order: the full repro ran every stage;
the metrics files hold every figure and `dvc metrics show` lists them; a second repro runs nothing; an
experiment on the LoRA rank re-runs only the LoRA stages and evaluate, and `dvc exp show`,
`dvc metrics diff` and `dvc params diff` show it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pipeline_repo import EXP_RANK, RANK, REPO, TINY, dvc

from skellm.data.table import read_takes
from skellm.eval.evaluate import MODES
from skellm.io import load_params

DESCRIPTION = ("rouge1", "rouge2", "rougeL", "bleu", "meteor", "consistency")
LORA_AND_AFTER = {"lora_describe", "lora_recognize", "evaluate"}


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def _numbers(tree: dict, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a metrics tree by dotted key (what `dvc metrics show` lists)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[prefix + key] = value
    return out


def test_params_read_the_same_after_dvc_rewrites_them(tmp_path: Path) -> None:
    """`dvc exp run -S` rewrites params.yaml as YAML 1.2 (`"no"` loses its quotes): nothing may change."""
    from dvc.utils.serialize import modify_yaml

    path = tmp_path / "params.yaml"
    path.write_text((REPO / "params.yaml").read_text())
    with modify_yaml(path) as params:
        params["lora"]["rank"] = EXP_RANK
    assert path.read_text() != (REPO / "params.yaml").read_text()
    expected = load_params(REPO / "params.yaml")
    expected["lora"]["rank"] = EXP_RANK
    assert load_params(path) == expected


@pytest.mark.slow
@pytest.mark.xdist_group("tiny_pipeline")
def test_dvc_repro_whole_pipeline_then_experiment(tiny_pipeline) -> None:
    """The shared tiny repro ran every stage; its metrics hold every figure; a second repro runs nothing;
    an experiment re-runs what it must."""
    repo, first = tiny_pipeline
    stages = set(dvc(repo, "stage", "list", "--name-only").split())
    assert {"synth", "ingest@A", "prepare_llm"} | LORA_AND_AFTER <= stages
    assert _ran(first) == stages

    _check_metrics(repo)
    _check_tune_decoding(repo)
    _check_probe_tokens(repo)
    second = dvc(repo, "repro")
    assert not _ran(second) and "up to date" in second
    _check_experiment(repo)


def _check_metrics(repo: Path) -> None:
    """metrics/encoder.json and metrics/llm.json hold every figure, and `dvc metrics show` lists them."""
    labels = json.loads((repo / "data/split/labels.json").read_text())
    unseen = set(labels["unseen"]["D"])
    assert unseen == {"hugging", "make_a_phone_call", "standing_up"}  # the default's, as far as tiny has them
    assert labels["tasks"] == {"A": "emotion", "B": "emotion", "C": "emotion", "D": "action"}
    for part, cams in (("train", {"C002", "C003"}), ("test", {"C001"})):  # cross_view: camera 1 tests
        t = read_takes(repo / f"data/split/{part}.parquet", columns=["corpus", "camera", "label"]).to_pylist()
        d = [r for r in t if r["corpus"] == "D"]
        assert {r["camera"] for r in d if r["label"] not in unseen} == cams
        assert not any(r["label"] in unseen for r in d) or part == "test"  # unseen classes never train
    seen = [r["corpus"] for r in t if not (r["corpus"] == "D" and r["label"] in unseen)]  # t: the test split
    n_test = {c: seen.count(c) for c in sorted(set(seen))}  # unseen classes are scored apart, below
    assert sorted(n_test) == ["A", "B", "C", "D"]

    encoder = json.loads((repo / "metrics/encoder.json").read_text())
    assert encoder["n_test"] == n_test
    for key in ("accuracy", "zero_shot"):
        assert set(encoder[key]) == {*n_test, "all"}
        assert all(0.0 <= v <= 1.0 for v in encoder[key].values())

    llm = json.loads((repo / "metrics/llm.json").read_text())
    rec = llm["recognition"]
    assert set(rec) == {*MODES, "baseline"}  # the baseline stage's predictions on the same takes
    base = json.loads((repo / "metrics/baseline.json").read_text())
    for c in n_test:
        assert rec["baseline"][c]["accuracy"] == pytest.approx(base[c]["accuracy"], abs=1e-4)
    assert set(llm["paired"]["encoder_classifier_vs_baseline"]) == {*n_test, "overall"}
    assert llm["threads"] >= 1 and encoder["seed"] == 0
    # zero-shot over D's unseen classes only: encoder, LLM label scoring, LLM class-knowledge ranking
    for zs in (encoder["unseen"]["D"], llm["unseen"]["D"], llm["unseen"]["D"]["knowledge"]):
        assert zs["n"] == 9 and zs["classes"] == 3 and zs["chance_top1"] == pytest.approx(1 / 3, abs=1e-4)
        assert 0.0 <= zs["top1"] <= zs["top5"] == 1.0  # top-5 of three candidates always hits
    for mode in MODES:
        assert {c: rec[mode][c]["n"] for c in n_test} == n_test
        for c in (*n_test, "overall"):
            assert 0.0 <= rec[mode][c]["accuracy"] <= 1.0 and 0.0 <= rec[mode][c]["error_rate"] <= 1.0
    for c in n_test:
        assert rec["score"][c]["error_rate"] == 0.0  # closed-set scoring always names a label
        # evaluate's encoder baseline reads the exported token logits: it must agree with the encoder stage
        assert rec["encoder_classifier"][c]["accuracy"] == pytest.approx(encoder["accuracy"][c], abs=1e-4)
    assert json.loads((repo / "metrics/vqvae.json").read_text())["used"] is False  # llm.tokens: semantic
    desc = llm["description"]
    assert desc["n"] == TINY["eval.max_describe"]
    assert all(0.0 <= desc[k] <= 1.0 for k in DESCRIPTION)

    (workspace,) = json.loads(dvc(repo, "metrics", "show", "--json")).values()
    shown = {name: _numbers(f["data"]) for name, f in workspace["data"].items()}
    for name in ("metrics/encoder.json", "metrics/llm.json", "metrics/baseline.json"):
        assert shown[name] == _numbers(json.loads((repo / name).read_text())), name
    assert {"accuracy.A", "zero_shot.C"} <= set(shown["metrics/encoder.json"])
    listed = {f"recognition.{m}.{c}.{k}" for m in MODES for c in n_test for k in ("accuracy", "error_rate")}
    assert listed | {f"description.{k}" for k in DESCRIPTION} <= set(shown["metrics/llm.json"])
    faith = {f"description.faithfulness{z}.overall.cue_f1" for z in ("", "_zero_tokens")}
    assert faith <= set(shown["metrics/llm.json"])  # dvc metrics show lists the faithfulness metrics


def _run_script(repo: Path, script: str, *args: str) -> tuple[dict, str]:
    """Run scripts/``script`` in ``repo`` with ``-o`` a temporary JSON file: that JSON and the stdout."""
    import subprocess
    import sys
    import tempfile

    from pipeline_repo import env_for

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, str(REPO / "scripts" / script), *args, "-o", str(out)]
        proc = subprocess.run(cmd, cwd=repo, env=env_for(repo), capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(out.read_text()), proc.stdout


def _check_tune_decoding(repo: Path) -> None:
    """scripts/tune_decoding.py explains the LoRA validation takes (never trained as descriptions) with
    the trained model under each decoding setting and picks one; it writes nothing into the repo."""
    result, stdout = _run_script(repo, "tune_decoding.py", "--params", str(repo / "params.yaml"),
                                 "--ngram", "0", "2", "--penalty", "1.0", "1.3")  # fmt: skip
    assert result["n"] == TINY["lora.describe_validation"]
    grid = [(r["no_repeat_ngram"], r["repetition_penalty"]) for r in result["runs"]]
    assert grid == [(0, 1.0), (0, 1.3), (2, 1.0), (2, 1.3)]
    assert all(r["faithfulness"]["overall"]["n"] == result["n"] for r in result["runs"])
    assert tuple(result["pick"].values()) in grid and "| no-repeat n-gram |" in stdout


def _check_probe_tokens(repo: Path) -> None:
    """scripts/probe_tokens.py reads the repo's tokens and predictions: its take counts and its LLM and
    encoder accuracies are evaluate's, recomputed take by take."""
    rec = json.loads((repo / "metrics/llm.json").read_text())["recognition"]
    result = _run_script(repo, "probe_tokens.py")[0]["corpora"]
    assert sorted(result) == ["A", "B", "C", "D"]
    for c, r in result.items():
        assert r["test_takes"] == rec["score"][c]["n"]
        for mode in ("score", "encoder_classifier", "generate"):
            assert r["accuracy"][mode] == pytest.approx(rec[mode][c]["accuracy"], abs=1e-3), (c, mode)
        assert 0.0 <= r["accuracy"]["probe"] <= 1.0 and r["spread_train"] > 0


def _check_experiment(repo: Path) -> None:
    """`dvc exp run` on the LoRA rank and llm.tokens=vqvae re-runs the VQ-VAE, LoRA stages and evaluate
    only; exp show/diffs see it. (One experiment for both: a second would add ~2 min of LoRA + evaluate.)"""

    def metrics(name: str) -> dict:
        return json.loads((repo / "metrics" / name).read_text())

    before = metrics("lora_recognize.json")
    out = dvc(repo, "exp", "run", "-n", "rank8", "-S", f"lora.rank={EXP_RANK}", "-S", "llm.tokens=vqvae")
    assert _ran(out) == {"vqvae_tokens"} | LORA_AND_AFTER
    _check_vqvae_tokens(repo)
    adapter = json.loads((repo / "models/lora_recognize/adapter/adapter_config.json").read_text())
    assert adapter["r"] == EXP_RANK
    after = metrics("lora_recognize.json")
    assert after["final_loss"] != before["final_loss"]

    commits = json.loads(dvc(repo, "exp", "show", "--json"))
    head = next(c for c in commits if c["rev"] != "workspace")
    assert head["data"]["params"]["params.yaml"]["data"]["lora"]["rank"] == RANK
    (exp,) = [e for e in head["experiments"] if e["name"] == "rank8"]
    rev = exp["revs"][0]["data"]
    assert rev["params"]["params.yaml"]["data"]["lora"]["rank"] == EXP_RANK
    assert _numbers(rev["metrics"]["metrics/llm.json"]["data"]) == _numbers(metrics("llm.json"))

    # workspace (the experiment) against HEAD (the first run)
    diff = json.loads(dvc(repo, "metrics", "diff", "--all", "--json"))
    loss = diff["metrics/lora_recognize.json"]["final_loss"]
    assert (loss["old"], loss["new"]) == (before["final_loss"], after["final_loss"])
    assert "recognition.score.A.accuracy" in diff["metrics/llm.json"]
    params = json.loads(dvc(repo, "params", "diff", "--json"))
    assert params["params.yaml"]["lora.rank"] == {"old": RANK, "new": EXP_RANK, "diff": EXP_RANK - RANK}


def _check_vqvae_tokens(repo: Path) -> None:
    """After `-S llm.tokens=vqvae`: the VQ-VAE was trained, and LoRA and evaluate read its tokens."""
    from skellm.llm.model import META_FILE
    from skellm.vqvae.export import load_vq_tokens

    vq = json.loads((repo / "metrics/vqvae.json").read_text())
    assert vq["used"] is True and vq["steps"] == TINY["vqvae.steps"]
    assert 0.0 < vq["test"]["usage"] <= 1.0 and vq["test"]["perplexity"] >= 1.0
    for split in ("train", "test"):
        ids = read_takes(repo / f"data/tokens/{split}.parquet", columns=["take_id"])["take_id"].to_pylist()
        t = load_vq_tokens(repo / f"data/tokens/vqvae_{split}.safetensors", ids)  # same takes, same order
        assert t["vectors"].shape == (len(ids), 64 // 4, TINY["vqvae.dim"])
    meta = json.loads((repo / "models/lora_recognize" / META_FILE).read_text())
    assert (meta["token_kind"], meta["in_dim"]) == ("vqvae", TINY["vqvae.dim"])
    llm = json.loads((repo / "metrics/llm.json").read_text())
    assert set(MODES) <= set(llm["recognition"]) and llm["unseen"]["D"]["n"] == 9
