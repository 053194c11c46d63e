"""A plain ST-GCN backbone (Yan et al. 2018) over per-sample, padded skeleton graphs.

Shapes and masking as in :mod:`skellm.encoder.blocks`: features (N, C, T, V), adjacency (N, K, V, V),
padded joints re-zeroed by every block.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from skellm.encoder.blocks import GCNBackbone, GCNBlock, Residual, TemporalConv, bn_init


class GraphConv(nn.Module):
    """ST-GCN spatial graph convolution: one 1x1 conv per partition, summed over partitions."""

    def __init__(self, c_in: int, c_out: int, n_partitions: int = 3):
        super().__init__()
        self.k = n_partitions
        self.conv = nn.Conv2d(c_in, c_out * n_partitions, 1)
        self.bn = nn.BatchNorm2d(c_out)
        self.res = Residual(c_in, c_out, 1)
        bn_init(self.bn, 1e-6)

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask4: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.k, -1, t, v)
        y = torch.einsum("nkctv,nkuv->nctu", y, adj)
        return torch.relu(self.bn(y) + self.res(x)) * mask4


class STGCNBlock(GCNBlock):
    """ST-GCN graph convolution, a (9 x 1) temporal convolution and a residual."""

    def __init__(self, c_in: int, c_out: int, stride: int, residual: bool = True):
        super().__init__(
            GraphConv(c_in, c_out),
            TemporalConv(c_out, c_out, 9, stride),
            Residual(c_in, c_out, stride) if residual else None,
        )


class STGCN(GCNBackbone):
    """Plain ST-GCN backbone: (N, 3, T, V) positions -> features F (N, C, T', V)."""

    def __init__(
        self, in_channels: int = 3, base_channels: int = 64, stage_blocks: Sequence[int] = (4, 3, 3)
    ):
        super().__init__(STGCNBlock, in_channels, base_channels, stage_blocks)
