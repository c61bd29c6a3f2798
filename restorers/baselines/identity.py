"""The degraded input returned as it is: the floor every method of a same-size task (deblurring, inpainting)
must rise above. No network, NFE 0; a pipeline only so that the app and the sweep treat it like any method."""

from __future__ import annotations

import math

import torch

from ..pipeline import MASK_IGNORED, RestorationPipeline


class IdentityPipeline(RestorationPipeline):
    max_untiled_pixels = math.inf

    def __init__(self, sf: int = 1):
        super().__init__()
        if sf != 1:
            raise ValueError("the identity baseline only serves tasks whose output has the input's size")
        self.register_to_config(sf=sf)

    def mask_input(self) -> str:
        return MASK_IGNORED  # the holes stay as given

    def restore_padded(self, lq: torch.Tensor, num_inference_steps, generator, callback_on_step_end) -> torch.Tensor:
        return lq
