"""Projector from skeleton-token channels to the language model's embedding width."""

from __future__ import annotations

PROJECTORS = ("linear", "mlp")


def make_projector(kind: str, in_dim: int, out_dim: int):
    """A single linear layer (paper default) or a two-layer GELU MLP."""
    from torch import nn

    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))
    raise ValueError(f"llm.projector must be one of {PROJECTORS}, not {kind!r}")


def projector_in_dim(projector) -> int:
    """The skeleton-token width a projector made by :func:`make_projector` reads."""
    from torch import nn

    first = projector[0] if isinstance(projector, nn.Sequential) else projector
    return int(first.in_features)
