"""DP-IR sampling as a diffusers pipeline: frozen IR network + task-agnostic denoiser + small fusion net.

    y (LQ, [0, 1])
      -> x_IR = phi_IR(y)                                         1 NFE, once
      -> x_tau = c_ir x_IR + c_T x_T + sqrt(v) z                  the accelerated start (no network call)
      -> for t in tau, ..., 1 (or the DDIM subset):               1 NFE each
             x_D  = phi_D(x_t / sqrt(abar_t), sigma_tilde_t)      denoiser on the rescaled state
             x0   = phi_F(x_IR, x_D, t)                           fusion: the estimate of E[x_0 | y, x_t]
             x_t' = DDPM (sigma_t^2 = beta_t) or DDIM step towards x0
      -> clamp to [0, 1]

``tau = T`` (the ``ddpm`` method) is the conventional conditional sampler: it starts from pure noise and calls
the networks at every step. NFE counts the IR pass plus one per step (forward hooks on ``ir_network`` and the
per-step model), so DDPM at tau gives tau + 1, as the paper counts it. x0 estimates are clipped to [0, 1]
before each step (the paper does not say; it is DDPM's usual choice and keeps the chain in the image range).
"""

from __future__ import annotations

import torch
from diffusers.utils.torch_utils import randn_tensor
from torch import nn

from ..nn.spandrel_network import SpandrelNetwork  # noqa: F401  (imported so from_pretrained can rebuild one)
from ..pipeline import RestorationPipeline
from ..regression.network import ResidualSRNet  # noqa: F401  (likewise, for the embedded IR network)
from .conv_denoiser import FoldedConvDenoiser  # noqa: F401  (the embedded denoiser, for from_pretrained)
from .denoiser import PreconditionedDenoiser
from .fusion import FusionNet
from .ir_network import SpandrelIRNetwork  # noqa: F401  (folders saved before the wrapper moved name it)
from .scheduler import DPIRScheduler


class ConditionalEstimate(nn.Module):
    """One network evaluation of the sampler: x0_hat = phi_F(x_IR, phi_D(x_t / sqrt(abar_t), sigma_t), t).

    Not a pipeline component (it owns no weights of its own); it exists so that hooks see one call per step.
    """

    def __init__(self, denoiser: nn.Module, fusion: nn.Module):
        super().__init__()
        self.denoiser, self.fusion = denoiser, fusion

    def forward(self, ir_estimate: torch.Tensor, rescaled: torch.Tensor, sigma: float, timestep: int) -> torch.Tensor:
        denoised = self.denoiser(rescaled, sigma)
        return self.fusion(ir_estimate, denoised, timestep)


class DPIRPipeline(RestorationPipeline):
    nfe_networks = ("ir_network", "step_model")  # NFE: the IR pass + one per diffusion step
    step_networks = ("step_model",)  # the per-step cost (the IR pass is a once-per-image cost)
    whole_image_inputs = ("latents",)  # x_T belongs to the whole image: a call that passes it is never tiled
    compile_targets = {"ir_network": ("forward",), "denoiser": ("forward",), "fusion": ("forward",)}
    _callback_tensor_inputs = ["latents", "pred_original_sample"]

    def __init__(self, ir_network: nn.Module, denoiser: PreconditionedDenoiser, fusion: FusionNet, scheduler: DPIRScheduler,
                 sf: int = 4, num_inference_steps: int | None = None):
        super().__init__()
        self.register_modules(ir_network=ir_network, denoiser=denoiser, fusion=fusion, scheduler=scheduler)
        self.register_to_config(sf=sf, num_inference_steps=num_inference_steps)

    @property
    def compute_dtype(self) -> torch.dtype:
        return self.fusion.dtype

    @property
    def step_model(self) -> ConditionalEstimate:
        """The per-step network (built once per (denoiser, fusion) pair, so hooks on it stay put)."""
        cached = self.__dict__.get("_step_model")
        if cached is None or cached.denoiser is not self.denoiser or cached.fusion is not self.fusion:
            cached = ConditionalEstimate(self.denoiser, self.fusion)
            self.__dict__["_step_model"] = cached
        return cached

    def step_limits(self) -> tuple[int, int]:
        """(most, default) diffusion steps after the start point; fewer than tau means DDIM."""
        tau = int(self.scheduler.config.tau)
        default = self.config.num_inference_steps or (tau // (self.scheduler.config.ddim_stride or 1))
        return tau, min(max(int(default), 1), tau)

    def start_step(self) -> int:
        """tau: where the accelerated start lands (T: conventional sampling from x_T)."""
        return int(self.scheduler.config.tau)

    def set_start_step(self, tau: int) -> None:
        self.scheduler.register_to_config(tau=int(tau))

    def sampler_name(self, steps: int | None) -> str:
        """"ddpm" when every step from tau down is taken, "ddim" when fewer."""
        return "ddim" if (steps or self.step_limits()[1]) < self.start_step() else "ddpm"

    def set_ir_network(self, network: nn.Module) -> None:
        """Swap the frozen IR network (e.g. a spandrel-loaded SwinIR); its scale must be the task's."""
        scale = getattr(getattr(network, "config", None), "scale", None)
        if scale is not None and int(scale) != int(self.config.sf):
            raise ValueError(f"the IR network upscales x{scale}; this pipeline's task needs x{self.config.sf}")
        self.register_modules(ir_network=network.eval().requires_grad_(False))

    def check_steps(self, num_inference_steps) -> int | None:
        """Checked against tau at call time (a call may pass its own tau), in :meth:`restore_padded`."""
        return num_inference_steps

    # -- the method's math ---------------------------------------------------------------------------------
    def restore_padded(self, lq: torch.Tensor, num_inference_steps: int | None, generator, callback_on_step_end,
                       tau: int | None = None, latents: torch.Tensor | None = None) -> torch.Tensor:
        """LQ (B, 3, h, w) in [0, 1] -> restored (B, 3, sf*h, sf*w) in [0, 1]. ``tau``: this call's start point
        (default: the scheduler's); ``latents``: x_T, shaped like the output."""
        scheduler = self.scheduler
        tau = int(scheduler.config.tau if tau is None else tau)
        steps = num_inference_steps or self.config.num_inference_steps
        scheduler.set_timesteps(steps, tau=tau)
        total = scheduler.config.num_train_timesteps
        ir_estimate = self.ir_network(lq).clamp(0.0, 1.0)
        if ir_estimate.shape[-2:] != (lq.shape[-2] * self.config.sf, lq.shape[-1] * self.config.sf):
            raise ValueError(f"the IR network returned {tuple(ir_estimate.shape[-2:])} for a "
                             f"{tuple(lq.shape[-2:])} input; this task needs x{self.config.sf}")
        if latents is None:
            latents = randn_tensor(ir_estimate.shape, generator=generator, device=ir_estimate.device,
                                   dtype=ir_estimate.dtype)
        elif latents.shape != ir_estimate.shape:
            raise ValueError(f"latents must have shape {tuple(ir_estimate.shape)}, got {tuple(latents.shape)}")
        if tau == total:  # conventional sampling: x_T itself is the start
            sample = latents
        else:
            sample = scheduler.accelerated_start(ir_estimate, tau, noise=latents, generator=generator)

        def step(sample, t):
            rescaled, sigma = scheduler.denoiser_input(sample, int(t))
            x0 = self.step_model(ir_estimate, rescaled, sigma, int(t)).clamp(0.0, 1.0)
            return scheduler.step(x0, t, sample, generator=generator).prev_sample, {"pred_original_sample": x0}

        return self.sampling_loop(scheduler.timesteps, sample, step, callback_on_step_end)
