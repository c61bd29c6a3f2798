"""The demo's request handling (leaderboard.serving) without a browser or a server: parsing, the pixel budget,
one pipeline load per restore, stopping, result files, and messages that never show a server path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from conftest import random_image
from PIL import Image

import restorers
from leaderboard import result_text, serving
from leaderboard.evaluate import restore_and_score
from leaderboard.serving import RequestError
from restorers.registry import MethodChoice

SERVER_PATH = re.compile(r"(?<![\w.])/\w")  # an absolute path, not "x1/4" or "PSNR/SSIM"


def test_results_are_handed_over_as_separate_files():
    """Identical results must not share one file that a later request rewrites while a client downloads it."""
    image = Image.new("RGB", (8, 8), (10, 20, 30))
    first, second = serving.png_file(image), serving.png_file(image)
    assert first != second and Image.open(first).tobytes() == Image.open(second).tobytes() == image.tobytes()


def test_stop_ends_a_run_between_steps(tmp_path):
    """The Stop button's path: a stopped session's run raises 'Stopped.' at the next step, and frees the CPU."""
    path = tmp_path / "input.png"
    random_image(16, 16).save(path)
    steps_seen = []
    checker = serving.stop_checker("session-a")

    def counting(pipe, i, t, tensors):
        steps_seen.append(i)
        if i == 1:
            serving.STOPPED.add("session-a")  # as if Stop were pressed during step 2
        return checker(pipe, i, t, tensors)

    pipe = serving.get_pipeline(MethodChoice.parse("resshift", "sr_x4"), "sr_x4")
    with pytest.raises(serving.RunStopped):
        restore_and_score(pipe, restorers.get_task("sr_x4"), Image.open(path), None, 4, 0, on_step=counting)
    assert steps_seen == [0, 1]  # it stopped after the step in which Stop was pressed, not at the end
    with pytest.raises(RequestError, match="Stopped"):  # a stopped session's queued run does not start
        serving.run("sr_x4", "bicubic", str(path), None, 0, False, session="session-a")
    serving.STOPPED.discard("session-a")
    _, _, scored, _ = serving.run("sr_x4", "bicubic", str(path), None, 0, False, session="session-a")
    assert scored.image.size == (64, 64)


def test_dpir_runs_with_an_ir_network_from_the_registry_folder(tmp_path, monkeypatch):
    """A spandrel-loadable state dict dropped in $RESTORERS_IR_NETWORKS is offered and used by DP-IR."""
    import torch
    from spandrel.architectures.ESRGAN import ESRGAN

    if "dpir" not in serving.available_methods("sr_x4"):
        pytest.fail("the embedded DP-IR checkpoint is missing")
    folder = tmp_path / "ir"
    folder.mkdir()
    torch.manual_seed(0)
    torch.save(ESRGAN(num_filters=8, num_blocks=1, scale=4).state_dict(), folder / "tiny_esrgan_x4.pth")
    monkeypatch.setenv("RESTORERS_IR_NETWORKS", str(folder))
    from restorers.realesrgan.weights import MODELS, cache_path

    cached = {name: cache_path(name).is_file() for name in MODELS}
    pretrained = ([restorers.registry.REALESRGAN_IR] if cached["realesrgan-x4plus"] else []) + [
        f"{MODELS[name].title} (pretrained)" for name in ("realsr-df2k-x4", "realsr-df2k-jpeg-x4") if cached[name]
    ]  # the pretrained RRDBs are offered once their weights are cached
    assert list(restorers.registry.ir_network_choices()) == [restorers.registry.EMBEDDED_IR, *pretrained,
                                                             "tiny_esrgan_x4.pth"]
    path = tmp_path / "input.png"
    random_image(16, 16).save(path)
    _, _, scored, info = serving.run("sr_x4", "dpir", str(path), 2, 0, False, ir_network="tiny_esrgan_x4.pth")
    assert info["ir_network"] == "tiny_esrgan_x4.pth" and scored.nfe == 3 and scored.image.size == (64, 64)
    pipe = serving.get_pipeline(MethodChoice.parse("dpir", "sr_x4"), "sr_x4", "tiny_esrgan_x4.pth")
    assert pipe.ir_network.config.architecture == "ESRGAN"


def test_oversized_input_can_be_cropped_or_downscaled_in_one_click(tmp_path):
    path = tmp_path / "big.png"
    random_image(1100, 1000).save(path)
    for fit, note in (("crop", "centre-cropped from 1100x1000"), ("downscale", "downscaled from 1100x1000")):
        # the same budget on every task; a same-size task and the identity keep the test fast
        lq, _, scored, info = serving.run("deblur", "identity", str(path), None, 0, False, fit=fit)
        assert lq.width * lq.height <= serving.MAX_LQ_PIXELS and info["input_fitted"] == note
    # a clean HQ photo to degrade first may be 16x larger (its LQ is what the budget counts)
    _, hq, scored, info = serving.run("sr_x4", "bicubic", str(path), None, 0, True)
    assert hq.size == (1100, 1000) and scored.image.size == (1100, 1000) and "x4" in info["degraded_first"]


def test_ablation_methods_stay_out_of_the_demo_but_not_the_leaderboard():
    assert "diffir" in serving.available_methods("inpaint")
    assert "diffir_direct" not in serving.available_methods("inpaint")
    assert "diffir_direct" in __import__("restorers").list_methods("inpaint")


def test_checkpoints_in_the_user_folder_are_offered_beside_the_embedded_ones(tmp_path, monkeypatch, tiny_checkpoint):
    import shutil

    folder = tmp_path / "checkpoints"
    shutil.copytree(tiny_checkpoint, folder / "my-resshift")
    (folder / "my-resshift" / "conversion.json").write_text('{"task": "sr_x4"}')
    shutil.copytree(tiny_checkpoint, folder / "for-another-task")
    (folder / "for-another-task" / "conversion.json").write_text('{"task": "faceir"}')
    (folder / "not-a-checkpoint").mkdir()
    monkeypatch.setenv("RESTORERS_CHECKPOINTS", str(folder))
    assert "resshift@my-resshift" in serving.available_methods("sr_x4")
    assert not [m for m in serving.available_methods("sr_x4") if "another" in m or "not-a" in m]
    assert ("ResShift: my-resshift (your checkpoint)", "resshift@my-resshift") in serving.method_choices("sr_x4")
    _, _, scored, info = serving.run("sr_x4", "resshift@my-resshift", random_image(16, 16), 2, 0, False)
    assert scored.image.size == (64, 64) and scored.nfe == 2
    with pytest.raises(Exception, match="no checkpoint"):
        serving.run("sr_x4", "resshift@missing", random_image(16, 16), 2, 0, False)


def test_a_clean_hq_over_4_megapixels_within_the_x4_budget_is_degraded_and_restored():
    """The demo promises a clean HQ up to 16x the LQ budget for x4 SR; 2100x2100 is over the old 2048x2048 cap."""
    hq_in = Image.new("RGB", (2100, 2100), (90, 140, 200))
    assert 2048 * 2048 < hq_in.width * hq_in.height <= serving.input_budget(restorers.get_task("sr_x4"), True)
    task = restorers.get_task("sr_x4")
    fitted, note = serving.fit_to_budget(hq_in, serving.input_budget(task, True), "refuse")
    assert fitted is hq_in and note == ""  # within the promise: not refused, not changed
    lq, _ = task.degrade_with_conditions(fitted)  # the step that refused anything over 4,194,304 pixels
    assert lq.size == (525, 525)
    assert restorers.load_pipeline("bicubic", "sr_x4")(image=lq).images[0].size == (2100, 2100)


def test_one_pipeline_load_per_restore_and_steps_checked_against_it(monkeypatch, tmp_path):
    loads = []
    real = restorers.load_pipeline

    def counting(*args, **kwargs):
        loads.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(restorers, "load_pipeline", counting)
    serving._load.cache_clear()
    image = random_image(16, 16)
    _, _, scored, info = serving.run("sr_x4", "resshift", image, 2, 0, False)
    assert len(loads) == 1 and scored.nfe == 2
    serving.run("sr_x4", "resshift", image, 3, 0, False)
    assert serving.step_settings("resshift", "sr_x4")["maximum"] == 4
    assert len(loads) == 1  # the next restore and the slider reuse the same pipeline
    with pytest.raises(RequestError, match="takes 1 to 4 steps"):
        serving.run("sr_x4", "resshift", image, 5, 0, False)


def test_the_step_slider_says_what_a_step_is_from_the_methods_declaration():
    dpir = serving.step_settings("dpir", "sr_x4")
    spec = restorers.get_method("dpir")
    assert dpir["info"] == spec.steps_help.format(most=dpir["maximum"]) and dpir["interactive"]
    assert serving.step_settings("bicubic", "sr_x4")["interactive"] is False
    one_shot = serving.step_settings("regression", "sr_x4")  # one network call: it said "NFE 0" like bicubic
    assert one_shot["interactive"] is False and "NFE" not in one_shot["info"] and "no sampling steps" in one_shot["info"]


@pytest.mark.parametrize("method, image, message", [
    ("resshift@missing", "ok", "no checkpoint 'missing'"),
    ("bicubic", "broken", "not an image this app can read"),
    ("dpir", "unknown-ir", "no IR network"),
])
def test_refusals_are_one_sentence_without_a_server_path(tmp_path, method, image, message):
    path = tmp_path / "upload.png"
    if image == "broken":
        path.write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    else:
        random_image(16, 16).save(path)
    ir_network = "no-such-network.pth" if image == "unknown-ir" else None
    with pytest.raises(RequestError, match=message) as caught:
        serving.run("sr_x4", method, str(path), None, 0, False, ir_network=ir_network)
    text = str(caught.value)
    assert not SERVER_PATH.search(text), text
    assert str(tmp_path) not in text and "Traceback" not in text


def test_library_messages_lose_their_server_paths():
    from restorers.paths import hide_paths

    assert hide_paths("cannot read '/srv/cache/ir/net.pth': x1/4 PSNR/SSIM") == \
        "cannot read 'net.pth': x1/4 PSNR/SSIM"


def test_inputs_over_the_budget_are_refused_with_the_way_out():
    with pytest.raises(RequestError, match="Centre-crop or Downscale"):
        serving.fit_to_budget(Image.new("RGB", (1100, 1000)), serving.MAX_LQ_PIXELS, "refuse")
    assert serving.parse_seed(None) == 0 and serving.parse_seed("7") == 7
    with pytest.raises(RequestError, match="whole number"):
        serving.parse_seed(2.5)
    assert serving.parse_steps(3, None, "Bicubic") is None  # a method without steps ignores the value


def test_the_fair_lock_serves_in_arrival_order():
    import threading
    import time

    lock, order = serving.FairLock(), []
    with lock:
        threads = []
        for n in range(4):
            threads.append(threading.Thread(target=lambda n=n: (lock.__enter__(), order.append(n), lock.__exit__())))
            threads[-1].start()
            time.sleep(0.05)  # each takes its ticket before the next arrives
    for thread in threads:
        thread.join(timeout=5)
    assert order == [0, 1, 2, 3]


def test_zoom_crops_are_taken_at_the_same_place_in_every_image():
    small, large = Image.new("RGB", (64, 64)), Image.new("RGB", (256, 256))
    crops = result_text.zoom_crops([("lq", small), ("sr", large)], 0.5, 0.5)
    assert [label for _, label in crops] == ["lq", "sr"]
    assert all(crop.size == (4 * result_text.ZOOM_WINDOW, 4 * result_text.ZOOM_WINDOW) for crop, _ in crops)


def test_generic_code_declares_rather_than_probes():
    """app.py and serving read what a method declares, never probing pipelines or naming methods."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for source in (root / "app.py", root / "leaderboard" / "serving.py"):
        text = source.read_text()
        assert "hasattr(" not in text and "getattr(" not in text, source.name
        assert not re.search(r"""["'](dpir|ddpm|diffir|resshift|identity)["']""", text), source.name


