"""Blind face degradation as ResShift's journal builds its CelebA-Test set (the faceir benchmark, Table 6).

One draw per image, all from a ``numpy.random.Generator`` (a seed reproduces the LQ exactly):
scale sf ~ U(1, 32), JPEG quality ~ U(30, 70), noise sigma ~ U(1, 20) (8-bit levels), anisotropic Gaussian blur
sigma_x, sigma_y ~ U(4, 16) with rotation ~ U(0, pi) on a 41x41 kernel. Then, in this order: blur, bilinear
downsampling to (w // sf, h // sf), Gaussian noise (clipped), JPEG, bilinear resize back to the input size, and
rounding to 8 bits. The LQ has the HQ's size: the restorer's scale is 1.

Facts from ResShift's ``face_degradation_testing.py`` and ``prepare_testing_celeba_faceir.py`` (read, not
copied). Differences: Pillow's libjpeg instead of OpenCV's (same codec, integer quality) and PyTorch's bilinear
resizing (half-pixel centres like OpenCV's ``INTER_LINEAR``, no antialiasing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .realesrgan import _mahalanobis, filter2d, jpeg


@dataclass(frozen=True)
class FaceDegradation:
    scale_range: tuple[float, float] = (1.0, 32.0)
    quality_range: tuple[float, float] = (30.0, 70.0)
    noise_range: tuple[float, float] = (1.0, 20.0)  # sigma on the 0-255 scale
    sigma_range: tuple[float, float] = (4.0, 16.0)
    kernel_size: int = 41
    min_side: int = 64  # below this the 41x41 blur and a x32 reduction leave nothing of a face
    scale = 1
    seeded = True

    def degrade(self, hq: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        return self(hq, rng), {}

    def draw(self, rng: np.random.Generator) -> dict:
        """The parameters of one degradation, in the official script's order of drawing."""
        return {"sf": rng.uniform(*self.scale_range), "quality": rng.uniform(*self.quality_range),
                "noise": rng.uniform(*self.noise_range), "sigma_x": rng.uniform(*self.sigma_range),
                "sigma_y": rng.uniform(*self.sigma_range), "theta": rng.uniform() * math.pi}

    def kernel(self, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
        kernel = np.exp(-0.5 * _mahalanobis(self.kernel_size, sigma_x, sigma_y, theta))
        return kernel / kernel.sum()

    def apply(self, hq: np.ndarray, rng: np.random.Generator, params: dict) -> np.ndarray:
        height, width = hq.shape[:2]
        if min(height, width) < self.min_side:
            raise ValueError(f"face restoration needs at least {self.min_side}x{self.min_side} pixels, got "
                             f"{width}x{height}")
        image = torch.from_numpy(hq.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        image = filter2d(image, self.kernel(params["sigma_x"], params["sigma_y"], params["theta"]))
        small = (max(1, int(height // params["sf"])), max(1, int(width // params["sf"])))
        image = F.interpolate(image, size=small, mode="bilinear", align_corners=False)
        noise = rng.standard_normal(image.shape[1:]).astype(np.float32) * (params["noise"] / 255.0)
        image = (image + torch.from_numpy(noise)[None]).clamp(0, 1)
        image = jpeg(image, int(params["quality"]))
        image = F.interpolate(image, size=(height, width), mode="bilinear", align_corners=False)
        return (image[0].clamp(0, 1) * 255).round().permute(1, 2, 0).numpy().astype(np.uint8)

    def __call__(self, hq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """HQ (H, W, 3) uint8 -> LQ of the same size, uint8."""
        return self.apply(hq, rng, self.draw(rng))


CELEBA_TEST = FaceDegradation()
