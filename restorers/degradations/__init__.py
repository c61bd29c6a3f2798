"""Forward operators (clean HQ -> degraded LQ), one module each, with one calling convention.

Every degradation is an object with ``min_side`` (the smallest HQ side it can degrade), ``scale`` (HQ side / LQ
side), ``seeded`` (whether it draws random numbers) and

    degrade(hq: uint8 (H, W, 3), rng: numpy.random.Generator) -> (lq: uint8 array, conditions: {name: uint8 array})

where ``conditions`` are what the restoring method is given beside the LQ (an inpainting mask, 255 = hole). The
tasks (:mod:`restorers.tasks`) own the seeding, so the app and the benchmark degrade an image identically.

* :mod:`.bicubic`: MATLAB's ``imresize`` (antialiased bicubic), the SR benchmarks' downsampling;
* :mod:`.realesrgan`: Real-ESRGAN's second-order degradation with ResShift's parameters (real-world SR);
* :mod:`.motion_blur`: camera-shake trajectories (deblurring);
* :mod:`.face`: ResShift's CelebA-Test blind face degradation;
* :mod:`.masks`: LaMa-style free-form and box hole masks (inpainting);
* :mod:`.synthetic_burst`: hand-held raw bursts of an sRGB image (burst JDD-SR): the LQ is uint16
  (H/4, W/4, frames), the frames' RGGB mosaics as channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bicubic import matlab_imresize
from .face import CELEBA_TEST, FaceDegradation
from .lama_masks import bounded_lama_mask
from .masks import apply_mask
from .motion_blur import motion_blur
from .realesrgan import RESSHIFT_REALSR, RealESRGANDegradation
from .synthetic_burst import SyntheticBurst

__all__ = ["BicubicDownsampling", "CameraShake", "RandomHoles", "FaceDegradation", "RealESRGANDegradation",
           "CELEBA_TEST", "RESSHIFT_REALSR", "SyntheticBurst", "matlab_imresize"]


@dataclass(frozen=True)
class BicubicDownsampling:
    """LQ = MATLAB ``imresize(HQ, 1/factor, 'bicubic')``: deterministic."""

    factor: int = 4
    seeded = False

    @property
    def scale(self) -> int:
        return self.factor

    @property
    def min_side(self) -> int:
        return 8 * self.factor

    def degrade(self, hq: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, dict]:
        return matlab_imresize(hq, 1.0 / self.factor), {}


@dataclass(frozen=True)
class CameraShake:
    """Camera-shake blur (a random trajectory kernel) plus mild Gaussian noise, 8-bit."""

    kernel_size: int = 19
    noise_std: float = 0.01
    scale = 1
    seeded = True

    @property
    def min_side(self) -> int:
        return self.kernel_size

    def degrade(self, hq: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        return motion_blur(hq, rng, self.kernel_size, self.noise_std)[0], {}


@dataclass(frozen=True)
class RandomHoles:
    """Holes black: ``HQ * (1 - mask)`` with one of LaMa's evaluation masks (thin, medium or thick strokes, or
    boxes; :mod:`.lama_masks`) covering [min, max] of the image; the mask (255 = hole) is the method's condition
    ``mask_image``."""

    min_fraction: float = 0.01
    max_fraction: float = 0.6
    scale = 1
    seeded = True
    min_side = 8

    def degrade(self, hq: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        mask = bounded_lama_mask(rng, *hq.shape[:2], self.min_fraction, self.max_fraction)
        return apply_mask(hq, mask), {"mask_image": mask * 255}
