"""DIRformer: a Restormer-style U-Net in which every transformer block is modulated by the IPR vector z.

Each block does F += DMTA(LN(F), z) and F += DGFN(LN(F), z). Both start by modulating the normalised features
with a per-channel scale and shift computed from z by one bias-free linear layer (``kernel``), so the whole
network is steered by one 256-vector per image. DMTA is Restormer's transposed (channel x channel) attention,
linear in the number of pixels; DGFN is its gated depthwise feed-forward. Levels: 4 encoder levels (C, 2C, 4C,
8C), decoder back to C, concatenated with the first level's features (2C, no reduction), refinement blocks at
2C, then a task head:

* ``sr``: pixel-shuffle upsampler x4 + conv, plus the nearest-upsampled LQ (for x2 / x1 the input is first
  pixel-unshuffled by 2 / 4, so the x4 tail gives the net scale);
* ``deblur``: conv to RGB plus the input;
* ``inpaint``: conv to RGB, no residual (the input is masked image + mask, 4 channels).

Attribute names follow the official state dicts (``G.*`` in a DiffIR checkpoint), so conversion is a rename
of prefixes only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .cpen import IPR_DIM


class ChannelLayerNorm(nn.Module):
    """LayerNorm over channels at each pixel (eps 1e-5, biased variance); ``with_bias=False`` is Restormer's
    BiasFree variant, which scales without subtracting the mean. In the blocks it is never applied alone: its
    affine and the IPR modulation that follows are one per-channel scale and shift (:func:`modulated_norm`)."""

    def __init__(self, channels: int, with_bias: bool):
        super().__init__()
        self.with_bias = with_bias
        self.body = nn.Module()
        self.body.weight = nn.Parameter(torch.ones(channels))
        if with_bias:
            self.body.bias = nn.Parameter(torch.zeros(channels))

    def normalize(self, rows: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        """rows (B x HW x C) normalised over C, times ``scale`` plus ``shift`` (B x C each, the affine included)."""
        if self.with_bias and rows.shape[0] == 1:  # one fused pass, the scale and shift as layer_norm's affine
            return F.layer_norm(rows, (rows.shape[-1],), scale[0], shift[0], eps=1e-5)
        if self.with_bias:
            normalized = F.layer_norm(rows, (rows.shape[-1],), eps=1e-5)
        else:
            normalized = rows * torch.rsqrt(rows.var(dim=-1, keepdim=True, unbiased=False) + 1e-5)
        return torch.addcmul(shift[:, None, :], normalized, scale[:, None, :])


def pixel_rows(x: torch.Tensor) -> torch.Tensor:
    """B x C x H x W -> B x HW x C: one row of channels per pixel; a view (no copy) of a channels-last x."""
    b, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(b, h * w, c)


def feature_map(rows: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """B x HW x C -> B x C x H x W in the channels-last layout: a view of the rows, no copy."""
    return rows.reshape(rows.shape[0], h, w, rows.shape[2]).permute(0, 3, 1, 2)


def modulated_norm(rows: torch.Tensor, norm: ChannelLayerNorm, kernel: nn.Module, ipr: torch.Tensor) -> torch.Tensor:
    """LN(x) * gamma + beta with [gamma, beta] = kernel(z): the LayerNorm's affine and the modulation are both
    per-channel scales and shifts, so they merge into one (x_hat (w gamma) + (b gamma + beta)) and the feature
    map is written once instead of three times (the full-resolution blocks are bound by memory traffic)."""
    gamma, beta = kernel(ipr).chunk(2, dim=1)  # B x C each
    scale = norm.body.weight * gamma
    return norm.normalize(rows, scale, norm.body.bias * gamma + beta if norm.with_bias else beta)


def pointwise(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
              residual: torch.Tensor | None = None) -> torch.Tensor:
    """A 1x1 convolution on B x HW x C rows, plus ``residual`` if given (added in place into the fresh output).

    The rows are handed to the convolution as a channels-last map (a view, no copy) rather than to a matrix
    product: oneDNN's 1x1 convolution ran these skinny products (65,536 pixels x 24-96 channels) 10-30% faster than
    ``F.linear``/``addmm`` on this project's CPU, and the DIRformer 5-15% faster in all (stop 36, five paired runs)."""
    b, n, c = rows.shape
    out = F.conv2d(rows.reshape(b, n, 1, c).permute(0, 3, 1, 2), weight, bias)
    out = out.permute(0, 2, 3, 1).reshape(b, n, out.shape[1])
    return out if residual is None else out.add_(residual)


