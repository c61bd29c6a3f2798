"""DiffIR stage-2 inference as a diffusers pipeline.

    y (LQ in [0, 1]; for inpainting: image * (1 - mask) and the mask, 4 channels)
      -> pad bottom/right to a multiple of 8 (reflect; symmetric for inpainting, as the official inference does)
      -> c = CPEN_S2(y)                                   once per image
      -> z_{T-1} ~ N(0, I) (B x 256), or ``latents``
      -> for t = T-1 .. 0: z0 = IPRDenoiser(z_t, t, c);  z_{t-1} = posterior mean       4 NFE (the MLP)
      -> x = DIRformer(y, z_0)                            1 NFE (the transformer)
      -> crop; for inpainting keep the known pixels: x = m x + (1 - m) image

NFE counts both networks by hooks (4 + 1 for the released models); ``step_networks`` marks the MLP as the per-step
network, so the DIRformer and CPEN are the once-per-image part of the FLOPs. ``use_diffusion=False`` feeds the
CPEN_S2 vector straight to the DIRformer (the paper's "no diffusion" ablation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.utils.torch_utils import randn_tensor

from ..image_io import InvalidImageError, images_to_batch
from ..padding import SizeRequirements
from ..pipeline import MASK_REFUSED, MASK_REQUIRED, RestorationPipeline
from .cpen import CPEN
from .dirformer import DIRformer
from .ipr_denoiser import IPRDenoiser
from .scheduler import DiffIRScheduler


class DiffIRPipeline(RestorationPipeline):
    nfe_networks = ("ipr_denoiser", "dirformer")  # NFE: 4 MLP steps + 1 transformer pass
    step_networks = ("ipr_denoiser",)
    whole_image_inputs = ("latents", "ground_truth")  # the initial IPR noise and the oracle's HQ: never tiled
    compile_targets = {"dirformer": ("forward",), "cpen": ("forward",)}  # the 4-step MLP stays eager: tiny

    def __init__(self, dirformer: DIRformer, cpen: CPEN, ipr_denoiser: IPRDenoiser, scheduler: DiffIRScheduler,
                 sf: int = 4, use_diffusion: bool = True):
        super().__init__()
        self.register_modules(dirformer=dirformer, cpen=cpen, ipr_denoiser=ipr_denoiser, scheduler=scheduler)
        self.register_to_config(sf=sf, use_diffusion=use_diffusion)

    # -- what it is ----------------------------------------------------------------------------------------
    @property
    def is_inpainting(self) -> bool:
        return self.dirformer.config.head == "inpaint"

    def mask_input(self) -> str:
        return MASK_REQUIRED if self.is_inpainting else MASK_REFUSED

    def size_requirements(self) -> SizeRequirements:
        """A multiple of 8 (the DIRformer's downsamplings), reflect; symmetric for inpainting, as the official
        LaMa-based inference pads."""
        return SizeRequirements(multiple_of=max(self.dirformer.size_multiple, 4),
                                mode="symmetric" if self.is_inpainting else "reflect")

    def step_limits(self) -> tuple[int, int]:
        """(most, default) IPR steps: the chain the model was trained with, and all of it by default."""
        if not self.config.use_diffusion:
            return 1, 1
        total = int(self.scheduler.config.num_train_timesteps)
        return total, total

    def prepare_method_inputs(self, method_inputs: dict, lq: torch.Tensor) -> dict:
        """``ground_truth`` (an oracle's HQ) arrives as an image, like ``image``."""
        if method_inputs.get("ground_truth") is not None:
            gt = images_to_batch(method_inputs["ground_truth"]).to(device=lq.device, dtype=lq.dtype)
            method_inputs = {**method_inputs, "ground_truth": gt}
        return method_inputs

    # -- the method's math ---------------------------------------------------------------------------------
    def network_input(self, lq: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """What CPEN_S2 and the DIRformer see: the LQ, or for inpainting the masked image and its mask."""
        if not self.is_inpainting:
            return lq
        if mask is None:
            raise InvalidImageError("inpainting needs a mask image: white marks the pixels to fill")
        return torch.cat([lq * (1.0 - mask), mask], dim=1)

    def sample_ipr(self, condition: torch.Tensor, num_inference_steps: int | None = None,
                   generator: torch.Generator | list[torch.Generator] | None = None,
                   latents: torch.Tensor | None = None, callback_on_step_end=None) -> torch.Tensor:
        """The reverse IPR chain from z_{T-1} (noise or ``latents``) to z_0, conditioned on CPEN_S2's vector."""
        self.scheduler.set_timesteps(num_inference_steps)
        shape = condition.shape
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=condition.device, dtype=condition.dtype)
        elif tuple(latents.shape) != tuple(shape):
            raise ValueError(f"latents (the initial IPR noise) must have shape {tuple(shape)}, got {tuple(latents.shape)}")

        def step(ipr, t):
            return self.scheduler.step(self.ipr_denoiser(ipr, t, condition), t, ipr).prev_sample, {}

        ipr = latents.to(device=condition.device, dtype=condition.dtype)
        return self.sampling_loop(self.scheduler.timesteps, ipr, step, callback_on_step_end)

    def restore_padded(self, lq: torch.Tensor, num_inference_steps: int | None, generator, callback_on_step_end,
                       mask: torch.Tensor | None = None, latents: torch.Tensor | None = None,
                       use_diffusion: bool | None = None, ground_truth: torch.Tensor | None = None) -> torch.Tensor:
        """Padded LQ (B, 3, h, w) in [0, 1] (and mask, 1 = fill, for inpainting) -> (B, 3, sf h, sf w).

        ``use_diffusion=False`` feeds CPEN_S2's vector straight to the DIRformer (default: the config). A stage-1
        CPEN (the oracle) takes ``ground_truth`` instead of the diffusion chain.
        """
        use_diffusion = self.config.use_diffusion if use_diffusion is None else use_diffusion
        x = self.network_input(lq, mask)
        sf = self.config.sf
        if self.cpen.is_stage1:  # the oracle: the IPR comes from the ground truth, no diffusion
            if ground_truth is None and lq.device.type != "meta":
                raise InvalidImageError("this is a stage-1 (oracle) DiffIR: it needs the ground truth image")
            if ground_truth is None:
                ground_truth = torch.zeros(lq.shape[0], 3, x.shape[-2] * sf, x.shape[-1] * sf, device=lq.device,
                                           dtype=lq.dtype)
            gt = F.pad(ground_truth, (0, x.shape[-1] * sf - ground_truth.shape[-1],
                                      0, x.shape[-2] * sf - ground_truth.shape[-2]), mode="replicate")
            ipr = self.cpen(x, gt)
        elif use_diffusion:
            ipr = self.sample_ipr(self.cpen(x), num_inference_steps, generator, latents, callback_on_step_end)
        else:
            ipr = self.cpen(x)
        return self.dirformer(x, ipr)
