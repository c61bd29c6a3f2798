"""The Gradio app: started as a user would (a subprocess on a free port) and called through gradio_client."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import random_image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def test_restore_endpoint_returns_a_4x_png_and_measured_info(client):
    from gradio_client import handle_file

    lq_path = EXAMPLES / "lq_grace_hopper.png"
    image_path, info = client.predict("sr_x4", "resshift", handle_file(str(lq_path)), 2, 0, api_name="/restore")
    lq = Image.open(lq_path)
    restored = Image.open(image_path)
    assert restored.format == "PNG"
    assert restored.size == (4 * lq.width, 4 * lq.height)
    info = info if isinstance(info, dict) else json.loads(info)
    assert info["nfe"] == 2 and info["steps"] == 2
    assert info["tflops"] > 0 and info["tflops_per_nfe"] > 0 and info["seconds"] > 0
    assert info["metrics"]["piqe"] is not None  # no-reference metric: computable without the HQ
    assert info["metrics"]["psnr_y"] is None and "HQ" in info["unavailable_metrics"]["psnr_y"]

    again, info2 = client.predict("sr_x4", "resshift", handle_file(str(lq_path)), 2, 0, api_name="/restore")
    assert Image.open(again).tobytes() == restored.tobytes()  # same seed, same pixels


def test_restore_endpoint_bicubic_and_default_steps(client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "odd.png"
    random_image(13, 9, mode="RGBA").save(path)
    image_path, info = client.predict("sr_x4", "bicubic", handle_file(str(path)), None, 0, api_name="/restore")
    assert Image.open(image_path).size == (52, 36) and info["nfe"] == 0
    _, info = client.predict("sr_x4", "resshift", handle_file(str(path)), None, 3, api_name="/restore")
    assert info["nfe"] == 4  # the trained chain length


@pytest.mark.parametrize("content, steps, message", [
    (b"\x89PNG\r\n\x1a\nnot an image", 2, "not an image this app can read"),
    ("tiny", 2, "at least 8 pixels"),
    ("ok", 99, "takes 1 to"),
])
def test_restore_endpoint_rejects_bad_input_with_a_clear_message(client, tmp_path, content, steps, message):
    from gradio_client import handle_file

    path = tmp_path / "input.png"
    if content == "tiny":
        random_image(5, 5).save(path)
    elif content == "ok":
        random_image(16, 16).save(path)
    else:
        path.write_bytes(content)
    with pytest.raises(Exception, match=message):
        client.predict("sr_x4", "resshift", handle_file(str(path)), steps, 0, api_name="/restore")


@pytest.mark.parametrize("steps, seed, message", [
    (0, 0, "takes 1 to 4 steps"), (-1, 0, "takes 1 to 4 steps"), (1000, 0, "takes 1 to 4 steps"),
    (2.5, 0, "whole number"), (2, 3.7, "whole number"), (2, 2**32, "maximum value 4294967295|between 0 and 4294967295"),
    (2, -1, "minimum value 0|between 0 and"),  # Gradio's own range check or ours: either names the range
])
def test_steps_and_seed_are_validated_not_silently_changed(client, tmp_path, steps, seed, message):
    from gradio_client import handle_file

    path = tmp_path / "input.png"
    random_image(16, 16).save(path)
    with pytest.raises(Exception, match=message):
        client.predict("sr_x4", "resshift", handle_file(str(path)), steps, seed, api_name="/restore")


def test_the_largest_seed_the_message_allows_is_accepted(client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "input.png"
    random_image(16, 16).save(path)
    _, info = client.predict("sr_x4", "resshift", handle_file(str(path)), 1, 2**32 - 1, api_name="/restore")
    assert info["seed"] == 2**32 - 1 and info["nfe"] == 1


def test_ui_path_degrades_first_and_scores_against_the_hq():
    import app

    hq = EXAMPLES / "hq_astronaut.png"
    (before, after), restored, table, cost, info = app.ui_restore("sr_x4", "bicubic", str(hq), 1, 0, True)
    before, after, restored = (Image.open(path) for path in (before, after, restored))
    assert info["input_size"] == [64, 64] and restored.size == (256, 256) and before.size == after.size
    assert restored.format == "PNG" and restored.tobytes() == after.tobytes()
    assert info["metrics"]["psnr_y"] > 20 and info["metrics"]["ssim_y"] > 0.5
    assert "NFE** 0" in cost
    row = table.set_index("metric").loc["PSNR-Y (dB) ↑"]
    assert row["note"] == "measured"


def test_results_are_handed_over_as_separate_files():
    """Identical results must not share one file that a later request rewrites while a client downloads it."""
    import app

    image = Image.new("RGB", (8, 8), (10, 20, 30))
    first, second = app.png_file(image), app.png_file(image)
    assert first != second and Image.open(first).tobytes() == Image.open(second).tobytes() == image.tobytes()


def test_leaderboard_view_filters_and_plots():
    import app

    dataset, metric, table, by_nfe, by_tflops, details, note = app.leaderboard_view("sr_x4", "heldout", "topiq_fr")
    if table.empty:
        pytest.skip("no results shipped in assets/results")
    assert set(table["Method"]) >= {"resshift", "bicubic"}
    assert all(isinstance(v, float) for v in table["PSNR-Y (dB) ↑"])  # measured for every row
    assert all(isinstance(v, float) for v in table["LPIPS-Alex ↓"])
    # TOPIQ needs weights that are not offline: it is neither a column, nor a choice, nor plotted empty
    assert "TOPIQ-FR ↑" not in table.columns and "TOPIQ-FR" in note
    assert metric.value == "psnr_y" and "topiq_fr" not in [v for _, v in metric.choices]
    assert by_nfe.layout.xaxis.title.text.startswith("NFE") and by_nfe.layout.title.text.startswith("PSNR-Y")
    assert by_tflops.layout.xaxis.title.text.startswith("TFLOPs")
    assert {"Parameters (M)", "Device", "Notes"} <= set(details.columns) and len(details) == len(table)
    _, _, none, _, _, _, _ = app.leaderboard_view("sr_x4", "no-such-dataset", "psnr_y")
    assert len(none) == len(table)  # an unknown dataset falls back to the first one


def test_real_world_sr_leaderboard_ranks_by_lpips():
    """realsr_x4's ranking metric is LPIPS: a task change selects it and the table is sorted best (lowest) first."""
    import app

    _, metric, table, by_nfe, _, _, note = app.leaderboard_for_task("realsr_x4", "heldout")
    if table.empty:
        pytest.skip("no realsr_x4 results shipped in assets/results")
    assert metric.value == "lpips" and note.startswith("Ranked by LPIPS-Alex ↓")
    values = list(table["LPIPS-Alex ↓"])
    assert values == sorted(values) and len(values) >= 2
    assert by_nfe.layout.title.text.startswith("LPIPS")
    _, metric, table, _, _, _, note = app.leaderboard_for_task("sr_x4", "heldout")
    psnr = list(table["PSNR-Y (dB) ↑"])
    assert metric.value == "psnr_y" and psnr == sorted(psnr, reverse=True)


