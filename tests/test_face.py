"""Blind face restoration: ResShift's CelebA-Test degradation, the faceir task, converted checkpoints in it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import TINY_UNET, smooth_image
from PIL import Image

import restorers
from restorers.degradations.face import CELEBA_TEST
from restorers.resshift.pipeline import ResShiftPipeline
from restorers.resshift.scheduler import ResShiftScheduler
from restorers.resshift.unet import ResShiftUNet


def test_draws_follow_the_official_ranges_and_a_seed_reproduces_the_lq():
    draws = [CELEBA_TEST.draw(np.random.default_rng(seed)) for seed in range(200)]
    for key, (low, high) in {"sf": (1, 32), "quality": (30, 70), "noise": (1, 20), "sigma_x": (4, 16),
                             "sigma_y": (4, 16), "theta": (0, math.pi)}.items():
        values = [d[key] for d in draws]
        assert low <= min(values) and max(values) <= high and max(values) - min(values) > 0.8 * (high - low), key
    hq = np.asarray(smooth_image(96, 80, seed=1))
    first = CELEBA_TEST(hq, np.random.default_rng(7))
    assert first.shape == hq.shape and first.dtype == np.uint8  # the LQ keeps the HQ's size
    np.testing.assert_array_equal(first, CELEBA_TEST(hq, np.random.default_rng(7)))
    assert not np.array_equal(first, CELEBA_TEST(hq, np.random.default_rng(8)))


def test_the_blur_kernel_is_a_normalised_rotated_anisotropic_gaussian():
    kernel = CELEBA_TEST.kernel(2.0, 5.0, math.pi / 6)
    assert kernel.shape == (41, 41) and abs(kernel.sum() - 1) < 1e-12
    axis = np.arange(41) - 20
    xx, yy = np.meshgrid(axis, axis, indexing="xy")
    covariance = np.array([[(kernel * xx * xx).sum(), (kernel * xx * yy).sum()],
                           [(kernel * xx * yy).sum(), (kernel * yy * yy).sum()]])
    rotation = np.array([[math.cos(math.pi / 6), -math.sin(math.pi / 6)], [math.sin(math.pi / 6), math.cos(math.pi / 6)]])
    np.testing.assert_allclose(covariance, rotation @ np.diag([4.0, 25.0]) @ rotation.T, atol=5e-3)  # 41 px: ±4 sigma


def test_a_strong_reduction_removes_fine_detail_and_a_mild_one_keeps_the_layout():
    stripes = np.zeros((128, 128, 3), dtype=np.uint8)
    stripes[:, ::4] = 255  # 4-pixel period
    stripes[:, 1::4] = 255
    params = {"sf": 16.0, "quality": 70.0, "noise": 1.0, "sigma_x": 4.0, "sigma_y": 4.0, "theta": 0.0}
    strong = CELEBA_TEST.apply(stripes, np.random.default_rng(0), params)
    assert strong.std() < 12  # the stripes are gone: a flat grey with noise and JPEG residue
    assert abs(float(strong.mean()) - 127.5) < 12
    halves = np.zeros((128, 128, 3), dtype=np.uint8)
    halves[:, 64:] = 255
    mild = CELEBA_TEST.apply(halves, np.random.default_rng(0), {**params, "sf": 1.0})
    assert mild[:, :40].mean() < 40 and mild[:, -40:].mean() > 215  # dark left, bright right, still
    with pytest.raises(ValueError, match="at least 64x64"):
        CELEBA_TEST(np.zeros((40, 90, 3), dtype=np.uint8), np.random.default_rng(0))


def test_the_faceir_task_degrades_like_the_other_seeded_tasks():
    task = restorers.get_task("faceir")
    assert task.scale == 1 and task.rank_metric == "lpips"
    hq = smooth_image(96, 96, seed=3)
    lq = task.degrade(hq)
    assert lq.size == hq.size and lq.mode == "RGB"
    assert np.array_equal(np.asarray(lq), np.asarray(task.degrade(hq)))  # seeded by the pixels, as elsewhere
    other = task.degrade(hq, generator=torch.Generator().manual_seed(1))
    assert not np.array_equal(np.asarray(lq), np.asarray(other))


def tiny_face_pipeline() -> ResShiftPipeline:
    """sf 1, the LQ seen through the UNet's feature extractor (4x down), like the released faceir model (8x)."""
    torch.manual_seed(0)
    unet = ResShiftUNet(**{**TINY_UNET, "lq_size": 64, "image_size": 16}).eval()
    pipe = ResShiftPipeline(unet=unet, scheduler=ResShiftScheduler(num_train_timesteps=4), sf=1, latent_factor=4)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_a_converted_face_checkpoint_loads_into_the_face_task_and_the_app_lists_it(tmp_path, monkeypatch):
    folder = tmp_path / "resshift-faceir"
    tiny_face_pipeline().save_pretrained(folder, safe_serialization=True)
    (folder / "conversion.json").write_text(json.dumps({"preset": "faceir", "task": "faceir"}))
    with pytest.raises(ValueError, match="no embedded checkpoint for 'faceir'"):
        restorers.load_pipeline("resshift", "faceir")
    pipe = restorers.load_pipeline("resshift", "faceir", checkpoint=str(folder))
    lq = restorers.get_task("faceir").degrade(smooth_image(64, 64, seed=4))
    out = pipe(image=lq, generator=torch.Generator().manual_seed(0)).images[0]
    assert isinstance(out, Image.Image) and out.size == (64, 64)

    import app
    from leaderboard import serving

    monkeypatch.setenv("RESTORERS_CHECKPOINTS", str(tmp_path))
    assert serving.available_methods("faceir") == ["identity", "resshift@resshift-faceir"]
    assert "faceir" in app.shown_tasks()
    assert app.default_method(restorers.get_task("faceir")) == "resshift@resshift-faceir"  # not the input
    assert "resshift@resshift-faceir" not in serving.available_methods("sr_x4")  # made for faces, offered for faces
    monkeypatch.setenv("RESTORERS_CHECKPOINTS", str(tmp_path / "none"))
    assert serving.available_methods("faceir") == ["identity"]
    assert "faceir" not in app.shown_tasks() and "sr_x4" in app.shown_tasks()  # no restorer: no Face tab


