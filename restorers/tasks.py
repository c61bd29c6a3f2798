"""A task is a forward operator (HQ -> LQ) plus the conventions used to score it.

The same ``degrade`` makes the LQ input in the app ("input is a clean HQ image") and the benchmark
pairs in the sweep, so a method is always scored on exactly what it was shown.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .degradations import CELEBA_TEST, RESSHIFT_REALSR, BicubicDownsampling, CameraShake, RandomHoles, SyntheticBurst
from .image_io import prepare_image


def _seed(array: np.ndarray, generator: torch.Generator | None) -> int:
    """A draw of ``generator``, or (without one) a seed derived from the pixels: the same image always gets the
    same degradation, so the benchmark and the app agree on any machine."""
    if generator is not None:
        return int(torch.randint(0, 2 ** 62, (1,), generator=generator))
    return int.from_bytes(hashlib.sha256(array.tobytes()).digest()[:8], "little")


@dataclass(frozen=True)
class Task:
    """A forward operator (its ``degradation``, :mod:`restorers.degradations`) and how the task is scored and told.

    ``lq_label``: what its LQ is, in a few words (the demo's "degrade first" box); ``baseline``: the trivial method
    every other must beat (bicubic, or the degraded input itself); ``rank_metric``: the leaderboard's first column.
    """

    id: str
    title: str
    description: str
    degradation: object
    lq_label: str
    baseline: str
    scale: int = 1
    crop_border: int = 0
    default_method: str = "bicubic"
    defaults: dict = field(default_factory=dict)
    rank_metric: str = "psnr_y"
    conditions: tuple[str, ...] = ()  # what a method gets beside the LQ (inpainting: "mask_image")
    trained_limits: str = ""  # what a model trained on this task's degradation never saw (for model cards)
    variants: dict = field(default_factory=dict)  # name -> degradation settings the benchmark also reports apart
    input_kind: str = "image"  # what a method restores: an "image" (PIL), or a "raw_burst" (restorers.burst)
    size_multiple: int = 0  # the HQ sides are cropped to a multiple of this (default: the scale)

    def variant(self, name: str | None) -> Task:
        """The task with one of its ``variants``' degradation settings (inpainting: a hole-size bin); None: as is."""
        if name is None:
            return self
        if name not in self.variants:
            raise ValueError(f"the {self.id} task has no variant {name!r} (it has: "
                             f"{', '.join(self.variants) or 'none'})")
        return dataclasses.replace(self, degradation=dataclasses.replace(self.degradation, **self.variants[name]))

    @property
    def needs_mask(self) -> bool:
        return "mask_image" in self.conditions

    @property
    def takes_bursts(self) -> bool:
        return self.input_kind == "raw_burst"

    def modcrop(self, hq: Image.Image) -> Image.Image:
        """Crop bottom/right so the size is a multiple of the scale (HQ and restored then align), or of
        ``size_multiple`` (a burst's mosaic needs even sides after x1/4)."""
        width, height = hq.size
        multiple = self.size_multiple or self.scale
        return hq.crop((0, 0, width - width % multiple, height - height % multiple))

    def degrade_with_conditions(self, hq: Image.Image, generator: torch.Generator | None = None) -> tuple:
        """The LQ (an image, or a :class:`~restorers.burst.raw_burst.RawBurst` for a burst task) and its
        conditions (e.g. ``mask_image``, mode "L", 255 = hole) from one draw: of ``generator`` when given, else of
        a seed derived from the HQ's pixels (so the same image always gets the same degradation, in the app and
        in the benchmark)."""
        array = np.asarray(self.modcrop(prepare_image(hq, min_side=self.degradation.min_side)))
        rng = np.random.default_rng(_seed(array, generator)) if self.degradation.seeded else None
        lq, conditions = self.degradation.degrade(array, rng)
        if self.takes_bursts:
            from .burst.raw_burst import RawBurst

            lq = RawBurst(np.ascontiguousarray(lq.transpose(2, 0, 1)))
        else:
            lq = Image.fromarray(lq)
        return lq, {name: Image.fromarray(value) for name, value in conditions.items()}

    def degrade(self, hq: Image.Image, generator: torch.Generator | None = None):
        """The forward operator: a clean HQ image -> the degraded input a method restores."""
        return self.degrade_with_conditions(hq, generator)[0]

    def make_mask(self, hq: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        """The hole mask ``degrade`` would use for this image and generator state (inpainting only)."""
        if not self.needs_mask:
            raise ValueError(f"the {self.id} task has no mask")
        return self.degrade_with_conditions(hq, generator)[1]["mask_image"]


TASKS: dict[str, Task] = {
    "sr_x4": Task(
        id="sr_x4", title="Super-resolution x4", degradation=BicubicDownsampling(4),
        lq_label="MATLAB bicubic x1/4", baseline="bicubic",
        trained_limits="It knows the bicubic x4 degradation only (no noise, blur or JPEG); real-world inputs need a "
                       "real-world model.",
        description="Bicubic x4 super-resolution: LQ = MATLAB imresize(HQ, 1/4, 'bicubic'); "
                    "PSNR/SSIM on the Y channel with a 4-pixel border cropped.",
        scale=4, crop_border=4, default_method="resshift",
        defaults={"hq_crop": 256},
    ),
    "realsr_x4": Task(
        id="realsr_x4", title="Real-world SR x4", degradation=RESSHIFT_REALSR, baseline="bicubic",
        lq_label="Real-ESRGAN's two-round blur, resize, noise and JPEG, then x1/4; seeded by the image; at least "
                 "128 px a side",
        description="Real-world x4 super-resolution: LQ = Real-ESRGAN's second-order degradation of the HQ with "
                    "ResShift's training parameters (blur incl. sinc, resize, Gaussian/Poisson noise, JPEG; a second "
                    "round half of the time; final resize to 1/4 with sinc and JPEG in random order), seeded by the "
                    "image's pixels. Ranked by LPIPS (lower is better); PSNR/SSIM on the Y channel with a 4-pixel "
                    "border cropped.",
        scale=4, crop_border=4, default_method="resshift", rank_metric="lpips",
        defaults={"hq_crop": 256},
    ),
    "deblur": Task(
        id="deblur", title="Motion deblurring", degradation=CameraShake(), baseline="identity",
        lq_label="camera-shake blur + mild noise, seeded by the image",
        trained_limits="It knows synthetic camera-shake blur up to 19x19 pixels with mild Gaussian noise only; real "
                       "blur (moving objects, depth, saturation, compression) is outside what it saw.",
        description="Camera-shake deblurring: LQ = HQ convolved with a random camera-trajectory kernel (19x19, "
                    "path 3-15 px) plus Gaussian noise (std 0.01), 8-bit; PSNR/SSIM on the Y channel, no border crop.",
        scale=1, crop_border=0, default_method="dpir",
        defaults={"hq_crop": 256},
    ),
    "inpaint": Task(
        id="inpaint", title="Inpainting", degradation=RandomHoles(), baseline="identity",
        lq_label="one of LaMa's evaluation masks (thin, medium or thick strokes, or boxes) covering 1-60% of the "
                 "image, seeded by the image", conditions=("mask_image",),
        variants={"holes<20%": {"min_fraction": 0.01, "max_fraction": 0.2},
                  "holes20-40%": {"min_fraction": 0.2, "max_fraction": 0.4},
                  "holes>40%": {"min_fraction": 0.4, "max_fraction": 0.6}},
        description="Inpainting: LQ = HQ * (1 - mask), holes black, and the mask is given to the method (255 = "
                    "hole). The mask is one of LaMa's evaluation masks as its 256-pixel configs make them (thin, "
                    "medium or thick brush strokes, boxes mixed into medium and thick), scaled to the image and "
                    "redrawn until the hole covers 1-60% of it, seeded by the image's pixels; the benchmark also "
                    "reports small (<20%), medium (20-40%) and large (>40%) holes apart. PSNR/SSIM on the Y channel "
                    "over the whole image (known pixels included), no border crop.",
        scale=1, crop_border=0, default_method="diffir",
        defaults={"hq_crop": 256},
    ),
    "faceir": Task(
        id="faceir", title="Face restoration", degradation=CELEBA_TEST, baseline="identity",
        lq_label="ResShift's CelebA-Test blur, x1-x32 reduction, noise and JPEG, back to the input size; seeded by "
                 "the image",
        description="Blind face restoration of aligned face crops (512x512 for ResShift's released model): LQ = "
                    "ResShift's CelebA-Test degradation of the HQ (anisotropic Gaussian blur sigma 4-16 on a 41x41 "
                    "kernel, bilinear reduction by 1-32, Gaussian noise sigma 1-20, JPEG quality 30-70, bilinear "
                    "resize back), seeded by the image's pixels. Ranked by LPIPS (lower is better); PSNR/SSIM on "
                    "the Y channel, no border crop. No face model is embedded (the corpus has almost no faces): "
                    "convert the official one (python -m restorers.resshift.convert --config faceir).",
        scale=1, crop_border=0, default_method="resshift", rank_metric="lpips",
        defaults={"hq_crop": 512},
    ),
    "burst_jddsr": Task(
        id="burst_jddsr", title="Burst JDD-SR x4", degradation=SyntheticBurst(), baseline="burst_naive",
        input_kind="raw_burst", size_multiple=8,
        lq_label="14 hand-held raw frames: the synthetic camera's linear RGGB mosaic x1/4, shot and read noise; "
                 "seeded by the image",
        trained_limits="It knows the synthetic camera only (one fixed colour matrix and white balance, RGGB, "
                       "Brooks et al.'s noise range, hand-shake up to 24 HQ pixels and 1 degree); a real camera's "
                       "raw frames need their own black level, colour processing and motion model.",
        description="Burst joint demosaicking, denoising and x4 super-resolution (DBSR's SyntheticBurst protocol, "
                    "restorers.degradations.synthetic_burst): from one sRGB HQ image, 14 raw frames with random "
                    "sub-pixel hand-shake (translations up to 24 HQ pixels, rotations up to 1 degree; frame 1 "
                    "unmoved, the reference), each the synthetic camera's linear RGGB mosaic of the HQ x1/4 with "
                    "shot and read noise, 16-bit; seeded by the image's pixels. The result is sRGB at 4x the "
                    "mosaic's size, aligned to frame 1, scored against the HQ: PSNR/SSIM on the Y channel with a "
                    "24-pixel border cropped (where frames moved in from outside the picture).",
        scale=4, crop_border=24, default_method="dpir",
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
