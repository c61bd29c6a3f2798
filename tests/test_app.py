"""The Gradio app: started as a user would (a subprocess on a free port) and called through gradio_client."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

import restorers

from conftest import random_image
from leaderboard import serving

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
    slider, restored, table, cost, info, _, last = app.ui_restore("sr_x4", "bicubic", str(hq), 1, 0, True)
    assert slider.label == "HQ reference | restored"  # scored against the HQ: the slider shows it
    before, after = (side["path"] for side in slider.value)
    before, after, restored = (Image.open(path) for path in (before, after, restored))
    assert before.tobytes() == Image.open(hq).convert("RGB").tobytes()
    assert info["input_size"] == [64, 64] and restored.size == (256, 256) and before.size == after.size
    assert restored.format == "PNG" and restored.tobytes() == after.tobytes()
    assert info["metrics"]["psnr_y"] > 20 and info["metrics"]["ssim_y"] > 0.5
    assert "NFE** 0" in cost
    row = table.set_index("metric").loc["PSNR-Y (dB) ↑"]
    assert row["note"] == "measured"
    to_input = app.ui_slider(last, "input")  # the radio switches the slider without a new run
    shown_input = Image.open(to_input.value[0]["path"])
    assert to_input.label.startswith("Input") and shown_input.size == (256, 256)
    assert shown_input.tobytes() != before.tobytes()


def test_leaderboard_view_filters_and_plots():
    from leaderboard import leaderboard_tab

    view = leaderboard_tab.leaderboard_view("sr_x4", "heldout", "topiq_fr")
    dataset, metric, table, front, by_nfe, details, note, _ = view
    assert not table.empty, "no sr_x4 results on heldout in assets/results: the shipped results are missing"
    assert set(table["Method"]) >= {"resshift", "bicubic"}
    assert all(isinstance(v, float) for v in table["PSNR-Y (dB) ↑"])  # measured for every row
    assert all(isinstance(v, float) for v in table["LPIPS-Alex ↓"])
    # TOPIQ needs weights that are not offline: it is neither a column, nor a choice, nor plotted empty
    assert "TOPIQ-FR ↑" not in table.columns and "TOPIQ-FR" in note
    assert metric.value == "psnr_y" and "topiq_fr" not in [v for _, v in metric.choices]
    assert by_nfe.layout.xaxis.title.text.startswith("NFE") and by_nfe.layout.title.text.startswith("PSNR-Y")
    assert front.layout.xaxis.title.text.startswith("TFLOPs") and "Pareto front" in front.layout.title.text
    assert dataset.value == "heldout" and ("DIV2K100 (papers' numbers)", "DIV2K100") in dataset.choices
    assert {"Parameters (M)", "Device", "Notes"} <= set(details.columns) and len(details) == len(table)
    assert "Device" in table.columns and table["Device"].notna().all()  # where each row's seconds come from
    _, _, none, _, _, _, _, _ = leaderboard_tab.leaderboard_view("sr_x4", "no-such-dataset", "psnr_y")
    assert len(none) == len(table)  # an unknown dataset falls back to the first one


def test_real_world_sr_leaderboard_ranks_by_lpips():
    """realsr_x4's ranking metric is LPIPS: a task change selects it and the table is sorted best (lowest) first."""
    from leaderboard import leaderboard_tab

    _, metric, table, _, by_nfe, _, note, _ = leaderboard_tab.leaderboard_for_task("realsr_x4", "heldout")
    assert not table.empty, "no realsr_x4 results on heldout in assets/results: the shipped results are missing"
    assert metric.value == "lpips" and note.startswith("Ranked by LPIPS-Alex ↓")
    values = list(table["LPIPS-Alex ↓"])
    assert values == sorted(values) and len(values) >= 2
    assert by_nfe.layout.title.text.startswith("LPIPS")
    _, metric, table, _, _, _, note, _ = leaderboard_tab.leaderboard_for_task("sr_x4", "heldout")
    psnr = list(table["PSNR-Y (dB) ↑"])
    assert metric.value == "psnr_y" and psnr == sorted(psnr, reverse=True)


