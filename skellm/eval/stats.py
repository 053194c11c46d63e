"""Uncertainty of accuracies measured on small test sets: bootstrap intervals and paired tests.

Test sets of 56-100 takes per corpus make one take worth 1-2 points, so every reported accuracy carries
a percentile-bootstrap 95 % interval (takes resampled with replacement, fixed seed), and two methods
scored on the same takes are compared with the exact McNemar test on the takes where they disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

N_BOOT = 2000


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray, n_boot: int = N_BOOT, level: float = 0.95, seed: int = 0
) -> tuple[float | None, float | None]:
    """Percentile-bootstrap interval of the mean of per-take 0/1 outcomes; (None, None) when empty."""
    x = np.asarray(correct, dtype=np.float64)
    if x.size == 0:
        return None, None
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return round(float(lo), 4), round(float(hi), 4)


def mcnemar(
    a_correct: Sequence[bool] | np.ndarray, b_correct: Sequence[bool] | np.ndarray
) -> dict[str, float | int]:
    """Exact two-sided McNemar test of two methods on the same takes.

    Returns the takes only ``a`` gets right, only ``b`` gets right, and the p-value of the binomial
    test of those discordant counts against an even split (1.0 when they never disagree).
    """
    from scipy.stats import binomtest

    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes must have the same shape, got {a.shape} and {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((b & ~a).sum())
    n = a_only + b_only
    p = 1.0 if n == 0 else float(binomtest(min(a_only, b_only), n, 0.5).pvalue)
    return {"a_only": a_only, "b_only": b_only, "p": round(min(1.0, p), 4)}


def topk_summary(ranks: Sequence[int], classes: int, ks: Iterable[int] = (1, 5)) -> dict[str, Any]:
    """{n, classes, top{k}, top{k}_ci95_low/high, chance_top{k}} from each take's 0-based rank of its
    true class."""
    r: dict[str, Any] = {"n": len(ranks), "classes": classes}
    for k in ks:
        hits = [rk < k for rk in ranks]
        lo, hi = bootstrap_ci(hits)
        r |= {f"top{k}": sum(hits) / len(hits), f"top{k}_ci95_low": lo, f"top{k}_ci95_high": hi}
        r[f"chance_top{k}"] = min(k, classes) / classes
    return r


def true_ranks(scores, truth: Sequence[int]) -> list[int]:
    """0-based rank of each row's true column in ``scores`` (B, C), higher first, ties by column order."""
    import torch

    order = torch.argsort(-scores, dim=1, stable=True)
    return (order == torch.as_tensor(truth)[:, None]).int().argmax(1).tolist()
