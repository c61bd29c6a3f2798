"""CPEN: the compact IR-prior extraction network of DiffIR (a conv encoder pooled to one 256-vector per image).

Stage 1 (CPEN_S1) sees the LQ and the ground truth and produces the IR prior representation (IPR) that
DIRformer is trained to use; stage 2 (CPEN_S2) sees only the LQ and conditions the IPR denoiser. Both are this
class: ``gt_unshuffle`` set means the S1 variant. The two inputs are brought to the same resolution with
pixel-unshuffles (``lq_unshuffle`` per task, ``gt_unshuffle`` = 4 so that a x4 GT lands at LQ size) and joined
by channel concatenation, LQ first. Attribute names (``E``, ``mlp``) follow the official state dicts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

IPR_DIM = 256  # 4 * n_feats with n_feats = 64, fixed in every official configuration


class ResBlock(nn.Module):
    """conv3x3 - LeakyReLU(0.1) - conv3x3 plus the identity (no scaling)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class CPEN(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, lq_channels: int = 3, lq_unshuffle: int = 1, gt_unshuffle: int | None = None,
                 n_encoder_res: int = 5, n_feats: int = 64):
        super().__init__()
        in_channels = lq_channels * lq_unshuffle ** 2 + (3 * gt_unshuffle ** 2 if gt_unshuffle else 0)
        act = lambda: nn.LeakyReLU(0.1, inplace=True)  # noqa: E731
        self.E = nn.Sequential(
            nn.Conv2d(in_channels, n_feats, 3, padding=1), act(),
            *[ResBlock(n_feats) for _ in range(n_encoder_res)],
            nn.Conv2d(n_feats, 2 * n_feats, 3, padding=1), act(),
            nn.Conv2d(2 * n_feats, 2 * n_feats, 3, padding=1), act(),
            nn.Conv2d(2 * n_feats, 4 * n_feats, 3, padding=1), act(),
            nn.AdaptiveAvgPool2d(1))
        self.mlp = nn.Sequential(nn.Linear(4 * n_feats, 4 * n_feats), act(),
                                 nn.Linear(4 * n_feats, 4 * n_feats), act())

    @property
    def is_stage1(self) -> bool:
        return bool(self.config.gt_unshuffle)

    def forward(self, lq: torch.Tensor, gt: torch.Tensor | None = None) -> torch.Tensor:
        """lq: the DIRformer input (B, lq_channels, h, w); gt (stage 1 only): the ground truth. -> IPR (B, 256)."""
        x = F.pixel_unshuffle(lq, self.config.lq_unshuffle) if self.config.lq_unshuffle > 1 else lq
        if self.is_stage1:
            if gt is None:
                raise ValueError("a stage-1 CPEN needs the ground truth (it is the oracle that sees it)")
            x = torch.cat([x, F.pixel_unshuffle(gt, self.config.gt_unshuffle)], dim=1)
        return self.mlp(self.E(x).flatten(1))