def test_leaderboard_of_a_task_without_rows_offers_choices_instead_of_an_error():
    """faceir has no shipped rows: the metric dropdown's value must be one of its choices (Gradio shows a red
    error badge on every control otherwise), and the note says how to measure some."""
    from leaderboard.table import leaderboard_view

    view = leaderboard_view("faceir", "heldout", "rank")
    assert view.table.empty and view.metric in [value for _, value in view.metric_choices]
    assert view.metric == "lpips"  # faceir's own ranking metric, though no row has it yet
    assert "No results for faceir" in view.note and "leaderboard.sweep --task faceir" in view.note


def test_leaderboard_of_all_tasks_keeps_each_task_apart():
    """"all" must not average tasks into one line or show two indistinguishable bicubic rows."""
    from leaderboard.table import leaderboard_view

    view = leaderboard_view("all", "heldout", "psnr_y")
    assert "Task" in view.table.columns and "Task" in view.details.columns
    bicubic = view.table[view.table["Method"] == "bicubic"]
    assert len(bicubic) >= 2 and bicubic["Task"].is_unique  # one per task, told apart
    keys = view.table[["Task", "Method", "Checkpoint", "NFE ↓"]].astype(str).agg("|".join, axis=1)
    names = [trace.name for trace in view.by_nfe.data]
    assert "sr_x4: bicubic" in names and "realsr_x4: bicubic" in names and "bicubic" not in names
    assert len(keys) == len(view.table) and "every task" in view.note


def test_steps_slider_follows_the_method():
    import app

    locked, owner = app.on_method_change("bicubic", "sr_x4")  # building it must not raise (min == max is refused)
    assert locked.interactive is False and "no sampling steps" in locked.info and owner == "bicubic"
    free, owner = app.on_method_change("resshift", "sr_x4")
    assert free.interactive and free.minimum == 1 and free.maximum == free.value == 4 and owner == "resshift"


def test_restore_pressed_before_the_slider_follows_a_method_change_uses_the_methods_default_steps(tmp_path):
    """Switch ResShift -> DP-IR and press Restore at once: the slider still shows ResShift's 4, which must not run
    as DP-IR's step count (DP-IR's default is its own); a slider set for DP-IR is honoured."""
    import app
    from conftest import random_image

    path = tmp_path / "lq.png"
    random_image(24, 24, seed=2).save(path)
    default = restorers.load_pipeline("dpir", "sr_x4").step_limits()[1]
    assert default != 4
    *_, info, _, _ = app.ui_restore("sr_x4", "dpir", str(path), 4, 0, False, steps_for="resshift")
    assert info["steps"] in (None, default) and info["nfe"] == default + 1
    assert "load_model" in info["time_split_seconds"]  # a first load is its own line, not "read and check"
    *_, info, _, _ = app.ui_restore("sr_x4", "dpir", str(path), 4, 0, False, steps_for="dpir")
    assert info["nfe"] == 5


def test_rows_from_different_devices_carry_a_note_that_their_seconds_differ():
    """Rows measured on different machines or thread counts: the table shows each row's device and says their
    seconds are not comparable; rows from one device carry no such note."""
    from leaderboard.results import RESULTS_DIR, load_all
    from leaderboard.table import MIXED_DEVICES_NOTE, leaderboard_view

    frame = load_all(RESULTS_DIR)
    frame["device"] = "CPU (x86_64, 2 threads)"
    assert leaderboard_view("realsr_x4", "heldout", "lpips", frame=frame).devices_note == ""
    first = frame.index[(frame["task"] == "realsr_x4") & (frame["dataset"] == "heldout")][0]
    frame.loc[first, "device"] = "NVIDIA H200"  # one row measured elsewhere
    view = leaderboard_view("realsr_x4", "heldout", "lpips", frame=frame)
    assert set(view.table["Device"]) == {"CPU (x86_64, 2 threads)", "NVIDIA H200"}
    assert view.devices_note == MIXED_DEVICES_NOTE and "not comparable" in view.devices_note


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




def test_a_refused_request_logs_one_line_and_no_traceback(caplog):
    """Every user-facing error once printed a full traceback to the server log."""
    import logging

    from leaderboard.page_errors import user_errors

    with caplog.at_level(logging.INFO, logger="restorers.app"), pytest.raises(gr.Error) as caught:
        with user_errors():
            raise serving.RequestError("Choose an image file first.")
    assert caught.value.print_exception is False and caught.value.message == "Choose an image file first."
    assert [r.getMessage() for r in caplog.records] == ["refused: Choose an image file first."]


