"""The demo's Burst JDD-SR tab: a clean photo made into a raw burst, or raw frames uploaded, restored x4.

A burst is not one image, so this tab has its own inputs (a clean HQ image to synthesise from, or a set of 16-bit
RGGB PNG frames), shows the frames as a strip, and sets the result beside the naive baseline (the first frame
alone, demosaicked and enlarged). The run itself is the shared one: the same pipelines, ``restore_and_score``, the
server's CPU lock and Stop checks as every other tab.
"""

from __future__ import annotations

import hashlib
import tempfile
import time

import gradio as gr
import pandas as pd
from PIL import Image

import restorers
from restorers.burst.raw_burst import RawBurst
from restorers.image_io import InvalidImageError, check_size
from restorers.paths import EXAMPLES, hide_paths

from . import result_text
from .estimate import duration_text, estimate_seconds
from .evaluate import restore_and_score
from .metrics import METRICS
from .page_errors import begin_run, quiet_when_stopped, user_errors
from .serving import (
    DEVICE,
    MAX_SEED,
    OUTPUT_DIR,
    RUN_LOCK,
    STOPPED,
    RequestError,
    RunStopped,
    StoppedByUser,
    choice_of,
    default_method,
    download_name,
    fit_to_budget,
    get_pipeline,
    method_choices,
    parse_seed,
    parse_steps,
    png_file,
    read_upload,
    record_speed,
    speed_key,
    stop_checker,
    stop_hooks,
    stop_raiser,
)
from .device import device_name

TASK_ID = "burst_jddsr"
SYNTHESISE, UPLOAD = "Synthesise a burst from a clean HQ image", "Upload raw frames"
MAX_HQ_PIXELS = 768 * 768  # a larger HQ is centre-cropped: its frames are 192x192, the result 768x768
MAX_FRAME_PIXELS = MAX_HQ_PIXELS // 16
NAIVE = "burst_naive"
LAYOUT = ("**Raw frames**: one PNG per frame, 16-bit single channel, the RGGB Bayer mosaic of this demo's synthetic "
          "camera (red at even rows and columns, blue at odd ones), linear values 0-65535 with no black level; every "
          "frame the same even size; the first file is the reference frame, files in frame order. A synthesised "
          "burst's frames are offered for download in exactly this layout.")


def read_inputs(source: str, hq_file, frame_files) -> tuple[RawBurst | None, Image.Image | None, str | None]:
    """(uploaded burst, or the fitted HQ a burst will be synthesised from, how the HQ was fitted), checked; every
    refusal is one sentence. Cheap: the button's estimate calls it on every change, so nothing is degraded here."""
    task = restorers.get_task(TASK_ID)
    if source == UPLOAD:
        if not frame_files:
            raise RequestError("Upload the burst's raw frames (16-bit PNGs, at least 2), or switch to synthesising "
                               "one from a clean image.")
        try:
            burst = RawBurst.from_files(frame_files)
        except InvalidImageError as err:
            raise RequestError(str(err)) from None
        if burst.width * burst.height > MAX_FRAME_PIXELS:
            raise RequestError(f"The frames are {burst.width}x{burst.height}; this demo restores frames of up to "
                               f"{MAX_FRAME_PIXELS:,} pixels (crop them to 192x192).")
        return burst, None, None
    picture, _, _ = read_upload(hq_file)
    picture, fitted = fit_to_budget(picture, MAX_HQ_PIXELS, "crop")
    try:
        check_size(picture, min_side=8 * task.size_multiple)
    except InvalidImageError as err:
        raise RequestError(str(err)) from None
    return None, task.modcrop(picture), fitted or None


def read_burst(source: str, hq_file, frame_files) -> tuple[RawBurst, Image.Image | None, str | None]:
    """(burst, HQ or None, how the HQ was fitted) from the tab's inputs: an HQ is degraded into its burst."""
    burst, hq, fitted = read_inputs(source, hq_file, frame_files)
    if burst is None:
        try:
            burst, _ = restorers.get_task(TASK_ID).degrade_with_conditions(hq)
        except InvalidImageError as err:
            raise RequestError(str(err)) from None
    return burst, hq, fitted


