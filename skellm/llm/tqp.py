"""SUGAR's Temporal Query Projection (TQP) and the single Q-Former it is ablated against.

SUGAR (Ye et al., AAAI-26) feeds a frozen LLM with the time series of a knowledge-supervised encoder
that keeps its time axis (here: the encoder's temporal tokens, one per backbone time step, spatially
pooled, with their mask). TQP cuts the Ls input tokens into t = ceil(Ls / k) segments of k tokens. A
learnable query of length k attends to the first segment through a BLIP-2-style Q-Former block; its
output is the query for the next segment, ``q_t = f_Q(q_{t-1}, s_t)``, with one set of weights along
the whole chain. The last query (k tokens), which has read every segment in order, is mapped by a
linear layer into the LLM's width: the LLM gets k tokens whatever the take's length.

Block (pre-LayerNorm, as in current transformer practice; BLIP-2's Q-Former is post-LN BERT, pre-LN is
the more stable choice at the small widths and few steps of a CPU run): self-attention over the
queries, cross-attention from the queries into the segment (``key_padding_mask`` hides padded steps),
a GELU feed-forward, each with a residual. All attention is :class:`torch.nn.MultiheadAttention`.
A segment with no valid step (a short take's padding) leaves the query as it was, so a padded take
gives the same output as the same take unpadded.

``qformer`` runs the same stack once, the query attending to all Ls tokens at once (the paper's "one
Q-Former" ablation). Import this module only inside functions: it imports torch.
"""

from __future__ import annotations

import torch
from torch import nn


class QFormerBlock(nn.Module):
    """Self-attention over the queries, cross-attention into the keys, feed-forward (pre-LN)."""

    def __init__(self, width: int, heads: int, ff_mult: int = 4):
        super().__init__()
        self.norm_self = nn.LayerNorm(width)
        self.self_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm_cross = nn.LayerNorm(width)
        self.norm_keys = nn.LayerNorm(width)
        self.cross_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm_ff = nn.LayerNorm(width)
        self.ff = nn.Sequential(
            nn.Linear(width, ff_mult * width), nn.GELU(), nn.Linear(ff_mult * width, width)
        )

    def forward(self, q: torch.Tensor, keys: torch.Tensor, key_valid: torch.Tensor) -> torch.Tensor:
        """``q`` (B, k, W) queries, ``keys`` (B, L, W), ``key_valid`` (B, L) bool; every row must have a
        valid key (callers skip rows that have none)."""
        h = self.norm_self(q)
        q = q + self.self_attn(h, h, h, need_weights=False)[0]
        kv = self.norm_keys(keys)
        q = (
            q
            + self.cross_attn(self.norm_cross(q), kv, kv, key_padding_mask=~key_valid, need_weights=False)[0]
        )
        return q + self.ff(self.norm_ff(q))


class QueryProjector(nn.Module):
    """(B, Ls, C) tokens + (B, Ls) mask -> (B, k, out_dim) LLM tokens + (B, k) mask.

    ``chain`` True: TQP (segments of ``query_len`` tokens read in order, shared weights); False: one
    Q-Former over the whole sequence. ``depth`` blocks per step, ``heads`` attention heads, ``width``
    the Q-Former's inner width (the input is mapped to it by a linear layer).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        query_len: int = 4,
        depth: int = 1,
        heads: int = 4,
        width: int = 256,
        chain: bool = True,
    ):
        super().__init__()
        if query_len < 1 or depth < 1 or heads < 1 or width % heads:
            raise ValueError(
                f"query_len, depth, heads must be >= 1 and width {width} divisible by heads {heads}"
            )
        self.config = {
            "query_len": query_len,
            "depth": depth,
            "heads": heads,
            "width": width,
            "chain": chain,
        }
        self.inp = nn.Linear(in_dim, width)
        self.query = nn.Parameter(torch.randn(1, query_len, width) * 0.02)
        self.blocks = nn.ModuleList(QFormerBlock(width, heads) for _ in range(depth))
        self.norm_out = nn.LayerNorm(width)
        self.out = nn.Linear(width, out_dim)

    @property
    def in_features(self) -> int:
        return int(self.inp.in_features)

    def _step(self, q: torch.Tensor, keys: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """One pass of the block stack; rows whose keys are all padding keep their query."""
        has = valid.any(1)
        if not bool(has.any()):
            return q
        safe = valid | ~has[:, None]  # all-masked rows would give NaN in attention: unmask, then discard
        new = q
        for block in self.blocks:
            new = block(new, keys, safe)
        return torch.where(has[:, None, None], new, q)

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, length, _ = feats.shape
        k = self.config["query_len"]
        keys = self.inp(feats)
        valid = mask.bool()
        q = self.query.expand(b, -1, -1).to(keys.dtype)
        if not self.config["chain"]:
            q = self._step(q, keys, valid)
        else:
            for s in range(0, length, k):
                q = self._step(q, keys[:, s : s + k], valid[:, s : s + k])
        out_mask = valid.any(1, keepdim=True).expand(b, k)
        return self.out(self.norm_out(q)), out_mask