def test_a_converted_face_folder_with_its_per_level_vq_loads_in_a_fresh_process(tmp_path):
    """The face f8 autoencoder is our VQModel subclass: load_pipeline must find its class without the caller
    importing it first (a fresh interpreter, as the app and the sweep start)."""
    import subprocess
    import sys

    from restorers.resshift.vq import PerLevelVQModel

    torch.manual_seed(0)
    vq = PerLevelVQModel(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
                         up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(8, 16, 16), layers_per_block=1,
                         layers_per_level=(1, 2, 1), latent_channels=4, num_vq_embeddings=16, vq_embed_dim=4,
                         norm_num_groups=4, sample_size=64).eval()
    unet = ResShiftUNet(**{**TINY_UNET, "in_channels": 4, "out_channels": 4, "lq_size": 64, "image_size": 16}).eval()
    pipe = ResShiftPipeline(unet=unet, scheduler=ResShiftScheduler(num_train_timesteps=4), vqvae=vq, sf=1)
    folder = tmp_path / "face"
    pipe.save_pretrained(folder, safe_serialization=True)
    (folder / "conversion.json").write_text(json.dumps({"preset": "faceir", "task": "faceir"}))
    script = ("import restorers, numpy as np, torch; from PIL import Image\n"
              f"pipe = restorers.load_pipeline('resshift', 'faceir', checkpoint={str(folder)!r})\n"
              "assert type(pipe.vqvae).__name__ == 'PerLevelVQModel', type(pipe.vqvae)\n"
              "image = Image.fromarray(np.full((64, 64, 3), 128, np.uint8))\n"
              "print(pipe(image=image, generator=torch.Generator().manual_seed(0)).images[0].size)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(64, 64)")


def test_an_input_that_fits_the_models_working_window_is_never_cut_into_tiles():
    """ResShift's face model pads every input to 512 x 512: tiling a 512 face into 256 tiles would run it nine
    times on padded quarters. Automatic tiles are at least the working window; larger inputs still tile."""
    pipe = tiny_face_pipeline()
    calls = []
    pipe.unet.register_forward_hook(lambda *_: calls.append(1))
    from restorers.padding import SizeRequirements

    pipe.size_requirements = lambda: SizeRequirements(multiple_of=320)  # as if its window were 320 (real: 512)
    pipe(image=smooth_image(300, 300), generator=torch.Generator().manual_seed(0))
    assert len(calls) == 4  # 300 x 300 > 256 x 256 pixels, but it fits one window: one pass
    calls.clear()
    pipe(image=smooth_image(400, 330), generator=torch.Generator().manual_seed(0), tile_overlap=32)
    assert len(calls) == 4 * 4  # larger than the window: 320-pixel tiles, 2 x 2
