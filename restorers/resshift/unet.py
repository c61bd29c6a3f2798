"""ResShift's Swin-UNet (``UNetModelSwin``) as a diffusers model.

Parameter names map one-to-one onto the official state dict (``time_embed``, ``input_blocks``,
``middle_block``, ``output_blocks``, ``out``, ``feature_extractor``), so official checkpoints load
with ``load_state_dict`` directly. :data:`OFFICIAL_X4_CONFIG` is the released x4 configuration
(118,593,583 parameters); the embedded CPU checkpoint uses a much smaller config of the same class.

``lq_residual = f > 0`` (a CPU-sized option, off in every official config) parameterises the same x0
prediction as a correction of the LQ latent: ``x0 = out + pixel_unshuffle(bicubic_up(lq, sf), f)``, which
is z_y when the latent space is an f-fold pixel-unshuffle (``residual_sf``: the pipeline's scale, f when unset,
as for x4 SR at f = 4; 1 for inpainting, where z_y is the masked image itself). The network then starts at
"x0 = z_y" (its last convolution is zero-initialised) and spends its small capacity on the detail, not on
copying the image.

Data flow: ``forward(x, t, lq)`` concatenates ``x`` with features of the LQ image (pixel space, its
own resolution; identity when ``lq_size == image_size``), then an encoder/decoder of residual
blocks with Swin layers after the first block of each level listed in ``attention_resolutions``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import get_timestep_embedding
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
import torch.nn.functional as F
from torch import nn

from ..nn.blocks import Downsample, ResBlock, TimestepEmbedSequential, Upsample, normalization
from ..nn.swin import SwinLayer

OFFICIAL_X4_CONFIG = dict(
    image_size=64, in_channels=3, model_channels=160, out_channels=3, attention_resolutions=(64, 32, 16, 8),
    dropout=0.0, channel_mult=(1, 2, 2, 4), num_res_blocks=(2, 2, 2, 2), num_head_channels=32,
    use_scale_shift_norm=True, swin_depth=2, swin_embed_dim=192, window_size=8, mlp_ratio=4.0,
    cond_lq=True, lq_size=64, cond_mask=False, norm_groups=32,
)


@dataclass
class ResShiftUNetOutput(BaseOutput):
    sample: torch.Tensor


class ResShiftUNet(ModelMixin, ConfigMixin):
    """Predicts x0 (the HQ latent) from a noisy latent x_t, the timestep index and the LQ image."""

    @register_to_config
    def __init__(self, image_size: int = 64, in_channels: int = 3, model_channels: int = 160, out_channels: int = 3,
                 attention_resolutions: tuple = (64, 32, 16, 8), dropout: float = 0.0,
                 channel_mult: tuple = (1, 2, 2, 4), num_res_blocks: tuple = (2, 2, 2, 2),
                 num_head_channels: int = 32, use_scale_shift_norm: bool = True, swin_depth: int = 2,
                 swin_embed_dim: int = 192, window_size: int = 8, mlp_ratio: float = 4.0, cond_lq: bool = True,
                 lq_size: int = 64, lq_channels: int = 3, cond_mask: bool = False, norm_groups: int = 32,
                 lq_residual: int = 0, residual_sf: int | None = None):
        super().__init__()
        if isinstance(num_res_blocks, int):
            num_res_blocks = [num_res_blocks] * len(channel_mult)
        if len(num_res_blocks) != len(channel_mult):
            raise ValueError("num_res_blocks needs one entry per channel_mult level")
        emb_dim = model_channels * 4
        heads = swin_embed_dim // num_head_channels

        self.time_embed = nn.Sequential(nn.Linear(model_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))

        base_channels = 0
        if cond_lq:
            cin = lq_channels + (1 if cond_mask else 0)
            stages = int(round(math.log2(lq_size / image_size))) if lq_size != image_size else 0
            if stages < 0 or 2 ** stages * image_size != lq_size:
                raise ValueError("lq_size must be image_size times a power of two")
            if stages == 0:
                self.feature_extractor = nn.Identity()
                base_channels = cin
            else:
                layers, c = [], 16
                for _ in range(stages):
                    layers += [nn.Conv2d(cin, c, 3, padding=1), nn.SiLU(), Downsample(c, 2 * c)]
                    cin, c = 2 * c, 2 * c
                self.feature_extractor = nn.Sequential(*layers)
                base_channels = cin

        def swin(ch: int, resolution: int) -> SwinLayer:
            return SwinLayer(ch, swin_embed_dim, resolution, swin_depth, heads, window_size, mlp_ratio, norm_groups)

        def resblock(cin: int, cout: int) -> ResBlock:
            return ResBlock(cin, emb_dim, cout, dropout, use_scale_shift_norm, norm_groups)

        ch = model_channels
        self.input_blocks = nn.ModuleList(
            [TimestepEmbedSequential(nn.Conv2d(in_channels + base_channels, ch, 3, padding=1))])
        skip_channels, ds = [ch], 1
        for level, mult in enumerate(channel_mult):
            for j in range(num_res_blocks[level]):
                layers = [resblock(ch, mult * model_channels)]
                ch = mult * model_channels
                if image_size // ds in attention_resolutions and j == 0:
                    layers.append(swin(ch, image_size // ds))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                skip_channels.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(Downsample(ch)))
                skip_channels.append(ch)
                ds *= 2

        self.middle_block = TimestepEmbedSequential(resblock(ch, ch), swin(ch, image_size // ds), resblock(ch, ch))

        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks[level] + 1):
                layers = [resblock(ch + skip_channels.pop(), model_channels * mult)]
                ch = model_channels * mult
                if image_size // ds in attention_resolutions and i == 0:
                    layers.append(swin(ch, image_size // ds))
                if level and i == num_res_blocks[level]:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))

        self.out = nn.Sequential(normalization(ch, norm_groups), nn.SiLU(), nn.Conv2d(ch, out_channels, 3, padding=1))
        if lq_residual:  # start as "x0 = bicubic": the network learns only the correction
            nn.init.zeros_(self.out[-1].weight)
            nn.init.zeros_(self.out[-1].bias)

    @property
    def residual_space(self) -> tuple[int, int] | None:
        """(sf, f) of the latent space whose z_y the output is a correction of (``lq_residual``); None: none."""
        factor = self.config.get("lq_residual") or 0
        return ((self.config.get("residual_sf") or factor), factor) if factor else None

    def lq_latents(self, lq: torch.Tensor) -> torch.Tensor:
        """z_y of a pixel-unshuffle latent space: the bicubic upsampling of the LQ (x sf), unshuffled by f."""
        sf, factor = self.residual_space
        up = lq if sf == 1 else F.interpolate(lq, scale_factor=sf, mode="bicubic")
        return F.pixel_unshuffle(up, factor)

    @property
    def size_multiple(self) -> int:
        """Latent H and W must be multiples of this (attention windows at the coarsest level)."""
        levels = len(self.config.channel_mult) - 1
        return self.config.window_size * 2 ** levels

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | int, lq: torch.Tensor | None = None,
                mask: torch.Tensor | None = None, return_dict: bool = True, *, lq_latents: torch.Tensor | None = None):
        """``lq_latents``: z_y (:meth:`lq_latents` of ``lq``) when the caller has it already, so that a sampler
        computes it once per restore rather than once per step; only read when ``lq_residual`` is set."""
        if not torch.is_tensor(timestep):
            timestep = torch.tensor([timestep], device=sample.device)
        timestep = timestep.reshape(-1).expand(sample.shape[0])
        t_emb = get_timestep_embedding(timestep, self.config.model_channels, flip_sin_to_cos=True,
                                       downscale_freq_shift=0).to(self.dtype)
        emb = self.time_embed(t_emb)

        h = sample.to(self.dtype)
        if self.config.cond_lq:
            if lq is None:
                raise ValueError("this UNet is conditioned on the LQ image: pass lq=")
            condition = lq if mask is None else torch.cat([lq, mask], dim=1)
            h = torch.cat([h, self.feature_extractor(condition.to(self.dtype))], dim=1)

        skips = []
        for block in self.input_blocks:
            h = block(h, emb)
            skips.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        out = self.out(h.to(sample.dtype))
        if self.config.lq_residual:
            out = out + (self.lq_latents(lq) if lq_latents is None else lq_latents).to(out.dtype)
        return ResShiftUNetOutput(sample=out) if return_dict else (out,)
