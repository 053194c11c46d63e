"""The VQ-VAE token files (``data/tokens/vqvae_<split>.safetensors``, format in
:mod:`skellm.vqvae.tokens`): paths, writing, and reading with a take-id alignment check.

Kept apart from the stage code so the LoRA and evaluate stages, which read these files, import only
file handling (no split loading)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skellm.io import atomic_path

KEYS = ("codes", "vectors", "mask")


def vq_tokens_path(tokens_dir: str | Path, split: str) -> Path:
    """``<tokens_dir>/vqvae_<split>.safetensors``."""
    return Path(tokens_dir) / f"vqvae_{split}.safetensors"


def save_vq_tokens(path: str | Path, arrays: dict[str, np.ndarray], take_ids: list[str]) -> None:
    """Write ``arrays`` (codes, vectors, mask) with ``take_ids`` in the metadata, atomically."""
    from safetensors.numpy import save_file

    if len(take_ids) != len(arrays["codes"]):
        raise ValueError(f"{len(take_ids)} take ids for {len(arrays['codes'])} token rows")
    with atomic_path(path) as tmp:
        tensors = {k: np.ascontiguousarray(arrays[k]) for k in KEYS}
        save_file(tensors, str(tmp), metadata={"take_ids": json.dumps(list(take_ids))})


def load_vq_tokens(path: str | Path, take_ids: list[str] | None = None) -> dict[str, Any]:
    """The tensors of :func:`save_vq_tokens` (torch); with ``take_ids``, check they are these rows."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        ids = json.loads((f.metadata() or {}).get("take_ids", "[]"))
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a Mapping)
    if take_ids is not None and ids != list(take_ids):
        if not ids:
            raise ValueError(f"{path}: no VQ-VAE tokens (run `dvc exp run -S llm.tokens=vqvae`)")
        raise ValueError(f"{path}: take ids differ from the encoder tokens' rows (stale vqvae_tokens?)")
    return tensors