@pytest.mark.parametrize("method, task", [("diffir", "sr_x4"), ("dpir", "sr_x4"), ("regression", "sr_x4")])
def test_the_cost_line_adds_up(method, task):
    """'once + calls x per call' must equal the total, with the step count the counter saw (a DP-IR line once
    read "0.85 once + 0.859 per NFE" for 24 NFE and 11.16 TFLOPs, and DiffIR's MLP step "3.94e-07 per NFE")."""
    pipe = restorers.load_pipeline(method, task)
    info = restore_and_score(pipe, restorers.get_task(task), random_image(24, 24, seed=1)).info()
    line = result_text.cost_markdown({**info, "input_size": [24, 24]})
    split = result_text.flops_split(info)
    assert split in line
    if info["step_calls"]:
        total = info["tflops_base"] + info["step_calls"] * info["tflops_per_nfe"]
        assert total == pytest.approx(info["tflops"], rel=1e-6)
        assert f"{info['step_calls']} step call" in split and "e-0" not in split  # a readable unit, no 3.9e-07
    else:
        assert split == "all once per image"



def test_stop_ends_a_one_shot_network_within_a_layer_not_at_its_end(tmp_path):
    """Real-ESRGAN on a large photo is one network call of minutes: Stop must reach inside it. A 256x256 input
    takes tens of seconds on two cores; pressed after half a second, Stop ends it within a few seconds."""
    import threading
    import time

    path = tmp_path / "large.png"
    random_image(256, 256, seed=4).save(path)
    serving.get_pipeline(MethodChoice.parse("realesrgan", "sr_x4"), "sr_x4")  # loaded before the clock starts
    outcome = {}

    def restore():
        started = time.perf_counter()
        try:
            serving.run("sr_x4", "realesrgan", str(path), None, 0, False, session="session-b")
            outcome["result"] = "finished"
        except RequestError as err:
            outcome["result"] = str(err)
        outcome["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=restore)
    worker.start()
    time.sleep(0.5)
    pressed = time.perf_counter()
    serving.STOPPED.add("session-b")
    worker.join(timeout=60)
    left = time.perf_counter() - pressed
    serving.STOPPED.discard("session-b")
    assert outcome["result"] == "Stopped." and left < 5, (outcome, left)
    pipe = serving.get_pipeline(MethodChoice.parse("realesrgan", "sr_x4"), "sr_x4")
    assert all(not module._forward_pre_hooks for module in pipe.network.modules())  # no check left behind



def test_transparency_is_kept_and_an_animation_says_which_frame_was_restored(tmp_path):
    """A PNG's alpha and a GIF's later frames were dropped silently: the alpha now comes back resized beside the
    restored colour, and the visitor is told which frame of an animation was restored."""
    rgba = random_image(20, 16, seed=5).convert("RGBA")
    alpha = Image.new("L", rgba.size, 0)
    alpha.paste(255, (4, 4, 16, 12))
    rgba.putalpha(alpha)
    rgba.save(tmp_path / "logo.png")
    _, _, scored, info = serving.run("sr_x4", "bicubic", str(tmp_path / "logo.png"), None, 0, False)
    assert scored.image.mode == "RGBA" and scored.image.size == (80, 64)
    restored_alpha = scored.image.getchannel("A")
    assert restored_alpha.getpixel((0, 0)) == 0 and restored_alpha.getpixel((40, 32)) == 255
    assert any("transparency was kept" in note for note in info["input_notes"])
    assert "transparency was kept" in result_text.cost_markdown(info)
    frames = [random_image(16, 16, seed=k).convert("P") for k in range(3)]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:])
    _, _, scored, info = serving.run("sr_x4", "bicubic", str(tmp_path / "clip.gif"), None, 0, False)
    assert scored.image.mode == "RGB" and "animation of 3 frames: its first frame" in info["input_notes"][0]


