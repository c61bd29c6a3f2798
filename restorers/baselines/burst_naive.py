"""The naive burst baseline: the reference frame alone, demosaicked bilinearly, to sRGB, MATLAB bicubic x4.

No network and no steps (NFE 0); it ignores every frame but the first, so it shows what aligning and merging the
burst adds. Its arithmetic runs in torch, so its FLOPs are counted like every other method's.
"""

from __future__ import annotations

import math

import torch

from ..burst.camera import bilinear_demosaic, process
from ..burst.pipeline import DEFAULT_FRAMES
from ..degradations.bicubic import torch_imresize
from ..padding import SizeRequirements
from ..pipeline import RestorationPipeline


class NaiveBurstPipeline(RestorationPipeline):
    input_kind, input_channels = "raw_burst", DEFAULT_FRAMES
    max_untiled_pixels = math.inf

    def __init__(self, sf: int = 4):
        super().__init__()
        self.register_to_config(sf=sf)

    def size_requirements(self) -> SizeRequirements:
        return SizeRequirements(multiple_of=2, minimum=16)

    def restore_padded(self, lq: torch.Tensor, num_inference_steps, generator, callback_on_step_end) -> torch.Tensor:
        return torch_imresize(process(bilinear_demosaic(lq[:, :1])), self.scale)
