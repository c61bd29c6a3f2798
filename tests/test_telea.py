"""The classical inpainting baseline: OpenCV's Telea fill behind the same pipeline contract as every method."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

import restorers
from conftest import smooth_image
from leaderboard.cost import count_flops, measure_run


def test_telea_fills_holes_smoothly_and_keeps_known_pixels():
    pipe = restorers.load_pipeline("telea", "inpaint")
    hq = smooth_image(64, 48)
    mask = np.zeros((48, 64), dtype=np.uint8)
    mask[16:32, 20:40] = 255
    masked = np.asarray(hq).copy()
    masked[mask == 255] = 0
    with measure_run(pipe) as cost:
        out = np.asarray(pipe(image=Image.fromarray(masked), mask_image=Image.fromarray(mask)).images[0])
    assert cost.nfe == 0
    assert np.array_equal(out[mask == 0], masked[mask == 0])  # known pixels exactly as given
    hole_error = np.abs(out[mask == 255].astype(float) - np.asarray(hq)[mask == 255]).mean()
    black_error = np.abs(np.asarray(hq)[mask == 255].astype(float)).mean()
    assert hole_error < 0.5 * black_error  # a smooth image is filled nearer its truth than black (measured 0.40)


def test_telea_flops_are_not_countable_rather_than_zero():
    report = count_flops(restorers.load_pipeline("telea", "inpaint"), 32, 32)
    assert not report.countable and report.tflops == {"tflops": None, "tflops_per_nfe": None, "tflops_base": None}
    assert count_flops(restorers.load_pipeline("identity", "inpaint"), 32, 32).tflops["tflops"] == 0.0


def test_telea_refuses_to_run_without_a_mask():
    import pytest

    from restorers.image_io import InvalidImageError

    with pytest.raises(InvalidImageError, match="needs a mask"):
        restorers.load_pipeline("telea", "inpaint")(image=smooth_image(32, 32), generator=torch.Generator())
