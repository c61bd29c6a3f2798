"""The burst IR network: OpenCV aligns, a kernel regression merges, a small CNN restores what the merge leaves.

    frames (B, N, H, W) RGGB mosaics, frame 0 the reference
      -> global motion of each frame (:mod:`.alignment`: phase correlation + ECC, numpy, no gradient)
      -> kernel-regression merge of every sample onto the x4 grid (:mod:`.kernel_merge`), in linear camera RGB,
         and the kernel weight each pixel rests on
      -> both to sRGB / log scale, folded 4x4 into channels (pixel unshuffle): the CNN runs at the mosaic's
         resolution, as cheap as a single-image network on the LQ
      -> residual blocks, unfolded x4 (pixel shuffle), added to the merge in sRGB

DBSR (Bhat et al., CVPR 2021) learns the alignment (a pretrained PWC-Net) and the merge weights; this project's
first burst network learned both from scratch on a CPU and barely used the other frames (its flow was 2.7 HQ px
off, and the true motion in its place gained 0.01 dB). Here the classical steps carry the sub-pixel information
and the training budget goes to denoising and sharpening. The merge assumes one motion per frame (hand-shake).

On the meta device (FLOP counting) the identity motion stands in for OpenCV's estimate: the counted convolutions
do not depend on it, and the estimate itself runs outside torch, where no counter sees it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ModelMixin
from diffusers.configuration_utils import ConfigMixin, register_to_config
from torch import nn

from ..padding import pad_bottom_right
from ..regression.network import ResidualBlock
from .alignment import global_motion
from .camera import bilinear_demosaic, process
from .kernel_merge import SIGMAS, kernel_merge


class MergeBurstNet(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, channels: int = 64, num_blocks: int = 8, upscale: int = 4,
                 sigmas: tuple[float, float, float] = SIGMAS):
        super().__init__()
        folded = 3 * upscale * upscale
        self.head = nn.Conv2d(2 * folded, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResidualBlock(channels) for _ in range(num_blocks)])
        self.tail = nn.Conv2d(channels, folded, 3, padding=1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He initialisation, the blocks' second convolutions scaled down and the tail at zero: the untrained
        network returns the merge itself."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
                nn.init.zeros_(module.bias)
        with torch.no_grad():
            for block in self.body:
                block.conv2.weight.mul_(0.1)
            nn.init.zeros_(self.tail.weight)

    @staticmethod
    def motion(frames: torch.Tensor) -> torch.Tensor:
        """(B, N, H, W) -> (B, N, 2, 3) global motion per frame, in mosaic pixels."""
        batch, count = frames.shape[:2]
        if frames.is_meta:
            return torch.eye(2, 3, dtype=frames.dtype, device=frames.device).expand(batch, count, 2, 3)
        mosaics = frames.detach().float().cpu().numpy()
        warps = np.stack([global_motion(burst) for burst in mosaics])
        return torch.from_numpy(warps).to(device=frames.device, dtype=frames.dtype)

    def merge(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The kernel-regression merge in sRGB (B, 3, 4H, 4W) and log(1 + its kernel weight), without the CNN."""
        scale = self.config.upscale
        naive = F.interpolate(bilinear_demosaic(frames[:, :1]), scale_factor=scale, mode="bilinear",
                              align_corners=False)
        merged, weight = kernel_merge(frames, self.motion(frames), naive, scale, tuple(self.config.sigmas))
        return process(merged), torch.log1p(weight)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames: (B, N, H, W) RGGB mosaics in [0, 1], frame 0 the reference -> sRGB (B, 3, 4H, 4W), unclamped."""
        height, width = frames.shape[-2:]
        frames = pad_bottom_right(frames, 2, "reflect")  # an even mosaic (mirroring keeps the Bayer phase)
        scale = self.config.upscale
        merged, weight = self.merge(frames)
        x = self.head(torch.cat([F.pixel_unshuffle(merged, scale), F.pixel_unshuffle(weight, scale)], dim=1))
        x = self.tail(x + self.body(x))
        restored = merged + F.pixel_shuffle(x, scale)
        return restored[..., : height * scale, : width * scale]