def test_steps_slider_follows_the_method():
    import app

    locked = app.on_method_change("bicubic", "sr_x4")  # building it must not raise (min == max is refused)
    assert locked.interactive is False and "no sampling steps" in locked.info
    free = app.on_method_change("resshift", "sr_x4")
    assert free.interactive and free.minimum == 1 and free.maximum == free.value == 4


def test_small_load_run_serves_every_client(server):
    """The load benchmark (benchmarks/load.py) in miniature: concurrent API calls are all served.

    A deterministic method on one input gives every client the same PNG: before results were handed to Gradio
    as unique files, its content-hashed cache rewrote that file under readers and 1 call in 8 got a truncated
    body (RemoteProtocolError)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("load", ROOT / "benchmarks" / "load.py")
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    result = load.run_load(server, clients=8, size=16, method="regression", task="sr_x4")
    assert result["errors"] == [] and result["served"] == 8
    assert result["max"] >= result["median"] > 0


def test_stop_ends_a_run_between_steps(tmp_path):
    """The Stop button's path: a stopped session's run raises 'Stopped.' at the next step, and frees the CPU."""
    import gradio as gr

    import app

    path = tmp_path / "input.png"
    random_image(16, 16).save(path)
    steps_seen = []
    checker = app.stop_checker("session-a")

    def counting(pipe, i, t, tensors):
        steps_seen.append(i)
        if i == 1:
            app._STOPPED.add("session-a")  # as if Stop were pressed during step 2
        return checker(pipe, i, t, tensors)

    pipe = app.get_pipeline("resshift", "sr_x4")
    from leaderboard.evaluate import restore_and_score

    with pytest.raises(app.RunStopped):
        restore_and_score(pipe, restorers_task(), Image.open(path), None, 4, 0, on_step=counting)
    assert steps_seen == [0, 1]  # it stopped after the step in which Stop was pressed, not at the end
    with pytest.raises(gr.Error, match="Stopped"):  # a stopped session's queued run does not start
        app._run("sr_x4", "bicubic", str(path), None, 0, False, session="session-a")
    app._STOPPED.discard("session-a")
    _, _, scored, _ = app._run("sr_x4", "bicubic", str(path), None, 0, False, session="session-a")
    assert scored.image.size == (64, 64)


def restorers_task():
    import restorers

    return restorers.get_task("sr_x4")


def test_dpir_runs_with_an_ir_network_from_the_registry_folder(tmp_path, monkeypatch):
    """A spandrel-loadable state dict dropped in $RESTORERS_IR_NETWORKS is offered and used by DP-IR."""
    import torch
    from spandrel.architectures.ESRGAN import ESRGAN

    import app
    import restorers
    import restorers.realesrgan.pipeline

    if "dpir" not in app.available_methods("sr_x4"):
        pytest.fail("the embedded DP-IR checkpoint is missing")
    folder = tmp_path / "ir"
    folder.mkdir()
    torch.manual_seed(0)
    torch.save(ESRGAN(num_filters=8, num_blocks=1, scale=4).state_dict(), folder / "tiny_esrgan_x4.pth")
    monkeypatch.setenv("RESTORERS_IR_NETWORKS", str(folder))
    from restorers.realesrgan.weights import MODELS

    cached = {name: restorers.realesrgan.pipeline.RealESRGANPipeline.weights_cached(name) for name in MODELS}
    pretrained = ([restorers.registry.REALESRGAN_IR] if cached["realesrgan-x4plus"] else []) + [
        f"{MODELS[name].title} (pretrained)" for name in ("realsr-df2k-x4", "realsr-df2k-jpeg-x4") if cached[name]
    ]  # the pretrained RRDBs are offered once their weights are cached
    assert list(restorers.registry.ir_network_choices()) == [restorers.registry.EMBEDDED_IR, *pretrained,
                                                             "tiny_esrgan_x4.pth"]
    path = tmp_path / "input.png"
    random_image(16, 16).save(path)
    _, _, scored, info = app._run("sr_x4", "dpir", str(path), 2, 0, False, ir_network="tiny_esrgan_x4.pth")
    assert info["ir_network"] == "tiny_esrgan_x4.pth" and scored.nfe == 3 and scored.image.size == (64, 64)
    pipe = app.get_pipeline("dpir", "sr_x4", "tiny_esrgan_x4.pth")
    assert pipe.ir_network.config.architecture == "ESRGAN"


def hostile_file(kind: str, path: Path) -> Path:
    """Files users really upload: every PIL mode, a cut-off PNG, a decompression bomb, an oversized photo."""
    if kind in ("L", "LA", "P", "RGBA", "CMYK", "I;16"):
        image = random_image(24, 20).convert("RGBA" if kind == "LA" else "RGB")
        image = image.convert(kind) if kind != "I;16" else Image.fromarray(
            (np.asarray(image.convert("L"), dtype=np.uint16) * 257))
        path = path.with_suffix(".tif" if kind == "CMYK" else ".png")
        image.save(path)
    elif kind == "truncated":
        random_image(64, 64).save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "bomb":
        Image.new("L", (9000, 6000)).save(path, optimize=False)  # 54 M pixels in a few kB
    elif kind == "oversized":
        random_image(1100, 1000).save(path)
    return path


@pytest.mark.parametrize("kind, message", [
    ("L", None), ("LA", None), ("P", None), ("RGBA", None), ("CMYK", None), ("I;16", None),
    ("truncated", "damaged or truncated"), ("bomb", "are not opened"), ("oversized", "1100x1000"),
])
def test_hostile_uploads_get_one_clear_sentence(client, tmp_path, kind, message):
    from gradio_client import handle_file

    path = hostile_file(kind, tmp_path / "upload.png")
    if message is None:  # an odd but valid mode: restored as RGB
        image_path, info = client.predict("sr_x4", "bicubic", handle_file(str(path)), None, 0, api_name="/restore")
        assert Image.open(image_path).mode == "RGB" and info["output_size"] == [96, 80]
        return
    with pytest.raises(Exception, match=message) as caught:
        client.predict("sr_x4", "bicubic", handle_file(str(path)), None, 0, api_name="/restore")
    assert "/tmp" not in str(caught.value) and "Traceback" not in str(caught.value)


def test_oversized_input_can_be_cropped_or_downscaled_in_one_click(tmp_path):
    import app

    path = hostile_file("oversized", tmp_path / "big.png")
    for fit, note in (("crop", "centre-cropped from 1100x1000"), ("downscale", "downscaled from 1100x1000")):
        lq, _, scored, info = app._run("sr_x4", "bicubic", str(path), None, 0, False, fit=fit)
        assert lq.width * lq.height <= app.MAX_LQ_PIXELS and info["input_fitted"] == note
    # a clean HQ photo to degrade first may be 16x larger (its LQ is what the budget counts)
    _, hq, scored, info = app._run("sr_x4", "bicubic", str(path), None, 0, True)
    assert hq.size == (1100, 1000) and scored.image.size == (1100, 1000) and "x4" in info["degraded_first"]


def test_inpainting_through_the_api_takes_a_mask_and_keeps_the_known_pixels(client, tmp_path):
    from gradio_client import handle_file

    image = random_image(48, 40, seed=3)
    mask = Image.new("L", (48, 40), 0)
    mask.paste(255, (8, 8, 30, 24))
    image_path, mask_path = tmp_path / "masked.png", tmp_path / "mask.png"
    image.save(image_path)
    mask.save(mask_path)
    out_path, info = client.predict("inpaint", "diffir", handle_file(str(image_path)), None, 0,
                                    handle_file(str(mask_path)), api_name="/restore")
    out = np.asarray(Image.open(out_path))
    known = np.asarray(mask) == 0
    assert out.shape == (40, 48, 3)
    np.testing.assert_array_equal(out[known], np.asarray(image)[known])
    assert info["nfe"] == 5 and info["nfe_detail"] == "ipr_denoiser 4 + dirformer 1"
    with pytest.raises(Exception, match="needs a mask"):
        client.predict("inpaint", "diffir", handle_file(str(image_path)), None, 0, None, api_name="/restore")
    Image.new("L", (20, 20), 255).save(tmp_path / "small_mask.png")
    with pytest.raises(Exception, match="The mask"):
        client.predict("inpaint", "diffir", handle_file(str(image_path)), None, 0,
                       handle_file(str(tmp_path / "small_mask.png")), api_name="/restore")


def test_ablation_methods_stay_out_of_the_demo_but_not_the_leaderboard():
    import app

    assert "diffir" in app.available_methods("inpaint")
    assert "diffir_direct" not in app.available_methods("inpaint")
    assert "diffir_direct" in __import__("restorers").list_methods("inpaint")


def test_checkpoints_in_the_user_folder_are_offered_beside_the_embedded_ones(tmp_path, monkeypatch, tiny_checkpoint):
    import shutil

    import app

    folder = tmp_path / "checkpoints"
    shutil.copytree(tiny_checkpoint, folder / "my-resshift")
    (folder / "my-resshift" / "conversion.json").write_text('{"task": "sr_x4"}')
    shutil.copytree(tiny_checkpoint, folder / "for-another-task")
    (folder / "for-another-task" / "conversion.json").write_text('{"task": "faceir"}')
    (folder / "not-a-checkpoint").mkdir()
    monkeypatch.setenv("RESTORERS_CHECKPOINTS", str(folder))
    assert "resshift@my-resshift" in app.available_methods("sr_x4")
    assert not [m for m in app.available_methods("sr_x4") if "another" in m or "not-a" in m]
    assert ("ResShift: my-resshift (your checkpoint)", "resshift@my-resshift") in app.method_choices("sr_x4")
    _, _, scored, info = app._run("sr_x4", "resshift@my-resshift", random_image(16, 16), 2, 0, False)
    assert scored.image.size == (64, 64) and scored.nfe == 2
    with pytest.raises(Exception, match="no checkpoint"):
        app._run("sr_x4", "resshift@missing", random_image(16, 16), 2, 0, False)
