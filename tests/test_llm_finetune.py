"""``lora.encoder: finetune``: the skeleton encoder trained with the LoRA adapter, on real files.

A tiny repo (real files of every reader format, harmonized as the pipeline does, a tiny CTR-GCN and a
2-layer LLaMA with the SmolLM2 tokenizer) gets its tokens from the encode_tokens stage's own code; the
recognition stage then trains the encoder with the adapter, and whatever reads the adapter (evaluate's
tokens, predict) must see the fine-tuned encoder's tokens, not the stage's.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tinymodels import dying_make_step, make_tiny_repo, sample_files

from skellm.config import PATHS, LoraConfig, LoraStepsConfig, config_from_dict, set_dotted
from skellm.io import load_params

STEPS = 4


@pytest.fixture(scope="module")
def repo(tmp_path_factory, tiny_llm_dir):
    """The tiny repo with ``data/tokens`` written by the encode_tokens stage (test = a copy of train)."""
    from skellm.encoder.infer import run_stage

    base = tmp_path_factory.mktemp("finetune")
    root = make_tiny_repo(base / "repo", tiny_llm_dir, base / "samples")
    shutil.copy(root / "data/split/train.parquet", root / "data/split/test.parquet")
    run_stage(_cfg(root), _paths(root))
    return root


def _cfg(root: Path, **sets):
    params = load_params(root / "params.yaml")
    set_dotted(params, "encoder.out", str(root / "models/encoder"))
    for key, value in sets.items():  # keys the tiny params leave at their defaults too
        *parents, leaf = key.split(".")
        node = params
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value
    return config_from_dict(params)


def _paths(root: Path):
    return dataclasses.replace(PATHS, split=root / "data/split", tokens=root / "data/tokens")


def _lora(encoder: str) -> LoraConfig:
    rec = LoraStepsConfig(steps=STEPS, batch_size=2, lr=1e-3, projector_lr=1e-3, warmup_steps=1,
                          encoder_lr=1e-2)  # fmt: skip
    return LoraConfig(rank=4, alpha=8, dropout=0.0, describe_validation=0, recognize=rec, encoder=encoder,
                      checkpoint_every=2)  # fmt: skip


def _train(repo: Path, llm_dir: Path, out: Path, encoder: str = "finetune"):
    from skellm.data.labelspace import LabelSpace
    from skellm.llm.train import train_stage

    cfg = _cfg(repo)
    return train_stage(
        "recognize",
        tokens_dir=repo / "data/tokens",
        llm_dir=llm_dir,
        out_dir=out / "recognize",
        llm_cfg=cfg.llm,
        lora=_lora(encoder),
        seed=0,
        ckpt_dir=out / "ckpt",
        curves_path=out / "curve.csv",
        norm_spec=LabelSpace.load(repo / "data/split/labels.json"),
        encoder_dir=repo / "models/encoder/joint",
        split_dir=repo / "data/split",
    )


def test_finetuned_encoder_trains_saves_and_feeds_every_reader(repo, tiny_llm_dir, tmp_path):
    from skellm.encoder.infer import infer, load_encoder
    from skellm.llm.data import load_tokens
    from skellm.llm.encoded import ENCODER_DIR, model_tokens, split_set
    from skellm.llm.model import load_trained

    _train(repo, tiny_llm_dir, tmp_path)
    saved = tmp_path / "recognize"
    before = load_file(repo / "models/encoder/joint/model.safetensors")
    after = load_file(saved / ENCODER_DIR / "model.safetensors")
    assert before.keys() == after.keys()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    # the weights under the LM's tokens trained; the classifier, text projection and BatchNorm
    # statistics (eval mode throughout) did not
    assert any(k.startswith("backbone.") for k in changed) and any(
        k.startswith("tokenizer.") for k in changed
    )
    assert not {
        k for k in changed if k.startswith(("tokenizer.head", "text_proj", "logit_scale", "class_text"))
    }
    assert not {k for k in changed if "running_" in k or "num_batches" in k}

    model = load_trained(tiny_llm_dir, saved).eval()
    assert model.encoder is not None and not any(p.requires_grad for p in model.encoder.parameters())
    frozen, table = load_tokens(repo / "data/tokens", "train", model.token_kind)
    tensors, table2 = model_tokens(model, repo / "data/tokens", "train", repo / "data/split")
    assert table2["take_id"].to_list() == table["take_id"].to_list()
    enc, _, _ = load_encoder(saved / ENCODER_DIR)
    data = split_set(repo / "data/split", "train", table, frozen["spatial"].shape[1])
    own = infer(enc, data)
    for key in ("semantic", "spatial", "temporal"):
        assert torch.allclose(tensors[key], torch.from_numpy(own[key]), atol=1e-5)
        assert not torch.allclose(tensors[key], frozen[key], atol=1e-3)
    assert torch.equal(tensors["logits"], frozen["logits"])  # evaluate's encoder_classifier: pretrained
    assert (saved / "label_norm.json").exists()

    # predict encodes files with the adapter's encoder too
    from skellm.apps.predict import Predictor, repo_artefacts

    shutil.rmtree(repo / "models/lora_recognize")
    shutil.copytree(saved, repo / "models/lora_recognize")
    pred = Predictor(repo_artefacts(repo))
    assert all(m is pred.lm.encoder for m, _ in pred.encoders.values())
    takes = [pred.prepare(p) for p in sample_files(repo.parent / "samples").values()][:2]
    tok = pred.encode(takes)
    ref = infer(enc, _set_of(takes, pred))
    for i, t in enumerate(tok):
        assert torch.allclose(
            torch.from_numpy(t["semantic"]), torch.from_numpy(ref["semantic"][i]), atol=1e-5
        )


def _set_of(takes, pred):
    from skellm.encoder.dataset import from_rows

    _, cfg = next(iter(pred.encoders.values()))
    return from_rows([t.row for t in takes], cfg["classes"], cfg["label_field"])


def test_frozen_encoder_writes_no_encoder_and_reads_the_stage_tokens(repo, tiny_llm_dir, tmp_path):
    from skellm.llm.data import load_tokens
    from skellm.llm.encoded import ENCODER_DIR, model_tokens
    from skellm.llm.model import load_trained

    _train(repo, tiny_llm_dir, tmp_path, encoder="frozen")
    assert not (tmp_path / "recognize" / ENCODER_DIR).exists()
    model = load_trained(tiny_llm_dir, tmp_path / "recognize")
    assert model.encoder is None
    a, _ = load_tokens(repo / "data/tokens", "test", model.token_kind)
    b, _ = model_tokens(model, repo / "data/tokens", "test", repo / "data/split")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_finetuning_resumes_to_the_same_encoder(repo, tiny_llm_dir, tmp_path, monkeypatch):
    """Killed after step 3 (checkpoint at 2) and resumed: the same encoder as an uninterrupted run."""
    from skellm.llm import train
    from skellm.llm.encoded import ENCODER_DIR

    _train(repo, tiny_llm_dir, tmp_path / "whole")
    real = train.make_step
    monkeypatch.setattr(train, "make_step", dying_make_step(real, 4))
    with pytest.raises(KeyboardInterrupt):
        _train(repo, tiny_llm_dir, tmp_path / "again")
    assert (tmp_path / "again/ckpt/last").read_text().strip() == "step-00000002"
    monkeypatch.setattr(train, "make_step", real)
    _train(repo, tiny_llm_dir, tmp_path / "again")
    a = load_file(tmp_path / "whole/recognize" / ENCODER_DIR / "model.safetensors")
    b = load_file(tmp_path / "again/recognize" / ENCODER_DIR / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"lora.encoder": "tuned"}, "lora.encoder must be one of"),
        ({"lora.encoder": "finetune", "llm.tokens": "vqvae"}, "llm.tokens vqvae"),
        ({"lora.encoder": "finetune", "encoder.training": "separate"}, "encoder.training joint"),
    ],
)
def test_finetune_params_that_cannot_work_are_refused(repo, sets, message):
    from skellm.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        _cfg(repo, **sets)
