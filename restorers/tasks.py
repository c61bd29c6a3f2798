"""A task is a forward operator (HQ -> LQ) plus the conventions used to score it.

The same ``degrade`` makes the LQ input in the app ("input is a clean HQ image") and the benchmark
pairs in the sweep, so a method is always scored on exactly what it was shown.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .degradations import matlab_imresize
from .face_degradation import CELEBA_TEST
from .image_io import prepare_image
from .masks import apply_mask, random_mask
from .motion_blur import motion_blur
from .realesrgan_degradation import RESSHIFT_REALSR


@dataclass(frozen=True)
class Task(ABC):
    id: str
    title: str
    description: str
    scale: int = 1
    crop_border: int = 0
    default_method: str = "bicubic"
    defaults: dict = field(default_factory=dict)
    rank_metric: str = "psnr_y"  # the leaderboard's first column and default plot for this task

    def modcrop(self, hq: Image.Image) -> Image.Image:
        """Crop bottom/right so the size is a multiple of the scale (HQ and restored then align)."""
        width, height = hq.size
        return hq.crop((0, 0, width - width % self.scale, height - height % self.scale))

    @abstractmethod
    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        """The forward operator: a clean HQ image -> the degraded input a method restores."""

    def conditions(self, hq: Image.Image, generator: torch.Generator | None = None) -> dict:
        """Extra pipeline inputs the degradation defines (e.g. an inpainting mask), by keyword; none by default."""
        return {}

    def degrade_with_conditions(self, hq: Image.Image,
                                generator: torch.Generator | None = None) -> tuple[Image.Image, dict]:
        """The LQ image and its conditions from one draw of ``generator`` (they describe the same degradation)."""
        return self.degrade(hq, generator), {}


@dataclass(frozen=True)
class SuperResolutionTask(Task):
    """Bicubic downsampling with MATLAB's ``imresize`` (antialiased), the convention of SR benchmarks."""

    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        hq = self.modcrop(prepare_image(hq, min_side=self.scale * 8))
        lq = matlab_imresize(np.asarray(hq), 1.0 / self.scale)
        return Image.fromarray(lq)


def _seed(array: np.ndarray, generator: torch.Generator | None) -> int:
    """A draw of ``generator``, or (without one) a seed derived from the pixels: the same image always gets the
    same degradation, so the benchmark and the app agree on any machine."""
    if generator is not None:
        return int(torch.randint(0, 2 ** 62, (1,), generator=generator))
    return int.from_bytes(hashlib.sha256(array.tobytes()).digest()[:8], "little")


@dataclass(frozen=True)
class RealWorldSRTask(Task):
    """Real-world x4 SR: Real-ESRGAN's two-stage degradation with ResShift's training parameters
    (:mod:`restorers.realesrgan_degradation`): blur (incl. sinc), resize, Gaussian/Poisson noise and JPEG, twice,
    then the final resize, sinc and JPEG in random order. Random, but seeded like the other tasks."""

    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        array = np.asarray(self.modcrop(prepare_image(hq, min_side=RESSHIFT_REALSR.min_side)))
        return Image.fromarray(RESSHIFT_REALSR(array, np.random.default_rng(_seed(array, generator))))


@dataclass(frozen=True)
class FaceRestorationTask(Task):
    """Blind face restoration of aligned face crops: ResShift's CelebA-Test degradation
    (:mod:`restorers.face_degradation`): a strong anisotropic blur, x1-x32 bilinear reduction, noise and JPEG, then
    back to the input size. Seeded like the other tasks."""

    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        array = np.asarray(prepare_image(hq, min_side=CELEBA_TEST.min_side))
        return Image.fromarray(CELEBA_TEST(array, np.random.default_rng(_seed(array, generator))))


@dataclass(frozen=True)
class MotionDeblurTask(Task):
    """Camera-shake blur (random trajectory kernel, :mod:`restorers.motion_blur`) plus mild Gaussian noise.

    The kernel is drawn from ``generator`` when one is given; without one, from a seed derived from the image's
    pixels, so the same HQ image always gets the same blur (the benchmark and the app agree, on any machine).
    """

    kernel_size: int = 19
    noise_std: float = 0.01

    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        array = np.asarray(prepare_image(hq, min_side=self.kernel_size))
        lq, _ = motion_blur(array, np.random.default_rng(_seed(array, generator)), self.kernel_size, self.noise_std)
        return Image.fromarray(lq)


