"""The vqvae_tokens stage's files: token export aligned by take id, the not-used outputs, and
``llm.tokens: vqvae`` read by load_tokens / select_tokens."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from skellm.config import Config, LLMConfig, Paths, VQVAEConfig
from skellm.vqvae import PAD, ActionVQVAE, VQConfig
from skellm.vqvae.export import load_vq_tokens, save_vq_tokens, vq_tokens_path
from skellm.vqvae.tokens import run_stage, token_arrays, vq_config

IDS = ["t0", "t1", "t2"]


def _takes(n: int = 3, t: int = 16, j: int = 5) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(n, t, j, 3)).astype(np.float32)
    m = np.ones((n, t), bool)
    m[1, 8:] = False  # take 1: its last two tokens (stride 4) have no valid frame
    return x, m


def _model(geometry: str = "hyperbolic") -> ActionVQVAE:
    torch.manual_seed(0)
    return ActionVQVAE(VQConfig(codes=8, dim=4, stride=4, hidden=8, geometry=geometry), joints=5).eval()


@pytest.mark.parametrize("geometry", ["hyperbolic", "euclidean"])
def test_token_vectors_are_the_codes_in_the_tangent_chart(geometry: str) -> None:
    from skellm.vqvae import poincare

    model = _model(geometry)
    x, m = _takes()
    arr = token_arrays(model, x, m, batch_size=2)  # two batches: rows keep their order
    assert arr["codes"].dtype == np.int64 and arr["codes"].shape == (3, 4)
    assert arr["vectors"].dtype == np.float32 and arr["vectors"].shape == (3, 4, 4)
    assert arr["mask"].tolist()[1] == [True, True, False, False]
    assert (arr["codes"][~arr["mask"]] == PAD).all() and (arr["vectors"][~arr["mask"]] == 0).all()
    np.testing.assert_array_equal(arr["codes"], model.tokenize(torch.as_tensor(x), torch.as_tensor(m)))
    e = model.quantizer.embed.detach()[torch.as_tensor(arr["codes"][arr["mask"]])]
    want = e if geometry == "euclidean" else poincare.logmap0(poincare.expmap0(e, 1.0), 1.0)
    np.testing.assert_allclose(arr["vectors"][arr["mask"]], want.numpy(), atol=1e-5)


def test_saved_tokens_load_only_for_the_same_takes_in_order(tmp_path: Path) -> None:
    x, m = _takes()
    arr = token_arrays(_model(), x, m)
    path = vq_tokens_path(tmp_path, "train")
    assert path.name == "vqvae_train.safetensors"
    save_vq_tokens(path, arr, IDS)
    back = load_vq_tokens(path, IDS)
    np.testing.assert_array_equal(back["codes"].numpy(), arr["codes"])
    assert back["mask"].dtype == torch.bool
    with pytest.raises(ValueError, match="take ids differ"):
        load_vq_tokens(path, ["t1", "t0", "t2"])
    with pytest.raises(ValueError, match="take ids for"):
        save_vq_tokens(path, arr, IDS[:2])


def test_not_used_outputs_are_empty_valid_files_written_fast(tmp_path: Path) -> None:
    paths = Paths(tokens=tmp_path / "tokens", metrics=tmp_path / "metrics")
    cfg = Config(vqvae=VQVAEConfig(out=str(tmp_path / "models/vqvae")))  # llm.tokens: semantic
    t0 = time.perf_counter()
    note = run_stage(cfg, paths)
    assert time.perf_counter() - t0 < 2.0
    assert note["used"] is False and "semantic" in note["reason"]
    assert json.loads((tmp_path / "metrics/vqvae.json").read_text()) == note
    assert json.loads((tmp_path / "models/vqvae/unused.json").read_text()) == note
    w = cfg.harmonize.frames // cfg.vqvae.stride
    for split in ("train", "test"):
        t = load_vq_tokens(vq_tokens_path(paths.tokens, split), [])
        assert t["codes"].shape == (0, w) and t["vectors"].shape == (0, w, cfg.vqvae.dim)
        # a LoRA run asked for vqvae tokens against these says how to make them
        with pytest.raises(ValueError, match="llm.tokens=vqvae"):
            load_vq_tokens(vq_tokens_path(paths.tokens, split), IDS)
    before = vq_tokens_path(paths.tokens, "train").read_bytes()
    run_stage(cfg, paths)
    assert vq_tokens_path(paths.tokens, "train").read_bytes() == before  # same bytes: DVC sees no change


def test_vq_config_takes_the_params_section_fields() -> None:
    v = Config().vqvae
    vq = vq_config(v)
    assert (vq.codes, vq.dim, vq.stride, vq.geometry, vq.dead_after) == (
        v.codes,
        v.dim,
        v.stride,
        v.geometry,
        v.dead_after,
    )


def test_load_tokens_vqvae_adds_aligned_vectors_for_select_tokens(tmp_path: Path) -> None:
    import polars as pl
    from safetensors.torch import save_file

    from skellm.llm.data import load_tokens
    from skellm.llm.model import TOKEN_KINDS, select_tokens

    assert "vqvae" in TOKEN_KINDS and LLMConfig(tokens="vqvae").tokens == "vqvae"
    save_file({"semantic": torch.zeros(3, 6)}, str(tmp_path / "train.safetensors"))
    pl.DataFrame({"take_id": IDS, "corpus": ["A"] * 3}).write_parquet(tmp_path / "train.parquet")
    x, m = _takes()
    arr = token_arrays(_model(), x, m)
    save_vq_tokens(vq_tokens_path(tmp_path, "train"), arr, IDS)
    plain, _ = load_tokens(tmp_path, "train")
    assert "vqvae" not in plain  # the encoder paths do not read the VQ-VAE file
    tensors, _ = load_tokens(tmp_path, "train", "vqvae")
    feats, mask = select_tokens(tensors, "vqvae", [2, 1])
    assert feats.dtype == torch.float32 and feats.shape == (2, 4, 4) and mask.dtype == torch.bool
    np.testing.assert_array_equal(feats.numpy(), arr["vectors"][[2, 1]])
    assert mask[1].tolist() == [True, True, False, False]
    save_vq_tokens(vq_tokens_path(tmp_path, "train"), arr, ["t0", "t2", "t1"])
    with pytest.raises(ValueError, match="take ids differ"):
        load_tokens(tmp_path, "train", "vqvae")


def test_training_killed_midway_resumes_to_the_same_weights(tmp_path: Path, monkeypatch) -> None:
    from skellm.vqvae import train_vqvae

    x, m = _takes(n=6)
    cfg = VQConfig(codes=8, dim=4, stride=4, hidden=8, dead_after=2)  # resets happen: the RNG must resume
    kw = {"cfg": cfg, "steps": 6, "batch_size": 4, "seed": 1}
    ref, ref_hist = train_vqvae(x, m, **kw)
    ckpt = tmp_path / "vqvae.pt"
    real_step, calls = torch.optim.Adam.step, {"n": 0}

    def dying_step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:  # killed during step 5, after the checkpoint at step 4
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        train_vqvae(x, m, **kw, ckpt_path=ckpt, ckpt_every=2)
    monkeypatch.setattr(torch.optim.Adam, "step", real_step)
    assert torch.load(ckpt, weights_only=False)["step"] == 4
    model, hist = train_vqvae(x, m, **kw, ckpt_path=ckpt, ckpt_every=2)
    assert not ckpt.exists()  # a finished run leaves no checkpoint to resume
    assert hist == ref_hist
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v, rtol=0, atol=0, msg=k)
    # another setting must not resume from a stale checkpoint
    with pytest.raises(KeyboardInterrupt):
        monkeypatch.setattr(torch.optim.Adam, "step", dying_step)
        calls["n"] = 0
        train_vqvae(x, m, **kw, ckpt_path=ckpt, ckpt_every=2)
    monkeypatch.setattr(torch.optim.Adam, "step", real_step)
    _, other = train_vqvae(x, m, **{**kw, "seed": 2}, ckpt_path=ckpt, ckpt_every=2)
    assert len(other) == 6 and other != ref_hist
