"""Vector quantizer with a Euclidean or hyperbolic (Poincaré-ball) codebook of U codes of width D.

Codes are stored as an (U, D) parameter. In the hyperbolic geometry both the encoder latents and the
codes are read as tangent vectors at the origin and mapped onto the ball with ``expmap0``; distances
are geodesic distances there. Storing tangent vectors keeps every parameter Euclidean, so plain Adam
trains them (no Riemannian optimiser), and the decoder gets ``logmap0`` of the chosen ball point, i.e.
the code read back in the same tangent chart.

Losses (squared distance d^2 of the geometry, averaged over the valid positions):
codebook = d^2(sg[z], e_k), commitment = beta d^2(z, sg[e_k]), k the nearest code; the output is
straight-through, z + sg[e_k - z], so the decoder's gradient reaches the encoder unchanged.

Dead codes: the codebook is learned by the codebook loss (no EMA of cluster sums, so nothing geometry
specific is averaged); what is tracked is usage. ``ema_usage`` is an EMA (``ema_decay``) of each code's
share of the assignments, ``unused`` counts the training steps since a code was last chosen. At the
start of a training forward, every code unused for ``dead_after`` steps is replaced by a random current
latent of the batch (in the hyperbolic geometry a tangent vector, so the new code's ball point *is*
that latent's). Doing it before the distances are computed keeps autograd's saved tensors intact.
Adam's moments for a reset row are left as they are (the quantizer does not own the optimiser).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from skellm.vqvae import poincare

GEOMETRIES = ("euclidean", "hyperbolic")
PAD = -1  # the code of a position with no valid frame


class Quantized(NamedTuple):
    """``quantized`` (..., D) straight-through output; ``codes`` (...) long (PAD where masked);
    ``sq_dist`` (..., U) squared distances to every code (differentiable); ``losses`` codebook and
    commitment (beta included); ``stats`` usage, perplexity, running_perplexity, alive, resets."""

    quantized: torch.Tensor
    codes: torch.Tensor
    sq_dist: torch.Tensor
    losses: dict[str, torch.Tensor]
    stats: dict[str, torch.Tensor]


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over the True entries of ``mask`` (same shape); 0 when there are none."""
    m = mask.to(x.dtype)
    return (x * m).sum() / m.sum().clamp_min(1)


def perplexity(codes: torch.Tensor, n_codes: int) -> torch.Tensor:
    """exp(H(p)) of the code histogram p (the mean one-hot) of ``codes`` (1D long)."""
    if codes.numel() == 0:
        return torch.tensor(0.0)
    p = torch.bincount(codes, minlength=n_codes).float() / codes.numel()
    return torch.exp(-torch.special.xlogy(p, p).sum())


