"""Multi-granularity skeleton tokenizer (EAI-LLM's MGST) with the unified-token padding masks (UST).

From backbone features F (N, C, T', V), a joint mask (N, V) and a time mask (N, T'):
- semantic token  z_g = FC(spatio-temporal mean over real joints and frames)      (N, D)
- spatial tokens  = 1x1 conv(temporal mean)         one per joint, padded to Jmax (N, V, D) + mask
- temporal tokens = 1x1 conv(mean over real joints) one per time step            (N, T', D) + mask
Padded positions are exactly zero (tokens multiplied by their 0/1 mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class SkeletonTokens:
    """The encoder's output for a batch."""

    semantic: torch.Tensor  # (N, D)
    spatial: torch.Tensor  # (N, V, D)
    spatial_mask: torch.Tensor  # (N, V) bool
    temporal: torch.Tensor  # (N, T', D)
    temporal_mask: torch.Tensor  # (N, T') bool
    logits: torch.Tensor  # (N, n_classes)


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean of ``x`` over ``dim`` where ``mask`` (broadcastable to x) is 1."""
    m = mask.to(x.dtype)
    return (x * m).sum(dim) / m.sum(dim).clamp_min(1.0)


def downsample_time_mask(time_mask: torch.Tensor, t_out: int) -> torch.Tensor:
    """A frame mask (N, T) reduced to the backbone's T' steps (a step is real if any of its frames is)."""
    n, t = time_mask.shape
    if t == t_out:
        return time_mask.bool()
    f = time_mask.float()[:, None, :]
    return torch.nn.functional.adaptive_max_pool1d(f, t_out)[:, 0, :] > 0


class MultiGranularityTokenizer(nn.Module):
    """Semantic, spatial and temporal tokens of width ``token_dim`` plus the classifier on z_g."""

    def __init__(self, in_channels: int, token_dim: int, n_classes: int, dropout: float = 0.0):
        super().__init__()
        self.semantic = nn.Linear(in_channels, token_dim)
        self.spatial = nn.Conv1d(in_channels, token_dim, 1)
        self.temporal = nn.Conv1d(in_channels, token_dim, 1)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(token_dim, n_classes)

    def forward(
        self, feats: torch.Tensor, joint_mask: torch.Tensor, time_mask: torch.Tensor
    ) -> SkeletonTokens:
        jm = joint_mask.bool()
        tm = downsample_time_mask(time_mask, feats.shape[2])
        jm4 = jm[:, None, None, :]
        tm4 = tm[:, None, :, None]
        pooled = masked_mean(masked_mean(feats, tm4, 2), jm[:, None, :], 2)  # (N, C)
        z_g = self.semantic(pooled)
        per_joint = masked_mean(feats, tm4, 2)  # (N, C, V)
        spatial = self.spatial(per_joint).transpose(1, 2) * jm[..., None]
        per_step = masked_mean(feats, jm4, 3)  # (N, C, T')
        temporal = self.temporal(per_step).transpose(1, 2) * tm[..., None]
        logits = self.head(self.drop(z_g))
        return SkeletonTokens(z_g, spatial, jm, temporal, tm, logits)
