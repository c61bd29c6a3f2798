"""The burst IR network: align, merge, demosaic, x4 and to sRGB in one pass, sized for a CPU.

A small design after DBSR (Bhat et al., CVPR 2021), the baseline of the burst SR literature:

    frames (B, N, H, W) RGGB mosaics
      -> pack each 2x2 Bayer cell into 4 channels (H/2 x W/2)
      -> a shared encoder per frame                                         features f_i
      -> alignment: a small dilated CNN sees (f_0, f_i) and predicts the flow from the reference to frame i,
         f_i is warped onto the reference by it (DBSR uses a pretrained PWC-Net; this one is trained here, with
         the synthetic burst's true motion as a second target: restorers.training.train_burst)
      -> merge: per-pixel, per-channel weights from (f_0, warped f_i, |difference|), softmax over frames,
         a weighted sum (DBSR's attention-based fusion)
      -> decoder: residual blocks, three x2 pixel-shuffle stages (x8 of the packed grid = x4 of the mosaic)
      -> added to the reference frame demosaicked bilinearly, processed to sRGB and enlarged x4 (so the
         untrained network is the naive baseline, and training learns what the other frames add)

Any number of frames works (the merge is a softmax over them); the first frame is the reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ModelMixin
from diffusers.configuration_utils import ConfigMixin, register_to_config
from torch import nn

from ..padding import pad_bottom_right
from ..regression.network import ResidualBlock
from .camera import bilinear_demosaic, pack, process


def warp(features: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``features`` (B, C, h, w) at each pixel + ``flow`` (B, 2, h, w; x then y, in pixels)."""
    height, width = features.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(height, dtype=flow.dtype, device=flow.device),
                            torch.arange(width, dtype=flow.dtype, device=flow.device), indexing="ij")
    x = (xs + flow[:, 0]) * (2.0 / max(width - 1, 1)) - 1.0
    y = (ys + flow[:, 1]) * (2.0 / max(height - 1, 1)) - 1.0
    return F.grid_sample(features, torch.stack([x, y], dim=-1), mode="bilinear", padding_mode="border",
                         align_corners=True)


class BurstSRNet(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, channels: int = 48, encoder_blocks: int = 2, decoder_blocks: int = 6, upscale: int = 4,
                 last_channels: int = 16):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(4, channels, 3, padding=1),
                                     *[ResidualBlock(channels) for _ in range(encoder_blocks)])
        self.flow = nn.Sequential(
            nn.Conv2d(2 * channels, channels, 3, padding=1), nn.LeakyReLU(0.1),
            nn.Conv2d(channels, channels, 3, padding=2, dilation=2), nn.LeakyReLU(0.1),
            nn.Conv2d(channels, channels, 3, padding=4, dilation=4), nn.LeakyReLU(0.1),
            nn.Conv2d(channels, 2, 3, padding=1))
        self.weights = nn.Sequential(nn.Conv2d(3 * channels, channels, 3, padding=1), nn.LeakyReLU(0.1),
                                     nn.Conv2d(channels, channels, 3, padding=1))
        self.decoder = nn.Sequential(*[ResidualBlock(channels) for _ in range(decoder_blocks)])
        self.up1 = nn.Conv2d(channels, 4 * channels, 3, padding=1)
        self.up2 = nn.Conv2d(channels, 4 * channels, 3, padding=1)
        self.up3 = nn.Conv2d(channels, 4 * last_channels, 3, padding=1)
        self.tail = nn.Conv2d(last_channels, 3, 3, padding=1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He initialisation; the flow and the tail start at zero (no motion assumed, output = the naive base)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0.1)
                nn.init.zeros_(module.bias)
        with torch.no_grad():
            for block in [*self.encoder[1:], *self.decoder]:
                block.conv2.weight.mul_(0.1)
            nn.init.zeros_(self.flow[-1].weight)
            nn.init.zeros_(self.tail.weight)

    def naive(self, reference: torch.Tensor) -> torch.Tensor:
        """The reference mosaic (B, 1, H, W) demosaicked, in sRGB, enlarged bilinearly x``upscale``."""
        srgb = process(bilinear_demosaic(reference))
        return F.interpolate(srgb, scale_factor=self.config.upscale, mode="bilinear", align_corners=False)

    def forward(self, frames: torch.Tensor, return_flow: bool = False):
        """frames: (B, N, H, W) RGGB mosaics in [0, 1], frame 0 the reference -> sRGB (B, 3, 4H, 4W), unclamped;
        with ``return_flow`` also the flow it aligned by, (B, N, 2, H/2, W/2) in packed pixels (training)."""
        batch, count, height, width = frames.shape
        frames = pad_bottom_right(frames, 2, "reflect")  # an even mosaic (mirroring keeps the Bayer phase)
        packed = pack(frames).flatten(0, 1)  # (B N, 4, h, w)
        features = self.encoder(packed)
        channels, small = features.shape[1], features.shape[-2:]
        features = features.view(batch, count, channels, *small)
        reference = features[:, :1].expand(-1, count, -1, -1, -1)
        pairs = torch.cat([reference, features], dim=2).flatten(0, 1)
        flow = self.flow(pairs)
        aligned = warp(features.flatten(0, 1), flow).view(batch, count, channels, *small)
        aligned = torch.cat([features[:, :1], aligned[:, 1:]], dim=1)  # the reference stays where it is
        scores = self.weights(torch.cat([reference, aligned, (reference - aligned).abs()], dim=2).flatten(0, 1))
        weights = torch.softmax(scores.view(batch, count, channels, *small), dim=1)
        merged = (weights * aligned).sum(dim=1)
        x = merged + self.decoder(merged)
        x = F.leaky_relu(F.pixel_shuffle(self.up1(x), 2), 0.1)
        x = F.leaky_relu(F.pixel_shuffle(self.up2(x), 2), 0.1)
        x = F.leaky_relu(F.pixel_shuffle(self.up3(x), 2), 0.1)
        scale = self.config.upscale
        detail = self.tail(x)[..., : height * scale, : width * scale]
        restored = self.naive(frames[:, :1])[..., : height * scale, : width * scale] + detail
        return (restored, flow.view(batch, count, 2, *small)) if return_flow else restored