class VectorQuantizer(nn.Module):
    """Nearest-code quantizer; see the module docstring for geometry, losses and dead-code resets."""

    def __init__(
        self,
        codes: int,
        dim: int,
        geometry: str = "hyperbolic",
        curvature: float = 1.0,
        beta: float = 0.25,
        dead_after: int = 50,
        ema_decay: float = 0.99,
    ):
        super().__init__()
        if geometry not in GEOMETRIES:
            raise ValueError(f"geometry must be one of {', '.join(GEOMETRIES)}, not {geometry!r}")
        if curvature <= 0:
            raise ValueError(f"curvature must be > 0, not {curvature}")
        self.n_codes, self.dim, self.geometry = int(codes), int(dim), geometry
        self.c, self.beta = float(curvature), float(beta)
        self.dead_after, self.ema_decay = int(dead_after), float(ema_decay)
        # small init (VQ-VAE's uniform(-1/U, 1/U)): near the origin, where the ball is ~Euclidean
        self.embed = nn.Parameter(torch.empty(codes, dim).uniform_(-1 / codes, 1 / codes))
        self.register_buffer("ema_usage", torch.full((codes,), 1.0 / codes))
        self.register_buffer("unused", torch.zeros(codes, dtype=torch.long))

    def points(self, v: torch.Tensor) -> torch.Tensor:
        """Where latents/codes ``v`` (..., D) live: themselves, or expmap0(v) on the ball."""
        return v if self.geometry == "euclidean" else poincare.expmap0(v, self.c)

    def pair_sq_dist(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Squared distance between the latents/codes a and b (broadcast, last dim is D)."""
        if self.geometry == "euclidean":
            return (a - b).pow(2).sum(-1)
        return poincare.dist(self.points(a), self.points(b), self.c).pow(2)

    def sq_distances(self, z: torch.Tensor) -> torch.Tensor:
        """(N, U) squared distances from latents z (N, D) to every code."""
        return self.pair_sq_dist(z[:, None, :], self.embed[None, :, :])

    def decoded(self, codes: torch.Tensor) -> torch.Tensor:
        """The vectors the decoder sees for ``codes``: the code, or logmap0 of its ball point."""
        e = self.embed[codes]
        return e if self.geometry == "euclidean" else poincare.logmap0(self.points(e), self.c)

    @torch.no_grad()
    def assign(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest code of each latent z (..., D); no state changes."""
        return self.sq_distances(z.reshape(-1, self.dim)).argmin(-1).reshape(z.shape[:-1])

    @torch.no_grad()
    def _reset_dead(self, latents: torch.Tensor) -> int:
        dead = torch.nonzero(self.unused >= self.dead_after).flatten()
        if len(dead) == 0 or len(latents) == 0:
            return 0
        n = len(latents)
        # distinct latents when there are enough, so two revived codes do not start as twins
        pick = torch.randperm(n)[: len(dead)] if n >= len(dead) else torch.randint(n, (len(dead),))
        self.embed[dead] = latents[pick].to(self.embed.dtype)
        self.unused[dead] = 0
        self.ema_usage[dead] = 1.0 / self.n_codes
        return len(dead)

    @torch.no_grad()
    def _track(self, codes: torch.Tensor) -> None:
        if codes.numel() == 0:
            return
        counts = torch.bincount(codes, minlength=self.n_codes)
        share = counts.float() / codes.numel()
        self.ema_usage.mul_(self.ema_decay).add_(share, alpha=1 - self.ema_decay)
        self.unused.copy_(torch.where(counts > 0, torch.zeros_like(self.unused), self.unused + 1))

    def forward(self, z: torch.Tensor, mask: torch.Tensor | None = None) -> Quantized:
        """Quantize latents z (..., D); ``mask`` (...) bool marks the positions that count (None: all).
        In training mode, dead codes are reset first and usage is tracked."""
        shape = z.shape[:-1]
        zf = z.reshape(-1, self.dim)
        m = torch.ones(len(zf), dtype=torch.bool, device=z.device) if mask is None else mask.reshape(-1)
        resets = self._reset_dead(zf[m].detach()) if self.training else 0
        d2 = self.sq_distances(zf)
        codes = d2.detach().argmin(-1)
        e = self.embed[codes]
        losses = {
            "codebook": masked_mean(self.pair_sq_dist(zf.detach(), e), m),
            "commitment": self.beta * masked_mean(self.pair_sq_dist(zf, e.detach()), m),
        }
        q = zf + (self.decoded(codes) - zf).detach()
        used = codes[m]
        if self.training:
            self._track(used)
        p_run = self.ema_usage / self.ema_usage.sum()
        stats = {
            "usage": torch.tensor(float(used.unique().numel()) / self.n_codes),
            "perplexity": perplexity(used, self.n_codes),
            "running_perplexity": torch.exp(-torch.special.xlogy(p_run, p_run).sum()),
            # codes chosen within the last dead_after training steps (or not yet that old)
            "alive": (self.unused < self.dead_after).float().mean(),
            "resets": torch.tensor(float(resets)),
        }
        codes = torch.where(m, codes, torch.full_like(codes, PAD))
        return Quantized(
            q.reshape(*shape, self.dim), codes.reshape(shape), d2.reshape(*shape, -1), losses, stats
        )

    def extra_repr(self) -> str:
        return (
            f"codes={self.n_codes}, dim={self.dim}, geometry={self.geometry}, c={self.c}, "
            f"beta={self.beta}, dead_after={self.dead_after}, ema_decay={self.ema_decay}"
        )