def test_downloads_are_named_after_the_input():
    assert serving.download_name("/tmp/gradio/abc/holiday photo.jpg", "sr_x4", "resshift@official:realsr_v3") == \
        "holiday-photo_sr_x4_resshift-official-realsr_v3"
    assert serving.download_name(None, "inpaint", "telea") == "image_inpaint_telea"


def test_results_download_as_png_webp_or_jpeg_at_a_quality():
    rgba = Image.new("RGBA", (40, 30), (200, 30, 30, 255))
    rgba.paste((0, 0, 255, 0), (0, 0, 20, 30))  # the left half fully transparent
    png = Image.open(serving.image_file(rgba, "photo_sr", "PNG"))
    assert png.format == "PNG" and png.mode == "RGBA" and png.tobytes() == rgba.tobytes()  # lossless
    webp_path = serving.image_file(rgba, "photo_sr", "WebP", 80)
    webp = Image.open(webp_path)
    assert webp_path.endswith("photo_sr.webp") and webp.format == "WEBP" and webp.mode == "RGBA"
    assert webp.getpixel((5, 5))[3] == 0  # alpha kept
    jpeg_path = serving.image_file(rgba, "photo_sr", "JPEG", 90)
    jpeg = Image.open(jpeg_path)
    assert jpeg_path.endswith("photo_sr.jpg") and jpeg.format == "JPEG" and jpeg.mode == "RGB"
    assert min(jpeg.getpixel((5, 5))) > 240  # the transparent half on white, not black
    small = Path(serving.image_file(rgba.convert("RGB"), "q", "JPEG", 50)).stat().st_size
    assert small < Path(serving.image_file(rgba.convert("RGB"), "q", "JPEG", 100)).stat().st_size
    with pytest.raises(RequestError, match="one of PNG, WebP, JPEG"):
        serving.image_file(rgba, "x", "GIF")
    with pytest.raises(RequestError, match="1 to 100"):
        serving.image_file(rgba, "x", "JPEG", 0)


