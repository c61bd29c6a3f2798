"""DP-IR's task-agnostic Denoising network phi_D(x_tilde, sigma) ~ E[x_0 | x_tilde], x_tilde = x_0 + sigma * n.

A MIRNet-style network (Zamir et al., ECCV 2020) with the noise level as an extra input channel, as the paper
does (App. H: "noise level concatenated as an input channel, same as UDP"):

  * **multi-scale residual block (MRB)**: three parallel streams at full, 1/2 and 1/4 resolution
    (``channels``, 2x and 4x as many features), each a dual-attention unit (DAU: conv-ReLU-conv, then channel
    attention and spatial attention side by side, merged by a 1x1 conv, plus the input); the streams are brought
    back to full resolution and merged by **selective kernel feature fusion (SKFF)**, i.e. a softmax over the
    streams of per-channel weights computed from their pooled sum;
  * **recursive residual group (RRG)**: conv, ``blocks_per_group`` MRBs, conv, plus the input.

MIRNet-S in the paper has 3 RRGs of 1 MRB with one DAU per stream (15.95 M parameters at 64 features with MIRNet's
wider scales); the default here is that layout. The embedded checkpoint no longer uses it: on a CPU its attention
and fusion steps are memory-bound, so it ships :class:`.conv_denoiser.FoldedConvDenoiser`, which shares the
preconditioning below through :class:`PreconditionedDenoiser`.

**Preconditioning** (our choice; the paper does not say how the network is scaled): the sampler calls the
denoiser with sigma from 0 to ~157 (t = 1..1000, images in [0, 1]), so the raw input can be hundreds of times
larger than an image. Following Karras et al. (EDM, 2022), the network sees ``c_in (x_tilde - 0.5)`` with
``c_in = 1 / sqrt(sigma^2 + s_d^2)`` and the noise map ``sigma / sqrt(1 + sigma^2)`` (= sqrt(1 - abar_t), in [0, 1]),
and its output F is mixed as ``0.5 + c_skip (x_tilde - 0.5) + c_out F`` with c_skip = s_d^2 / (sigma^2 + s_d^2),
c_out = sigma s_d / sqrt(sigma^2 + s_d^2), s_d = 0.25 (the spread of an image in [0, 1]). At sigma = 0 it
returns its input exactly; at huge sigma it returns 0.5 + s_d F, a learned guess of the image mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ModelMixin
from diffusers.configuration_utils import ConfigMixin, register_to_config
from torch import nn

from ..padding import pad_bottom_right

SIGMA_DATA = 0.25


class ChannelAttention(nn.Module):
    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.body = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(),
                                  nn.Conv2d(hidden, channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.body(x)


class SpatialAttention(nn.Module):
    def __init__(self, kernel_size: int = 5):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class DualAttentionUnit(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.channel_attention = ChannelAttention(channels)
        self.spatial_attention = SpatialAttention()
        self.merge = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.body(x)
        attended = torch.cat([self.channel_attention(features), self.spatial_attention(features)], dim=1)
        return x + self.merge(attended)


class SelectiveKernelFusion(nn.Module):
    """Softmax-weighted sum of same-shaped streams, the weights per channel from the pooled sum."""

    def __init__(self, channels: int, streams: int, reduction: int = 8):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.squeeze = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU())
        self.select = nn.ModuleList([nn.Conv2d(hidden, channels, 1) for _ in range(streams)])

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        z = self.squeeze(sum(features))
        weights = torch.softmax(torch.stack([conv(z) for conv in self.select], dim=1), dim=1)
        # a weighted sum stream by stream: stacking full-size maps into a 5-D tensor first cost 3x the time
        # (a copy of every stream, and a reduction over a strided axis in channels-last memory)
        return sum(feature * weight for feature, weight in zip(features, weights.unbind(dim=1)))


class MultiScaleResidualBlock(nn.Module):
    def __init__(self, channels: int, scales: int = 3):
        super().__init__()
        widths = [channels * 2 ** i for i in range(scales)]
        self.down = nn.ModuleList([nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(widths[i], widths[i + 1], 1))
                                   for i in range(scales - 1)])
        self.streams = nn.ModuleList([DualAttentionUnit(w) for w in widths])
        self.up = nn.ModuleList([nn.Conv2d(widths[i], channels, 1) for i in range(1, scales)])
        self.fuse = SelectiveKernelFusion(channels, scales)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs = [x]
        for down in self.down:
            inputs.append(down(inputs[-1]))
        outputs = [stream(features) for stream, features in zip(self.streams, inputs)]
        size = x.shape[-2:]
        full = [outputs[0]] + [F.interpolate(conv(o), size=size, mode="bilinear", align_corners=False)
                               for conv, o in zip(self.up, outputs[1:])]
        return x + self.out(self.fuse(full))


class ResidualGroup(nn.Module):
    def __init__(self, channels: int, blocks: int, scales: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1),
                                  *[MultiScaleResidualBlock(channels, scales) for _ in range(blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PreconditionedDenoiser(ModelMixin, ConfigMixin):
    """What every DP-IR denoiser shares: the EDM preconditioning around a network body (the module docstring).

    A subclass builds ``self.body``, mapping the (B, image_channels + 1, H, W) input (scaled image, noise map),
    padded to a multiple of :attr:`multiple`, to the residual F of the same size.
    """

    multiple = 1

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        """noisy = x_0 + sigma * n with x_0 in [0, 1]; sigma a float or a (B,) tensor -> estimate of x_0."""
        batch, _, height, width = noisy.shape
        sigma = torch.as_tensor(sigma, dtype=noisy.dtype, device=noisy.device).reshape(-1)
        sigma = sigma.expand(batch).view(batch, 1, 1, 1)
        c_norm = torch.rsqrt(sigma ** 2 + SIGMA_DATA ** 2)
        centred = noisy - 0.5
        level = (sigma / torch.sqrt(1.0 + sigma ** 2)).expand(batch, 1, height, width)
        x = torch.cat([centred * c_norm, level], dim=1)
        x = pad_bottom_right(x, self.multiple)
        residual = self.body(x)[..., :height, :width]
        c_skip = SIGMA_DATA ** 2 * c_norm ** 2
        c_out = sigma * SIGMA_DATA * c_norm
        return 0.5 + c_skip * centred + c_out * residual


class DenoiserNet(PreconditionedDenoiser):
    """The paper's MIRNet-style layout (attention units and multi-scale fusion: memory-bound on a CPU)."""

    @register_to_config
    def __init__(self, channels: int = 64, num_groups: int = 3, blocks_per_group: int = 1, scales: int = 3,
                 image_channels: int = 3):
        super().__init__()
        self.head = nn.Conv2d(image_channels + 1, channels, 3, padding=1)
        self.groups = nn.Sequential(*[ResidualGroup(channels, blocks_per_group, scales) for _ in range(num_groups)])
        self.tail = nn.Conv2d(channels, image_channels, 3, padding=1)

    @staticmethod
    def describe(config: dict) -> str:
        return (f"A MIRNet-style network (`restorers/dpir/denoiser.py`): {config['num_groups']} groups x "
                f"{config['blocks_per_group']} block, {config['channels']} features, {config['scales']} scales (the "
                "paper's MIRNet-S has 15.95 M parameters)")

    @property
    def multiple(self) -> int:
        return 2 ** (self.config.scales - 1)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.groups(self.head(x)))
