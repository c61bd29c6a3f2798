"""Bicubic upsampling (MATLAB ``imresize``, the "Bicubic" row of every SR table) as a pipeline.

It has no network and no steps: NFE 0. It is a pipeline only so that the app and the sweep treat
every method alike.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from PIL import Image

from ..degradations import matlab_imresize
from ..image_io import pil_to_tensor, postprocess, prepare_image


class BicubicPipeline(DiffusionPipeline):
    denoiser_names = ()  # no network: NFE is 0
    def __init__(self, sf: int = 4):
        super().__init__()
        self.register_to_config(sf=sf)

    @torch.no_grad()
    def __call__(self, image, num_inference_steps: int | None = None, generator: torch.Generator | None = None,
                 output_type: str = "pil", return_dict: bool = True):
        """``num_inference_steps`` and ``generator`` are accepted for a uniform signature and ignored."""
        images = image if isinstance(image, (list, tuple)) else [image]
        arrays = [matlab_imresize(np.asarray(prepare_image(im)), float(self.config.sf)) for im in images]
        batch = torch.cat([pil_to_tensor(Image.fromarray(a)) for a in arrays])
        output = postprocess(batch, output_type)
        return ImagePipelineOutput(images=output) if return_dict else (output,)