def test_the_server_runs_on_the_gpu_when_there_is_one(monkeypatch):
    from leaderboard import device

    monkeypatch.delenv("RESTORERS_DEVICE", raising=False)
    monkeypatch.setattr(device.torch.cuda, "is_available", lambda: True)
    assert device.serving_device() == "cuda"
    monkeypatch.setattr(device.torch.cuda, "is_available", lambda: False)
    assert device.serving_device() == "cpu"
    monkeypatch.setenv("RESTORERS_DEVICE", "cuda:1")
    with pytest.raises(ValueError, match="does not have"):
        device.serving_device()
    monkeypatch.setenv("RESTORERS_DEVICE", "quantum")
    with pytest.raises(ValueError, match="not a torch device"):
        device.serving_device()


def test_a_run_names_its_device_in_the_cost_line(tmp_path):
    path = tmp_path / "in.png"
    Image.new("RGB", (16, 16), (120, 80, 40)).save(path)
    *_, info = serving.run("sr_x4", "bicubic", str(path), None, 0, False)
    assert info["device"].startswith("CPU (") and "threads" in info["device"]
    assert f"restoring on {info['device']}" in result_text.cost_markdown(info)


def test_on_a_zerogpu_space_every_run_borrows_the_gpu(monkeypatch):
    """The ``spaces`` package exists only on Hugging Face Spaces: when it does, the run is wrapped in its GPU
    decorator; when it does not, nothing changes."""
    import importlib
    import sys
    import types

    import app

    wrapped = []

    def gpu(duration):
        def decorate(function):
            wrapped.append((function.__name__, duration))
            return function
        return decorate

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    try:
        importlib.reload(app)
        assert wrapped == [("serve", 120)] and app.spaces is sys.modules["spaces"]
    finally:
        monkeypatch.delitem(sys.modules, "spaces")
        importlib.reload(app)
    assert app.spaces is None