def test_holes_painted_with_the_brush_are_the_mask_and_the_input_shows_them(tmp_path):
    """Inpainting had no brush and never showed the holes: paint from the editor becomes the mask, a mask file
    wins over it, and the slider's input side shows the holes (black, as the method gets them)."""
    import app

    photo = tmp_path / "photo.png"
    random_image(48, 40, seed=6).save(photo)
    picture, canvas = app.show_preview_and_canvas(str(photo))
    assert canvas["background"].size == (48, 40) and canvas["layers"] == []
    assert serving.chosen_mask(None, canvas) is None  # nothing painted yet
    layer = Image.new("RGBA", (48, 40), (0, 0, 0, 0))
    layer.paste((255, 255, 255, 255), (10, 8, 30, 24))
    painted = {**canvas, "layers": [layer]}
    mask = serving.chosen_mask(None, painted)
    assert mask.mode == "L" and mask.getbbox() == (10, 8, 30, 24)
    slider, *_, info, _, _ = app.ui_restore("inpaint", "telea", str(photo), None, 0, False, painted=painted)
    before, after = (side["path"] for side in slider.value)  # no HQ: the slider shows the input, holes black
    shown = Image.open(before).convert("RGB")
    assert shown.getpixel((20, 16)) == (0, 0, 0) and shown.getpixel((2, 2)) == picture.getpixel((2, 2))
    restored = Image.open(after).convert("RGB")
    assert restored.getpixel((2, 2)) == picture.getpixel((2, 2)) and restored.getpixel((20, 16)) != (0, 0, 0)
    file_mask = tmp_path / "mask.png"
    Image.new("L", (48, 40), 0).save(file_mask)
    with pytest.raises(gr.Error, match="marks no pixel"):  # the (empty) file wins over the paint
        app.ui_restore("inpaint", "telea", str(photo), None, 0, False, mask=str(file_mask), painted=painted)



def test_restore_says_how_long_it_will_take_and_asks_before_a_long_run(tmp_path, monkeypatch):
    """The estimate is counted FLOPs over this process's measured speed: once a method has run, an estimate of the
    same input is that run's time; a run over the long-run limit asks first and starts on the second press."""
    import app
    from leaderboard import estimate, forecast

    photo = tmp_path / "photo.png"
    random_image(160, 128, seed=7).save(photo)  # large enough that its run is timed (runs under 20 ms are not)
    monkeypatch.setattr(estimate, "MIN_TIMED_FLOPS", 0.0)  # this small photo's run counts as a timing here
    label = app.restore_label("sr_x4", "regression", str(photo), None, False, "refuse")
    assert label.value.startswith("Restore (about")  # before any run: from the conv-stack speed
    _, _, scored, _ = app.serve("sr_x4", "regression", str(photo), None, 0, False)
    again = forecast.restore_estimate("sr_x4", "regression", str(photo), None, False)
    assert again == pytest.approx(scored.seconds, rel=1e-6)
    assert app.restore_label("sr_x4", "regression", None, None, False, "refuse").value == "Restore"
    monkeypatch.setattr(forecast, "LONG_RUN_SECONDS", 0.0)
    first = app.ui_restore("sr_x4", "regression", str(photo), None, 0, False)
    assert "Press Restore again to start it" in first[3] and first[5]
    second = app.ui_restore("sr_x4", "regression", str(photo), None, 0, False, confirmed=first[5])
    assert second[4]["nfe"] == 1 and second[5] is None
    compare = app.compare_label("sr_x4", str(photo), False, "refuse", None, ["bicubic", "regression"])
    assert compare.value.startswith("Compare 2 methods (about")
    assert "ddpm" not in serving.compare_defaults("sr_x4") and "dpir" in serving.compare_defaults("sr_x4")
    assert estimate.duration_text(None).startswith("time not known")


