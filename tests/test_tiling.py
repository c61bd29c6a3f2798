"""Tiled restoration: the official chopping geometry, seamless blending, seeds, and every pipeline using it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from leaderboard.cost import measure_run
from restorers.regression.network import ResidualSRNet
from restorers.regression.pipeline import RegressionPipeline
from restorers.tiling import tiled_restore, window_starts


def official_starts(length: int, patch: int, stride: int) -> list[int]:
    """ResShift's ImageSpliterTh rule as its fact sheet states it: range(0, L, stride), moved back to L - patch."""
    if length <= patch:
        return [0]
    return sorted({min(s, length - patch) for s in range(0, length, stride)})


@pytest.mark.parametrize("length", [64, 511, 512, 513, 600, 1000, 1500, 2049])
@pytest.mark.parametrize("patch, stride", [(512, 448), (256, 224), (64, 48), (256, 256)])
def test_windows_are_the_official_chopping(length, patch, stride):
    assert window_starts(length, patch, patch - stride) == official_starts(length, patch, stride)


def nearest_x4(x, generator=None, **_):
    return F.interpolate(x, scale_factor=4, mode="nearest")


@pytest.mark.parametrize("weighting", ["feather", "uniform"])
def test_a_pixelwise_method_is_unchanged_by_tiling(weighting):
    lq = torch.rand(1, 3, 70, 45)
    out = tiled_restore(nearest_x4, lq, tile=32, overlap=8, scale=4, weighting=weighting, progress=False)
    torch.testing.assert_close(out, nearest_x4(lq), atol=1e-6, rtol=0)


def test_feathered_overlaps_leave_no_step_where_uniform_averaging_does():
    """Each tile adds its own offset (as independent noise would): feathering spreads the change over the overlap."""
    offsets = iter(torch.linspace(0, 1, 100).tolist())

    def offset_restore(x, generator=None):
        return nearest_x4(x) + next(offsets)

    def largest_step(weighting):
        nonlocal offsets
        offsets = iter(torch.linspace(0, 1, 100).tolist())
        out = tiled_restore(offset_restore, torch.zeros(1, 1, 64, 64), tile=32, overlap=16, scale=4,
                            weighting=weighting, progress=False)
        return max(out.diff(dim=-1).abs().max().item(), out.diff(dim=-2).abs().max().item())

    feather, uniform = largest_step("feather"), largest_step("uniform")
    assert feather < 0.6 * uniform
    assert feather <= (1 / 99) * 2 / (16 * 4) * 4 + 1e-6  # the jump between tiles spread over the overlap's ramp


def test_the_same_seed_gives_the_same_tiled_result_and_another_seed_does_not():
    def noisy(x, generator=None):
        return nearest_x4(x) + torch.randn(nearest_x4(x).shape, generator=generator)

    lq = torch.zeros(1, 3, 40, 40)
    run = [tiled_restore(noisy, lq, 16, 4, 4, torch.Generator().manual_seed(s), progress=False) for s in (1, 1, 2)]
    assert torch.equal(run[0], run[1]) and not torch.equal(run[0], run[2])


def regression_pipeline() -> RegressionPipeline:
    torch.manual_seed(0)
    network = ResidualSRNet(in_channels=3, channels=8, num_blocks=1, upscale=4)
    for parameter in network.parameters():  # a non-trivial network (an untrained one is plain bicubic)
        torch.nn.init.normal_(parameter, std=0.05)
    pipe = RegressionPipeline(network=network, sf=4)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_pipelines_tile_large_inputs_by_themselves_and_count_every_call():
    pipe = regression_pipeline()
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 270, 3), dtype=np.uint8))
    with measure_run(pipe) as cost:
        tiled = pipe(image=image, output_type="pt").images
    assert cost.nfe == 4  # 300 x 270 > 256 x 256: 2 x 2 windows of 256 with >= 32 shared pixels
    with measure_run(pipe) as cost:
        whole = pipe(image=image, output_type="pt", tile_size=0).images
    assert cost.nfe == 1 and tiled.shape == whole.shape == (1, 3, 1200, 1080)  # (270 wide, 300 high)
    assert (tiled - whole).abs().mean() < 2e-3  # a small CNN's tiles agree away from their borders
    small = image.crop((0, 0, 64, 64))
    with measure_run(pipe) as cost:
        pipe(image=small, output_type="pt")
    assert cost.nfe == 1  # benchmark-sized inputs are never tiled


def test_tiles_must_be_restorable_and_overlap_smaller_than_the_tile():
    with pytest.raises(ValueError, match="overlap"):
        tiled_restore(nearest_x4, torch.zeros(1, 3, 64, 64), 16, 16, 4, progress=False)
    with pytest.raises(ValueError, match="too small"):
        tiled_restore(nearest_x4, torch.zeros(1, 3, 64, 64), 4, 1, 4, progress=False)