def test_a_no_reference_score_alone_says_how_far_to_trust_it(tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (48, 40), (120, 80, 40)).save(path)
    _, _, alone, _ = serving.run("sr_x4", "bicubic", str(path), None, 0, False)
    notes = result_text.metrics_frame(alone).set_index("metric")["note"]
    assert "rough one" in notes["PIQE (no-ref) ↓"] and "needs the clean HQ" in notes["PSNR-Y (dB) ↑"]
    _, _, scored, _ = serving.run("sr_x4", "bicubic", str(path), None, 0, True)  # scored against the HQ
    notes = result_text.metrics_frame(scored).set_index("metric")["note"]
    assert notes["PIQE (no-ref) ↓"] == "measured" and notes["PSNR-Y (dB) ↑"] == "measured"


def test_the_demo_compiles_resshift_for_its_tile_shape_only_on_the_cpu(monkeypatch):
    from leaderboard.device import demo_compiles

    monkeypatch.setenv("RESTORERS_DEMO_COMPILE", "1")
    pipe = serving._load.__wrapped__(serving.choice_of("resshift", "sr_x4"), "sr_x4", None)
    assert hasattr(pipe.unet.forward, "eager") and pipe.__dict__["_compile_tiles_only"]
    regression = serving._load.__wrapped__(serving.choice_of("regression", "sr_x4"), "sr_x4", None)
    assert not regression.compile_targets  # a method without a compiled mode is left as it is
    assert demo_compiles("cpu", "diffir") and not demo_compiles("cuda", "resshift")
    monkeypatch.setenv("RESTORERS_DEMO_COMPILE", "0")
    assert not demo_compiles("cpu", "resshift")
    monkeypatch.delenv("RESTORERS_DEMO_COMPILE")  # the default: none (eager ran faster since restorers.heap, README)
    assert not demo_compiles("cpu", "resshift") and not demo_compiles("cpu", "diffir")
    monkeypatch.setenv("RESTORERS_DEMO_COMPILE", "resshift, dpir")
    assert demo_compiles("cpu", "dpir") and not demo_compiles("cpu", "diffir")
    monkeypatch.setenv("RESTORERS_DEMO_COMPILE", "resshift,maybe")
    with pytest.raises(ValueError, match="maybe is not a method"):
        demo_compiles("cpu", "resshift")