@dataclass(frozen=True)
class InpaintTask(Task):
    """Fill holes: LQ = HQ with a random mask's pixels set to black, ``HQ * (1 - mask)`` (:mod:`restorers.masks`).

    The method is also given the mask (``mask_image``, mode "L", 255 = hole), since black is a valid colour. The
    mask is drawn from ``generator`` when one is given, else from a seed derived from the image's pixels, as
    for deblurring, so the benchmark and the app hide the same pixels. ``degrade_with_conditions`` draws the
    mask once and returns it with the LQ image it made.
    """

    min_hole: float = 0.05
    max_hole: float = 0.5

    def _mask(self, array: np.ndarray, generator: torch.Generator | None) -> np.ndarray:
        return random_mask(np.random.default_rng(_seed(array, generator)), *array.shape[:2], min_fraction=self.min_hole,
                           max_fraction=self.max_hole)

    def make_mask(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        """The hole mask ``degrade`` would use for this image and generator state: mode "L", 255 = hole."""
        return self.conditions(hq, generator)["mask_image"]

    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        return self.degrade_with_conditions(hq, generator)[0]

    def conditions(self, hq: Image.Image, generator: torch.Generator | None = None) -> dict:
        return self.degrade_with_conditions(hq, generator)[1]

    def degrade_with_conditions(self, hq: Image.Image,
                                generator: torch.Generator | None = None) -> tuple[Image.Image, dict]:
        array = np.asarray(prepare_image(hq))
        mask = self._mask(array, generator)
        return Image.fromarray(apply_mask(array, mask)), {"mask_image": Image.fromarray(mask * 255)}


TASKS: dict[str, Task] = {
    "sr_x4": SuperResolutionTask(
        id="sr_x4", title="Super-resolution x4",
        description="Bicubic x4 super-resolution: LQ = MATLAB imresize(HQ, 1/4, 'bicubic'); "
                    "PSNR/SSIM on the Y channel with a 4-pixel border cropped.",
        scale=4, crop_border=4, default_method="resshift",
        defaults={"hq_crop": 256},
    ),
    "realsr_x4": RealWorldSRTask(
        id="realsr_x4", title="Real-world SR x4",
        description="Real-world x4 super-resolution: LQ = Real-ESRGAN's second-order degradation of the HQ with "
                    "ResShift's training parameters (blur incl. sinc, resize, Gaussian/Poisson noise, JPEG; a second "
                    "round half of the time; final resize to 1/4 with sinc and JPEG in random order), seeded by the "
                    "image's pixels. Ranked by LPIPS (lower is better); PSNR/SSIM on the Y channel with a 4-pixel "
                    "border cropped.",
        scale=4, crop_border=4, default_method="resshift", rank_metric="lpips",
        defaults={"hq_crop": 256},
    ),
    "deblur": MotionDeblurTask(
        id="deblur", title="Motion deblurring",
        description="Camera-shake deblurring: LQ = HQ convolved with a random camera-trajectory kernel (19x19, "
                    "path 3-15 px) plus Gaussian noise (std 0.01), 8-bit; PSNR/SSIM on the Y channel, no border crop.",
        scale=1, crop_border=0, default_method="dpir",
        defaults={"hq_crop": 256},
    ),
    "inpaint": InpaintTask(
        id="inpaint", title="Inpainting",
        description="Inpainting: LQ = HQ * (1 - mask), holes black, and the mask is given to the method (255 = "
                    "hole). The mask is random: LaMa-style thick or thin brush strokes, or 1-3 boxes, covering "
                    "5-50% of the image, seeded by the image's pixels; PSNR/SSIM on the Y channel over the whole "
                    "image (known pixels included), no border crop.",
        scale=1, crop_border=0, default_method="diffir",
        defaults={"hq_crop": 256},
    ),
    "faceir": FaceRestorationTask(
        id="faceir", title="Face restoration",
        description="Blind face restoration of aligned face crops (512x512 for ResShift's released model): LQ = "
                    "ResShift's CelebA-Test degradation of the HQ (anisotropic Gaussian blur sigma 4-16 on a 41x41 "
                    "kernel, bilinear reduction by 1-32, Gaussian noise sigma 1-20, JPEG quality 30-70, bilinear "
                    "resize back), seeded by the image's pixels. Ranked by LPIPS (lower is better); PSNR/SSIM on "
                    "the Y channel, no border crop. No face model is embedded (the corpus has almost no faces): "
                    "convert the official one (python -m restorers.resshift.convert --config faceir).",
        scale=1, crop_border=0, default_method="resshift", rank_metric="lpips",
        defaults={"hq_crop": 512},
    ),
}


def get_task(task_id: str) -> Task:
    try:
        return TASKS[task_id]
    except KeyError:
        raise KeyError(f"unknown task {task_id!r}; known tasks: {', '.join(TASKS)}") from None


def list_tasks() -> list[str]:
    return list(TASKS)
