"""The IPR denoiser of DiffIR: a small MLP that predicts the clean IR prior z_0 from z_t, t and CPEN_S2's vector.

Input: cat[c, t / (10 T), z_t] (256 + 1 + 256 features, in the official order); the timestep enters as one
scaled scalar, not a sinusoidal embedding. Despite the official class names there is no residual connection,
and the output ends with a LeakyReLU like CPEN's, so z_0 and the prediction live in the same range.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


class ResMLP(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.resmlp = nn.Sequential(nn.Linear(features, features), nn.LeakyReLU(0.1, inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resmlp(x)


class IPRDenoiser(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, ipr_dim: int = 256, n_denoise_res: int = 1, num_train_timesteps: int = 4):
        super().__init__()
        self.resmlp = nn.Sequential(nn.Linear(2 * ipr_dim + 1, ipr_dim), nn.LeakyReLU(0.1, inplace=True),
                                    *[ResMLP(ipr_dim) for _ in range(n_denoise_res)])

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | int, condition: torch.Tensor) -> torch.Tensor:
        """sample z_t (B, 256), integer timestep(s), condition c = CPEN_S2(LQ) (B, 256) -> z_0 estimate."""
        t = torch.as_tensor(timestep, dtype=sample.dtype, device=sample.device).reshape(-1, 1)
        t = t.expand(sample.shape[0], 1) / (10 * self.config.num_train_timesteps)
        return self.resmlp(torch.cat([condition, t, sample], dim=1))
