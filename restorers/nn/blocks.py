"""Guided-diffusion style building blocks (the layout ResShift's UNet inherits).

Attribute names (``in_layers``, ``emb_layers``, ``out_layers``, ``skip_connection``, ``op``, ``conv``)
follow the guided-diffusion family so official state dicts load without a renaming table.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 and cast back (stable under half precision)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).type(x.dtype)


def normalization(channels: int, groups: int = 32) -> GroupNorm32:
    return GroupNorm32(min(groups, channels), channels)


class TimestepBlock(nn.Module):
    """A module whose forward takes the timestep embedding as a second argument."""


class TimestepEmbedSequential(nn.Sequential, TimestepBlock):
    """Sequential that hands the embedding to the children that want it."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = layer(x, emb) if isinstance(layer, TimestepBlock) else layer(x)
        return x


class Downsample(nn.Module):
    """Strided 3x3 convolution, halving H and W."""

    def __init__(self, channels: int, out_channels: int | None = None):
        super().__init__()
        self.op = nn.Conv2d(channels, out_channels or channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Nearest x2 then a 3x3 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResBlock(TimestepBlock):
    """Residual block with scale-shift conditioning on the timestep embedding."""

    def __init__(self, channels: int, emb_channels: int, out_channels: int | None = None, dropout: float = 0.0,
                 use_scale_shift_norm: bool = True, norm_groups: int = 32):
        super().__init__()
        out_channels = out_channels or channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(normalization(channels, norm_groups), nn.SiLU(),
                                       nn.Conv2d(channels, out_channels, 3, padding=1))
        self.emb_layers = nn.Sequential(
            nn.SiLU(), nn.Linear(emb_channels, 2 * out_channels if use_scale_shift_norm else out_channels))
        self.out_layers = nn.Sequential(normalization(out_channels, norm_groups), nn.SiLU(), nn.Dropout(dropout),
                                        nn.Conv2d(out_channels, out_channels, 3, padding=1))
        nn.init.zeros_(self.out_layers[-1].weight)
        nn.init.zeros_(self.out_layers[-1].bias)
        self.skip_connection = (nn.Identity() if out_channels == channels
                                else nn.Conv2d(channels, out_channels, 1))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() and not (self.training and self.out_layers[2].p > 0):
            return self.inference(x, emb)
        h = self.in_layers(x)
        emb_out = self.emb_layers(emb).type(h.dtype)[..., None, None]
        if self.use_scale_shift_norm:
            norm, rest = self.out_layers[0], self.out_layers[1:]
            scale, shift = emb_out.chunk(2, dim=1)
            h = rest(norm(h) * (1 + scale) + shift)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h

    def inference(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """The same block with fewer passes over the feature map (no autograd, no dropout): the scale and shift
        join the GroupNorm's own affine (batch 1) or are applied in place, SiLU runs in place on the fresh
        normalised map, and the skip is added into the convolution's output."""
        norm_in, conv_in = self.in_layers[0], self.in_layers[2]
        h = conv_in(F.silu(norm_in(x), inplace=True))
        emb_out = self.emb_layers(emb).type(h.dtype)
        norm = self.out_layers[0]
        if self.use_scale_shift_norm:
            scale, shift = emb_out.chunk(2, dim=1)
            h = modulated_group_norm(norm, h, 1 + scale, shift)
        else:
            h = norm(h.add_(emb_out[..., None, None]))
        h = self.out_layers[-1](F.silu(h, inplace=True))
        return h.add_(self.skip_connection(x))


def modulated_group_norm(norm: GroupNorm32, x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``norm(x) * scale + shift`` with per-sample, per-channel (B, C) scale and shift, in one pass over ``x``
    for one sample: the modulation is folded into the norm's affine, (w x^ + b) s + t = (w s) x^ + (b s + t)."""
    if x.shape[0] == 1:
        weight, bias = norm.weight * scale[0], torch.addcmul(shift[0], norm.bias, scale[0])
        return F.group_norm(x.float(), norm.num_groups, weight.float(), bias.float(), norm.eps).type(x.dtype)
    out = norm(x)
    return out.mul_(scale[..., None, None]).add_(shift[..., None, None])
