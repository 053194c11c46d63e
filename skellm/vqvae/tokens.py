"""The vqvae_tokens stage: train the action VQ-VAE on the split and export its action sentences.

Per split, ``data/tokens/vqvae_<split>.safetensors`` holds, in the row order of the encoder tokens'
``data/tokens/<split>.parquet`` (both read ``data/split/<split>.parquet`` with
:func:`skellm.encoder.dataset.load_split`):

- ``codes`` (N, W) int64, the code index per token, PAD (-1) where the token has no valid frame;
- ``vectors`` (N, W, D) float32, the token's code vector as the decoder reads it (the code itself, or
  for the hyperbolic codebook ``logmap0`` of its ball point: a tangent vector, so a linear projector
  reads it in a flat chart), zero at PAD;
- ``mask`` (N, W) bool, True at real tokens;

and its metadata ``take_ids`` (JSON list) so a reader can check the alignment
(:func:`skellm.vqvae.export.load_vq_tokens`).

When ``llm.tokens`` is not ``vqvae`` nothing is trained: the stage writes the same files with N = 0
rows, ``models/vqvae/unused.json`` and ``{"used": false}`` metrics, in well under a second, so the
default pipeline pays nothing and the outs exist for DVC.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from skellm.config import PATHS, Config, Paths, VQVAEConfig
from skellm.io import write_json
from skellm.vqvae.export import save_vq_tokens, vq_tokens_path

SPLITS = ("train", "test")
UNUSED_FILE = "unused.json"


def vq_config(cfg: VQVAEConfig):
    """The :class:`skellm.vqvae.model.VQConfig` of a ``vqvae`` params section."""
    import dataclasses

    from skellm.vqvae.model import VQConfig

    names = {f.name for f in dataclasses.fields(VQConfig)}
    return VQConfig(**{k: v for k, v in dataclasses.asdict(cfg).items() if k in names})


def load_split_sets(split_dir: str | Path, splits=SPLITS) -> dict[str, Any]:
    """{split: SkeletonSet} of ``split_dir/<split>.parquet``, padded to one joint count as in
    encode_tokens, so rows come in the same order as the encoder tokens."""
    from skellm.data.labelspace import LabelSpace
    from skellm.data.table import max_joints
    from skellm.encoder.dataset import load_split

    split_dir = Path(split_dir)
    labels = LabelSpace.load(split_dir / "labels.json")
    n_max = max_joints(split_dir / f"{s}.parquet" for s in splits)
    return {s: load_split(split_dir / f"{s}.parquet", labels, n_max) for s in splits}


def token_arrays(
    model, positions: np.ndarray, masks: np.ndarray, batch_size: int = 256
) -> dict[str, np.ndarray]:
    """``codes``, ``vectors`` and ``mask`` (see the module docstring) of (N, T, J, 3) takes."""
    import torch

    from skellm.vqvae.codebook import PAD

    codes, vectors = [], []
    with torch.no_grad():
        for i in range(0, len(positions), batch_size):
            x = torch.as_tensor(positions[i : i + batch_size], dtype=torch.float32)
            m = torch.as_tensor(masks[i : i + batch_size], dtype=torch.bool)
            c = model.tokenize(x, m)
            v = model.quantizer.decoded(c.clamp_min(0)) * (c != PAD)[..., None]
            codes.append(c)
            vectors.append(v.float())
    w, d = len(positions[0]) // model.cfg.stride if len(positions) else 0, model.cfg.dim
    c = torch.cat(codes) if codes else torch.zeros((0, w), dtype=torch.long)
    v = torch.cat(vectors) if vectors else torch.zeros((0, w, d))
    return {"codes": c.numpy().astype(np.int64), "vectors": v.numpy(), "mask": (c != PAD).numpy()}


def _write_unused(cfg: Config, paths: Paths) -> dict[str, Any]:
    w = cfg.harmonize.frames // cfg.vqvae.stride
    empty = {
        "codes": np.zeros((0, w), np.int64),
        "vectors": np.zeros((0, w, cfg.vqvae.dim), np.float32),
        "mask": np.zeros((0, w), bool),
    }
    for split in SPLITS:
        save_vq_tokens(vq_tokens_path(paths.tokens, split), empty, [])
    note = {"used": False, "reason": f"llm.tokens is {cfg.llm.tokens!r}, not 'vqvae': nothing trained"}
    write_json(Path(cfg.vqvae.out) / UNUSED_FILE, note)
    write_json(paths.metrics_json("vqvae"), note)
    print(f"vqvae_tokens: {note['reason']} (empty token files written)")
    return note


def run_stage(cfg: Config, paths: Paths = PATHS) -> dict[str, Any]:
    """vqvae_tokens stage: train on the train split, export both splits' tokens, write metrics."""
    if cfg.llm.tokens != "vqvae":
        return _write_unused(cfg, paths)
    import torch

    from skellm.cpus import set_torch_threads
    from skellm.vqvae.codebook import perplexity
    from skellm.vqvae.train import save, train_vqvae

    v = cfg.vqvae
    threads = set_torch_threads(v.threads)
    sets = load_split_sets(paths.split)
    train = sets["train"]
    t0 = time.perf_counter()
    model, hist = train_vqvae(
        train.positions,
        train.time_mask,
        vq_config(v),
        v.steps,
        v.batch_size,
        v.lr,
        cfg.seed,
        progress=True,
        ckpt_path=Path(v.checkpoint_dir) / "vqvae.pt",
        ckpt_every=v.checkpoint_every,
    )
    secs = time.perf_counter() - t0
    out_dir = Path(v.out)
    (out_dir / UNUSED_FILE).unlink(missing_ok=True)
    save(model, out_dir)
    metrics: dict[str, Any] = {"used": True, "train_seconds": round(secs, 1), "steps": v.steps}
    metrics["threads"], metrics["train_recon"] = threads, hist[-1]["recon"]
    for split, data in sets.items():
        arrays = token_arrays(model, data.positions, data.time_mask)
        save_vq_tokens(vq_tokens_path(paths.tokens, split), arrays, [m["take_id"] for m in data.meta])
        valid = torch.as_tensor(arrays["codes"][arrays["mask"]])
        with torch.no_grad():
            recon = float(
                model(torch.as_tensor(data.positions), torch.as_tensor(data.time_mask)).losses["recon"]
            )
        metrics[split] = {
            "n": len(data),
            "recon": recon,
            "usage": float(valid.unique().numel() / v.codes),
            "perplexity": float(perplexity(valid, v.codes)),
        }
        print(f"{split}: {len(data)} takes -> {vq_tokens_path(paths.tokens, split)}")
    write_json(paths.metrics_json("vqvae"), metrics)
    return metrics
