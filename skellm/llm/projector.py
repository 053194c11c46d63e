"""Projector from skeleton-token channels to the language model's embedding width.

``linear`` (EAI-LLM's) and ``mlp`` map every token on its own; ``tqp`` (SUGAR's Temporal Query
Projection) and ``qformer`` (one Q-Former, its ablation) read the whole token sequence with its mask
and give ``llm.tqp.query_len`` tokens (:mod:`skellm.llm.tqp`).
"""

from __future__ import annotations

from typing import Any

QUERY_PROJECTORS = ("tqp", "qformer")  # read the whole sequence and give their own tokens
PROJECTORS = ("linear", "mlp", *QUERY_PROJECTORS)


def make_projector(kind: str, in_dim: int, out_dim: int, tqp: dict[str, Any] | None = None):
    """A single linear layer (paper default), a two-layer GELU MLP, or a query projector configured by
    ``tqp`` (query_len, depth, heads, width; defaults of :class:`skellm.config.TQPConfig`)."""
    from torch import nn

    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))
    if kind in QUERY_PROJECTORS:
        from skellm.llm.tqp import QueryProjector

        opts = {k: v for k, v in (tqp or {}).items() if k != "chain"}
        return QueryProjector(in_dim, out_dim, chain=kind == "tqp", **opts)
    raise ValueError(f"llm.projector must be one of {PROJECTORS}, not {kind!r}")


def is_sequence_projector(projector) -> bool:
    """Whether ``projector`` reads (tokens, mask) and returns its own tokens and mask."""
    from skellm.llm.tqp import QueryProjector

    return isinstance(projector, QueryProjector)


def projector_options(projector) -> dict[str, Any]:
    """What :func:`make_projector` needs beyond kind and widths to rebuild ``projector``."""
    return dict(projector.config) if is_sequence_projector(projector) else {}


def projector_in_dim(projector) -> int:
    """The skeleton-token width a projector made by :func:`make_projector` reads."""
    from torch import nn

    if is_sequence_projector(projector):
        return projector.in_features
    first = projector[0] if isinstance(projector, nn.Sequential) else projector
    return int(first.in_features)


def fit_linear(projector, x, y, ridge: float = 0.1) -> None:
    """Set a linear ``projector`` to the ridge regression of rows ``y`` (N, H) on rows ``x`` (N, C).

    ``ridge`` is relative to the mean eigenvalue of the centred ``x``'s scatter, so it does not depend
    on the tokens' scale. Solved in float64; the weights keep the projector's dtype and device.
    """
    import torch
    from torch import nn

    if not isinstance(projector, nn.Linear):
        raise ValueError(f"only a linear projector has a closed-form fit, not {type(projector).__name__}")
    x, y = x.double(), y.double()
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    gram = xc.T @ xc
    # tokens that never vary (a collapsed codebook) have no scatter: the map is then the mean target
    lam = max(float(ridge * torch.trace(gram) / gram.shape[0]), 1e-12)
    w = torch.linalg.solve(gram + lam * torch.eye(gram.shape[0], dtype=gram.dtype), xc.T @ yc)  # (C, H)
    with torch.no_grad():
        projector.weight.copy_(w.T.to(projector.weight))
        projector.bias.copy_((my - mx @ w).to(projector.bias))
