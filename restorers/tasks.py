"""A task is a forward operator (HQ -> LQ) plus the conventions used to score it.

The same ``degrade`` makes the LQ input in the app ("input is a clean HQ image") and the benchmark
pairs in the sweep, so a method is always scored on exactly what it was shown.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .degradations import matlab_imresize
from .image_io import prepare_image


@dataclass(frozen=True)
class Task(ABC):
    id: str
    title: str
    description: str
    scale: int = 1
    crop_border: int = 0
    default_method: str = "bicubic"
    defaults: dict = field(default_factory=dict)

    def modcrop(self, hq: Image.Image) -> Image.Image:
        """Crop bottom/right so the size is a multiple of the scale (HQ and restored then align)."""
        width, height = hq.size
        return hq.crop((0, 0, width - width % self.scale, height - height % self.scale))

    @abstractmethod
    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        """The forward operator: a clean HQ image -> the degraded input a method restores."""


@dataclass(frozen=True)
class SuperResolutionTask(Task):
    """Bicubic downsampling with MATLAB's ``imresize`` (antialiased), the convention of SR benchmarks."""

    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        hq = self.modcrop(prepare_image(hq, min_side=self.scale * 8))
        lq = matlab_imresize(np.asarray(hq), 1.0 / self.scale)
        return Image.fromarray(lq)


TASKS: dict[str, Task] = {
    "sr_x4": SuperResolutionTask(
        id="sr_x4", title="Super-resolution x4",
        description="Bicubic x4 super-resolution: LQ = MATLAB imresize(HQ, 1/4, 'bicubic'); "
                    "PSNR/SSIM on the Y channel with a 4-pixel border cropped.",
        scale=4, crop_border=4, default_method="resshift",
        defaults={"hq_crop": 256},
    ),
}


def get_task(task_id: str) -> Task:
    try:
        return TASKS[task_id]
    except KeyError:
        raise KeyError(f"unknown task {task_id!r}; known tasks: {', '.join(TASKS)}") from None


def list_tasks() -> list[str]:
    return list(TASKS)
