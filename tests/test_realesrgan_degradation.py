"""The Real-ESRGAN second-order degradation behind the ``realsr_x4`` task."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from restorers import get_task
from restorers.degradations.realesrgan import (
    RESSHIFT_REALSR,
    StageParams,
    filter2d,
    jpeg,
    mixed_kernel,
    random_blur_kernel,
    random_noise,
    sinc_kernel,
)


def photo_like(size: int = 128, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients plus edges: something blur, noise and JPEG visibly change."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    channels = [np.sin(2 * math.pi * (f * xx + g * yy)) for f, g in rng.uniform(0.5, 4, (3, 2))]
    image = (np.stack(channels, -1) * 0.4 + 0.5) * 255
    image[size // 3: size // 2, :, :] = 240  # a hard edge
    return image.clip(0, 255).astype(np.uint8)


def test_output_is_a_quarter_size_uint8_and_a_seed_reproduces_it():
    hq = photo_like()
    first = RESSHIFT_REALSR(hq, np.random.default_rng(7))
    again = RESSHIFT_REALSR(hq, np.random.default_rng(7))
    other = RESSHIFT_REALSR(hq, np.random.default_rng(8))
    assert first.shape == (32, 32, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_the_degradation_is_not_a_plain_downscale():
    """Noise, blur and JPEG leave the LQ far from the clean bicubic LQ (on average over draws)."""
    hq = photo_like()
    clean = np.asarray(Image.fromarray(hq).resize((32, 32), Image.BICUBIC), dtype=np.float64)
    gaps = [np.abs(RESSHIFT_REALSR(hq, np.random.default_rng(s)).astype(np.float64) - clean).mean() for s in range(8)]
    assert np.mean(gaps) > 3.0 and np.std(gaps) > 0.3  # degraded, and differently per draw


def test_small_or_odd_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 128"):
        RESSHIFT_REALSR(photo_like(64), np.random.default_rng(0))
    with pytest.raises(ValueError, match="multiple of 4"):
        RESSHIFT_REALSR(photo_like(130), np.random.default_rng(0))
    with pytest.raises(ValueError, match="uint8"):
        RESSHIFT_REALSR(photo_like().astype(np.float32), np.random.default_rng(0))


def test_blur_kernels_are_normalised_21x21_and_gaussian_when_beta_is_one():
    rng = np.random.default_rng(0)
    for _ in range(50):
        kernel = random_blur_kernel(rng, StageParams())
        assert kernel.shape == (21, 21) and kernel.sum() == pytest.approx(1.0)
    # an isotropic draw is rotation symmetric and equals the Gaussian computed directly
    iso = StageParams(kernel_prob=(1, 0, 0, 0, 0, 0), blur_sigma=(2.0, 2.0))
    kernel = mixed_kernel(np.random.default_rng(0), 11, iso)
    axis = np.arange(11) - 5
    direct = np.exp(-(axis[None] ** 2 + axis[:, None] ** 2) / (2 * 2.0 ** 2))
    np.testing.assert_allclose(kernel, direct / direct.sum(), atol=1e-12)
    np.testing.assert_allclose(kernel, kernel.T, atol=1e-15)


def test_sinc_kernel_is_a_circular_low_pass_with_ringing():
    kernel = sinc_kernel(math.pi / 3, 21)
    assert kernel.sum() == pytest.approx(1.0) and kernel.min() < 0  # negative lobes: the ringing it models
    np.testing.assert_allclose(kernel, kernel.T, atol=1e-15)
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-15)
    response = np.abs(np.fft.fft2(kernel, (128, 128)))
    frequencies = np.fft.fftfreq(128) * 2 * math.pi
    radius = np.hypot(*np.meshgrid(frequencies, frequencies))
    assert response[radius < 0.5 * math.pi / 3].min() > 0.85  # passes well below the cutoff
    assert response[radius > 2 * math.pi / 3].max() < 0.15  # stops well above it


def test_filter2d_with_a_delta_is_the_identity_and_blurs_otherwise():
    image = torch.from_numpy(photo_like(64).astype(np.float32) / 255).permute(2, 0, 1)[None]
    delta = np.zeros((21, 21))
    delta[10, 10] = 1.0
    assert torch.allclose(filter2d(image, delta), image, atol=1e-6)
    assert filter2d(image, None) is image
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    blurred = filter2d(noise, sinc_kernel(math.pi / 5, 21))
    assert blurred.diff(dim=-1).abs().mean() < 0.5 * noise.diff(dim=-1).abs().mean()


def test_gray_noise_is_the_same_in_every_channel_and_colour_noise_is_not():
    image = torch.full((1, 3, 64, 64), 0.5)
    gray = StageParams(gaussian_noise_prob=1.0, gray_noise_prob=1.0, noise_range=(20, 20))
    colour = StageParams(gaussian_noise_prob=1.0, gray_noise_prob=0.0, noise_range=(20, 20))
    noisy = random_noise(image, np.random.default_rng(0), gray)
    assert torch.equal(noisy[0, 0], noisy[0, 1]) and torch.equal(noisy[0, 1], noisy[0, 2])
    assert (noisy - 0.5).std().item() == pytest.approx(20 / 255, rel=0.05)
    noisy = random_noise(image, np.random.default_rng(0), colour)
    assert not torch.equal(noisy[0, 0], noisy[0, 1])


def test_poisson_noise_is_unbiased_and_grows_with_brightness():
    shot = StageParams(gaussian_noise_prob=0.0, gray_noise_prob=0.0, poisson_scale_range=(1.0, 1.0))
    ramp = torch.arange(256, dtype=torch.float32).div(255).expand(1, 3, 256, 256)  # 256 levels: photon count x256
    noise = random_noise(ramp, np.random.default_rng(0), shot) - ramp
    dark, middle, bright = noise[..., 20:30], noise[..., 100:150], noise[..., 200:210]
    assert abs(middle.mean().item()) < 0.003  # unbiased where clipping at 0 and 1 cannot act
    assert bright.std().item() == pytest.approx(math.sqrt(0.8 / 256), rel=0.1)
    assert dark.std().item() == pytest.approx(math.sqrt(0.1 / 256), rel=0.1)


def test_jpeg_quality_orders_the_error():
    image = torch.from_numpy(photo_like(64).astype(np.float32) / 255).permute(2, 0, 1)[None]
    error = {q: (jpeg(image, q) - image).abs().mean().item() for q in (30, 95)}
    assert 0 < error[95] < error[30]


def test_task_degrades_like_the_operator_and_is_seeded_by_the_pixels():
    task = get_task("realsr_x4")
    assert task.scale == 4 and task.rank_metric == "lpips"
    hq = Image.fromarray(photo_like(130))  # modcropped to 128
    lq = task.degrade(hq)
    assert lq.size == (32, 32) and np.array_equal(np.asarray(lq), np.asarray(task.degrade(hq)))
    seeded = task.degrade(hq, torch.Generator().manual_seed(1))
    assert not np.array_equal(np.asarray(seeded), np.asarray(lq))
    with pytest.raises(ValueError):
        task.degrade(Image.fromarray(photo_like(64)))
