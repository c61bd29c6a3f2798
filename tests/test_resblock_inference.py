"""The ResBlock's inference path (fewer passes, no autograd) computes what its layers compute with autograd on.

In float32: the GroupNorm computes in float32 whatever the parameters' type (``GroupNorm32``)."""

from __future__ import annotations

import pytest
import torch

from restorers.nn.blocks import ResBlock


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("scale_shift", [True, False])
@pytest.mark.parametrize("channels", [(32, 32), (32, 64)])  # the same width (identity skip) and a 1x1 skip
def test_inference_path_equals_the_layers(batch, scale_shift, channels):
    torch.manual_seed(batch + 2 * scale_shift + channels[1])
    block = ResBlock(channels[0], 48, channels[1], use_scale_shift_norm=scale_shift, norm_groups=8).eval()
    for parameter in block.parameters():  # the zero-initialised last conv would hide the out-layers' errors
        torch.nn.init.normal_(parameter, std=0.3)
    x, emb = torch.randn(batch, channels[0], 12, 10), torch.randn(batch, 48)
    with torch.enable_grad():
        expected = block(x, emb)  # autograd on: the literal layers
    with torch.no_grad():
        got = block(x, emb)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected.detach(), rtol=1e-5, atol=1e-5)
    assert x.abs().sum() > 0 and torch.isfinite(got).all()


def test_inference_leaves_its_input_untouched():
    block = ResBlock(16, 32, 16, norm_groups=4).eval()
    for parameter in block.parameters():
        torch.nn.init.normal_(parameter, std=0.3)
    x, emb = torch.randn(1, 16, 8, 8), torch.randn(1, 32)
    kept = x.clone()
    with torch.no_grad():
        block(x, emb)
    assert torch.equal(x, kept)  # the in-place steps write only the block's own fresh maps
