"""ResShift sampling as a diffusers pipeline.

LQ image y0 in [-1, 1]
  -> pad bottom/right (reflect) to a multiple of the UNet's lq_size (64), as the official sampler does
  -> z_y = E(bicubic_up(y0, sf))            E = VQModel.encode (official) or a lossless pixel-unshuffle
  -> x_T = z_y + kappa sqrt(eta_T) noise
  -> T reverse steps, each one UNet call:  x0 = unet(x_t / std_t, t, lq=y0);  x_{t-1} ~ posterior
  -> D(x_0) (VQModel.decode quantises, as the official sampler does; or pixel-shuffle), clamp, crop.

Inpainting checkpoints (``unet.config.cond_mask``, sf 1) also take the mask: the LQ is the image with its holes
set to -1, the UNet sees the mask (+1 = hole, -1 = known) beside it, and the known pixels are pasted back at
the end (the official ``mask_back``).

Without an autoencoder the "latent" of an H x W image is its pixel-unshuffle by ``latent_factor``
(3 * f^2 channels at H/f x W/f): with f = sf the network runs at LR resolution, which is what lets the
embedded checkpoint run on a CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline, ImagePipelineOutput, VQModel

from ..image_io import InvalidImageError, images_to_batch, postprocess, to_signed, to_unit
from ..masks import mask_to_batch
from ..tiling import TilingMixin
from .scheduler import ResShiftScheduler
from .unet import ResShiftUNet
from .vq import PerLevelVQModel  # noqa: F401 - imported so that from_pretrained finds converted face autoencoders


def pad_bottom_right(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad H and W up to a multiple: reflect where possible (as the official sampler), else replicate."""
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


