"""DiffIR's IPR chain: 4 deterministic reverse steps on a 256-vector, each the DDPM posterior mean.

Betas are LDM's "linear" schedule, i.e. beta_t = linspace(sqrt(0.1), sqrt(0.99), T)^2 (diffusers' "scaled_linear"
with beta_start 0.1, beta_end 0.99). The network predicts z_0 (``prediction_type="sample"``), and a step is

    z_{t-1} = coef1_t * z0_hat + coef2_t * z_t,   coef1_t = beta_t sqrt(abar_{t-1}) / (1 - abar_t),
                                                  coef2_t = (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t)

with **no noise added** (the official sampler computes the posterior variance but never uses it). Stock
``DDPMScheduler`` with these betas computes the same mean but always adds variance noise for t > 0, and DDIM with
eta = 0 uses a different (non-posterior) update, so neither is equivalent: this class is the posterior mean alone.

Fewer steps than ``num_train_timesteps`` respace the chain: the same formula between consecutive kept
timesteps, with alpha_t replaced by abar_t / abar_prev (DDPM respacing). More steps than the chain was trained
with are refused: the chain has only T states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils import BaseOutput


@dataclass
class IPRSchedulerOutput(BaseOutput):
    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class DiffIRScheduler(SchedulerMixin, ConfigMixin):
    order = 1

    @register_to_config
    def __init__(self, num_train_timesteps: int = 4, beta_start: float = 0.1, beta_end: float = 0.99):
        betas = np.linspace(beta_start ** 0.5, beta_end ** 0.5, num_train_timesteps, dtype=np.float64) ** 2
        self.betas = torch.from_numpy(betas)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self.init_noise_sigma = 1.0
        self.set_timesteps(num_train_timesteps)

    def set_timesteps(self, num_inference_steps: int | None = None, device: str | torch.device | None = None) -> None:
        total = self.config.num_train_timesteps
        steps = total if num_inference_steps is None else int(num_inference_steps)
        if not 1 <= steps <= total:
            raise ValueError(f"the IPR chain has {total} steps: num_inference_steps must be 1..{total}, got {steps}")
        kept = np.unique(np.round(np.linspace(total - 1, 0, steps)).astype(np.int64))[::-1].copy()  # always from T-1
        self.num_inference_steps = len(kept)
        self.timesteps = torch.from_numpy(kept).to(device)

    def previous_timestep(self, timestep: int) -> int:
        kept = self.timesteps.tolist()
        index = kept.index(int(timestep))
        return kept[index + 1] if index + 1 < len(kept) else -1

    def coefficients(self, timestep: int) -> tuple[float, float]:
        """(coef1, coef2) of the step from ``timestep`` to the next kept one (float64)."""
        t, prev = int(timestep), self.previous_timestep(timestep)
        abar_t = float(self.alphas_cumprod[t])
        abar_prev = float(self.alphas_cumprod[prev]) if prev >= 0 else 1.0
        alpha = abar_t / abar_prev
        coef1 = (1.0 - alpha) * abar_prev ** 0.5 / (1.0 - abar_t)
        coef2 = (1.0 - abar_prev) * alpha ** 0.5 / (1.0 - abar_t)
        return coef1, coef2

    def add_noise(self, original: torch.Tensor, noise: torch.Tensor, timestep: int) -> torch.Tensor:
        """q(z_t | z_0): how training starts the chain from the stage-1 IPR (t = T - 1)."""
        abar = float(self.alphas_cumprod[int(timestep)])
        return abar ** 0.5 * original + (1.0 - abar) ** 0.5 * noise

    def scale_model_input(self, sample: torch.Tensor, timestep: int | None = None) -> torch.Tensor:
        return sample

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             generator: torch.Generator | None = None, return_dict: bool = True):
        """model_output is the z_0 estimate; the result is the posterior mean (no noise, ``generator`` unused)."""
        coef1, coef2 = self.coefficients(int(timestep))
        prev = coef1 * model_output + coef2 * sample
        if not return_dict:
            return (prev,)
        return IPRSchedulerOutput(prev_sample=prev, pred_original_sample=model_output)

    def __len__(self) -> int:
        return self.config.num_train_timesteps
