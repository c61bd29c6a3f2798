"""ResShift sampling as a diffusers pipeline.

LQ image y0 in [-1, 1]
  -> pad bottom/right (reflect) to a multiple of the UNet's lq_size (64), as the official sampler does
  -> z_y = E(bicubic_up(y0, sf))            E = VQModel.encode (official) or a lossless pixel-unshuffle
  -> x_T = z_y + kappa sqrt(eta_T) noise
  -> T reverse steps, each one UNet call:  x0 = unet(x_t / std_t, t, lq=y0);  x_{t-1} ~ posterior
  -> D(x_0) (VQModel.decode quantises, as the official sampler does; or pixel-shuffle), clamp, crop.

Inpainting checkpoints (``unet.config.cond_mask``, sf 1) also take the mask: the LQ is the image with its holes
set to -1, the UNet sees the mask (+1 = hole, -1 = known) beside it, and the known pixels are pasted back at
the end (the official ``mask_back``). ``hole_fill="push_pull"`` (the embedded CPU-sized model) fills the holes
of the LQ with :func:`restorers.hole_fill.push_pull_fill`'s smooth first guess instead of -1, so the chain
shifts from that guess to the HQ.

Without an autoencoder the "latent" of an H x W image is its pixel-unshuffle by ``latent_factor``
(3 * f^2 channels at H/f x W/f): with f = sf the network runs at LR resolution, which is what lets the
embedded checkpoint run on a CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers import VQModel

from ..hole_fill import push_pull_fill
from ..image_io import to_signed, to_unit
from ..padding import SizeRequirements
from ..pipeline import MASK_REFUSED, MASK_REQUIRED, RestorationPipeline
from .scheduler import ResShiftScheduler
from .unet import ResShiftUNet
from .vq import PerLevelVQModel  # noqa: F401 - imported so that from_pretrained finds converted face autoencoders


HOLE_FILLS = ("constant", "push_pull")


def masked_lq(image: torch.Tensor, mask: torch.Tensor, hole_fill: str = "constant") -> torch.Tensor:
    """The inpainting LQ in [-1, 1]: the holes (mask 1) at -1, as the official models take them, or filled with the
    push-pull first guess (``hole_fill="push_pull"``). Shared by the pipeline and the trainer."""
    if hole_fill == "push_pull":
        return push_pull_fill(image, mask)
    return image * (1 - mask) - mask


class ResShiftPipeline(RestorationPipeline):
    _optional_components = ["vqvae"]
    nfe_networks = ("unet",)
    compile_targets = {"unet": ("forward",), "vqvae": ("encode", "decode")}

    def __init__(self, unet: ResShiftUNet, scheduler: ResShiftScheduler, vqvae: VQModel | None = None,
                 sf: int = 4, latent_factor: int = 4, hole_fill: str = "constant"):
        super().__init__()
        if hole_fill not in HOLE_FILLS:
            raise ValueError(f"hole_fill must be one of {', '.join(HOLE_FILLS)}, got {hole_fill!r}")
        self.register_modules(unet=unet, scheduler=scheduler, vqvae=vqvae)
        self.register_to_config(sf=sf, latent_factor=latent_factor, hole_fill=hole_fill)

    # -- what it is ----------------------------------------------------------------------------------------
    def size_requirements(self) -> SizeRequirements:
        """The LQ is padded (reflect) to a multiple of the UNet's ``lq_size`` (64 for the released SR models), as
        the official sampler pads it, and of what the latent needs to fit the UNet's attention windows."""
        sf, down = self.config.sf, self.latent_downscale
        multiple = self.unet.size_multiple * down
        if multiple % sf:
            raise ValueError(f"latent downscale {down} and sf {sf} give a fractional LQ multiple")
        return SizeRequirements(multiple_of=math.lcm(multiple // sf, int(self.unet.config.get("lq_size") or 1)))

    def step_limits(self) -> tuple[int, int]:
        """The trained chain length is both the most and the default (4 for the released models)."""
        total = int(self.scheduler.config.num_train_timesteps)
        return total, total

    def mask_input(self) -> str:
        """Inpainting checkpoints (``unet.config.cond_mask``) need the mask; the others refuse one."""
        return MASK_REQUIRED if self.unet.config.get("cond_mask") else MASK_REFUSED

    # -- latent space --------------------------------------------------------------------------------------
    @property
    def latent_downscale(self) -> int:
        if self.vqvae is not None:
            return 2 ** (len(self.vqvae.config.block_out_channels) - 1)
        return self.config.latent_factor

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        if self.vqvae is not None:
            return self.vqvae.encode(image.to(self.vqvae.dtype)).latents.to(image.dtype)
        return F.pixel_unshuffle(image, self.config.latent_factor)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        if self.vqvae is not None:
            return self.vqvae.decode(latents.to(self.vqvae.dtype)).sample.to(latents.dtype)
        return F.pixel_shuffle(latents, self.config.latent_factor)

    def lq_latents(self, lq: torch.Tensor) -> torch.Tensor:
        """z_y: encode the (unclamped, non-antialiased) bicubic upsampling of the LQ, as ResShift does."""
        up = lq if self.config.sf == 1 else F.interpolate(lq, scale_factor=self.config.sf, mode="bicubic")
        return self.encode(up)

    # -- the method's math ---------------------------------------------------------------------------------
    def restore_padded(self, lq: torch.Tensor, num_inference_steps: int | None, generator, callback_on_step_end,
                       mask: torch.Tensor | None = None) -> torch.Tensor:
        """Padded LQ (B, 3, h, w) in [0, 1] (and for inpainting the padded mask, 1 = fill) -> (B, 3, sf h, sf w).

        Inpainting: holes at -1 in the LQ, as the official training and sampler feed them, and the mask (+1 hole,
        -1 known) beside it in the UNet; the base pipeline pastes the known pixels back (the official mask_back).
        """
        y0 = to_signed(lq)
        unet_kwargs = {}
        if mask is not None:
            y0 = masked_lq(y0, mask, self.config.get("hole_fill", "constant"))
            unet_kwargs["mask"] = mask * 2 - 1  # padded with the LQ (the official code forgets to)
        z_y = self.lq_latents(y0)
        if self.vqvae is None and self.unet.residual_space == (self.config.sf, self.config.latent_factor):
            unet_kwargs["lq_latents"] = z_y  # the UNet's own residual base is this z_y: not recomputed per step
        self.scheduler.set_timesteps(num_inference_steps)  # indices stay on the CPU; moved per call

        def step(latents, t):
            model_input = self.scheduler.scale_model_input(latents, t)
            x0 = self.unet(model_input, t.to(y0.device), lq=y0, **unet_kwargs).sample
            out = self.scheduler.step(x0, t, latents, generator=generator, lq_latents=z_y)
            return out.prev_sample, {}

        latents = self.sampling_loop(self.scheduler.timesteps, self.scheduler.prior_sample(z_y, generator=generator),
                                     step, callback_on_step_end)
        return to_unit(self.decode(latents).clamp(-1.0, 1.0)).float()
