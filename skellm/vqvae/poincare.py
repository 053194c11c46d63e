"""Poincaré-ball maths with curvature ``c > 0`` (the ball of radius 1/sqrt(c)), written by hand.

Why not geoopt: geoopt 0.5.1 was checked with torch 2.14 (in a throw-away target dir, not installed):
its ``PoincareBall`` values match the closed forms and pass ``gradcheck``, but its maths is compiled
with ``torch.jit.script``, which torch 2.14 deprecates (a FutureWarning on every import) and a later
torch may drop. The tokenizer needs five functions (~60 lines) and no Riemannian optimiser (codes are
stored as tangent vectors at 0 and trained with plain Adam, see :mod:`skellm.vqvae.codebook`), so a
dependency is not worth that risk. Cross-checked once against geoopt: the maps agree to <= 3e-7 (float64;
float32 differs by geoopt's wider 4e-3 boundary margin), and :func:`dist` is closer than geoopt's to a
50-digit mpmath reference near the boundary and at tiny distances (see its docstring).

Conventions: points are (..., D) tensors, the last dim is the vector. Every map that produces a ball
point ends with :func:`project`, which keeps ``sqrt(c) |x| <= 1 - eps`` so artanh stays finite and its
gradient bounded (1 / (1 - r^2) <= 1 / eps); norms are clamped at ``MIN_NORM`` so x / |x| is defined
at 0 (its gradient is then 0, the maps being ~linear there).
"""

from __future__ import annotations

import torch

MIN_NORM = 1e-15
EPS = 1e-5  # boundary margin, relative to the radius 1/sqrt(c)


def _norm(x: torch.Tensor) -> torch.Tensor:
    return x.norm(dim=-1, keepdim=True).clamp_min(MIN_NORM)


def _artanh(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    # rounding can put a projected point's norm a hair over 1 - eps: clamp so artanh never sees 1
    return torch.atanh(x.clamp(-1 + eps, 1 - eps))


def project(x: torch.Tensor, c: float, eps: float = EPS) -> torch.Tensor:
    """``x`` with its norm clipped to (1 - eps) / sqrt(c): strictly inside the ball."""
    r = (1 - eps) / c**0.5
    n = _norm(x)
    return torch.where(n > r, x * (r / n), x)


def expmap0(v: torch.Tensor, c: float) -> torch.Tensor:
    """Exponential map at 0: tangent vector v -> tanh(sqrt(c)|v|) v / (sqrt(c)|v|), on the ball."""
    sc = c**0.5
    n = _norm(v)
    return project(torch.tanh(sc * n) * v / (sc * n), c)


def logmap0(y: torch.Tensor, c: float) -> torch.Tensor:
    """Logarithmic map at 0 (inverse of :func:`expmap0`): y -> artanh(sqrt(c)|y|) y / (sqrt(c)|y|)."""
    sc = c**0.5
    n = _norm(y)
    return _artanh(sc * n) * y / (sc * n)


def mobius_add(x: torch.Tensor, y: torch.Tensor, c: float) -> torch.Tensor:
    """Möbius addition x (+)_c y = ((1 + 2c<x,y> + c|y|^2) x + (1 - c|x|^2) y)
    / (1 + 2c<x,y> + c^2 |x|^2 |y|^2)."""
    xy = (x * y).sum(-1, keepdim=True)
    x2 = (x * x).sum(-1, keepdim=True)
    y2 = (y * y).sum(-1, keepdim=True)
    num = (1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y
    den = 1 + 2 * c * xy + c**2 * x2 * y2
    return project(num / den.clamp_min(MIN_NORM), c)


def dist(x: torch.Tensor, y: torch.Tensor, c: float) -> torch.Tensor:
    """Geodesic distance, broadcast over leading dims (drops the last).

    Equal to (2 / sqrt(c)) artanh(sqrt(c) |(-x) (+)_c y|) but computed as (1 / sqrt(c)) arcosh(1 + delta),
    delta = 2c |x - y|^2 / ((1 - c|x|^2)(1 - c|y|^2)), with arcosh(1 + delta) = log1p(delta +
    sqrt(delta (delta + 2))): the Möbius form's argument rounds to 1 in float32 once d > ~8/sqrt(c)
    (points near the boundary), and plain acosh(1 + delta) rounds for tiny delta; this form is accurate
    in both. |x - y|^2 is summed from the differences, not expanded, for the same reason. delta is
    clamped at MIN_NORM because sqrt' is infinite at 0 (x == y): such pairs get zero gradient, which
    is right at a minimum of the distance.
    """
    d2 = (x - y).pow(2).sum(-1)
    lx = (1 - c * x.pow(2).sum(-1)).clamp_min(MIN_NORM)
    ly = (1 - c * y.pow(2).sum(-1)).clamp_min(MIN_NORM)
    delta = (2 * c * d2 / (lx * ly)).clamp_min(MIN_NORM)
    return torch.log1p(delta + torch.sqrt(delta * (delta + 2))) / c**0.5


def pairwise_dist(x: torch.Tensor, y: torch.Tensor, c: float) -> torch.Tensor:
    """(N, M) distances between the rows of x (N, D) and y (M, D); memory is O(N M D)."""
    return dist(x[:, None, :], y[None, :, :], c)
