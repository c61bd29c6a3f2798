"""The ``restorers`` API that the app, the sweep and outside users call."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput

import restorers
from conftest import random_image
from restorers.degradations import matlab_imresize
from restorers.registry import default_checkpoint


def test_listing():
    assert {"resshift", "bicubic"} <= set(restorers.list_methods())
    assert "sr_x4" in restorers.list_tasks()
    assert set(restorers.list_methods("sr_x4")) >= {"resshift", "bicubic"}
    task = restorers.get_task("sr_x4")
    assert (task.scale, task.crop_border, task.default_method) == (4, 4, "resshift")


def test_unknown_ids_and_mismatches_fail_clearly(tiny_checkpoint):
    with pytest.raises(KeyError, match="unknown method 'nope'"):
        restorers.load_pipeline("nope", "sr_x4")
    with pytest.raises(KeyError, match="unknown task 'deblur9'"):
        restorers.load_pipeline("resshift", "deblur9")
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        restorers.load_pipeline("resshift", "sr_x4", checkpoint="/nonexistent/folder")
    with pytest.raises(ValueError, match="has no weights"):
        restorers.load_pipeline("bicubic", "sr_x4", checkpoint=tiny_checkpoint)


def test_sr_task_degrades_with_matlab_bicubic_after_modcrop():
    task = restorers.get_task("sr_x4")
    hq = random_image(67, 42, seed=5)
    lq = task.degrade(hq)
    assert lq.size == (16, 10)
    expected = matlab_imresize(np.asarray(hq)[:40, :64], 0.25)
    assert np.array_equal(np.asarray(lq), expected)
    assert task.degrade(hq.convert("RGBA")).mode == "RGB"


def test_bicubic_pipeline_is_matlab_upscaling():
    pipe = restorers.load_pipeline("bicubic", "sr_x4")
    assert isinstance(pipe, DiffusionPipeline)
    lq = random_image(11, 9)
    out = pipe(image=lq, num_inference_steps=None, generator=torch.Generator().manual_seed(0), output_type="pil")
    assert isinstance(out, ImagePipelineOutput)
    assert np.array_equal(np.asarray(out.images[0]), matlab_imresize(np.asarray(lq), 4.0))


def test_checkpoint_folder_loads_through_the_public_api(tiny_checkpoint):
    pipe = restorers.load_pipeline("resshift", "sr_x4", checkpoint=tiny_checkpoint)
    out = pipe(image=random_image(9, 9), num_inference_steps=2, generator=torch.Generator().manual_seed(1))
    assert out.images[0].size == (36, 36)


def has_embedded(method: str) -> bool:
    folder = default_checkpoint(method, "sr_x4")
    return folder is not None and folder.is_dir()


# the margins over MATLAB bicubic (PSNR-Y, held-out benchmark) that each embedded checkpoint must keep
REQUIRED_MARGIN_DB = {"regression": 1.5, "resshift": 0.5}


@pytest.mark.parametrize("method", ["resshift", "regression"])
def test_embedded_checkpoint_is_safetensors_and_documented(method):
    if not has_embedded(method):
        pytest.fail(f"the embedded {method} checkpoint is missing from assets/")
    folder = default_checkpoint(method, "sr_x4")
    assert list(folder.rglob("*.safetensors")) and not list(folder.rglob("*.bin"))
    card = (folder / "README.md").read_text()
    for needed in ("held-out", "PSNR-Y", "LPIPS", "bicubic", f"python -m restorers.training.train_{method}",
                   "restorers.training.corpus fetch"):
        assert needed in card, needed


@pytest.mark.parametrize("method", ["resshift", "regression"])
def test_embedded_checkpoint_beats_bicubic_on_the_benchmark_as_its_card_says(method):
    """Re-measure the card's claim on every held-out image (default steps, seed 0 per image)."""
    import json

    from leaderboard.benchmarks import load_benchmark
    from leaderboard.metrics import compute_metric

    folder = default_checkpoint(method, "sr_x4")
    card = json.loads((folder / "heldout_metrics.json").read_text())
    column = f"steps={card['steps'][-1]}"
    task = restorers.get_task("sr_x4")
    pipe = restorers.load_pipeline(method, "sr_x4")
    bicubic = restorers.load_pipeline("bicubic", "sr_x4")
    ours, base = [], []
    for (name, hq), row in zip(load_benchmark("heldout").items, card["rows"], strict=True):
        assert row["image"] == name
        lq = task.degrade(hq)
        restored = pipe(image=lq, num_inference_steps=card["steps"][-1],
                        generator=torch.Generator().manual_seed(0)).images[0]
        ours.append(compute_metric("psnr_y", restored, hq, 4))
        base.append(compute_metric("psnr_y", bicubic(image=lq).images[0], hq, 4))
        assert abs(ours[-1] - row[column]["psnr_y"]) < 0.05, (name, ours[-1], row[column])  # the card is measured
        assert abs(base[-1] - row["bicubic"]["psnr_y"]) < 1e-3
    assert np.mean(ours) - np.mean(base) >= REQUIRED_MARGIN_DB[method], (np.mean(ours), np.mean(base))
