"""Nearest x2 + 3x3 convolution as one transposed convolution (restorers.nn.transposed_upsampling)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from diffusers import VQModel
from diffusers.models.upsampling import Upsample2D
from torch import nn

from restorers.nn.blocks import Upsample
from restorers.nn.transposed_upsampling import TransposedUpsampling, nearest_upsample_conv, upsample_conv


@pytest.mark.parametrize("bias", [True, False])
def test_the_transposed_convolution_is_the_same_computation(bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 7, 3, padding=1, bias=bias).double()
    x = torch.randn(2, 5, 6, 9, dtype=torch.float64)  # not square, so rows and columns cannot be swapped
    expected = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
    got = upsample_conv(x, conv)
    assert got.shape == (2, 7, 12, 18)
    assert torch.allclose(got, expected, atol=1e-12)


def test_only_plain_nearest_then_3x3_upsamplers_are_rewritten():
    assert nearest_upsample_conv(Upsample(4)) is not None
    assert nearest_upsample_conv(Upsample2D(4, use_conv=True)) is not None
    assert nearest_upsample_conv(Upsample2D(4, use_conv=False)) is None  # no convolution to fold
    assert nearest_upsample_conv(Upsample2D(4, use_conv=True, kernel_size=5, padding=2)) is None
    assert nearest_upsample_conv(Upsample2D(4, use_conv_transpose=True)) is None
    assert nearest_upsample_conv(nn.Conv2d(4, 4, 3, padding=1)) is None


def test_a_decoder_gives_the_same_image_inside_the_rewrite_and_is_untouched_outside():
    torch.manual_seed(0)
    vq = VQModel(block_out_channels=(32, 64, 64), down_block_types=("DownEncoderBlock2D",) * 3,
                 up_block_types=("UpDecoderBlock2D",) * 3, layers_per_block=1, latent_channels=3,
                 norm_num_groups=32, num_vq_embeddings=64, vq_embed_dim=3).eval()
    rewrite = TransposedUpsampling(vq)
    assert len(rewrite) == 2  # one upsampler between each pair of decoder levels
    z = torch.randn(1, 3, 8, 12)
    with torch.no_grad():
        eager = vq.decode(z).sample
        with rewrite.active():
            assert all("forward" in vars(module) for module in rewrite.forwards)
            fast = vq.decode(z).sample
            upsampler = next(iter(rewrite.forwards))
            sized = upsampler(torch.randn(1, 64, 8, 12), output_size=(20, 30))  # an explicit size: the original
        assert sized.shape[-2:] == (20, 30)
    assert fast.shape == eager.shape == (1, 3, 32, 48)
    assert (fast - eager).abs().max() < 1e-5
    assert not any("forward" in vars(module) for module in rewrite.forwards)
    assert set(vq.state_dict()) == set(VQModel.from_config(vq.config).state_dict())  # no new weights
