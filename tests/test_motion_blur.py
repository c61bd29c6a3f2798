"""Camera-shake kernels and the deblurring task built on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import restorers
from restorers.degradations.motion_blur import blur, camera_shake_trajectory, motion_blur, random_motion_kernel, rasterise


def test_kernels_are_normalised_nonnegative_and_reproducible():
    a = random_motion_kernel(np.random.default_rng(7), 19)
    b = random_motion_kernel(np.random.default_rng(7), 19)
    c = random_motion_kernel(np.random.default_rng(8), 19)
    assert a.shape == (19, 19) and a.min() >= 0 and a.sum() == pytest.approx(1.0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_trajectory_has_the_requested_length_and_fits_the_kernel():
    path = camera_shake_trajectory(np.random.default_rng(0), length=12.0, steps=400)
    assert np.linalg.norm(np.diff(path, axis=0), axis=1).sum() == pytest.approx(12.0 * 399 / 400, rel=1e-6)
    long_path = camera_shake_trajectory(np.random.default_rng(1), length=200.0)
    kernel = rasterise(long_path, 9)  # shrunk to fit: nothing falls off the grid
    assert kernel.sum() == pytest.approx(1.0) and kernel[0].sum() == 0 and kernel[-1].sum() == 0


def test_a_straight_horizontal_path_blurs_only_along_rows():
    path = np.stack([np.linspace(-4, 4, 801), np.zeros(801)], axis=1)
    kernel = rasterise(path, 11)
    assert np.count_nonzero(kernel.sum(axis=1)) == 1  # one row
    image = np.zeros((15, 15, 1))
    image[7, 7] = 1.0
    out = blur(image, kernel)
    assert out[7, 3:12, 0].sum() == pytest.approx(1.0) and out[:7].sum() == 0  # spread along the row only


def test_blur_is_a_convolution_not_a_correlation():
    kernel = np.zeros((5, 5))
    kernel[2, 4] = 1.0  # a shift kernel: convolution moves the impulse right
    image = np.zeros((9, 9, 1))
    image[4, 4] = 1.0
    assert blur(image, kernel)[4, 6, 0] == pytest.approx(1.0)


def test_deblur_task_is_reproducible_and_seedable():
    task = restorers.get_task("deblur")
    rng = np.random.default_rng(0)
    hq = Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    lq1, lq2 = task.degrade(hq), task.degrade(hq)
    assert lq1.size == hq.size and np.array_equal(np.asarray(lq1), np.asarray(lq2))  # seeded by the pixels
    seeded = [task.degrade(hq, torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    assert np.array_equal(np.asarray(seeded[0]), np.asarray(seeded[1]))
    assert not np.array_equal(np.asarray(seeded[0]), np.asarray(seeded[2]))
    # blur lowers the detail: the LQ is smoother than the HQ
    def roughness(im):
        a = np.asarray(im, dtype=np.float64)
        return np.abs(np.diff(a, axis=1)).mean()
    assert roughness(lq1) < 0.7 * roughness(hq)


def test_motion_blur_adds_the_stated_noise():
    flat = np.full((64, 64, 3), 128, dtype=np.uint8)
    noisy, kernel = motion_blur(flat, np.random.default_rng(0), 19, 0.01)
    assert kernel.shape == (19, 19)
    assert np.std(noisy.astype(np.float64) / 255.0) == pytest.approx(0.01, rel=0.15)