def run_burst(method: str, source: str, hq_file, frame_files, steps, seed, session: str | None = None):
    """One burst restore: (burst, HQ or None, scored result, scored naive baseline, info)."""
    started = time.perf_counter()
    task, choice = restorers.get_task(TASK_ID), choice_of(method, TASK_ID)
    if TASK_ID not in choice.spec.tasks:
        raise RequestError(f"{choice.title} does not restore bursts; choose one of: "
                           f"{', '.join(restorers.list_methods(TASK_ID))}")
    seed = parse_seed(seed)
    burst, hq, fitted = read_burst(source, hq_file, frame_files)
    pipe = get_pipeline(choice, TASK_ID)
    steps = parse_steps(steps, pipe.step_limits(), choice.title)
    naive_pipe = get_pipeline(choice_of(NAIVE, TASK_ID), TASK_ID)
    try:
        with RUN_LOCK:
            if session in STOPPED:
                raise RunStopped()
            stop_check = stop_raiser(session)
            with stop_hooks(pipe, session):
                scored = restore_and_score(pipe, task, burst, hq, steps, seed, on_step=stop_checker(session),
                                           stop_check=stop_check)
            naive = restore_and_score(naive_pipe, task, burst, hq, None, seed, stop_check=stop_check)
    except RunStopped:
        raise StoppedByUser() from None
    except ValueError as err:
        raise RequestError(hide_paths(str(err))) from err
    record_speed(speed_key(choice, None), scored.flops.total, scored.seconds, burst.width * burst.height)
    info = {"task": TASK_ID, "method": method, "steps": steps, "seed": seed, "device": device_name(DEVICE),
            "input_size": list(burst.size), "frames": burst.num_frames, **scored.info(),
            "result_sha256": pixels_digest(scored.image),  # the same burst, method and seed give the same pixels
            "total_seconds": round(time.perf_counter() - started, 3)}
    if hq is not None:
        info["degraded_first"] = (f"the {hq.width}x{hq.height} HQ was degraded into a burst of {burst.num_frames} "
                                  f"raw {burst.width}x{burst.height} frames, restored x4 and scored against the HQ")
    if fitted:
        info["input_fitted"] = fitted
    return burst, hq, scored, naive, info


def pixels_digest(image: Image.Image) -> str:
    """The first 16 hex digits of the SHA-256 of the image's RGB pixels: two runs agree exactly when these do."""
    return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()[:16]


def frame_strip(burst: RawBurst) -> list[tuple[Image.Image, str]]:
    """Every frame as a picture (bilinear demosaic, the camera's colours), captioned with its number."""
    return [(burst.frame_preview(i), f"frame {i + 1}" + (" (ref.)" if i == 0 else ""))
            for i in range(burst.num_frames)]


def metrics_table(scored, naive) -> pd.DataFrame:
    """Each metric for the result and for the naive baseline, side by side."""
    cell = result_text.metric_cell
    return pd.DataFrame([{"metric": f"{spec.label} {spec.arrow}", "restored": cell(scored.metrics.get(name)),
                          "naive baseline": cell(naive.metrics.get(name)),
                          "note": scored.unavailable.get(name, "measured")} for name, spec in METRICS.items()])


@quiet_when_stopped(outputs=7)
def ui_restore_burst(method, source, hq_file, frame_files, steps, seed, request: gr.Request = None,
                     progress=gr.Progress(track_tqdm=True)):
    session = request.session_hash if request is not None else None  # its earlier Stop went at the click
    progress(0, desc="waiting for the server")
    with user_errors():
        burst, hq, scored, naive, info = run_burst(method, source, hq_file, frame_files, steps, seed, session)
    name = download_name(hq_file if source == SYNTHESISE else (frame_files or [None])[0], TASK_ID, method)
    frames = burst.save_pngs(tempfile.mkdtemp(dir=OUTPUT_DIR), stem=f"{name}_frame")  # pruned like the results
    left = (png_file(hq, "hq"), "HQ reference | restored") if hq is not None else \
        (png_file(naive.image, "naive"), "Naive baseline (first frame) | restored")
    return (frame_strip(burst), gr.ImageSlider(value=(left[0], png_file(scored.image, name)), label=left[1]),
            [(naive.image, "naive baseline: first frame, bilinear demosaic, bicubic x4"),
             (scored.image, choice_of(method, TASK_ID).title)],
            metrics_table(scored, naive), result_text.cost_markdown(info), info,
            [png_file(scored.image, name), *map(str, frames)])


