"""DP-IR's sampler: a VP-DDPM with an x0-parameterised reverse step and the accelerated start of Lemma 3.2.

Notation (1-based, as the paper): beta_t linear from ``beta_start`` to ``beta_end`` over t = 1..T,
alpha_t = 1 - beta_t, abar_t = prod_{s<=t} alpha_s, abar_0 = 1.

* Forward: q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I).
* Reverse (eq. 3, x0-parameterised): x_{t-1} = mu_t(x_t, x0_hat) + sigma_t z, where
  mu_t = gamma_t x0_hat + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t, gamma_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t),
  and sigma_t^2 = beta_t (the paper's choice, ``variance_type="beta"``) or the posterior variance
  beta_t (1 - abar_{t-1}) / (1 - abar_t) (``"posterior"``). No noise is added at t = 1.
* Accelerated start (Lemma 3.2, eq. 8-11): with x0_hat held at the IR estimate for the first T - tau steps,
  the T - tau single steps compose into one Gaussian jump from x_T:
  x_tau = c_ir x_IR + c_T x_T + sqrt(v) z, with Gamma^j_i = sqrt(prod_{n=j..i} alpha_n) (1 - abar_{j-1}) / (1 - abar_i)
  (1 for i < j), c_ir = sum_{i=0}^{k-1} Gamma^{tau+1}_{T-i-1} gamma_{T-i}, c_T = Gamma^{tau+1}_T and
  v = sum_{i=0}^{k-1} (Gamma^{tau+1}_{T-i-1})^2 sigma^2_{T-i}, k = T - tau.
  The noise the skipped steps would have drawn is summed into the one Gaussian, so the jump has exactly the
  distribution of running those steps (tests check mean coefficients and variance), at no network cost.
* After the jump: DDPM over t = tau..1 (tau network calls), or DDIM (``set_timesteps(..., ddim_stride=s)``):
  tau, tau - s, ..., down to 0, each step x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - s^2) eps + s z
  with eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t) and s = eta sqrt((1 - abar_prev)/(1 - abar_t)) sqrt(1 - abar_t/abar_prev).

Why not a stock diffusers scheduler: ``DDPMScheduler`` and ``DDIMScheduler`` index from 0 with abar_0 = 1 - beta_1
(the paper's abar_1), have no jump, and ``DDPMScheduler``'s "fixed_small" variance is the posterior one, not beta_t;
writing the ten lines of math here keeps the paper's indices visible and the jump exact.

The denoising module sees ``x_t / sqrt(abar_t)`` with noise level ``sigma_tilde_t = sqrt((1 - abar_t) / abar_t)``
(:meth:`DPIRScheduler.denoiser_input`).
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
class DPIRSchedulerOutput(BaseOutput):
    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class DPIRScheduler(SchedulerMixin, ConfigMixin):
    order = 1

    @register_to_config
    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02,
                 variance_type: str = "beta", tau: int = 250, ddim_stride: int | None = None, eta: float = 0.0):
        if variance_type not in ("beta", "posterior"):
            raise ValueError(f"variance_type must be 'beta' or 'posterior', got {variance_type!r}")
        total = num_train_timesteps
        betas = np.linspace(beta_start, beta_end, total, dtype=np.float64)
        # index t holds the paper's quantity at t (1-based); index 0 is t = 0 (abar_0 = 1)
        self.betas = np.concatenate([[0.0], betas])
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.set_timesteps(tau=tau, ddim_stride=ddim_stride)

    # -- per-t quantities ---------------------------------------------------------------------------------
    def gamma(self, t: int) -> float:
        """Coefficient of x0_hat in mu_t."""
        abar = self.alphas_cumprod
        return float(np.sqrt(abar[t - 1]) * self.betas[t] / (1.0 - abar[t]))

    def xt_coefficient(self, t: int) -> float:
        """Coefficient of x_t in mu_t."""
        abar = self.alphas_cumprod
        return float(np.sqrt(self.alphas[t]) * (1.0 - abar[t - 1]) / (1.0 - abar[t]))

    def variance(self, t: int) -> float:
        """sigma_t^2 of the reverse step from t to t-1."""
        if self.config.variance_type == "beta":
            return float(self.betas[t])
        abar = self.alphas_cumprod
        return float(self.betas[t] * (1.0 - abar[t - 1]) / (1.0 - abar[t]))

    def sigma_tilde(self, t: int | torch.Tensor) -> torch.Tensor:
        """Noise level of x_t / sqrt(abar_t) as an estimate of x_0: sqrt((1 - abar_t) / abar_t)."""
        abar = torch.as_tensor(self.alphas_cumprod, dtype=torch.float64)[torch.as_tensor(t)]
        return torch.sqrt((1.0 - abar) / abar).float()

    def denoiser_input(self, sample: torch.Tensor, t: int) -> tuple[torch.Tensor, float]:
        """(x_t / sqrt(abar_t), sigma_tilde_t): what the task-agnostic denoiser is given."""
        return sample / float(np.sqrt(self.alphas_cumprod[t])), float(self.sigma_tilde(t))

    # -- the accelerated start ----------------------------------------------------------------------------
    def big_gamma(self, j: int, i: int) -> float:
        """Gamma^j_i of eq. (10); 1 when i < j."""
        if i < j:
            return 1.0
        abar = self.alphas_cumprod
        return float(np.sqrt(np.prod(self.alphas[j:i + 1])) * (1.0 - abar[j - 1]) / (1.0 - abar[i]))

    def jump_coefficients(self, tau: int, start: int | None = None) -> tuple[float, float, float]:
        """(c_ir, c_start, variance) of the k = start - tau step jump (start defaults to T)."""
        start = self.config.num_train_timesteps if start is None else start
        if not 0 <= tau < start:
            raise ValueError(f"tau must be in [0, {start}), got {tau}")
        k = start - tau
        c_ir = sum(self.big_gamma(tau + 1, start - i - 1) * self.gamma(start - i) for i in range(k))
        c_start = self.big_gamma(tau + 1, start)
        var = sum(self.big_gamma(tau + 1, start - i - 1) ** 2 * self.variance(start - i) for i in range(k))
        if tau == 0:  # the last of those steps (t = 1) adds no noise
            var -= self.big_gamma(1, 0) ** 2 * self.variance(1)
        return float(c_ir), float(c_start), float(max(var, 0.0))

    def accelerated_start(self, ir_estimate: torch.Tensor, tau: int | None = None, noise: torch.Tensor | None = None,
                          generator: torch.Generator | None = None) -> torch.Tensor:
        """x_tau from x_T ~ N(0, I) and the IR estimate in one draw (eq. 11)."""
        tau = self.config.tau if tau is None else tau
        c_ir, c_start, var = self.jump_coefficients(tau)
        shape, device, dtype = ir_estimate.shape, ir_estimate.device, ir_estimate.dtype
        x_start = randn_tensor(shape, generator=generator, device=device, dtype=dtype) if noise is None else noise
        z = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        return c_ir * ir_estimate + c_start * x_start + float(np.sqrt(var)) * z

    def prior_sample(self, shape, generator=None, device=None, dtype=torch.float32) -> torch.Tensor:
        """x_T ~ N(0, I) (conventional sampling from T, no accelerated start)."""
        return randn_tensor(shape, generator=generator, device=device, dtype=dtype)

    # -- schedule -----------------------------------------------------------------------------------------
    def set_timesteps(self, num_inference_steps: int | None = None, device=None, tau: int | None = None,
                      ddim_stride: int | None = None):
        """Timesteps after the start point: tau, tau-1, ..., 1 (DDPM) or tau, tau-s, ... (DDIM, stride s).

        ``num_inference_steps`` (the network calls wanted) picks the DDIM stride ceil(tau / n) when given;
        ``tau = T`` with stride 1 is conventional full sampling.
        """
        total = self.config.num_train_timesteps
        tau = self.config.tau if tau is None else int(tau)
        if not 1 <= tau <= total:
            raise ValueError(f"tau must be between 1 and {total}, got {tau}")
        stride = self.config.ddim_stride if ddim_stride is None else ddim_stride
        if num_inference_steps is not None:
            if not 1 <= int(num_inference_steps) <= tau:
                raise ValueError(f"num_inference_steps must be between 1 and tau = {tau}, got {num_inference_steps}")
            stride = int(np.ceil(tau / int(num_inference_steps)))
        stride = int(stride or 1)
        if stride < 1:
            raise ValueError("the DDIM stride must be at least 1")
        self.tau, self.stride = tau, stride
        self.use_ddim = stride > 1
        self.timesteps = torch.arange(tau, 0, -stride, dtype=torch.long)
        self.num_inference_steps = len(self.timesteps)

    def previous_timestep(self, t: int) -> int:
        return max(int(t) - self.stride, 0)

    # -- training -----------------------------------------------------------------------------------------
    def add_noise(self, original: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        abar = torch.as_tensor(self.alphas_cumprod, dtype=torch.float64)[timesteps.cpu()].to(original)
        abar = abar.view(-1, *([1] * (original.ndim - 1)))
        return abar.sqrt() * original + (1.0 - abar).sqrt() * noise

    # -- sampling -----------------------------------------------------------------------------------------
    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             generator: torch.Generator | None = None, return_dict: bool = True):
        """One reverse step from t to the next timestep, given the x0 estimate ``model_output``."""
        t = int(timestep)
        prev = self.previous_timestep(t)
        x0 = model_output
        if prev == t - 1 and not self.use_ddim:
            mean = self.gamma(t) * x0 + self.xt_coefficient(t) * sample
            std = float(np.sqrt(self.variance(t))) if t > 1 else 0.0
        else:  # DDIM (eta = 0: deterministic)
            abar_t, abar_prev = self.alphas_cumprod[t], self.alphas_cumprod[prev]
            eps = (sample - float(np.sqrt(abar_t)) * x0) / float(np.sqrt(1.0 - abar_t))
            std = float(self.config.eta * np.sqrt((1.0 - abar_prev) / (1.0 - abar_t)) * np.sqrt(1.0 - abar_t / abar_prev))
            mean = float(np.sqrt(abar_prev)) * x0 + float(np.sqrt(max(1.0 - abar_prev - std ** 2, 0.0))) * eps
        prev_sample = mean
        if std > 0:
            prev_sample = mean + std * randn_tensor(sample.shape, generator=generator, device=sample.device,
                                                    dtype=sample.dtype)
        if not return_dict:
            return (prev_sample,)
        return DPIRSchedulerOutput(prev_sample=prev_sample, pred_original_sample=x0)
