"""LLM-AR's "human inductive bias" losses: make action sentences statistically resemble language.

The paper names the biases but not their form; these are the exact forms used here.

**Zipf term.** Soft assignments p(u | z) = softmax_u(-d^2(z, e_u) / tau) (d^2 the codebook's squared
distance: the posterior of an isotropic mixture on the codes, whose tau -> 0 limit is the nearest-code
rule). Their mean over the batch's valid positions, p_u, sorted in descending order to p_(1) >= ... >=
p_(U), is compared with Zipf's law q_r = r^-s / sum_k k^-s:

    L_zipf = KL(p_sorted || q) = sum_r p_(r) log(p_(r) / q_r).

Why this form: sorting makes it judge only the rank-frequency curve (which code is most frequent does
not matter), and the gradient flows through the sorted values (the permutation is piecewise constant).
Soft probabilities keep it differentiable and meaningful even when the batch has fewer tokens than
codes. KL(p || q) = -H(p) - sum_r p_(r) log q_r stays finite when codes are unused (q has full support;
the reverse KL(q || p) would explode and dominate) and is 0 iff the curve is exactly Zipfian, so it
rewards using more codes (anti-collapse) but only up to Zipf's entropy, not to uniform usage.

**Context-sensitivity term.** A word's meaning depends on its neighbours; for tokens this means a
token should be predictable from its context. A small MLP (:class:`ContextPredictor`) reads the
continuous latents of the neighbours, [z_{w-1}; z_{w+1}], and predicts logits over the U codes at w;

    L_ctx = mean_w CE(predictor([z_{w-1}; z_{w+1}]), k_w)

over interior positions whose three latents are all valid, k_w the assigned (hard) code. The gradient
reaches the predictor and, through the neighbours' latents, the encoder: latents learn to carry what
their neighbours will be. Alone this would favour collapse (one code is perfectly predictable); with
the Zipf term pinning the marginal, lowering H(k_w | context) at fixed H(k_w) raises the mutual
information between a token and its context, as in language. It is cheap (a CBOW-style 2D -> U MLP),
needs no negatives (unlike a contrastive form) and uses the targets the tokenizer actually emits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def soft_assign(sq_dist: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """p(u | z) = softmax over the last dim of -sq_dist / tau."""
    return torch.softmax(-sq_dist / tau, dim=-1)


def zipf_target(n: int, s: float = 1.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Zipf's law over ranks 1..n: q_r = r^-s / sum_k k^-s."""
    q = torch.arange(1, n + 1, dtype=dtype).pow(-s)
    return q / q.sum()


def zipf_loss(probs: torch.Tensor, mask: torch.Tensor | None = None, s: float = 1.0) -> torch.Tensor:
    """KL(sorted mean soft usage || Zipf) of ``probs`` (..., U) over the positions ``mask`` (...)."""
    p = probs.reshape(-1, probs.shape[-1])
    if mask is not None:
        p = p[mask.reshape(-1)]
    if len(p) == 0:
        return probs.new_zeros(())
    p = p.mean(0).sort(descending=True).values
    q = zipf_target(p.numel(), s, p.dtype).to(p.device)
    # xlogy: 0 log 0 = 0 for unused codes
    return (torch.special.xlogy(p, p) - p * q.log()).sum()


class ContextPredictor(nn.Module):
    """[z_{w-1}; z_{w+1}] (..., 2D) -> logits over the U codes at w."""

    def __init__(self, dim: int, codes: int, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, codes))

    def forward(self, ctx: torch.Tensor) -> torch.Tensor:
        return self.net(ctx)


def context_loss(
    predictor: nn.Module, z: torch.Tensor, codes: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cross-entropy of ``predictor([z_{w-1}; z_{w+1}])`` against ``codes[w]`` for latents z
    (B, W, D) and codes (B, W), over interior w with w-1, w, w+1 valid; 0 when there are none."""
    if z.shape[1] < 3:
        return z.new_zeros(())
    ok = torch.ones_like(codes, dtype=torch.bool) if mask is None else mask.bool()
    ok = ok[:, :-2] & ok[:, 1:-1] & ok[:, 2:]
    if not ok.any():
        return z.new_zeros(())
    ctx = torch.cat([z[:, :-2], z[:, 2:]], dim=-1)[ok]
    return F.cross_entropy(predictor(ctx), codes[:, 1:-1][ok])