def test_compare_counts_its_estimate_only_while_its_panel_is_open(tmp_path, monkeypatch):
    """An upload with the Compare panel closed counts nothing for Compare (the counting held the CPU for seconds
    beside a Restore pressed right after the upload); opening the panel gives the estimate."""
    import app
    from leaderboard import forecast

    photo = tmp_path / "photo.png"
    random_image(64, 48, seed=3).save(photo)
    counted = []
    plan_of = forecast.plan_of
    monkeypatch.setattr(forecast, "plan_of", lambda *a: counted.append(a[1]) or plan_of(*a))
    closed = app.compare_label("sr_x4", str(photo), False, "refuse", None, ["bicubic", "regression"], False)
    assert closed.value == "Compare 2 methods" and counted == []
    shown = app.compare_label("sr_x4", str(photo), False, "refuse", None, ["bicubic", "regression"], True)
    assert shown.value.startswith("Compare 2 methods (about") and counted == ["bicubic", "regression"]

    from types import SimpleNamespace

    counted.clear()
    visitor = SimpleNamespace(session_hash="after-run-visitor")
    after = app.compare_label_after_run("sr_x4", str(photo), False, "refuse", None, ["bicubic"], True, visitor)
    assert after.value.startswith("Compare 1 method (about") and counted == ["bicubic"]
    counted.clear()
    serving.STOPPED.add(visitor.session_hash)  # this visitor's run was stopped: the label stays as it was
    try:
        skipped = app.compare_label_after_run("sr_x4", str(photo), False, "refuse", None, ["bicubic"], True, visitor)
    finally:
        serving.STOPPED.discard(visitor.session_hash)
    assert skipped == gr.skip() and counted == []

@pytest.mark.parametrize("handler", ["restore", "compare"])
def test_a_stopped_run_ends_without_an_error_toast(tmp_path, handler):
    """Stop says "Stopped." itself; when the run's own end reaches Gradio before the cancellation, it must leave
    the page as it is. It used to raise gr.Error("Stopped."), a red toast contradicting the visitor's own click
    (it once failed CI: a browser test counted the toast's error elements on the next tab)."""
    import threading
    import time
    from types import SimpleNamespace

    import app

    path = tmp_path / "own_photo.png"
    random_image(256, 256, seed=4).save(path)
    pipe = serving.get_pipeline(serving.choice_of("realesrgan", "sr_x4"), "sr_x4")  # the one the run will use
    request = SimpleNamespace(session_hash=f"stopped-{handler}")
    inside = threading.Event()
    # the estimate's FLOP count calls the network on the meta device first; the run calls it on real pixels
    hook = pipe.network.register_forward_pre_hook(lambda _, args: inside.set() if not args[0].is_meta else None)

    def press():  # Stop, once the run is inside the network
        inside.wait(timeout=60)
        serving.STOPPED.add(request.session_hash)

    presser = threading.Thread(target=press)
    presser.start()
    started = time.perf_counter()
    try:
        if handler == "restore":
            out = app.ui_restore("sr_x4", "realesrgan", str(path), None, 0, False, request=request)
        else:
            out = app.ui_compare("sr_x4", str(path), 0, False, methods=["realesrgan"], request=request)
    finally:
        hook.remove()
        inside.set()
        presser.join()
        serving.STOPPED.discard(request.session_hash)
    assert time.perf_counter() - started < 30  # it left the network, it did not finish the 256 -> 1024 pass
    assert len(out) == (7 if handler == "restore" else 8)
    assert all(isinstance(value, type(gr.skip())) for value in out), out  # every output left as it is


def test_a_stop_pressed_while_the_run_is_estimated_is_not_forgotten(tmp_path, monkeypatch):
    """Restore first estimates the run (loading the method, counting its FLOPs: seconds on a busy server). A Stop
    pressed then must end the run; it used to be cleared when the run proper began, which then ran to its end."""
    import types


    import app
    from leaderboard import forecast, serving

    photo = tmp_path / "photo.png"
    Image.new("RGB", (48, 40), (90, 120, 30)).save(photo)
    request = types.SimpleNamespace(session_hash="session-estimate")
    estimated = forecast.long_run_question

    def stop_pressed_meanwhile(*args, **kwargs):
        serving.STOPPED.add("session-estimate")
        return estimated(*args, **kwargs)

    restored = []
    monkeypatch.setattr(forecast, "long_run_question", stop_pressed_meanwhile)
    monkeypatch.setattr(serving, "restore_and_score", lambda *a, **k: restored.append(a) or pytest.fail("ran"))
    try:
        outputs = app.ui_restore("sr_x4", "bicubic", str(photo), None, 0, False, request=request)
    finally:
        serving.STOPPED.discard("session-estimate")
    assert not restored
    assert all(output == gr.skip() for output in outputs)  # stopped: every output left as it was
