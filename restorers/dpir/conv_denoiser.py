"""A denoiser made of wide 3x3 convolutions on 2 x 2 pixel blocks: DP-IR's task-agnostic phi_D, fast on a CPU.

The layout follows FFDNet (Zhang et al., IEEE TIP 2018): the image and its noise-level map are folded into
channels 2 x 2 (a quarter of the pixels, each conv seeing twice as far), 3x3 convolutions run there, and the last
conv's channels are unfolded back. FFDNet stacks plain conv + batch-norm + ReLU layers; here the convolutions come
in residual pairs (EDSR's block, no normalisation), because a plain 14-layer stack trained on this project's CPU
budget (1,000 steps) denoised far worse: +1.0 dB at sigma 25/255 where the residual layout is measured in its card.
The network predicts the residual F inside DP-IR's EDM preconditioning (:class:`.denoiser.PreconditionedDenoiser`),
so the untrained net already returns a sensible blend of its input and the image mean.

Why not the paper's MIRNet layout (:class:`.denoiser.DenoiserNet`)? Its attention units, bilinear resampling and
selective-kernel fusion work on 32-feature maps at the full output resolution: at the x4 output of a 256 x 256
photo they ran at about a quarter of a plain convolution stack's GFLOP/s on this project's 2-core CPUs, and took
most of DP-IR's time. Every layer here is a convolution as wide as that reference stack, so the denoiser runs
near its speed. The paper leaves the denoiser's architecture open (it is task-agnostic and swappable).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ModelMixin  # noqa: F401  (diffusers checks a linked component against its module's ModelMixin)
from diffusers.configuration_utils import register_to_config
from torch import nn

from .denoiser import PreconditionedDenoiser


class ResidualConvBlock(nn.Module):
    """conv-ReLU-conv plus the input; the second conv starts small, so a deep stack starts near the identity."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        nn.init.kaiming_normal_(self.conv1.weight, nonlinearity="relu")
        nn.init.zeros_(self.conv1.bias)
        with torch.no_grad():
            self.conv2.weight.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class FoldedConvDenoiser(PreconditionedDenoiser):
    @register_to_config
    def __init__(self, channels: int = 64, num_blocks: int = 6, fold: int = 2, image_channels: int = 3):
        super().__init__()
        self.head = nn.Conv2d((image_channels + 1) * fold ** 2, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[ResidualConvBlock(channels) for _ in range(num_blocks)])
        self.tail = nn.Conv2d(channels, image_channels * fold ** 2, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # F = 0 at the start: the preconditioned skip alone
        nn.init.zeros_(self.tail.bias)

    @staticmethod
    def describe(config: dict) -> str:
        return (f"An FFDNet-style network (`restorers/dpir/conv_denoiser.py`): {config['num_blocks']} residual blocks "
                f"of two 3x3 convolutions with {config['channels']} features on {config['fold']} x {config['fold']} "
                "pixel blocks, chosen for its speed on a CPU (the paper used MIRNet-S, 15.95 M parameters)")

    @property
    def multiple(self) -> int:
        return self.config.fold

    def body(self, x: torch.Tensor) -> torch.Tensor:
        fold = self.config.fold
        features = self.head(F.pixel_unshuffle(x, fold) if fold > 1 else x)
        out = self.tail(F.relu(self.blocks(features)))
        return F.pixel_shuffle(out, fold) if fold > 1 else out
