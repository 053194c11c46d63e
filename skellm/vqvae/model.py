"""LLM-AR's action VQ-VAE: (B, T, J, 3) skeleton sequences -> (B, T / stride) discrete tokens.

Encoder: 1D temporal convolutions over the flattened per-frame pose (J*3 channels; masked frames are
zeroed after normalisation, i.e. set to the training mean), log2(stride) stride-2 convolutions take T
to W = T / stride latents of width D. Quantizer: :class:`~skellm.vqvae.codebook.VectorQuantizer`.
Decoder: the mirror image with transposed convolutions, back to (B, T, J, 3).

Inputs are standardised per channel with ``mean``/``std`` buffers (set from the training data by
:func:`skellm.vqvae.train.train_vqvae`, saved with the weights), so the reconstruction loss, a masked
MSE over valid frames, is in standard-deviation units and balances with the other terms whatever the
capture's length unit. Total loss = recon + codebook + commitment (beta inside) + zipf_weight * zipf +
context_weight * context (see :mod:`skellm.vqvae.losses`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from skellm.vqvae.codebook import GEOMETRIES, PAD, VectorQuantizer, masked_mean
from skellm.vqvae.losses import ContextPredictor, context_loss, soft_assign, zipf_loss


@dataclass(frozen=True)
class VQConfig:
    """Architecture and loss settings of :class:`ActionVQVAE` (saved beside its weights).

    codes U, dim D, temporal stride (a power of 2), hidden conv width, codebook geometry and
    curvature, commitment beta, the two inductive-bias weights, dead_after (training steps unused
    before a code is reset), ema_decay (usage EMA), tau (soft-assignment temperature of the Zipf
    term) and zipf_s (Zipf exponent)."""

    codes: int = 256
    dim: int = 64
    stride: int = 4
    hidden: int = 128
    geometry: str = "hyperbolic"
    curvature: float = 1.0
    beta: float = 0.25
    zipf_weight: float = 0.1
    context_weight: float = 0.1
    dead_after: int = 50
    ema_decay: float = 0.99
    tau: float = 1.0
    zipf_s: float = 1.0

    def __post_init__(self):
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"geometry must be one of {', '.join(GEOMETRIES)}, not {self.geometry!r}")
        if self.stride < 1 or self.stride & (self.stride - 1):
            raise ValueError(f"stride must be a power of 2, not {self.stride}")
        if self.codes < 1 or self.dim < 1 or self.hidden < 1:
            raise ValueError("codes, dim and hidden must be positive")
        if self.curvature <= 0 or self.tau <= 0:
            raise ValueError("curvature and tau must be > 0")


class VQOutput(NamedTuple):
    """``recon`` (B, T, J, 3) in input units; ``codes`` (B, W) long, PAD (-1) where a latent has no
    valid frame; ``losses`` recon, codebook, commitment, zipf, context and their weighted sum ``loss``;
    ``stats`` the quantizer's usage figures."""

    recon: torch.Tensor
    codes: torch.Tensor
    losses: dict[str, torch.Tensor]
    stats: dict[str, torch.Tensor]


def _stack(c_in: int, hidden: int, c_out: int, halvings: int, up: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv1d(c_in, hidden, 3, padding=1), nn.ReLU()]
    for _ in range(halvings):
        # kernel 4, stride 2, padding 1: exactly halves (or, transposed, doubles) an even length
        conv = nn.ConvTranspose1d if up else nn.Conv1d
        layers += [conv(hidden, hidden, 4, stride=2, padding=1), nn.ReLU()]
    layers.append(nn.Conv1d(hidden, c_out, 3, padding=1))
    return nn.Sequential(*layers)


class ActionVQVAE(nn.Module):
    """The action VQ-VAE for skeletons of ``joints`` joints; see the module docstring."""

    def __init__(self, cfg: VQConfig | None = None, joints: int = 19):
        super().__init__()
        self.cfg = cfg = cfg or VQConfig()
        self.joints = int(joints)
        c = self.joints * 3
        halvings = cfg.stride.bit_length() - 1
        self.encoder = _stack(c, cfg.hidden, cfg.dim, halvings, up=False)
        self.quantizer = VectorQuantizer(
            cfg.codes, cfg.dim, cfg.geometry, cfg.curvature, cfg.beta, cfg.dead_after, cfg.ema_decay
        )
        self.context = ContextPredictor(cfg.dim, cfg.codes, cfg.hidden)
        self.decoder = _stack(cfg.dim, cfg.hidden, c, halvings, up=True)
        self.register_buffer("mean", torch.zeros(c))
        self.register_buffer("std", torch.ones(c))

    @torch.no_grad()
    def set_normalization(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Per-channel mean/std of the valid frames of x (N, T, J, 3)."""
        f = x.reshape(-1, self.joints * 3).float()
        if mask is not None:
            f = f[mask.reshape(-1).bool()]
        self.mean.copy_(f.mean(0))
        self.std.copy_(f.std(0, unbiased=False).clamp_min(1e-6))  # a constant channel stays finite

    def _check(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, t, j, d = x.shape
        if j != self.joints or d != 3:
            raise ValueError(f"expected (B, T, {self.joints}, 3) positions, got {tuple(x.shape)}")
        if t % self.cfg.stride:
            raise ValueError(f"T = {t} is not a multiple of the stride {self.cfg.stride}")
        return torch.ones(b, t, dtype=torch.bool, device=x.device) if mask is None else mask.bool()

    def _normalised(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = (x.reshape(*x.shape[:2], -1) - self.mean) / self.std
        return h * mask[..., None].to(h.dtype)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents (B, W, D) and the latent mask (B, W): a latent is valid if any of its frames is."""
        mask = self._check(x, mask)
        z = self.encoder(self._normalised(x, mask).transpose(1, 2)).transpose(1, 2)
        return z, mask.reshape(mask.shape[0], -1, self.cfg.stride).any(-1)

    def decode(self, q: torch.Tensor) -> torch.Tensor:
        """(B, W, D) quantized latents -> (B, T, J, 3) positions in input units."""
        h = self.decoder(q.transpose(1, 2)).transpose(1, 2)
        return (h * self.std + self.mean).reshape(*h.shape[:2], self.joints, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> VQOutput:
        """Encode, quantize, decode ``x`` (B, T, J, 3) with valid-frame ``mask`` (B, T) (None: all)."""
        mask = self._check(x, mask)
        z, lmask = self.encode(x, mask)
        qz = self.quantizer(z, lmask)
        h = self.decoder(qz.quantized.transpose(1, 2)).transpose(1, 2)
        err = (h - self._normalised(x, mask)).pow(2).mean(-1)  # (B, T), standardised units
        cfg = self.cfg
        losses = {"recon": masked_mean(err, mask), **qz.losses}
        losses["zipf"] = zipf_loss(soft_assign(qz.sq_dist, cfg.tau), lmask, cfg.zipf_s)
        losses["context"] = context_loss(self.context, z, qz.codes.clamp_min(0), lmask)
        losses["loss"] = (
            losses["recon"]
            + losses["codebook"]
            + losses["commitment"]
            + cfg.zipf_weight * losses["zipf"]
            + cfg.context_weight * losses["context"]
        )
        recon = (h * self.std + self.mean).reshape(x.shape)
        return VQOutput(recon, qz.codes, losses, qz.stats)

    @torch.no_grad()
    def tokenize(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, W) long codes of ``x`` (PAD where a latent has no valid frame); changes no state."""
        z, lmask = self.encode(x, mask)
        codes = self.quantizer.assign(z)
        return torch.where(lmask, codes, torch.full_like(codes, PAD))
