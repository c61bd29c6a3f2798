"""The one-shot regression baseline: spandrel-compatible weights, 1 NFE, diffusers round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import restorers
from conftest import smooth_image
from leaderboard.cost import count_flops, measure_run
from restorers.regression.network import CompactSRNet
from restorers.regression.pipeline import RegressionPipeline


def tiny_pipeline(seed: int = 0) -> RegressionPipeline:
    torch.manual_seed(seed)
    net = CompactSRNet(num_feat=8, num_conv=2)
    with torch.no_grad():  # a PReLU slope other than the default, so a wrong mapping would show
        for layer in net.body:
            if isinstance(layer, torch.nn.PReLU):
                layer.weight.uniform_(0.05, 0.5)
    pipe = RegressionPipeline(network=net.eval(), sf=4)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_spandrel_loads_our_state_dict_as_compact_and_agrees():
    import spandrel

    pipe = tiny_pipeline()
    descriptor = spandrel.ModelLoader().load_from_state_dict(pipe.network.state_dict())
    assert descriptor.architecture.id == "Compact" and descriptor.scale == 4
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        torch.testing.assert_close(descriptor.model.eval()(x), pipe.network(x), atol=1e-6, rtol=0)


def test_one_network_call_and_measured_flops():
    pipe = tiny_pipeline()
    with measure_run(pipe) as cost:
        out = pipe(image=smooth_image(12, 10), output_type="np").images
    assert out.shape == (1, 40, 48, 3) and cost.nfe == 1
    report = count_flops(pipe, 10, 12)
    # every conv runs at LR resolution: 2 * MACs of 3->8, 2 x 8->8 and 8->48 3x3 convs on 120 pixels
    macs = 120 * 9 * (3 * 8 + 2 * 8 * 8 + 8 * 48)
    assert report.nfe == 1 and report.total == pytest.approx(2 * macs)


def test_round_trip_through_save_pretrained(tmp_path):
    pipe = tiny_pipeline()
    pipe.save_pretrained(tmp_path / "ckpt", safe_serialization=True)
    assert (tmp_path / "ckpt" / "network" / "diffusion_pytorch_model.safetensors").is_file()
    again = restorers.load_pipeline("regression", "sr_x4", checkpoint=str(tmp_path / "ckpt"))
    image = smooth_image(16, 16, seed=3)
    assert np.array_equal(np.asarray(pipe(image=image).images[0]), np.asarray(again(image=image).images[0]))


def test_untrained_residual_is_nearest_upsampling():
    net = CompactSRNet(num_feat=8, num_conv=1)
    torch.nn.init.zeros_(net.body[-1].weight)
    torch.nn.init.zeros_(net.body[-1].bias)
    x = torch.rand(1, 3, 5, 7)
    torch.testing.assert_close(net(x), x.repeat_interleave(4, 2).repeat_interleave(4, 3))
