"""ResShift's residual-shifting Markov chain as a diffusers scheduler.

Forward marginal  q(x_t | x_0, y) = N(x_0 + eta_t (y - x_0), kappa^2 eta_t I)
Posterior         q(x_{t-1} | x_t, x_0) = N(eta_{t-1}/eta_t x_t + alpha_t/eta_t x_0, kappa^2 eta_{t-1}/eta_t alpha_t I)
Prior             x_T = y + kappa sqrt(eta_T) noise

with the "exponential" eta schedule of ``get_named_eta_schedule`` (sqrt(eta) runs geometrically from
``min(min_noise_level / kappa, min_noise_level)`` to ``etas_end``, warped by ``power``). ``y`` is the LQ
latent. Timestep indices are 0-based: index 0 is the paper's t = 1, index T-1 the prior end. Fewer steps
than T use ResShift's own respacing (``space_timesteps``): the kept etas are used as they are and the
posterior is recomputed from them; the network still sees the original indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor


@dataclass
class ResShiftSchedulerOutput(BaseOutput):
    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


def exponential_sqrt_etas(steps: int, min_noise_level: float, etas_end: float, kappa: float,
                          power: float) -> np.ndarray:
    """sqrt(eta_t), t = 0..T-1, exactly as ResShift's 'exponential' schedule (float64)."""
    etas_start = min(min_noise_level / kappa, min_noise_level)
    if steps == 1:
        return np.array([etas_end], dtype=np.float64)
    increaser = np.exp(1.0 / (steps - 1) * np.log(etas_end / etas_start))
    base = np.ones(steps) * increaser
    power_timestep = np.linspace(0, 1, steps, endpoint=True) ** power * (steps - 1)
    return np.power(base, power_timestep) * etas_start


def space_timesteps(num_train_timesteps: int, num_steps: int) -> list[int]:
    """ResShift's respacing: {int(T / S * k), k = 0..S-1}; ascending. Note it omits T-1 when S < T."""
    return sorted({int(num_train_timesteps / num_steps * k) for k in range(num_steps)})


