"""The skeleton encoder as one module: GCN backbone + tokenizer + classifier + text projection."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from skellm.config import EncoderConfig
from skellm.encoder.ctrgcn import CTRGCN
from skellm.encoder.stgcn import STGCN
from skellm.encoder.tokens import MultiGranularityTokenizer, SkeletonTokens

BACKBONES = {"ctrgcn": CTRGCN, "stgcn": STGCN}
INPUTS = ("joint", "joint_motion", "pose_motion")
MOTION_FPS = 30.0  # motion channels are displacements per 1/30 s, whatever the take's frame rate


class SkeletonEncoder(nn.Module):
    """(N, 3, T, V) positions + per-sample adjacency + masks -> :class:`SkeletonTokens`.

    ``config`` (saved beside the weights) rebuilds it: model, input (``joint`` positions,
    ``joint_motion``: positions + frame differences, ``pose_motion``: root-relative positions + frame
    differences), base_channels, stage_blocks, token_dim,
    n_classes, text_dim, dropout. ``text_proj`` maps text features to ``token_dim`` (identity when the
    widths match) and ``logit_scale`` is the learnable log inverse temperature of the contrastive loss.
    """

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        name = config["model"]
        if name not in BACKBONES:
            raise ValueError(f"encoder.model must be one of {', '.join(BACKBONES)}, not {name!r}")
        self.input = config.get("input", EncoderConfig.input)
        if self.input not in INPUTS:
            raise ValueError(f"encoder.input must be one of {', '.join(INPUTS)}, not {self.input!r}")
        c_in = 3 if self.input == "joint" else 6
        # channel-wise input normalisation (per coordinate, shared by all joints and rigs)
        self.input_bn = nn.BatchNorm2d(c_in)
        self.backbone = BACKBONES[name](c_in, int(config["base_channels"]), tuple(config["stage_blocks"]))
        d = int(config["token_dim"])
        self.tokenizer = MultiGranularityTokenizer(
            self.backbone.out_channels,
            d,
            int(config["n_classes"]),
            float(config.get("dropout", EncoderConfig.dropout)),
        )
        td = int(config["text_dim"])
        self.text_proj = nn.Identity() if td == d else nn.Linear(td, d)
        self.logit_scale = nn.Parameter(
            torch.tensor(math.log(1 / float(config.get("temperature", EncoderConfig.temperature))))
        )

    def forward(
        self,
        x: torch.Tensor,
        adj: torch.Tensor,
        joint_mask: torch.Tensor,
        time_mask: torch.Tensor,
        fps: torch.Tensor | None = None,
    ) -> SkeletonTokens:
        """``fps`` (N,): each take's frame rate; None means :data:`MOTION_FPS`."""
        if self.input != "joint":
            # positions plus frame-to-frame motion (CTR-GCN's joint and joint-motion streams, fused
            # early): tempo and jerk cues are then one layer away instead of many. pose_motion takes
            # positions relative to the root (joint 0) in every frame, so posture is not mixed with
            # where the body walked; the motion channels keep the root's travel.
            motion = torch.diff(x, dim=2, prepend=x[:, :, :1]) * time_mask[:, None, :, None].to(x.dtype)
            if fps is not None:  # a downsampled take's frames are further apart: scale to real speed
                motion = motion * (fps.to(x.dtype) / MOTION_FPS)[:, None, None, None]
            pose = x - x[..., :1] if self.input == "pose_motion" else x
            x = torch.cat([pose, motion], 1)
        jm = joint_mask[:, None, None, :].to(x.dtype)
        x = self.input_bn(x * jm) * jm
        return self.tokenizer(self.backbone(x, adj, joint_mask), joint_mask, time_mask)
