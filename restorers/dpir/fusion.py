"""DP-IR's Fusion network: the only per-task module, phi_F(x_IR, x_D, t) ~ E[x_0 | y, x_t] (~0.73 M parameters).

Layout (paper, App. I; the unstated sizes chosen so that the count is the paper's 0.73 M):
  * one encoder shared by both inputs: conv3x3(3 -> n_f) and a residual dense block (5 convs, growth 32);
  * time branch: sinusoidal embedding of t -> Linear -> ReLU -> Linear -> sigmoid = per-channel weights w;
  * 3CA (convex combination channel attention): w * f_D + (1 - w) * f_IR in feature space;
  * decoder: two residual dense blocks and conv3x3(n_f -> 3).
With n_f = 64 that is 731,267 parameters; separate encoders would give 0.98 M, which is why the encoder is
shared. The paper states no global skip, so by default the output is the x0 estimate itself.

``ir_skip=True`` (our embedded checkpoints) adds the IR estimate to the output and starts the last conv at zero:
the untrained net then returns the IR network's answer, and training only learns what the denoiser's view of
x_t adds to it. On a CPU budget of a few hundred steps this is the difference between starting at the IR
network's quality and starting from a blank image; it costs no parameters.

``fold=f`` (our choice, not the paper's) runs the whole net on f x f pixel blocks: both inputs are
pixel-unshuffled by f (3 f^2 channels each), the encoder, 3CA and decoder work at 1/f of the resolution, and
the decoder's last conv returns 3 f^2 channels that are pixel-shuffled back. With f = 4 on an x4 task that is the
LQ's resolution: the paper's full 0.73 M-parameter layout then costs about a quarter of the FLOPs that a
32-feature net at the HQ resolution costs, and its convolutions are wide enough to run near a plain conv stack's
speed, where at the HQ resolution concatenations and additions over 1024 x 1024 maps took half the time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ModelMixin
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import get_timestep_embedding
from torch import nn

from ..padding import pad_bottom_right


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs (growth ``growth``), LeakyReLU, the output added back scaled by 0.2."""

    def __init__(self, channels: int = 64, growth: int = 32):
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Conv2d(channels + i * growth, growth, 3, padding=1) for i in range(4)]
            + [nn.Conv2d(channels + 4 * growth, channels, 3, padding=1)])
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in self.convs[:-1]:
            features.append(self.act(conv(torch.cat(features, dim=1))))
        return x + 0.2 * self.convs[-1](torch.cat(features, dim=1))


class FusionNet(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, channels: int = 3, num_features: int = 64, growth: int = 32, time_dim: int = 64,
                 ir_skip: bool = False, fold: int = 1):
        super().__init__()
        folded = channels * fold ** 2
        self.encoder = nn.Sequential(nn.Conv2d(folded, num_features, 3, padding=1),
                                     ResidualDenseBlock(num_features, growth))
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, num_features), nn.ReLU(),
                                      nn.Linear(num_features, num_features))
        self.decoder = nn.Sequential(ResidualDenseBlock(num_features, growth), ResidualDenseBlock(num_features, growth),
                                     nn.Conv2d(num_features, folded, 3, padding=1))
        if ir_skip:
            nn.init.zeros_(self.decoder[-1].weight)
            nn.init.zeros_(self.decoder[-1].bias)

    def channel_weights(self, timestep: torch.Tensor) -> torch.Tensor:
        """w(t) in (0, 1)^n_f: how much of the denoiser's features to take at step t."""
        embedding = get_timestep_embedding(timestep.reshape(-1).float(), self.config.time_dim,
                                           flip_sin_to_cos=True, downscale_freq_shift=0)
        return torch.sigmoid(self.time_mlp(embedding.to(self.dtype)))

    def forward(self, ir_estimate: torch.Tensor, denoised: torch.Tensor, timestep: torch.Tensor | int) -> torch.Tensor:
        """(B, 3, H, W) IR estimate and denoiser estimate at step t -> the fused x0 estimate."""
        if not torch.is_tensor(timestep):
            timestep = torch.tensor([timestep], device=ir_estimate.device)
        timestep = timestep.reshape(-1).expand(ir_estimate.shape[0])
        w = self.channel_weights(timestep)[:, :, None, None]
        fold = self.config.fold
        height, width = ir_estimate.shape[-2:]
        if fold > 1:  # whole f x f blocks (an x4 task's HQ always is; a deblurred image may need padding)
            ir_folded, denoised = (F.pixel_unshuffle(pad_bottom_right(x, fold), fold) for x in (ir_estimate, denoised))
        else:
            ir_folded = ir_estimate
        encoded_ir, encoded_denoised = self.encoder(torch.cat([ir_folded, denoised])).chunk(2)  # one shared pass
        out = self.decoder(encoded_ir + w * (encoded_denoised - encoded_ir))  # = w f_D + (1 - w) f_IR
        if fold > 1:
            out = F.pixel_shuffle(out, fold)[..., :height, :width]
        return out + ir_estimate if self.config.ir_skip else out