def depthwise(rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, h: int, w: int) -> torch.Tensor:
    """A depthwise 3x3 convolution on B x HW x C rows; the result as rows again (views on both sides)."""
    out = F.conv2d(feature_map(rows, h, w), weight, bias, padding=1, groups=weight.shape[0])
    return pixel_rows(out)


def expand(rows: torch.Tensor, pointwise_conv: nn.Conv2d, depthwise_conv: nn.Conv2d, parts: int, h: int,
           w: int) -> list[torch.Tensor]:
    """The 1x1 expansion and its depthwise 3x3 convolution, each output split into ``parts`` equal groups of
    channels (q, k, v; the GELU gate's two halves), computed part by part.

    The same arithmetic as the whole layers followed by a split of the channels, but each part's rows come out
    contiguous instead of as strided slices of one wide map: elementwise work on a slice (the GELU, the gate's
    product, the channels' lengths) ran about half as fast here, and a full-resolution block took 70 against 81
    ms (stop 37)."""
    out_channels = pointwise_conv.weight.shape[0] // parts
    results = []
    for i in range(parts):
        channels = slice(i * out_channels, (i + 1) * out_channels)
        bias = pointwise_conv.bias[channels] if pointwise_conv.bias is not None else None
        dw_bias = depthwise_conv.bias[channels] if depthwise_conv.bias is not None else None
        expanded = pointwise(rows, pointwise_conv.weight[channels], bias)
        results.append(depthwise(expanded, depthwise_conv.weight[channels], dw_bias, h, w))
    return results


def channel_lengths(rows: torch.Tensor) -> torch.Tensor:
    """Each channel's Euclidean length over the pixels (B x HW x C -> B x C), at least 1e-12 (F.normalize's eps):
    a sum of squares runs 2.5x faster here than linalg.vector_norm's reduction over the pixel axis."""
    return rows.square().sum(dim=1).sqrt().clamp_min(1e-12)


