"""Bicubic upsampling (MATLAB ``imresize``, the "Bicubic" row of every SR table) as a pipeline.

No network and no steps: NFE 0. Its arithmetic runs in torch (:func:`restorers.degradations.bicubic.torch_imresize`)
so that its TFLOPs are counted like every other method's, not declared.
"""

from __future__ import annotations

import math

import torch

from ..degradations.bicubic import torch_imresize
from ..pipeline import RestorationPipeline


class BicubicPipeline(RestorationPipeline):
    max_untiled_pixels = math.inf  # one pass at any size: memory is a few arrays, and tiles would change borders

    def __init__(self, sf: int = 4):
        super().__init__()
        self.register_to_config(sf=sf)

    def restore_padded(self, lq: torch.Tensor, num_inference_steps, generator, callback_on_step_end) -> torch.Tensor:
        return torch_imresize(lq, self.scale)
