"""DiffIR stage-2 inference as a diffusers pipeline.

    y (LQ in [0, 1]; for inpainting: image * (1 - mask) and the mask, 4 channels)
      -> pad bottom/right to a multiple of 8 (reflect; symmetric for inpainting, as the official inference does)
      -> c = CPEN_S2(y)                                   once per image
      -> z_{T-1} ~ N(0, I) (B x 256), or ``latents``
      -> for t = T-1 .. 0: z0 = IPRDenoiser(z_t, t, c);  z_{t-1} = posterior mean       4 NFE (the MLP)
      -> x = DIRformer(y, z_0)                            1 NFE (the transformer)
      -> crop; for inpainting keep the known pixels: x = m x + (1 - m) image

NFE counts both networks by hooks (4 + 1 for the released models); ``step_names`` marks the MLP as the per-step
network, so the DIRformer and CPEN are the once-per-image part of the FLOPs. ``use_diffusion=False`` feeds the
CPEN_S2 vector straight to the DIRformer (the paper's "no diffusion" ablation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor

from ..image_io import InvalidImageError, images_to_batch, postprocess
from ..masks import mask_to_batch
from ..tiling import TilingMixin
from .cpen import CPEN
from .dirformer import DIRformer
from .ipr_denoiser import IPRDenoiser
from .scheduler import DiffIRScheduler


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "reflect") -> torch.Tensor:
    """Pad bottom/right up to a multiple. ``symmetric`` repeats the edge pixel (numpy's mode), ``reflect`` does not;
    both fall back to replicate when the image is smaller than the pad."""
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if not pad_h and not pad_w:
        return x
    if pad_h >= height or pad_w >= width:
        return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    if mode == "symmetric":
        x = torch.cat([x, x[..., height - pad_h:, :].flip(-2)], dim=-2) if pad_h else x
        return torch.cat([x, x[..., :, width - pad_w:].flip(-1)], dim=-1) if pad_w else x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")


class DiffIRPipeline(TilingMixin, DiffusionPipeline):
    denoiser_names = ("ipr_denoiser", "dirformer")  # NFE: 4 MLP steps + 1 transformer pass
    step_names = ("ipr_denoiser",)

    def __init__(self, dirformer: DIRformer, cpen: CPEN, ipr_denoiser: IPRDenoiser, scheduler: DiffIRScheduler,
                 sf: int = 4, use_diffusion: bool = True):
        super().__init__()
        self.register_modules(dirformer=dirformer, cpen=cpen, ipr_denoiser=ipr_denoiser, scheduler=scheduler)
        self.register_to_config(sf=sf, use_diffusion=use_diffusion)

    @property
    def is_inpainting(self) -> bool:
        return self.dirformer.config.head == "inpaint"

    def step_limits(self) -> tuple[int, int]:
        """(most, default) IPR steps: the chain the model was trained with, and all of it by default."""
        if not self.config.use_diffusion:
            return 1, 1
        total = int(self.scheduler.config.num_train_timesteps)
        return total, total

    def network_input(self, lq: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """What CPEN_S2 and the DIRformer see: the LQ, or for inpainting the masked image and its mask."""
        if not self.is_inpainting:
            return lq
        if mask is None:
            raise ValueError("inpainting needs a mask (mask_image): white marks the pixels to fill")
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
        ipr = latents.to(device=condition.device, dtype=condition.dtype)
        for i, t in enumerate(self.progress_bar(self.scheduler.timesteps)):
            z0 = self.ipr_denoiser(ipr, t, condition)
            ipr = self.scheduler.step(z0, t, ipr).prev_sample
            if callback_on_step_end is not None:  # diffusers' hook: progress, or raise to stop
                callback_on_step_end(self, i, t, {"latents": ipr})
        return ipr

    def restore_tensor(self, lq: torch.Tensor, num_inference_steps: int | None = None,
                       generator: torch.Generator | list[torch.Generator] | None = None, mask: torch.Tensor | None = None,
                       latents: torch.Tensor | None = None, use_diffusion: bool | None = None,
                       callback_on_step_end=None, ground_truth: torch.Tensor | None = None) -> torch.Tensor:
        """LQ (B, 3, h, w) in [0, 1] (and mask (B, 1, h, w), 1 = fill, for inpainting) -> (B, 3, sf h, sf w).

        A stage-1 CPEN (the oracle) takes ``ground_truth`` instead of the diffusion chain.
        """
        height, width = lq.shape[-2:]
        use_diffusion = self.config.use_diffusion if use_diffusion is None else use_diffusion
        if self.is_inpainting and mask is None and lq.device.type == "meta":  # cost counting: any mask will do
            mask = torch.zeros_like(lq[:, :1])
        x = self.network_input(lq, mask)
        x = pad_to_multiple(x, max(self.dirformer.size_multiple, 4), "symmetric" if self.is_inpainting else "reflect")
        sf = self.config.sf
        if self.cpen.is_stage1:  # the oracle: the IPR comes from the ground truth, no diffusion
            if ground_truth is None and lq.device.type != "meta":
                raise InvalidImageError("this is a stage-1 (oracle) DiffIR: it needs the ground truth image")
            if ground_truth is None:
                ground_truth = torch.zeros(lq.shape[0], 3, height * sf, width * sf, device=lq.device, dtype=lq.dtype)
            gt = F.pad(ground_truth, (0, x.shape[-1] * sf - ground_truth.shape[-1],
                                      0, x.shape[-2] * sf - ground_truth.shape[-2]), mode="replicate")
            ipr = self.cpen(x, gt)
        elif use_diffusion:
            ipr = self.sample_ipr(self.cpen(x), num_inference_steps, generator, latents, callback_on_step_end)
        else:
            ipr = self.cpen(x)
        restored = self.dirformer(x, ipr)[..., : height * sf, : width * sf]
        if self.is_inpainting:
            restored = mask * restored + (1.0 - mask) * lq
        return restored.clamp(0.0, 1.0)

    @torch.no_grad()
    def __call__(self, image, mask_image=None, num_inference_steps: int | None = None,
                 generator: torch.Generator | list[torch.Generator] | None = None, latents: torch.Tensor | None = None,
                 use_diffusion: bool | None = None, output_type: str = "pil", return_dict: bool = True,
                 callback_on_step_end=None, ground_truth=None, tile_size: int | None = None,
                 tile_overlap: int | None = None):
        """Restore ``image``. ``mask_image`` (inpainting): white = the pixels to fill, same size as the image.
        ``ground_truth``: the HQ image, needed (only) by a stage-1 oracle pipeline. ``tile_size`` / ``tile_overlap`` (LQ pixels): restore in overlapping tiles (:mod:`restorers.tiling`); by default
        only inputs over 256 x 256 are tiled; 0 never tiles.
        Tiles draw their own IPR noise, so ``latents`` applies only to an untiled run.
        ``latents``: the initial IPR noise z_{T-1}, shape (B, 256). ``num_inference_steps``: 1..T IPR steps
        (default T; fewer respace the chain). ``use_diffusion=False``: the ablation without the IPR chain (default:
        the pipeline's config). ``callback_on_step_end(pipe, i, t, tensors)`` after each IPR step.
        """
        lq = images_to_batch(image).to(device=self._execution_device, dtype=self.dirformer.dtype)
        mask = None
        if mask_image is not None:
            mask = mask_to_batch(mask_image, lq.shape).to(lq.device, lq.dtype)
        elif self.is_inpainting:
            raise InvalidImageError("inpainting needs a mask image: white marks the pixels to fill")
        gt = None
        if ground_truth is not None:
            gt = images_to_batch(ground_truth).to(device=lq.device, dtype=lq.dtype)
        extras = {"mask": mask} if mask is not None else {}
        if gt is not None or latents is not None:
            tile_size = 0  # the oracle's GT and the caller's initial noise belong to the whole image

        def restore(x, generator, **extra):
            return self.restore_tensor(x, num_inference_steps, generator, latents=latents, use_diffusion=use_diffusion,
                                       callback_on_step_end=callback_on_step_end, ground_truth=gt, **extra)

        restored = self.restore_tiled(restore, lq, generator, tile_size, tile_overlap, extras=extras)
        output = postprocess(restored, output_type)
        return ImagePipelineOutput(images=output) if return_dict else (output,)