class DMTA(nn.Module):
    """Dynamic multi-head transposed attention: the attention map is (C/heads x C/heads) per head.

    Computed on pixel rows (B x HW x C): per head, the map is softmax(temperature * Q^T K / (|q_i| |k_j|)) with
    Q, K the HW x C/heads pixel matrices, which is Restormer's attention on L2-normalised q and k (eps 1e-12)
    without writing the normalised copies; the output rows are V A^T, followed by the 1x1 projection."""

    def __init__(self, dim: int, num_heads: int, bias: bool, ipr_dim: int = IPR_DIM):
        super().__init__()
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.kernel = nn.Sequential(nn.Linear(ipr_dim, 2 * dim, bias=False))
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(3 * dim, 3 * dim, 3, padding=1, groups=3 * dim, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, rows: torch.Tensor, norm: ChannelLayerNorm, ipr: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """rows: B x HW x C, before the block's LayerNorm (``norm``, merged with the modulation); returns the rows
        plus the attention's output (the residual connection)."""
        b, n, c = rows.shape
        heads, d = self.num_heads, c // self.num_heads
        q, k, v = expand(modulated_norm(rows, norm, self.kernel, ipr), self.qkv, self.qkv_dwconv, 3, h, w)
        q_norm, k_norm = (channel_lengths(t).reshape(b, heads, d) for t in (q, k))
        q, k, v = (t.reshape(b, n, heads, d).transpose(1, 2) for t in (q, k, v))
        gram = q.transpose(-2, -1) @ k  # B x heads x d x d
        attention = (gram / (q_norm[..., :, None] * k_norm[..., None, :]) * self.temperature).softmax(dim=-1)
        out = (v @ attention.transpose(-2, -1)).transpose(1, 2).reshape(b, n, c)  # a view when heads == 1
        return pointwise(out, self.project_out.weight, self.project_out.bias, residual=rows)


class DGFN(nn.Module):
    """Dynamic gated feed-forward: 1x1 expand, depthwise 3x3, GELU gate, 1x1 project back (on pixel rows)."""

    def __init__(self, dim: int, expansion: float, bias: bool, ipr_dim: int = IPR_DIM):
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, 2 * hidden, 1, bias=bias)
        self.dwconv = nn.Conv2d(2 * hidden, 2 * hidden, 3, padding=1, groups=2 * hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=bias)
        self.kernel = nn.Sequential(nn.Linear(ipr_dim, 2 * dim, bias=False))

    def forward(self, rows: torch.Tensor, norm: ChannelLayerNorm, ipr: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """rows: B x HW x C, before the block's LayerNorm; returns the rows plus the feed-forward's output."""
        x1, x2 = expand(modulated_norm(rows, norm, self.kernel, ipr), self.project_in, self.dwconv, 2, h, w)
        return pointwise(F.gelu(x1).mul_(x2), self.project_out.weight, self.project_out.bias, residual=rows)


class DynamicTransformerBlock(nn.Module):
    """F += DMTA(LN(F), z); F += DGFN(LN(F), z), on the pixel rows of a channels-last feature map."""

    def __init__(self, dim: int, num_heads: int, expansion: float, bias: bool, with_bias_norm: bool):
        super().__init__()
        self.norm1 = ChannelLayerNorm(dim, with_bias_norm)
        self.attn = DMTA(dim, num_heads, bias)
        self.norm2 = ChannelLayerNorm(dim, with_bias_norm)
        self.ffn = DGFN(dim, expansion, bias)

    def forward(self, x: torch.Tensor, ipr: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        rows = pixel_rows(x)
        rows = self.attn(rows, self.norm1, ipr, h, w)  # each returns its input plus what it computes
        rows = self.ffn(rows, self.norm2, ipr, h, w)
        return feature_map(rows, h, w)


class Resample(nn.Module):
    """conv3x3 then pixel-(un)shuffle by 2: halves (down) or doubles (up) the resolution, as Restormer does."""

    def __init__(self, channels: int, down: bool):
        super().__init__()
        if down:
            self.body = nn.Sequential(nn.Conv2d(channels, channels // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))
        else:
            self.body = nn.Sequential(nn.Conv2d(channels, channels * 2, 3, padding=1, bias=False), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class PatchEmbed(nn.Module):
    def __init__(self, in_channels: int, dim: int, bias: bool):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class DIRformer(ModelMixin, ConfigMixin):
    HEADS = ("sr", "deblur", "inpaint")

    @register_to_config
    def __init__(self, head: str = "deblur", in_channels: int = 3, scale: int = 1, dim: int = 48,
                 num_blocks: tuple = (4, 6, 6, 8), num_refinement_blocks: int = 4, heads: tuple = (1, 2, 4, 8),
                 ffn_expansion_factor: float = 2.0, bias: bool = False, layer_norm_type: str = "WithBias"):
        super().__init__()
        if head not in self.HEADS:
            raise ValueError(f"head must be one of {self.HEADS}, got {head!r}")
        if head == "sr" and scale not in (1, 2, 4):
            raise ValueError("the SR head upsamples x4 after an optional pixel-unshuffle: scale 1, 2 or 4")
        with_bias = layer_norm_type == "WithBias"

        def level(channels: int, count: int, n_heads: int) -> nn.ModuleList:
            return nn.ModuleList(DynamicTransformerBlock(channels, n_heads, ffn_expansion_factor, bias, with_bias)
                                 for _ in range(count))

        unshuffle = 4 // scale if head == "sr" else 1
        self.patch_embed = PatchEmbed(in_channels * unshuffle ** 2, dim, bias)
        self.encoder_level1 = level(dim, num_blocks[0], heads[0])
        self.down1_2 = Resample(dim, down=True)
        self.encoder_level2 = level(2 * dim, num_blocks[1], heads[1])
        self.down2_3 = Resample(2 * dim, down=True)
        self.encoder_level3 = level(4 * dim, num_blocks[2], heads[2])
        self.down3_4 = Resample(4 * dim, down=True)
        self.latent = level(8 * dim, num_blocks[3], heads[3])
        self.up4_3 = Resample(8 * dim, down=False)
        self.reduce_chan_level3 = nn.Conv2d(8 * dim, 4 * dim, 1, bias=bias)
        self.decoder_level3 = level(4 * dim, num_blocks[2], heads[2])
        self.up3_2 = Resample(4 * dim, down=False)
        self.reduce_chan_level2 = nn.Conv2d(4 * dim, 2 * dim, 1, bias=bias)
        self.decoder_level2 = level(2 * dim, num_blocks[1], heads[1])
        self.up2_1 = Resample(2 * dim, down=False)
        self.decoder_level1 = level(2 * dim, num_blocks[0], heads[0])
        if num_refinement_blocks:
            self.refinement = level(2 * dim, num_refinement_blocks, heads[0])
        else:
            self.refinement = None
        if head == "sr":
            upsampler = nn.Sequential(*[m for _ in range(2) for m in (
                nn.Conv2d(2 * dim, 8 * dim, 3, padding=1), nn.PixelShuffle(2))])
            self.tail = nn.Sequential(upsampler, nn.Conv2d(2 * dim, 3, 3, padding=1))
        else:
            self.output = nn.Conv2d(2 * dim, 3, 3, padding=1, bias=bias)

    @property
    def size_multiple(self) -> int:
        """H and W of the input must be multiples of this (three 2x downsamplings, after any unshuffle)."""
        return 8 * (4 // self.config.scale if self.config.head == "sr" else 1)

    @staticmethod
    def _run(blocks, x: torch.Tensor, ipr: torch.Tensor) -> torch.Tensor:
        for block in blocks:
            x = block(x, ipr)
        return x

    def forward(self, image: torch.Tensor, ipr: torch.Tensor) -> torch.Tensor:
        """image: LQ (sr, deblur; B x 3) or masked image + mask (inpaint; B x 4), in [0, 1]; ipr: (B, 256)."""
        head = self.config.head
        x = image
        if head == "sr" and self.config.scale != 4:
            x = F.pixel_unshuffle(x, 4 // self.config.scale)
        level1 = self._run(self.encoder_level1, self.patch_embed(x), ipr)
        level2 = self._run(self.encoder_level2, self.down1_2(level1), ipr)
        level3 = self._run(self.encoder_level3, self.down2_3(level2), ipr)
        latent = self._run(self.latent, self.down3_4(level3), ipr)
        x = self.reduce_chan_level3(torch.cat([self.up4_3(latent), level3], dim=1))
        x = self._run(self.decoder_level3, x, ipr)
        x = self.reduce_chan_level2(torch.cat([self.up3_2(x), level2], dim=1))
        x = self._run(self.decoder_level2, x, ipr)
        x = self._run(self.decoder_level1, torch.cat([self.up2_1(x), level1], dim=1), ipr)
        if self.refinement is not None:
            x = self._run(self.refinement, x, ipr)
        if head == "sr":
            return self.tail(x) + F.interpolate(image, scale_factor=self.config.scale, mode="nearest")
        if head == "deblur":
            return self.output(x) + image
        return self.output(x)
