"""The one-shot regression SR network: a compact VGG-style CNN that works entirely at LR resolution.

Why this architecture (Real-ESRGAN's "SRVGGNetCompact" layout): on a 2-core CPU the cost of an SR network
is its convolutions at HR resolution, and this one has none: a stack of 3x3 convolutions with PReLU runs on
the LR grid, the last one emits ``3 * scale^2`` channels, a pixel shuffle makes the HR image, and a nearest
upsampling of the input is added so the network only learns the residual. Plain 3x3 convolutions are what
oneDNN runs fastest. The state-dict keys (``body.{i}.weight``) are exactly the layout that ``spandrel``
recognises as "RealESRGAN Compact", so our checkpoints load in any spandrel-based tool (a test checks the
outputs agree), and third-party Compact weights load here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ModelMixin
from diffusers.configuration_utils import ConfigMixin, register_to_config
from torch import nn


class CompactSRNet(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, in_channels: int = 3, out_channels: int = 3, num_feat: int = 64, num_conv: int = 16,
                 upscale: int = 4):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, out_channels * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)  # keys body.{i}: spandrel's Compact layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, h, w) in [0, 1] -> (B, C, scale*h, scale*w), unclamped."""
        out = x
        for layer in self.body:
            out = layer(out)
        scale = self.config.upscale
        out = F.pixel_shuffle(out, scale)
        return out + F.interpolate(x, scale_factor=scale, mode="nearest")
