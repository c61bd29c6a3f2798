"""The degraded input returned as it is: the floor every method of a same-size task (deblurring, inpainting)
must rise above. No network, NFE 0; a pipeline only so that the app and the sweep treat it like any method."""

from __future__ import annotations

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput

from ..image_io import images_to_batch, postprocess


class IdentityPipeline(DiffusionPipeline):
    denoiser_names = ()  # no network: NFE is 0

    def __init__(self, sf: int = 1):
        super().__init__()
        if sf != 1:
            raise ValueError("the identity baseline only serves tasks whose output has the input's size")
        self.register_to_config(sf=sf)

    @torch.no_grad()
    def __call__(self, image, mask_image=None, num_inference_steps: int | None = None,
                 generator: torch.Generator | None = None, output_type: str = "pil", return_dict: bool = True):
        """Everything but ``image`` is accepted for a uniform signature and ignored (holes stay as given)."""
        output = postprocess(images_to_batch(image), output_type)
        return ImagePipelineOutput(images=output) if return_dict else (output,)