class ResShiftScheduler(SchedulerMixin, ConfigMixin):
    order = 1

    @register_to_config
    def __init__(self, num_train_timesteps: int = 4, kappa: float = 2.0, min_noise_level: float = 0.2,
                 etas_end: float = 0.99, power: float = 0.3, predict_type: str = "xstart",
                 normalize_input: bool = True, latent_flag: bool = True):
        if predict_type not in ("xstart", "epsilon", "epsilon_scale", "residual"):
            raise ValueError(f"unknown predict_type {predict_type!r}")
        sqrt_etas = exponential_sqrt_etas(num_train_timesteps, min_noise_level, etas_end, kappa, power)
        etas = sqrt_etas ** 2
        if not (np.all(etas > 0) and np.all(etas <= 1)):
            raise ValueError("the schedule must satisfy 0 < eta <= 1")
        self.train_sqrt_etas = sqrt_etas
        self.train_etas = etas
        self.set_timesteps(num_train_timesteps)

    # -- schedule -----------------------------------------------------------------------------------------
    def set_timesteps(self, num_inference_steps: int | None = None, device: str | torch.device | None = None):
        """Pick the timesteps to run (descending original indices); None means the trained T."""
        total = self.config.num_train_timesteps
        steps = total if num_inference_steps is None else int(num_inference_steps)
        if not 1 <= steps <= total:
            raise ValueError(f"num_inference_steps must be between 1 and {total} for this model, got {steps}")
        kept = space_timesteps(total, steps)
        self.num_inference_steps = steps
        self._kept = np.array(kept, dtype=np.int64)
        self._position = {int(t): i for i, t in enumerate(kept)}
        etas = self.train_etas[self._kept]
        etas_prev = np.append(0.0, etas[:-1])
        alphas = etas - etas_prev
        kappa = self.config.kappa
        self.etas, self.sqrt_etas, self.alphas = etas, np.sqrt(etas), alphas
        self.posterior_mean_coef1 = etas_prev / etas
        self.posterior_mean_coef2 = alphas / etas
        self.posterior_variance = kappa ** 2 * etas_prev / etas * alphas
        clipped = np.append(self.posterior_variance[1], self.posterior_variance[1:]) if steps > 1 \
            else self.posterior_variance.copy()
        self.posterior_log_variance_clipped = np.log(np.maximum(clipped, 1e-20))
        self.timesteps = torch.from_numpy(self._kept[::-1].copy()).to(device or "cpu")

    def _index(self, timestep) -> int:
        t = int(timestep.reshape(-1)[0]) if torch.is_tensor(timestep) else int(timestep)
        if t not in self._position:
            raise ValueError(f"timestep {t} is not in the current schedule {self.timesteps.tolist()}")
        return self._position[t]

    @staticmethod
    def _scalar(values: np.ndarray, index: int, like: torch.Tensor) -> torch.Tensor:
        return torch.tensor(float(values[index]), dtype=like.dtype, device=like.device)

    @property
    def init_noise_sigma(self) -> float:
        """Std of the prior: kappa * sqrt(eta) of the first (largest) timestep that will run."""
        return float(self.config.kappa * self.sqrt_etas[-1])

    # -- forward process ----------------------------------------------------------------------------------
    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor,
                  lq_latents: torch.Tensor) -> torch.Tensor:
        """Sample q(x_t | x_0, y) for a batch of original (training) indices."""
        t = timesteps.long().cpu().numpy()
        shape = (-1,) + (1,) * (original_samples.ndim - 1)
        eta = torch.from_numpy(self.train_etas[t]).to(original_samples).view(shape)
        sqrt_eta = torch.from_numpy(self.train_sqrt_etas[t]).to(original_samples).view(shape)
        return original_samples + eta * (lq_latents - original_samples) + self.config.kappa * sqrt_eta * noise

    def prior_sample(self, lq_latents: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = randn_tensor(lq_latents.shape, generator=generator, device=lq_latents.device, dtype=lq_latents.dtype)
        return lq_latents + self.init_noise_sigma * noise

    def input_scale(self, timesteps: torch.Tensor) -> torch.Tensor:
        """Divisor applied to x_t before the network, per original index (train-time helper)."""
        t = timesteps.long().cpu().numpy()
        kappa = self.config.kappa
        if not self.config.normalize_input:
            return torch.ones(len(t), dtype=torch.float64)
        if self.config.latent_flag:
            return torch.from_numpy(np.sqrt(kappa ** 2 * self.train_etas[t] + 1))
        return torch.from_numpy(3 * kappa * self.train_sqrt_etas[t] + 1)

    def scale_model_input(self, sample: torch.Tensor, timestep) -> torch.Tensor:
        t = torch.as_tensor([int(timestep.reshape(-1)[0]) if torch.is_tensor(timestep) else int(timestep)])
        return sample / self.input_scale(t).to(sample)

    # -- reverse process ----------------------------------------------------------------------------------
    def predict_x0(self, model_output: torch.Tensor, timestep, sample: torch.Tensor,
                   lq_latents: torch.Tensor | None = None) -> torch.Tensor:
        kind = self.config.predict_type
        if kind == "xstart":
            return model_output
        if lq_latents is None:
            raise ValueError(f"predict_type {kind!r} needs lq_latents")
        i = self._index(timestep)
        if kind == "residual":
            return lq_latents - model_output
        eta = self._scalar(self.etas, i, sample)
        if kind == "epsilon":
            noise_part = self.config.kappa * self._scalar(self.sqrt_etas, i, sample) * model_output
        else:  # epsilon_scale
            noise_part = model_output
        return (sample - noise_part - eta * lq_latents) / (1 - eta)

    def step(self, model_output: torch.Tensor, timestep, sample: torch.Tensor,
             generator: torch.Generator | None = None, lq_latents: torch.Tensor | None = None,
             return_dict: bool = True):
        """One reverse step x_t -> x_{t-1} from the posterior with the predicted x0."""
        i = self._index(timestep)
        pred_x0 = self.predict_x0(model_output, timestep, sample, lq_latents)
        mean = (self._scalar(self.posterior_mean_coef1, i, sample) * sample
                + self._scalar(self.posterior_mean_coef2, i, sample) * pred_x0)
        if i > 0:
            noise = randn_tensor(sample.shape, generator=generator, device=sample.device, dtype=sample.dtype)
            std = torch.exp(0.5 * self._scalar(self.posterior_log_variance_clipped, i, sample))
            prev = mean + std * noise
        else:
            prev = mean
        if not return_dict:
            return prev, pred_x0
        return ResShiftSchedulerOutput(prev_sample=prev, pred_original_sample=pred_x0)

    def __len__(self) -> int:
        return self.config.num_train_timesteps
