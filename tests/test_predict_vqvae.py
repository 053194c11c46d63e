"""`skellm predict` with a model trained on the action VQ-VAE's tokens (``llm.tokens: vqvae``), against a
tiny repo whose VQ-VAE the real vqvae_tokens stage trained and exported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from tinymodels import make_tiny_repo, run_cli, sample_files

VQ_PARAMS = {"codes": 8, "dim": 4, "stride": 4, "hidden": 8, "steps": 3, "batch_size": 2, "threads": 1}


def _files(repo: Path) -> dict[str, Path]:
    return sample_files(repo.parent / "samples")


@pytest.fixture(scope="module")
def repo(tmp_path_factory, tiny_llm_dir) -> Path:
    """The tiny repo switched to ``llm.tokens: vqvae``: VQ-VAE trained and exported by run_stage, and a
    LoRA adapter whose projector reads its D-wide vectors."""
    import torch

    from skellm.config import PATHS, load_config
    from skellm.llm.model import load_base, new_model, save_trained
    from skellm.vqvae.tokens import run_stage

    base = tmp_path_factory.mktemp("predict_vqvae")
    root = make_tiny_repo(base / "repo", tiny_llm_dir, base / "samples")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["llm"]["tokens"] = "vqvae"
    params["vqvae"] = {**VQ_PARAMS, "checkpoint_dir": str(base / "ckpt"), "out": "models/vqvae"}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # the stage exports train and test; the test split is the same takes (corpus A's, then C's)
    shutil.copy(root / "data/split/train.parquet", root / "data/split/test.parquet")
    cfg = load_config(root / "params.yaml")
    with pytest.MonkeyPatch.context() as mp:  # the stage writes its outs relative to the repo
        mp.chdir(root)
        assert run_stage(cfg, PATHS)["used"] is True
    llm, tok = load_base(root / "models/llm")
    torch.manual_seed(1)
    model = new_model(llm, tok, cfg.vqvae.dim, cfg.llm, cfg.lora)
    with torch.no_grad():  # peft starts LoRA B at zero; make the adapter matter
        for n, p in model.llm.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    save_trained(model, root / "models/lora_recognize")
    return root


@pytest.fixture(scope="module")
def predictor(repo):
    from skellm.apps.predict import Predictor, repo_artefacts

    return Predictor(repo_artefacts(repo))


def test_every_format_gets_labels_and_probabilities(repo, predictor) -> None:
    files = list(_files(repo).values())
    out = list(predictor.predict_files(files, explain=True, batch_size=4))
    assert [p for p, _, _ in out] == [str(f) for f in files]
    for path, r, err in out:
        assert err is None, err
        probs = r["probabilities"]
        assert r["label"] == max(probs, key=probs.get), path
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5) and isinstance(r["explanation"], str)


def test_vq_vectors_are_the_pipelines_exported_rows(repo, predictor) -> None:
    """Predict's vectors for each split take equal the vqvae_tokens stage's export for that take."""
    from safetensors.numpy import load_file

    from skellm.vqvae.export import vq_tokens_path
    from skellm.vqvae.tokens import load_split_sets

    exported = load_file(vq_tokens_path(repo / "data/tokens", "test"))
    meta = load_split_sets(repo / "data/split")["test"].meta
    files = {"A": _files(repo)["bvh_xsens"], "C": _files(repo)["kinect"]}
    takes = [predictor.prepare(files[m["corpus"]], m["corpus"]) for m in meta]
    joints = [t.row["n_joints"] for t in takes]
    assert predictor.vqvae.joints == max(joints) > min(joints)  # the narrower rig's take is zero-padded
    for row, take in enumerate(takes):
        (tok,) = predictor.encode([take])  # alone: its own joint count, padded to the VQ-VAE's
        np.testing.assert_array_equal(tok["vqvae_mask"], exported["mask"][row])
        np.testing.assert_allclose(tok["vqvae"], exported["vectors"][row], rtol=0, atol=1e-6)
        assert tok["vqvae"].any()  # real code vectors, not the PAD zeros


def test_a_wider_take_than_the_vqvae_is_a_one_line_error(repo, predictor, monkeypatch) -> None:
    files = _files(repo)
    from skellm.vqvae import ActionVQVAE, VQConfig

    narrow = ActionVQVAE(
        VQConfig(**{k: VQ_PARAMS[k] for k in ("codes", "dim", "stride", "hidden")}), joints=25
    )
    monkeypatch.setattr(predictor, "vqvae", narrow.eval())  # as if trained on the Kinect rig only
    (_, a, err_a), (_, b, err_b) = predictor.predict_files(
        [files["kinect"], files["bvh_xsens"]], explain=False
    )
    assert a is not None and err_a is None
    assert b is None and err_b.startswith(f"{files['bvh_xsens']}: ") and "at most 25" in err_b


def test_missing_or_unused_vqvae_names_the_folder(repo, tmp_path, monkeypatch, capsys) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy)
    f = _files(repo)["kinect"]
    shutil.rmtree(copy / "models/vqvae")
    rc, out, err = run_cli(["predict", f], monkeypatch, capsys, copy)
    assert rc == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "models/vqvae" in err and "vqvae_tokens" in err
    (copy / "models/vqvae").mkdir()
    (copy / "models/vqvae/unused.json").write_text(json.dumps({"used": False}))
    rc, _, err = run_cli(["predict", f], monkeypatch, capsys, copy)
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "unused.json" in err


def test_exported_folder_carries_the_vqvae(repo, predictor, tmp_path) -> None:
    from skellm.apps.export import export_model
    from skellm.apps.predict import Predictor, exported_artefacts

    out = export_model(tmp_path / "model", repo)
    assert json.loads((out / "skellm.json").read_text())["parts"]["vqvae"] == "vqvae"
    exported = Predictor(exported_artefacts(out))
    take = predictor.prepare(_files(repo)["kinect"])
    np.testing.assert_array_equal(exported.encode([take])[0]["vqvae"], predictor.encode([take])[0]["vqvae"])
