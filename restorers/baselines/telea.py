"""Telea's fast-marching inpainting (OpenCV's ``cv2.inpaint(..., cv2.INPAINT_TELEA)``): the classical fill every
learned inpainting method must beat. No network, no steps, NFE 0.

Its arithmetic runs inside OpenCV, where ``torch.utils.flop_counter`` cannot see it, so its FLOPs are reported as
not countable rather than as zero (``flops_countable = False``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from ..pipeline import MASK_REQUIRED, RestorationPipeline


class TeleaPipeline(RestorationPipeline):
    max_untiled_pixels = math.inf  # one pass: the fill marches in from the hole's border, tiles would cut it
    flops_countable = False

    def __init__(self, sf: int = 1, radius: int = 5):
        super().__init__()
        if sf != 1:
            raise ValueError("Telea inpainting only serves tasks whose output has the input's size")
        self.register_to_config(sf=sf, radius=radius)

    def mask_input(self) -> str:
        return MASK_REQUIRED

    def restore_padded(self, lq: torch.Tensor, num_inference_steps, generator, callback_on_step_end,
                       mask: torch.Tensor | None = None) -> torch.Tensor:
        images = (lq.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        holes = (mask[:, 0] > 0.5).to(torch.uint8).mul(255).cpu().numpy()
        filled = [cv2.inpaint(np.ascontiguousarray(image), hole, float(self.config.radius), cv2.INPAINT_TELEA)
                  for image, hole in zip(images, holes)]
        return torch.from_numpy(np.stack(filled)).permute(0, 3, 1, 2).to(lq.dtype).div(255.0)
