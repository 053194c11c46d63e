"""LLM-AR's tokenizer: an action VQ-VAE with a Euclidean or hyperbolic codebook and language-like
(Zipf, context) regularisers, turning skeleton sequences into discrete "action sentences".

The names below are imported on first use: the vqvae_tokens stage's not-used path and the token-file
readers (:mod:`skellm.vqvae.export`) must not pay for importing torch (seconds on a loaded CPU)."""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "PAD": "codebook",
    "VectorQuantizer": "codebook",
    "ActionVQVAE": "model",
    "VQConfig": "model",
    "VQOutput": "model",
    "load": "train",
    "save": "train",
    "train_vqvae": "train",
}
__all__ = ["PAD", "ActionVQVAE", "VQConfig", "VQOutput", "VectorQuantizer", "load", "save", "train_vqvae"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
