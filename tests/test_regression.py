"""The one-shot regression baseline: starts at bicubic, 1 NFE, measured FLOPs, diffusers round trip."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import restorers
from conftest import smooth_image
from leaderboard.cost import count_flops, measure_run
from restorers.regression.network import ResidualSRNet
from restorers.regression.pipeline import RegressionPipeline


def tiny_pipeline(seed: int = 0) -> RegressionPipeline:
    torch.manual_seed(seed)
    pipe = RegressionPipeline(network=ResidualSRNet(channels=8, num_blocks=2).eval(), sf=4)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_one_network_call_and_measured_flops():
    pipe = tiny_pipeline()
    with measure_run(pipe) as cost:
        out = pipe(image=smooth_image(12, 10), output_type="np").images
    assert out.shape == (1, 40, 48, 3) and cost.nfe == 1
    report = count_flops(pipe, 10, 12)
    # every conv runs at LR resolution (120 pixels): head 3->8, 2 blocks of two 8->8, body end 8->8, tail 8->48
    macs = 120 * 9 * (3 * 8 + 5 * 8 * 8 + 8 * 48)
    assert report.nfe == 1 and report.total == 2 * macs


def test_round_trip_through_save_pretrained(tmp_path):
    pipe = tiny_pipeline()
    pipe.save_pretrained(tmp_path / "ckpt", safe_serialization=True)
    assert (tmp_path / "ckpt" / "network" / "diffusion_pytorch_model.safetensors").is_file()
    again = restorers.load_pipeline("regression", "sr_x4", checkpoint=str(tmp_path / "ckpt"))
    image = smooth_image(16, 16, seed=3)
    assert np.array_equal(np.asarray(pipe(image=image).images[0]), np.asarray(again(image=image).images[0]))


def test_untrained_network_is_bicubic_upsampling_and_learns_from_there():
    net = ResidualSRNet(channels=8, num_blocks=1)
    x = torch.rand(2, 3, 6, 7)
    target = torch.rand(2, 3, 24, 28)
    torch.testing.assert_close(net(x), F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False))
    F.l1_loss(net(x), target).backward()
    assert net.tail.weight.grad.abs().sum() > 0  # the zeroed tail still receives a gradient
