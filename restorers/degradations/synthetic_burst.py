"""Hand-held raw bursts synthesised from one sRGB image, after DBSR's synthetic pipeline (Bhat et al., 2021).

Per burst (one draw of the task's seeded generator):

1. sRGB -> linear camera RGB by the synthetic camera (:func:`restorers.burst.camera.unprocess`: inverse sRGB
   curve, inverse colour matrix, inverse white balance);
2. ``num_frames`` frames, the first untouched (the reference the result is aligned to), each other one moved by a
   random hand-shake: a translation uniform in +-``max_translation`` HQ pixels per axis and a rotation uniform in
   +-``max_rotation`` degrees about the centre (bilinear warp, borders mirrored);
3. each frame x1/``factor`` by area averaging (the sensor integrates over its pixel), then RGGB-mosaicked;
4. shot and read noise, heteroscedastic Gaussian with variance ``read + shot * x``: log(shot) uniform in
   [log 1e-4, log 1.2e-2] and log(read) = 2.18 log(shot) + 1.2 + N(0, 0.26^2), the ranges of Brooks et al.'s
   "Unprocessing Images for Learned Raw Denoising" (CVPR 2019) that DBSR uses; clipped to [0, 1], 16-bit.

Differences from DBSR, on purpose: a fixed camera (no random colour matrix or gains per burst, no tone-mapping
curve), bilinear warps of the HQ instead of its crop-then-warp with a border crop (the task crops
``max_translation`` pixels from every side when scoring instead), area instead of bilinear downsampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..burst.camera import mosaic, unprocess
from ..burst.raw_burst import MIN_SIDE

UINT16_PEAK = 65535.0


def hand_shake(rng: np.random.Generator, count: int, max_translation: float, max_rotation: float,
               size: tuple[int, int]) -> list[np.ndarray]:
    """2x3 affine matrices (HQ pixels) of ``count`` frames: the identity first, random shakes after."""
    height, width = size
    centre = ((width - 1) / 2.0, (height - 1) / 2.0)
    matrices = [np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])]
    for _ in range(count - 1):
        angle = rng.uniform(-max_rotation, max_rotation)
        shift = rng.uniform(-max_translation, max_translation, size=2)
        matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
        matrix[:, 2] += shift
        matrices.append(matrix)
    return matrices


def noise_levels(rng: np.random.Generator) -> tuple[float, float]:
    """(shot, read) noise parameters of one burst, Brooks et al.'s ranges."""
    log_shot = rng.uniform(np.log(1e-4), np.log(1.2e-2))
    log_read = 2.18 * log_shot + 1.2 + rng.normal(0.0, 0.26)
    return float(np.exp(log_shot)), float(np.exp(log_read))


@dataclass(frozen=True)
class SyntheticBurst:
    """sRGB HQ (H, W, 3) uint8 -> ``num_frames`` noisy RGGB mosaics of (H/factor, W/factor), uint16, returned
    channels-last as (H/factor, W/factor, num_frames) so it travels like any LQ array."""

    num_frames: int = 14
    factor: int = 4
    max_translation: float = 24.0
    max_rotation: float = 1.0
    seeded = True

    @property
    def scale(self) -> int:
        return self.factor

    @property
    def min_side(self) -> int:
        return MIN_SIDE * self.factor  # a frame's smallest side, in HQ pixels

    def frames(self, hq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The burst as float32 (N, h, w) in [0, 1]."""
        return self.frames_and_motion(hq, rng)[0]

    def frames_and_motion(self, hq: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
        """The burst, and each frame's 2x3 affine matrix in HQ pixels (frame i at p shows the HQ at M_i^-1 p): the
        true motion, against which the tests check the alignment's estimate."""
        height, width = hq.shape[:2]
        if height % (2 * self.factor) or width % (2 * self.factor):
            raise ValueError(f"the HQ sides must be multiples of {2 * self.factor} (an even mosaic after "
                             f"x1/{self.factor}); got {width}x{height}")
        linear = unprocess(hq.astype(np.float64) / 255.0).astype(np.float32)
        small = (width // self.factor, height // self.factor)
        shot, read = noise_levels(rng)
        burst = []
        matrices = hand_shake(rng, self.num_frames, self.max_translation, self.max_rotation, (height, width))
        for matrix in matrices:
            moved = cv2.warpAffine(linear, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT_101)
            burst.append(mosaic(cv2.resize(moved, small, interpolation=cv2.INTER_AREA)))
        clean = np.stack(burst)
        noisy = clean + rng.normal(size=clean.shape) * np.sqrt(read + shot * np.clip(clean, 0.0, 1.0))
        return np.clip(noisy, 0.0, 1.0).astype(np.float32), matrices

    def degrade(self, hq: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        frames = np.round(self.frames(hq, rng) * UINT16_PEAK).astype(np.uint16)
        return np.ascontiguousarray(frames.transpose(1, 2, 0)), {}