def test_the_server_compiles_its_landing_tile_at_the_start_holding_the_run_lock(monkeypatch):
    """The landing tab's default method is compiled in the background at start, one run at a time with visitors'
    runs; a method the demo does not compile is not touched."""
    calls = []

    class Pipe:
        def compile_tile_now(self):
            calls.append(serving.RUN_LOCK.locked())
            return 1.5

    monkeypatch.setattr(serving, "get_pipeline", lambda choice, task_id: Pipe())
    monkeypatch.setenv("RESTORERS_DEMO_COMPILE", "resshift")
    thread = serving.compile_landing_pipeline("sr_x4")
    thread.join(timeout=30)
    assert calls == [True]
    monkeypatch.setenv("RESTORERS_DEMO_COMPILE", "0")
    assert serving.compile_landing_pipeline("sr_x4") is None and calls == [True]


def test_the_restore_button_says_when_a_large_photo_compiles_first(monkeypatch, tmp_path):
    from leaderboard import forecast

    monkeypatch.setenv("RESTORERS_DEMO_COMPILE", "1")
    serving._load.cache_clear()
    try:
        large, small = tmp_path / "large.png", tmp_path / "small.png"
        random_image(300, 300).save(large)
        random_image(64, 64).save(small)
        text = forecast.restore_button_text("sr_x4", "resshift", str(large), 4, False, "refuse")
        assert text.startswith("Restore (about") and text.endswith(forecast.COMPILE_NOTE + ")")
        assert forecast.COMPILE_NOTE not in forecast.restore_button_text("sr_x4", "resshift", str(small), 4, False,
                                                                         "refuse")
        assert forecast.compare_button_text("sr_x4", str(large), False, "refuse", None, ["bicubic", "resshift"]) \
            .endswith(forecast.COMPILE_NOTE + ")")  # a Compare that compiles first says so too
        assert forecast.COMPILE_NOTE not in forecast.compare_button_text("sr_x4", str(small), False, "refuse", None,
                                                                         ["bicubic", "resshift"])
    finally:
        serving._load.cache_clear()


def test_compares_estimate_stops_counting_once_a_run_starts(monkeypatch, tmp_path):
    """Counting FLOPs for eight methods holds a core for seconds: when a run starts meanwhile (the visitor opened
    the panel and pressed Compare at once), the rest is left uncounted, so the run has the CPU and a Stop frees it."""
    from leaderboard import forecast

    photo = tmp_path / "photo.png"
    random_image(64, 64).save(photo)
    counted = []
    monkeypatch.setattr(forecast, "plan_of", lambda task, method, *rest: counted.append(method) or (2.0, False))
    methods = ["bicubic", "regression", "resshift"]
    quiet = forecast.compare_button_text("sr_x4", str(photo), False, "refuse", None, methods)
    assert quiet.startswith("Compare 3 methods (about") and counted == methods
    counted.clear()
    monkeypatch.setattr(serving.RUN_LOCK, "locked", lambda: len(counted) >= 1)  # a run starts after the first count
    assert forecast.compare_button_text("sr_x4", str(photo), False, "refuse", None, methods) == "Compare 3 methods"
    assert counted == ["bicubic"]


