"""CTR-GCN (Chen et al. 2021, channel-wise topology refinement) over per-sample, padded graphs.

Each graph convolution refines the skeleton's static topology A per channel and per sample:
``A'_c = A + alpha * phi(tanh(psi1(x)_u - psi2(x)_v))_c``, then aggregates ``sum_v A'_c[u, v] x_c[v]``.
Differences from the reference code, for mixed-corpus batches: the static topology comes from each
sample's own layout (it is an input, not a learnable per-dataset parameter), the refinement is masked
to real joints, and there is no input ``data_bn`` (it would tie a BatchNorm channel to a joint index,
which means different joints in different layouts; harmonized positions are already in metres).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from skellm.encoder.blocks import GCNBackbone, GCNBlock, Residual, TemporalConv, bn_init


class CTRGC(nn.Module):
    """One channel-wise topology refinement graph convolution for one partition."""

    def __init__(self, c_in: int, c_out: int, reduction: int = 8):
        super().__init__()
        rel = 8 if c_in <= 16 else c_in // reduction
        self.conv1 = nn.Conv2d(c_in, rel, 1)
        self.conv2 = nn.Conv2d(c_in, rel, 1)
        self.conv3 = nn.Conv2d(c_in, c_out, 1)
        self.conv4 = nn.Conv2d(rel, c_out, 1)
        for m in (self.conv1, self.conv2, self.conv3, self.conv4):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, adj: torch.Tensor, alpha: torch.Tensor, mask4: torch.Tensor):
        q1, q2 = self.conv1(x).mean(-2), self.conv2(x).mean(-2)  # (N, R, V)
        q = torch.tanh(q1.unsqueeze(-1) - q2.unsqueeze(-2))  # (N, R, V, V)
        q = self.conv4(q) * alpha + adj.unsqueeze(1)  # (N, C, V, V)
        # zeroing the messages *from* padded joints (cheaper than masking the V x V maps); what lands
        # *on* padded joints is zeroed by the block's mask
        return torch.einsum("ncuv,nctv->nctu", q, self.conv3(x) * mask4)


class CTRGraphConv(nn.Module):
    """Sum of CTRGC over the partitions + BN + residual + ReLU."""

    def __init__(self, c_in: int, c_out: int, n_partitions: int = 3):
        super().__init__()
        self.convs = nn.ModuleList(CTRGC(c_in, c_out) for _ in range(n_partitions))
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = nn.BatchNorm2d(c_out)
        self.res = Residual(c_in, c_out, 1)
        bn_init(self.bn, 1e-6)

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask4: torch.Tensor) -> torch.Tensor:
        y = sum(conv(x, adj[:, k], self.alpha, mask4) for k, conv in enumerate(self.convs))
        return torch.relu(self.bn(y) + self.res(x)) * mask4


class MultiScaleTemporalConv(nn.Module):
    """CTR-GCN's temporal module: dilated (5x1) branches, a max-pool branch and a 1x1 branch."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, dilations: Sequence[int] = (1, 2)):
        super().__init__()
        nb = len(dilations) + 2
        bc = c_out // nb
        first = c_out - bc * (nb - 1)  # absorb the remainder so any width works
        widths = [first] + [bc] * (nb - 1)
        self.branches = nn.ModuleList()
        for w, d in zip(widths, dilations, strict=False):
            self.branches.append(
                nn.Sequential(
                    nn.Conv2d(c_in, w, 1),
                    nn.BatchNorm2d(w),
                    nn.ReLU(inplace=True),
                    TemporalConv(w, w, 5, stride, d),
                )
            )
        w = widths[len(dilations)]
        self.branches.append(
            nn.Sequential(
                nn.Conv2d(c_in, w, 1),
                nn.BatchNorm2d(w),
                nn.ReLU(inplace=True),
                nn.MaxPool2d((3, 1), (stride, 1), (1, 0)),
                nn.BatchNorm2d(w),
            )
        )
        w = widths[-1]
        self.branches.append(nn.Sequential(nn.Conv2d(c_in, w, 1, stride=(stride, 1)), nn.BatchNorm2d(w)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


class CTRGCNBlock(GCNBlock):
    """CTR-GCN graph convolution, the multi-scale temporal module and a residual."""

    def __init__(self, c_in: int, c_out: int, stride: int, residual: bool = True):
        super().__init__(
            CTRGraphConv(c_in, c_out),
            MultiScaleTemporalConv(c_out, c_out, stride),
            Residual(c_in, c_out, stride) if residual else None,
        )


class CTRGCN(GCNBackbone):
    """CTR-GCN backbone: (N, 3, T, V) positions -> features F (N, C, T', V)."""

    def __init__(
        self, in_channels: int = 3, base_channels: int = 64, stage_blocks: Sequence[int] = (4, 3, 3)
    ):
        super().__init__(CTRGCNBlock, in_channels, base_channels, stage_blocks)
