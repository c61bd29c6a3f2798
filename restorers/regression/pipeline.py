"""The regression baseline as a pipeline: one network call (1 NFE), no noise, no steps.

It is the "one-shot" row that every diffusion method must beat on the leaderboard, and the IR network
that DP-IR builds on. The same call signature as the diffusion pipelines keeps the app and the sweep
method-agnostic; ``num_inference_steps`` and ``generator`` are accepted and ignored.
"""

from __future__ import annotations

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput

from ..image_io import images_to_batch, postprocess
from ..tiling import TilingMixin
from .network import ResidualSRNet


class RegressionPipeline(TilingMixin, DiffusionPipeline):
    denoiser_names = ("network",)  # one call per image: NFE 1

    def __init__(self, network: ResidualSRNet, sf: int = 4):
        super().__init__()
        self.register_modules(network=network)
        self.register_to_config(sf=sf)

    def restore_tensor(self, lq: torch.Tensor, num_inference_steps: int | None = None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """LQ (B, 3, h, w) in [0, 1] -> restored (B, 3, sf*h, sf*w) in [0, 1]; PIL-free for cost counting."""
        return self.network(lq).clamp(0.0, 1.0)

    @torch.no_grad()
    def __call__(self, image, num_inference_steps: int | None = None, generator: torch.Generator | None = None,
                 output_type: str = "pil", return_dict: bool = True, tile_size: int | None = None,
                 tile_overlap: int | None = None):
        """``tile_size`` / ``tile_overlap``: see :class:`restorers.tiling.TilingMixin` (large inputs tile by themselves)."""
        lq = images_to_batch(image).to(device=self._execution_device, dtype=self.network.dtype)
        restored = self.restore_tiled(lambda x, generator: self.restore_tensor(x), lq, None, tile_size, tile_overlap)
        output = postprocess(restored, output_type)
        return ImagePipelineOutput(images=output) if return_dict else (output,)
