"""The demo's request handling, without any page: a request (task, method choice, image, steps, seed, mask) is
parsed once, fitted to the pixel budget, run in its turn at the CPU and handed back as PNG files and texts.

``app.py`` only lays out the page and wires events to these functions; every message meant for a user is a
:class:`RequestError` (one sentence, never a server path), which the app shows as a ``gr.Error``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import restorers
from restorers.compile import compiled_functions, first_call_seconds
from leaderboard.device import demo_compiles, device_name, serving_device
from leaderboard.estimate import record as record_speed
from leaderboard.estimate import reference_speed
from leaderboard.evaluate import restore_and_score
from restorers.building import BUILD_LOCK
from restorers.burst.raw_burst import RawBurst
from restorers.degradations.masks import apply_mask, load_mask
from restorers.image_io import InvalidImageError, check_size, load_image, to_rgb
from restorers.paths import hide_paths
from restorers.pipeline import MASK_REQUIRED
from restorers.registry import (
    EMBEDDED_IR,
    MethodChoice,
    default_checkpoint,
    ir_network_choices,
    official_choices,
    user_checkpoints,
)

# a demo limit (CPU seconds), not a method or memory limit: above 256 x 256 every pipeline restores in tiles
# (restorers.tiling), so memory stays flat; the sweep has no limit
MAX_LQ_PIXELS = 1024 * 1024
MAX_SEED = 2**32 - 1  # exact in JSON and in a browser's number box
FIT_CHOICES = [("Tell me (restore nothing)", "refuse"), ("Centre-crop to fit", "crop"),
               ("Downscale to fit", "downscale")]
OUTPUT_KEEP_SECONDS = 30 * 60  # Gradio copies each result into its own cache; ours is only the hand-over
IR_FOLDER_TEXT = "the folder named by $RESTORERS_IR_NETWORKS (default ~/.cache/restorers/ir_networks)"


class RequestError(ValueError):
    """What the user did not give as the demo needs it, in one sentence they can act on."""


def as_sentence(message: object) -> str:
    """A refusal as the page shows it: a capital first letter and a full stop (library messages start lower-case,
    as Python's exceptions do, and read oddly alone in a toast)."""
    text = str(message).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


class RunStopped(Exception):
    """The user pressed Stop: the sampler leaves at the end of its current step (raised inside the networks' hooks,
    so deliberately not a ``ValueError`` that library code might catch)."""


class StoppedByUser(RequestError):
    """A run the visitor stopped, as the request's outcome: "Stopped." to an API caller; the page, which said so
    when Stop was pressed, shows nothing more (``leaderboard.page_errors``)."""

    def __init__(self, message: str = "Stopped."):
        super().__init__(message)


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

    def locked(self) -> bool:
        """Whether someone holds it (or waits for it)."""
        with self._condition:
            return self._next_ticket > self._serving


DEVICE = serving_device()  # the GPU when there is one (leaderboard.device)
LOG = logging.getLogger(__name__)
RUN_LOCK = FairLock()  # a pipeline's scheduler holds per-call state, and 2 cores fit one run: one at a time


# -- which methods the demo offers ----------------------------------------------------------------------------
def available_methods(task: str) -> list[str]:
    """The task's demo methods whose weights are here or fetchable (a checkout without one still starts), then
    the user's own checkpoints."""
    def present(method: str) -> bool:
        spec = restorers.get_method(method)
        folder = default_checkpoint(method, task)
        if folder is None and spec.default_checkpoints:
            return False  # weights exist for other tasks only (e.g. ResShift inpainting: a user checkpoint)
        return spec.in_demo and (folder is None or folder.is_dir()) and spec.weights_obtainable()
    official = [key for key, choice in official_choices(task).items()
                if official_weights_reachable() or restorers.official.is_cached(choice.method, choice.official)]
    return [m for m in restorers.list_methods(task) if present(m)] + list(user_checkpoints(task)) + official


@lru_cache(maxsize=1)
def official_weights_reachable() -> bool:
    """Whether the authors' release host answers (probed once per process: on a Space it does, offline not)."""
    return restorers.official.reachable()


def official_note(task: str) -> str:
    """Why the authors' own weights are or are not in the method list, in one sentence (empty: none exist)."""
    releases = official_choices(task)
    if not releases:
        return ""
    names = ", ".join(sorted({c.official for c in releases.values()}))
    if official_weights_reachable():
        return (f"The authors' official weights ({names}) are listed too: each is downloaded and converted on first "
                "use (hundreds of MB, a minute or more), then cached.")
    return (f"The authors' official weights ({names}) are not listed: this server cannot reach their release host "
            "(on a Hugging Face Space or any machine online they are).")


def shown_tasks() -> list[str]:
    """The tasks that get a tab: those with a restoring method whose weights are here ("the degraded input"
    alone, the task's baseline, is no demo)."""
    return [t for t in restorers.list_tasks()
            if any(m != restorers.get_task(t).baseline for m in available_methods(t))]


def choice_of(key: str, task: str) -> MethodChoice:
    try:
        return MethodChoice.parse(key, task)
    except KeyError as err:
        raise RequestError(f"{err.args[0]}.") from None


def method_choices(task: str) -> list[tuple[str, str]]:
    return [(choice_of(key, task).title, key) for key in available_methods(task)]


def compare_defaults(task: str) -> list[str]:
    """The methods Compare runs unless the visitor changes them: all but the slow conventional baselines."""
    return [key for key in available_methods(task) if not choice_of(key, task).spec.slow_baseline]


def default_method(task) -> str:
    """The task's own default method, else its user checkpoint (faceir), else the first one offered."""
    methods = available_methods(task.id)
    if task.default_method in methods:
        return task.default_method
    own = [key for key in methods if choice_of(key, task.id).method == task.default_method]
    return own[0] if own else methods[0]


# -- the pipeline, loaded once per (choice, task, IR network) ----------------------------------------------------
def ir_network_path(choice: MethodChoice, ir_network: str | None) -> str | None:
    """The state-dict file of the chosen IR network, or None for the embedded one (or a method without)."""
    if not choice.spec.swappable_ir_network or ir_network in (None, "", EMBEDDED_IR):
        return None
    path = ir_network_choices().get(ir_network)
    if path is None:
        raise RequestError(f"There is no IR network {ir_network!r} in {IR_FOLDER_TEXT}.")
    return path


@lru_cache(maxsize=8)
def _load(choice: MethodChoice, task_id: str, ir_path: str | None):
    """Load once and run once, untimed, so the seconds shown are steady-state (as in the sweep)."""
    pipe = restorers.load_pipeline(choice.method, task_id, checkpoint=choice.load_checkpoint, ir_network=ir_path,
                                   device=DEVICE)
    if pipe.compile_targets and demo_compiles(DEVICE, choice.method):
        pipe.enable_compile(tiles_only=True)  # large photos: one tile shape, compiled once per start
    extra = {}
    if pipe.mask_input() == MASK_REQUIRED:  # an inpainting pipeline refuses to run without one
        extra["mask_image"] = Image.new("L", (32, 32), 0)
        extra["mask_image"].paste(255, (8, 8, 24, 24))
    pipe(image=warm_up_input(pipe), generator=torch.Generator().manual_seed(0), **extra)
    return pipe


def warm_up_input(pipe):
    """A small grey input of the kind the pipeline restores: an image, or a raw burst of its usual length."""
    if pipe.input_kind == "raw_burst":
        return RawBurst(np.full((pipe.input_channels, 32, 32), 16384, dtype=np.uint16))
    return Image.new("RGB", (32, 32), (128, 128, 128))


def warm_up() -> None:
    """At a server's start, in the background: build every metric (the first PIQE call of a process took 2.6 s),
    then time the convolution stack that every first estimate divides by, while nothing else runs. Timed later, it
    ran beside the page's FLOP counting for an upload's estimates, read half the quiet speed, and the first
    estimates said twice the time."""
    from leaderboard.metrics import warm_up as warm_up_metrics

    warm_up_metrics()
    reference_speed(DEVICE)


def compile_landing_pipeline(task_id: str) -> threading.Thread | None:
    """At a server's start, in the background: load the task's default method and compile its tile shape when the
    demo compiles it, so the first large photo on the landing tab runs the compiled code at once. Other tabs' and
    methods' tiles compile with their first large photo (the Restore button says so)."""
    choice = choice_of(default_method(restorers.get_task(task_id)), task_id)
    if not demo_compiles(DEVICE, choice.method):
        return None

    def compile_now():
        try:
            pipe = get_pipeline(choice, task_id)
            with RUN_LOCK:  # one run at a time on the shared cores: a visitor who comes now waits for it
                seconds = pipe.compile_tile_now()
            print(f"Compiled {choice.title}'s tile shape for {task_id} in {seconds:.0f} s: large photos run "
                  f"compiled.", flush=True)  # the server's console, beside Gradio's own start-up lines
        except Exception as err:  # noqa: BLE001  (then the first large photo compiles, as without this)
            LOG.warning("compiling %s's tile shape for %s at the start failed: %s", choice.title, task_id, err)

    thread = threading.Thread(target=compile_now, name="compile-landing-pipeline", daemon=True)
    thread.start()
    return thread


def compile_tile_apart(pipe) -> None:
    """Compile the tile shape in a thread of its own, outside the page's request: there Gradio's progress tracking
    would count the compiler's hidden progress bars as the run's own and break the sampler's step loop."""
    failed = []

    def compile_now():
        try:
            pipe.compile_tile_now()
        except Exception as err:  # noqa: BLE001  (the run then compiles in its first window, as without this)
            failed.append(err)

    thread = threading.Thread(target=compile_now, name="compile-tile", daemon=True)
    thread.start()
    thread.join()
    if failed:
        LOG.warning("compiling the tile shape apart failed: %s", failed[0])


def get_pipeline(choice: MethodChoice, task_id: str, ir_network: str | None = None):
    """The ready pipeline for a parsed choice; ``ir_network`` is a name from the IR-network list."""
    try:
        with BUILD_LOCK:  # one load per key (a second caller waits for the cache), none during another's build
            return _load(choice, task_id, ir_network_path(choice, ir_network))
    except (FileNotFoundError, ValueError) as err:
        if isinstance(err, RequestError):
            raise
        raise RequestError(f"{choice.title} could not be loaded: {hide_paths(str(err))}") from None


def step_settings(key: str, task_id: str, ir_network: str | None = None) -> dict:
    """The step slider for a method: its range and what a step means, or locked for a method without steps."""
    choice = choice_of(key, task_id)
    limits = get_pipeline(choice, task_id, ir_network).step_limits() if choice.spec.has_steps else None
    if limits is None:
        # keep the range (Gradio refuses a slider whose minimum equals its maximum); only lock it
        # (no NFE here: bicubic calls no network, a one-shot network one; the result line counts them)
        return {"interactive": False, "info": "this method restores in one go, with no sampling steps: the value is "
                                              "ignored"}
    most, default = limits
    return {"value": default, "minimum": 1, "maximum": most, "interactive": True,
            "info": choice.spec.steps_help.format(most=most)}


# -- parsing the request -----------------------------------------------------------------------------------------
def read_input(image) -> Image.Image:
    return read_upload(image)[0]


def read_upload(image) -> tuple[Image.Image, Image.Image | None, list[str]]:
    """(RGB, its alpha channel or None, notes): what the methods restore, the transparency that is carried beside
    it (upscaled to the result's size, never dropped), and what the visitor should know about the file."""
    if image is None:
        raise RequestError("Upload an image (or pick an example) first.")
    try:
        opened = load_image(image)
        notes = []
        frames = opened.info.get("n_frames", 1)  # animated GIF, APNG, WebP: load_image records the count
        if frames > 1:
            notes.append(f"The file is an animation of {frames} frames: its first frame was restored")
        alpha = None
        if "A" in opened.getbands() or (opened.mode == "P" and "transparency" in opened.info):
            alpha = opened.convert("RGBA").getchannel("A")
            if alpha.getextrema() == (255, 255):
                alpha = None  # an alpha channel that is opaque everywhere carries nothing
            else:
                notes.append("Its transparency was kept: the alpha channel was resized (Lanczos) beside the "
                             "restored colour, which was restored over white")
        return to_rgb(opened), alpha, notes
    except InvalidImageError as err:
        raise RequestError(str(err)) from err


def with_alpha(image: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """The restored colour with the input's transparency, resized to it (unchanged without one)."""
    if alpha is None:
        return image
    rgba = image.convert("RGBA")
    rgba.putalpha(alpha.resize(image.size, Image.Resampling.LANCZOS))
    return rgba


def _integral(value, what: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RequestError(f"{what} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise RequestError(f"{what} must be a whole number, got {value!r}")
    return int(number)


def parse_seed(seed) -> int:
    """None/empty means 0; anything else must be a whole number in [0, MAX_SEED] (never silently rounded)."""
    if seed in (None, ""):
        return 0
    value = _integral(seed, "the seed")
    if not 0 <= value <= MAX_SEED:
        raise RequestError(f"the seed must be between 0 and {MAX_SEED}, got {value}")
    return value


def parse_steps(steps, limits: tuple[int, int] | None, title: str) -> int | None:
    """None/empty means the method's default; otherwise a whole number in the pipeline's own ``step_limits``
    (a method without steps ignores the value)."""
    if steps in (None, "") or limits is None:
        return None
    value = _integral(steps, "steps")
    most, default = limits
    if not 1 <= value <= most:
        raise RequestError(f"{title} takes 1 to {most} steps (empty: its default, {default}); got {value}")
    return value


def painted_mask(editor_value) -> Image.Image | None:
    """The holes painted in the demo's brush (a ``gr.ImageEditor`` value: background + layers) as a mask image
    (mode "L", 255 = fill), or None when nothing was painted. Any paint on any layer is a hole."""
    layers = (editor_value or {}).get("layers") or [] if isinstance(editor_value, dict) else []
    painted = None
    for layer in layers:
        if layer is None:
            continue
        alpha = layer.convert("RGBA").getchannel("A").point(lambda v: 255 if v > 0 else 0)
        painted = alpha if painted is None else Image.fromarray(np.maximum(np.asarray(painted), np.asarray(alpha)))
    return painted if painted is not None and painted.getbbox() else None


def chosen_mask(mask_file, painted):
    """The uploaded mask file when there is one, else the holes painted with the brush (None: neither)."""
    return mask_file or painted_mask(painted)


def brush_canvas(picture: Image.Image | None) -> dict | None:
    """The brush's value for a new input: the picture as its background, no paint yet."""
    return None if picture is None else {"background": picture, "layers": [], "composite": picture}


def read_mask(mask, picture: Image.Image) -> dict:
    """The user's mask for an already-masked input: same size as the image (before any fitting), white = fill."""
    if mask is None:
        raise RequestError("Inpainting needs a mask: upload a mask image of the same size (white = the pixels to "
                           "fill), or tick 'Input is a clean HQ image' to have a random mask drawn.")
    try:
        array = load_mask(load_image(mask), picture.size)
    except ValueError as err:  # InvalidImageError included
        raise RequestError(f"The mask: {err}") from err
    return {"mask_image": Image.fromarray(array * 255)}


# -- the pixel budget ------------------------------------------------------------------------------------------
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


def fitted_size(size: tuple[int, int], budget: int) -> tuple[int, int]:
    """The largest size of the same aspect within ``budget`` pixels (the size itself when it fits)."""
    width, height = size
    if width * height <= budget:
        return width, height
    ratio = (budget / (width * height)) ** 0.5
    new_w, new_h = max(1, int(width * ratio)), max(1, int(height * ratio))
    while new_w * new_h > budget:
        new_w, new_h = new_w - 1, new_h - 1
    return new_w, new_h


def fit_to_budget(picture: Image.Image, budget: int, fit: str) -> tuple[Image.Image, str]:
    """Refuse, centre-crop or downscale an image over the pixel budget; say what was done."""
    width, height = picture.size
    if width * height <= budget:
        return picture, ""
    new_w, new_h = fitted_size(picture.size, budget)
    if fit == "crop":
        left, top = (width - new_w) // 2, (height - new_h) // 2
        return picture.crop((left, top, left + new_w, top + new_h)), f"centre-cropped from {width}x{height}"
    if fit == "downscale":
        return picture.resize((new_w, new_h), Image.Resampling.LANCZOS), f"downscaled from {width}x{height}"
    raise over_budget(picture.size, budget)


def over_budget(size: tuple[int, int], budget: int) -> RequestError:
    width, height = size
    return RequestError(f"The image is {width}x{height} = {width * height:,} pixels; this demo takes up to "
                        f"{budget:,} here (its CPU would take minutes). Choose Centre-crop or Downscale under "
                        "'Too large?' and press Restore again, or restore it at full size with the sweep "
                        "(python -m leaderboard.sweep --dataset FOLDER).")


# -- results and memory ------------------------------------------------------------------------------------------
OUTPUT_DIR = Path(tempfile.mkdtemp(prefix="restorers-outputs-"))  # served to the A|B view (launch allowed_paths)
_OUTPUTS = OUTPUT_DIR


def download_name(upload, *parts: str) -> str:
    """``<input name>_<parts>``: a visitor's downloads say which photo they came from (Gradio keeps the uploaded
    file's own name on its temporary copy)."""
    stem = Path(upload).stem if isinstance(upload, (str, Path)) and str(upload) else "image"

    def safe(text: str) -> str:
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:60]
    return "_".join([safe(stem) or "image", *(safe(part) for part in parts)])


OUTPUT_FORMATS = {"PNG": "lossless", "WebP": "lossy, alpha kept", "JPEG": "lossy, no alpha: put on white"}


def png_file(image: Image.Image, name: str = "restored") -> str:
    return image_file(image, name)


def image_file(image: Image.Image, name: str = "restored", output_format: str = "PNG", quality: int = 95) -> str:
    """Write a result once, in a folder of its own (so the download keeps a clean ``name.ext``), and hand Gradio
    the path. ``output_format``: one of :data:`OUTPUT_FORMATS`; ``quality`` (1-100) for WebP and JPEG.

    Why a path: Gradio caches a PIL output under its content hash and rewrites that file in place every time, so
    two clients whose results are identical (a deterministic method on the same input) can download it while it
    is being rewritten and receive a truncated body. A path is copied into the cache atomically, once per content.
    Hand-over folders older than ``OUTPUT_KEEP_SECONDS`` are pruned here.
    """
    if output_format not in OUTPUT_FORMATS:
        raise RequestError(f"The output format must be one of {', '.join(OUTPUT_FORMATS)}, not {output_format!r}.")
    quality = _integral(quality, "The quality")
    if not 1 <= quality <= 100:
        raise RequestError(f"The quality must be 1 to 100, not {quality}.")
    cutoff = time.time() - OUTPUT_KEEP_SECONDS
    for old in _OUTPUTS.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass  # a concurrent prune got it first
    path = Path(tempfile.mkdtemp(dir=_OUTPUTS)) / f"{name}.{output_format.lower().replace('jpeg', 'jpg')}"
    if output_format == "PNG":
        image.save(path, format="PNG")
    elif output_format == "WebP":
        image.save(path, format="WEBP", quality=quality, method=4)
    else:
        if image.mode in ("RGBA", "LA"):
            white = Image.new("RGB", image.size, (255, 255, 255))
            white.paste(image, mask=image.getchannel("A"))
            image = white
        image.convert("RGB").save(path, format="JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    return str(path)


# -- stopping --------------------------------------------------------------------------------------------------
STOPPED: set[str] = set()  # browser sessions whose Stop button was pressed during their run


def stop_raiser(session: str | None):
    """A function that raises :class:`RunStopped` once this session has pressed Stop (None: nothing to check)."""
    if session is None:
        return None

    def check(*_):
        if session in STOPPED:
            raise RunStopped()
    return check


def stop_checker(session: str | None):
    """A ``callback_on_step_end`` that ends the run once this session has pressed Stop."""
    check = stop_raiser(session)
    if check is None:
        return None

    def after_step(pipe, step, timestep, tensors):
        check()
        return tensors
    return after_step


def hookable_layers(network: torch.nn.Module):
    """Every layer of an eager network; only the network itself when it runs compiled: its layers are inside the
    compiled graph, where a hook would make Dynamo compile the network anew for every run (it guards on them)."""
    return [network] if compiled_functions(network) else list(network.modules())


@contextlib.contextmanager
def stop_hooks(pipe, session: str | None):
    """Stop checks before every layer of every network of ``pipe`` while the block runs: a one-shot network (a
    Real-ESRGAN pass over a large photo takes minutes, in one call or tile by tile) then leaves within one layer's
    time of the Stop press, not at its end (a compiled network: within one call, :func:`hookable_layers`). The
    sampler's step callback alone reaches only the step samplers."""
    check = stop_raiser(session)
    if check is None:
        yield
        return
    handles = [module.register_forward_pre_hook(check)
               for component in pipe.components.values() if isinstance(component, torch.nn.Module)
               for module in hookable_layers(component)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


# -- how long it will take ----------------------------------------------------------------------------------------
def speed_key(choice: MethodChoice, ir_network: str | None) -> str:
    return f"{choice.key}|{ir_network or ''}"


# -- the run -----------------------------------------------------------------------------------------------------
def run(task_id: str, method: str, image, steps, seed, degrade_first: bool, fit: str = "refuse",
        session: str | None = None, ir_network: str | None = None, mask=None):
    """One restore, shared by the UI and the API: returns (lq, hq or None, scored, info)."""
    try:
        task = restorers.get_task(task_id)
    except KeyError as err:
        raise RequestError(f"{err.args[0]}.") from None
    choice = choice_of(method, task_id)
    if task.takes_bursts:
        raise RequestError(f"{task.title} restores a burst of raw frames, not one image: use its own tab (a clean "
                           "image is made into a burst there, or raw frames are uploaded).")
    if task_id not in choice.spec.tasks:
        raise RequestError(f"{choice.title} does not serve {task.title}; choose one of: "
                           f"{', '.join(restorers.list_methods(task_id))}")
    started = time.perf_counter()
    picture, alpha, notes = read_upload(image)
    seed = parse_seed(seed)
    loading = time.perf_counter()
    pipe = get_pipeline(choice, task_id, ir_network)
    load_seconds = time.perf_counter() - loading  # the first use of a method loads it (then it is cached)
    steps = parse_steps(steps, pipe.step_limits(), choice.title)
    conditions = {}
    if task.needs_mask and not degrade_first:  # read it at the upload's size, then fit it like the image
        conditions = read_mask(mask, picture)
        conditions["mask_image"], _ = fit_to_budget(conditions["mask_image"], input_budget(task, False), fit)
    picture, fitted = fit_to_budget(picture, input_budget(task, degrade_first), fit)
    if alpha is not None:  # cropped or downscaled exactly as the colour
        alpha, _ = fit_to_budget(alpha, input_budget(task, degrade_first), fit)
        alpha = task.modcrop(alpha) if degrade_first else alpha
    read_seconds = time.perf_counter() - started - load_seconds
    hq = None
    tick = time.perf_counter()
    try:
        if degrade_first:
            check_size(picture, min_side=8 * max(task.scale, 1))
            hq = task.modcrop(picture)
            lq, conditions = task.degrade_with_conditions(hq)
        elif conditions:  # the holes black, as the benchmark's LQ: what is shown is what the method gets
            holes = np.asarray(conditions["mask_image"]) > 127
            lq = Image.fromarray(apply_mask(np.asarray(picture), holes))
        else:
            lq = picture
        check_size(lq)
    except InvalidImageError as err:
        raise RequestError(str(err)) from err
    degrade_seconds = time.perf_counter() - tick
    try:
        queued = time.perf_counter()
        with RUN_LOCK:
            wait_seconds = time.perf_counter() - queued
            if session in STOPPED:
                raise RunStopped()
            compiling = first_call_seconds()
            if pipe.compile_pending(lq.height, lq.width):  # the first large photo of a compiled method
                compile_tile_apart(pipe)
            with stop_hooks(pipe, session):
                scored = restore_and_score(pipe, task, lq, hq, steps, seed, on_step=stop_checker(session),
                                           conditions=conditions, stop_check=stop_raiser(session))
            compiling = first_call_seconds() - compiling
    except RunStopped:
        raise StoppedByUser() from None
    except (ValueError, FileNotFoundError) as err:
        raise RequestError(hide_paths(str(err))) from err
    if not compiling:  # a run that compiled says nothing about this method's speed
        record_speed(speed_key(choice, ir_network), scored.flops.total, scored.seconds, lq.width * lq.height)
    scored.image = with_alpha(scored.image, alpha)  # the metrics above scored the colour alone
    info = {"task": task_id, "method": method, "steps": steps, "seed": seed, "device": device_name(DEVICE),
            "input_size": list(lq.size), **scored.info()}
    if notes:
        info["input_notes"] = notes
    info["time_split_seconds"] = {"read_and_check": round(read_seconds, 3), "load_model": round(load_seconds, 3),
                                  "degrade": round(degrade_seconds, 3),
                                  "wait_for_cpu": round(wait_seconds, 3), "restore": round(scored.seconds, 3),
                                  "metrics": round(scored.metrics_seconds, 3),
                                  "count_flops": round(scored.flops_seconds, 3)}
    if compiling:
        info["time_split_seconds"]["compile_once"] = round(compiling, 3)
    info["total_seconds"] = round(time.perf_counter() - started, 3)
    if choice.spec.swappable_ir_network:
        info["ir_network"] = ir_network or EMBEDDED_IR
    if fitted:
        info["input_fitted"] = fitted
    if hq is not None:
        info["degraded_first"] = (f"the {hq.width}x{hq.height} HQ was degraded to the {lq.width}x{lq.height} LQ "
                                  f"that was restored (x{task.scale}) and scored against the HQ")
    return lq, hq, scored, info