def restore_button_text(method, source, hq_file, frame_files, steps) -> str:
    """'Restore (about 3 s)' from the counted FLOPs and this server's speed; plain 'Restore' when unknown."""
    try:
        burst, hq, _ = read_inputs(source, hq_file, frame_files)
        scale = restorers.get_task(TASK_ID).scale
        size = burst.size if burst is not None else (hq.width // scale, hq.height // scale)
        choice = choice_of(method, TASK_ID)
        pipe = get_pipeline(choice, TASK_ID)
        seconds = estimate_seconds(pipe, speed_key(choice, None), size,
                                   parse_steps(steps, pipe.step_limits(), choice.title))
    except RequestError:
        return "Restore"
    return f"Restore ({duration_text(seconds)})"


def on_method_change(method):
    choice = choice_of(method, TASK_ID)
    limits = get_pipeline(choice, TASK_ID).step_limits() if choice.spec.has_steps else None
    if limits is None:
        return gr.Slider(interactive=False, info="this method has no sampling steps: the value is ignored")
    most, default = limits
    return gr.Slider(minimum=1, maximum=most, value=default, interactive=True,
                     info=choice.spec.steps_help.format(most=most))


def ui_stop(request: gr.Request):
    """Stop this session's run (the checks reach every network layer and sampler step) and say so."""
    if request is not None:
        STOPPED.add(request.session_hash)
    gr.Info("Stopped.")
    return gr.Button(interactive=True), "**Stopped.** The server has left the run; press Restore to start a new one."


def burst_tab(task, demo: gr.Blocks) -> None:
    """The Burst JDD-SR tab (``task`` is ``burst_jddsr``)."""
    with gr.Tab(task.title, elem_id=f"tab-{task.id}"):
        gr.Markdown("A hand-held **burst** of raw sensor frames, each noisy, mosaicked (one colour per pixel) and "
                    "a little shifted, merged into one sRGB image 4x larger. " + task.lq_label + ".")
        with gr.Row():
            with gr.Column(scale=1):
                source = gr.Radio([SYNTHESISE, UPLOAD], value=SYNTHESISE, label="Input", elem_id="burst-source")
                hq_in = gr.File(label="Clean HQ image (made into a 14-frame burst, then scored against)",
                                type="filepath", file_types=["image"], height=120, elem_id="burst-hq")
                rows = [[str(p)] for p in sorted(EXAMPLES.glob("hq_*.png"))]
                if rows:
                    gr.Examples(rows, inputs=[hq_in], label="Or pick a clean HQ example")
                frames_in = gr.File(label="Raw frames (16-bit PNGs, in frame order)", file_count="multiple",
                                    type="filepath", file_types=[".png"], height=120, elem_id="burst-frames")
                gr.Markdown(LAYOUT)
                method = gr.Dropdown(method_choices(task.id), value=default_method(task), label="Method")
                steps = gr.Slider(1, 5, value=1, step=1, label="Sampling steps")
                seed = gr.Number(value=0, minimum=0, maximum=MAX_SEED, label=f"Seed (0 to {MAX_SEED})")
                with gr.Row():
                    restore = gr.Button("Restore", variant="primary", elem_id=f"restore-{task.id}")
                    stop = gr.Button("Stop", variant="stop")
            with gr.Column(scale=1):
                strip = gr.Gallery(label="The burst, frame by frame (bilinear demosaic, the camera's colours)",
                                   columns=5, height="auto", format="png", elem_id="burst-strip")
                slider = gr.ImageSlider(label="HQ reference | restored", format="png", type="filepath")
                pair = gr.Gallery(label="Naive baseline beside the result", columns=2, height="auto", format="png",
                                  elem_id="burst-pair")
                cost = gr.Markdown(elem_id=f"cost-{task.id}")
                metrics = gr.Dataframe(label="Metrics against the HQ (synthesised bursts only)",
                                       headers=["metric", "restored", "naive baseline", "note"], interactive=False,
                                       wrap=True)
                downloads = gr.File(label="Downloads: the result, and the burst's raw frames (16-bit PNGs)",
                                    file_count="multiple", interactive=False, elem_id="burst-downloads")
                with gr.Accordion("Run info (JSON)", open=False):
                    info = gr.JSON(label="Run info")
        for changed in (method.change, demo.load):
            changed(on_method_change, method, steps, api_visibility="private")
        started = restore.click(begin_run, None, None, api_visibility="private", queue=False)
        job = started.then(ui_restore_burst, [method, source, hq_in, frames_in, steps, seed],
                            [strip, slider, pair, metrics, cost, info, downloads], api_visibility="private",
                            concurrency_id="restore-ui", concurrency_limit=1)
        stop.click(ui_stop, None, [restore, cost], api_visibility="private", queue=False)
        label_inputs = [method, source, hq_in, frames_in, steps]
        for changed in (method.change, source.change, hq_in.change, frames_in.change, steps.release, job.then):
            changed(restore_button_text, label_inputs, restore, api_visibility="private", queue=False)
        for picked, chosen in ((hq_in.upload, SYNTHESISE), (frames_in.upload, UPLOAD)):
            picked(lambda chosen=chosen: chosen, None, source, api_visibility="private", queue=False)