def test_a_refusal_reaches_the_page_as_a_sentence():
    """Library messages start lower-case (as Python's do); the toast shows a capital and a full stop, once."""
    from leaderboard.serving import as_sentence

    assert as_sentence("upload at least 2 raw frames (one 16-bit PNG each); got 1") == \
        "Upload at least 2 raw frames (one 16-bit PNG each); got 1."
    assert as_sentence(RequestError("Stopped.")) == "Stopped."
    assert as_sentence("which one?") == "Which one?"


def test_a_first_large_photo_compiles_outside_the_pages_progress_tracking():
    """Inside a page's request Gradio's tqdm tracking counts the compiler's own hidden progress bars as the run's
    and broke the sampler's step loop ("int() argument must be ... not 'tuple'"): the tile shape is compiled apart."""
    import gradio as gr
    from gradio.context import LocalContext

    seen = []

    class Pipe:
        def compile_tile_now(self):
            seen.append(LocalContext.progress.get(None))
            return 1.0

    token = LocalContext.progress.set(gr.Progress(track_tqdm=True))  # as inside a request with a progress bar
    try:
        serving.compile_tile_apart(Pipe())
    finally:
        LocalContext.progress.reset(token)
    assert seen == [None]


def test_stop_pressed_while_the_result_is_scored_leaves_before_the_next_metric(tmp_path, monkeypatch):
    """The networks have finished and the metrics are running (seconds on a large result): Stop ends the run
    before the next metric, not after all of them."""
    from leaderboard import evaluate, metrics

    path = tmp_path / "photo.png"
    random_image(200, 200, seed=5).save(path)
    computed = []
    real = metrics.compute_metric

    def pressing_stop_during_the_first(name, *args, **kwargs):
        computed.append(name)
        serving.STOPPED.add("session-m")  # the visitor presses Stop while this metric runs
        return real(name, *args, **kwargs)

    monkeypatch.setattr(metrics, "compute_metric", pressing_stop_during_the_first)
    assert evaluate.compute_metrics is metrics.compute_metrics  # the patched module is the one scoring runs through
    try:
        with pytest.raises(RequestError, match="Stopped"):
            serving.run("sr_x4", "bicubic", str(path), None, 0, False, session="session-m")
    finally:
        serving.STOPPED.discard("session-m")
    assert len(computed) == 1, computed  # a 200x200 x4 result has two no-reference metrics; only one started
    # without a session (the API, sweeps) nothing is checked: every metric runs
    computed.clear()
    serving.run("sr_x4", "bicubic", str(path), None, 0, False)
    assert len(computed) >= 2, computed


def test_the_first_estimates_speed_ignores_a_busy_moment(monkeypatch):
    """The conv-stack speed every first estimate divides by is the best of several short timings: a moment of
    contention (here the first three passes slowed, as the page's FLOP counting beside it does) does not halve it,
    which would double every first estimate for the rest of the process (one timing over them read a fifth)."""
    import time

    from leaderboard import estimate

    monkeypatch.setattr(estimate, "_REFERENCE", {})
    quiet = estimate.reference_speed("cpu")
    estimate._REFERENCE.clear()
    forward, calls = torch.nn.Conv2d.forward, {"n": 0}

    def busy_then_quiet(self, x):
        calls["n"] += 1
        if calls["n"] <= 12:  # the untimed warm-up pass and the first timing's two passes, 4 convolutions each
            time.sleep(0.03)
        return forward(self, x)

    monkeypatch.setattr(torch.nn.Conv2d, "forward", busy_then_quiet)
    assert estimate.reference_speed("cpu") > 0.6 * quiet and calls["n"] > 12


def test_the_servers_warm_up_builds_the_metrics_and_times_the_speed(monkeypatch):
    """At a start, in the background and while nothing else runs: the metrics, then the conv-stack timing."""
    from leaderboard import estimate, metrics

    built = []
    monkeypatch.setattr(estimate, "_REFERENCE", {})
    monkeypatch.setattr(metrics, "warm_up", lambda: built.append(sorted(estimate._REFERENCE)))
    serving.warm_up()
    assert built == [[]] and list(estimate._REFERENCE) == [str(serving.DEVICE)]