class ResShiftPipeline(TilingMixin, DiffusionPipeline):
    _optional_components = ["vqvae"]
    denoiser_names = ("unet",)  # the networks whose calls count as NFE

    def __init__(self, unet: ResShiftUNet, scheduler: ResShiftScheduler, vqvae: VQModel | None = None,
                 sf: int = 4, latent_factor: int = 4):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, vqvae=vqvae)
        self.register_to_config(sf=sf, latent_factor=latent_factor)

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

    def lq_multiple(self) -> int:
        """The LQ is padded to a multiple of this: of the UNet's ``lq_size`` (64 for the released SR models), as
        the official sampler pads it, and of what the latent needs to fit the UNet's attention windows."""
        sf, down = self.config.sf, self.latent_downscale
        multiple = self.unet.size_multiple * down
        if multiple % sf:
            raise ValueError(f"latent downscale {down} and sf {sf} give a fractional LQ multiple")
        return math.lcm(multiple // sf, int(self.unet.config.get("lq_size") or 1))

    def min_tile_size(self) -> int:
        return self.lq_multiple()

    def lq_latents(self, lq: torch.Tensor) -> torch.Tensor:
        """z_y: encode the (unclamped, non-antialiased) bicubic upsampling of the LQ, as ResShift does."""
        up = lq if self.config.sf == 1 else F.interpolate(lq, scale_factor=self.config.sf, mode="bicubic")
        return self.encode(up)

    def enable_compile(self) -> ResShiftPipeline:
        """Compile the UNet and the autoencoder for CPU inference (:mod:`restorers.compile`): about 1.3x faster
        at fp32 after one to two minutes of compiling per input shape. For sweeps, not for one image."""
        from ..compile import compile_methods

        compile_methods(self.unet, ("forward",))
        if self.vqvae is not None:
            compile_methods(self.vqvae, ("encode", "decode"))
        return self

    def disable_compile(self) -> ResShiftPipeline:
        from ..compile import uncompile_methods

        for module in (self.unet, self.vqvae):
            if module is not None:
                uncompile_methods(module)
        return self

    # -- sampling ------------------------------------------------------------------------------------------
    @property
    def is_inpainting(self) -> bool:
        return bool(self.unet.config.get("cond_mask"))

    def restore_tensor(self, lq: torch.Tensor, num_inference_steps: int | None = None,
                       generator: torch.Generator | list[torch.Generator] | None = None,
                       callback_on_step_end=None, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The whole method on tensors: LQ (B, 3, h, w) in [-1, 1] -> restored (B, 3, sf*h, sf*w) in [0, 1].

        ``mask`` (inpainting checkpoints): (B, 1, h, w), 1 = fill. Kept free of PIL so that cost measurement can
        run it on the meta device.
        """
        height, width = lq.shape[-2:]
        multiple = self.lq_multiple()
        known = lq
        unet_kwargs = {}
        if self.is_inpainting:
            if mask is None and lq.device.type == "meta":  # cost counting: any mask will do
                mask = torch.zeros_like(lq[:, :1])
            if mask is None:
                raise ValueError("this ResShift checkpoint inpaints: pass a mask (mask_image, white = fill)")
            lq = lq * (1 - mask) - mask  # holes at -1, as the official training and sampler feed them
            unet_kwargs["mask"] = pad_bottom_right(mask * 2 - 1, multiple)  # padded too (the official code: not)
        lq = pad_bottom_right(lq, multiple)
        z_y = self.lq_latents(lq)

        self.scheduler.set_timesteps(num_inference_steps)  # indices stay on the CPU; moved per call
        latents = self.scheduler.prior_sample(z_y, generator=generator)
        for i, t in enumerate(self.progress_bar(self.scheduler.timesteps)):
            model_input = self.scheduler.scale_model_input(latents, t)
            model_output = self.unet(model_input, t.to(lq.device), lq=lq, **unet_kwargs).sample
            latents = self.scheduler.step(model_output, t, latents, generator=generator, lq_latents=z_y).prev_sample
            if callback_on_step_end is not None:  # diffusers' hook: progress, or raise to stop
                callback_on_step_end(self, i, t, {"latents": latents})

        restored = self.decode(latents).clamp(-1.0, 1.0)
        sf = self.config.sf
        restored = restored[..., : height * sf, : width * sf]
        if self.is_inpainting:  # the official mask_back: known pixels exactly as given
            restored = restored * mask + known * (1 - mask)
        return to_unit(restored).float()

    @torch.no_grad()
    def __call__(self, image, mask_image=None, num_inference_steps: int | None = None,
                 generator: torch.Generator | list[torch.Generator] | None = None, output_type: str = "pil",
                 return_dict: bool = True, callback_on_step_end=None, tile_size: int | None = None,
                 tile_overlap: int | None = None, tile_weighting: str = "feather"):
        """Restore ``image`` (a PIL image or a list of equally sized ones).

        ``num_inference_steps`` defaults to the trained chain length (4 for the released models); fewer
        steps use ResShift's respacing. Each step is exactly one UNet call.
        ``mask_image`` (inpainting checkpoints only): white = the pixels to fill, the image's size.
        ``tile_size`` / ``tile_overlap`` (LQ pixels): restore in overlapping tiles (:mod:`restorers.tiling`); by
        default only inputs over 256 x 256 are tiled; 0 never tiles. ``tile_weighting="uniform"`` with
        ``tile_size=512, tile_overlap=64`` is the official sampler's chopping (chop_size 512, stride 448, plain
        averaging). ``callback_on_step_end(pipe, i, t, tensors)`` runs after each step, as in diffusers (an
        exception raised there stops the run).
        """
        lq = to_signed(images_to_batch(image)).to(device=self._execution_device, dtype=self.unet.dtype)
        extras = {}
        if self.is_inpainting:
            if mask_image is None:
                raise InvalidImageError("inpainting needs a mask image: white marks the pixels to fill")
            extras["mask"] = mask_to_batch(mask_image, lq.shape).to(lq.device, lq.dtype)
        elif mask_image is not None:
            raise InvalidImageError("this ResShift checkpoint does not inpaint; it takes no mask_image")
        restored = self.restore_tiled(
            lambda x, generator, **kw: self.restore_tensor(x, num_inference_steps, generator, callback_on_step_end,
                                                           **kw),
            lq, generator, tile_size, tile_overlap, extras=extras, weighting=tile_weighting)
        output = postprocess(restored, output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (output,)
        return ImagePipelineOutput(images=output)
