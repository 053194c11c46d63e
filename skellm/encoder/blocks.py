"""Building blocks shared by the GCN backbones (ST-GCN, CTR-GCN).

Shapes follow the CTR-GCN code base: features are (N, C, T, V); adjacency is (N, K, V, V) with
``A[n, k, u, v]`` the weight of the message from joint v to joint u; ``mask4`` (N, 1, 1, V) is 1 on real
joints, 0 on padding. Every block re-zeros padded joints so they never leak into real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn


def stage_plan(base_channels: int, stage_blocks: Sequence[int]) -> list[tuple[int, int]]:
    """(out_channels, temporal stride) per block: widths base, 2x, 4x; stride 2 entering stages 2 and 3.

    CTR-GCN's 10-block network is ``stage_blocks = [4, 3, 3]``.
    """
    plan = []
    for s, n in enumerate(stage_blocks):
        for b in range(n):
            plan.append((base_channels * 2**s, 2 if (s > 0 and b == 0) else 1))
    return plan


def bn_init(bn: nn.BatchNorm2d, scale: float) -> None:
    nn.init.constant_(bn.weight, scale)
    nn.init.constant_(bn.bias, 0)


class TemporalConv(nn.Module):
    """(k x 1) temporal convolution + BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 9, stride: int = 1, dilation: int = 1):
        super().__init__()
        pad = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(c_in, c_out, (kernel, 1), (stride, 1), (pad, 0), (dilation, 1))
        self.bn = nn.BatchNorm2d(c_out)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out")
        nn.init.zeros_(self.conv.bias)
        bn_init(self.bn, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class Residual(nn.Module):
    """Identity when shapes match, else a strided 1x1 conv + BN."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.proj = None if (c_in == c_out and stride == 1) else TemporalConv(c_in, c_out, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.proj is None else self.proj(x)


class GCNBlock(nn.Module):
    """Spatial graph convolution ``gcn(x, adj, mask4)``, then temporal ``tcn``, plus an optional residual."""

    def __init__(self, gcn: nn.Module, tcn: nn.Module, res: nn.Module | None):
        super().__init__()
        self.gcn = gcn
        self.tcn = tcn
        self.res = res

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask4: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x, adj, mask4))
        if self.res is not None:
            y = y + self.res(x)
        return torch.relu(y) * mask4


class GCNBackbone(nn.Module):
    """Blocks laid out by :func:`stage_plan`: (N, 3, T, V) positions -> features F (N, C, T', V).

    ``make_block(c_in, c_out, stride, residual)`` builds one block; the first block has no residual.
    """

    def __init__(
        self,
        make_block: Callable[[int, int, int, bool], nn.Module],
        in_channels: int,
        base_channels: int,
        stage_blocks: Sequence[int],
    ):
        super().__init__()
        blocks, c = [], in_channels
        for i, (c_out, stride) in enumerate(stage_plan(base_channels, stage_blocks)):
            blocks.append(make_block(c, c_out, stride, i > 0))
            c = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = c

    def forward(self, x: torch.Tensor, adj: torch.Tensor, joint_mask: torch.Tensor) -> torch.Tensor:
        mask4 = joint_mask[:, None, None, :].to(x.dtype)
        x = x * mask4
        for blk in self.blocks:
            x = blk(x, adj, mask4)
        return x
