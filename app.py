"""Gradio demo: restore an image with any method, see what it cost, and compare methods on the leaderboard.

    python app.py            # honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT

Layout and events only: ``leaderboard.serving`` handles a request (parsing, pixel budget, the CPU's turns, result
files), ``leaderboard.table`` shapes the leaderboard, and both run the same code as the sweep. The stable API
endpoint is ``/restore`` with inputs (task, method, image, steps, seed, mask) and outputs (image, info JSON);
``/sweep`` (task, methods, step counts, benchmark, image count, files, pairing) returns a sweep's rows.
"""

from __future__ import annotations

import os
import threading

import leaderboard  # noqa: F401, I001  (first: it bounds OpenMP's spinning before torch loads)
import gradio as gr
from PIL import Image

import restorers
from leaderboard import ab_view, forecast, page_script, result_text, serving, sweep_panel
from leaderboard.burst_demo import burst_tab
from leaderboard.leaderboard_tab import leaderboard_tab
from leaderboard.page_errors import begin_run, quiet_when_stopped, user_errors
from leaderboard.serving import MAX_SEED, STOPPED, default_method, shown_tasks
from restorers.paths import EXAMPLES

SR_TASK = "sr_x4"


def serve(*args, **kwargs):
    """``serving.run`` with its refusals shown to the user."""
    with user_errors():
        return serving.run(*args, **kwargs)


try:  # on a ZeroGPU Space (the only place the package is installed) each run borrows a GPU for its length
    import spaces
except ImportError:
    spaces = None
serve = spaces.GPU(duration=120)(serve) if spaces is not None else serve


def api_restore(task: str, method: str, image, steps, seed, mask=None):
    """The stable ``/restore`` endpoint: restore ``image`` as given (it is the degraded input); ``mask``
    (inpainting only): white = the pixels to fill."""
    _, _, scored, info = serve(task, method, image, steps, seed, degrade_first=False, mask=mask)
    return serving.png_file(scored.image), info


def session_of(request: gr.Request | None) -> str | None:
    return request.session_hash if request is not None else None


STOPPED_TEXT = "**Stopped.** The server has left the run (the CPU is free again); press Restore to start a new one."


def begin_restore(request: gr.Request):
    begin_run(request)
    return gr.Button(interactive=False)


def ui_stop(request: gr.Request):
    """Stop this browser session's run (checks before every network layer and after every sampler step), free its
    Restore button and say so."""
    session = session_of(request)
    if session is not None:
        STOPPED.add(session)
    gr.Info("Stopped.")
    return gr.Button(interactive=True), STOPPED_TEXT


@quiet_when_stopped(outputs=7)
def ui_restore(task: str, method: str, image, steps, seed, degrade_first: bool, fit: str = "refuse",
               ir_network: str | None = None, mask=None, steps_for: str | None = None, painted=None,
               confirmed: str | None = None, slider_left: str = "HQ", request: gr.Request = None,
               progress=gr.Progress(track_tqdm=True)):
    """``slider_left``: what the slider sets the result against ("HQ" when it is known, else the input).
    ``steps_for``: the method the slider was last set for; when it is another (the method changed a moment
    ago and the slider has not caught up), the chosen method runs at its own default steps. ``painted``: the
    brush's value (inpainting), used when no mask file is given. A run estimated over ``LONG_RUN_SECONDS`` asks
    first: it starts when Restore is pressed again with the same settings (``confirmed`` is what was asked)."""
    if steps_for is not None and steps_for != method:
        steps = None
    session = session_of(request)  # its earlier Stop was forgotten when Restore was pressed (begin_restore)
    mask = serving.chosen_mask(mask, painted)
    asked = "|".join(map(str, (task, method, image, steps, degrade_first, fit, ir_network)))
    question = forecast.long_run_question(task, method, image, steps, degrade_first, fit, ir_network)
    if question is not None and confirmed != asked:
        return gr.skip(), gr.skip(), gr.skip(), question, gr.skip(), asked, gr.skip()
    progress(0, desc="waiting for the server")
    lq, hq, scored, info = serve(task, method, image, steps, seed, degrade_first, fit, session, ir_network, mask)
    shown_lq = lq.resize(scored.image.size, Image.NEAREST)  # pixels as they are, no interpolation credit
    name = serving.download_name(image, task, method)
    last = {"image": scored.image, "name": name, "result": serving.png_file(scored.image, name),
            "input": serving.png_file(shown_lq, "input"), "hq": None if hq is None else serving.png_file(hq, "hq")}
    return (ui_slider(last, slider_left), last["result"], result_text.metrics_frame(scored),
            result_text.cost_markdown(info), info, None, last)


def ui_slider(last: dict | None, left: str):
    """The slider sets the result against the HQ (when the run was scored against one) or against the input."""
    if last is None:
        return gr.skip()
    if left == "HQ" and last["hq"] is not None:
        return gr.ImageSlider(value=(last["hq"], last["result"]), label="HQ reference | restored")
    return gr.ImageSlider(value=(last["input"], last["result"]), label="Input (nearest-neighbour enlarged) | restored")


def ui_download(result, output_format: str, quality):
    """The download of the last result in the chosen format (re-encoded on a format change, no new run)."""
    if result is None:
        return gr.DownloadButton(visible=False)
    with user_errors():  # the PNG was written by the run itself
        path = result["result"] if output_format == "PNG" else serving.image_file(
            result["image"], result["name"], output_format, quality)
    size = os.path.getsize(path)
    what = output_format if output_format == "PNG" else f"{output_format}, quality {int(quality)}"
    return gr.DownloadButton(f"Download {what} ({size / 1e6:.2f} MB)" if size >= 1e5 else
                             f"Download {what} ({size / 1e3:.0f} kB)", value=path, visible=True)


@quiet_when_stopped(outputs=8)
def ui_compare(task: str, image, seed, degrade_first: bool, fit: str = "refuse", ir_network: str | None = None,
               mask=None, painted=None, methods: list[str] | None = None, request: gr.Request = None,
               progress=gr.Progress(track_tqdm=True)):
    """The chosen methods (default: all but the slow baselines) on the same input at their default steps: images,
    costs and metrics side by side."""
    mask = serving.chosen_mask(mask, painted)
    methods = serving.compare_defaults(task) if methods is None else methods
    if not methods:
        raise gr.Error("Tick at least one method to compare.", print_exception=False)
    session = session_of(request)  # its earlier Stop was forgotten when Compare was pressed (begin_run)
    results, lq, hq = [], None, None
    for method in progress.tqdm(methods, desc="methods"):
        lq, hq, scored, info = serve(task, method, image, None, seed, degrade_first, fit, session, ir_network, mask)
        results.append((method, scored, info))
    view = result_text.compare_view(task, image, lq, hq, results)
    a, b = ab_view.default_pair([label for label, _ in view.files])
    return (view.gallery, view.table, view.downloads, view.shown, view.files,
            gr.Dropdown(choices=view.labels, value=a), gr.Dropdown(choices=view.labels, value=b),
            ab_view.ab_value(view.files, a, b))


def ui_ab(pair, a: str | None, b: str | None):
    """The A|B view of the two picked images of the last comparison."""
    return ab_view.ab_value(pair or [], a, b)


def restore_label(*settings):
    """The Restore button says how long the run will take (leaderboard.forecast)."""
    return gr.Button(value=forecast.restore_button_text(*settings))


def compare_label(task: str, image, degrade: bool, fit: str, ir_network, methods: list[str], shown: bool = True):
    """Compare's estimate, counted only while its panel is open (counting every method holds a core for seconds)."""
    return gr.Button(value=forecast.compare_button_text(task, image if shown else None, degrade, fit, ir_network,
                                                        methods))


def compare_label_after_run(task: str, image, degrade: bool, fit: str, ir_network, methods: list[str], shown: bool,
                            request: gr.Request = None):
    """Counted again after a run (it measured speeds), not after a Stop: that count kept busy the CPU Stop freed."""
    stopped = session_of(request) in STOPPED
    return gr.skip() if stopped else compare_label(task, image, degrade, fit, ir_network, methods, shown)


def ui_zoom(shown, preview: Image.Image | None, evt: gr.SelectData):
    """Crops of every compared image around the point picked on the input preview, all at the same place."""
    if not shown or preview is None:
        raise gr.Error("Run 'Compare all methods' first, then click the point to zoom on the input preview.",
                       print_exception=False)
    return result_text.zoom_crops(shown, evt.index[0] / preview.width, evt.index[1] / preview.height)


def show_preview(path):
    """Decode an upload with the app's own checks as soon as it arrives: a bad file is named at once."""
    if not path:
        return None
    with user_errors():
        return serving.read_input(path)


def show_preview_and_canvas(path):
    """The preview, and the same picture as the brush's canvas (inpainting tabs), its old paint cleared."""
    picture = show_preview(path)
    return picture, serving.brush_canvas(picture)


def on_method_change(method: str, task: str, ir_network: str | None = None):
    """The step slider follows the method: the range of the very pipeline a restore would use. Also returns the
    method the slider now belongs to (a Restore pressed before this arrives uses the method's default steps)."""
    with user_errors():
        return gr.Slider(**serving.step_settings(method, task, ir_network)), method


def ir_network_visible(method: str, task: str):
    with user_errors():
        return gr.Dropdown(visible=serving.choice_of(method, task).spec.swappable_ir_network)


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
                                   file_types=["image"], height=120, elem_id=f"upload-{task.id}")
                degrade = gr.Checkbox(  # rendered below the examples, which set it
                    label=f"Input is a clean HQ image: degrade it first ({task.lq_label}), "
                          f"restore the degraded image{f' x{task.scale}' if task.scale > 1 else ''} and score the "
                          "result against the HQ", value=False, render=False)
                kinds = (("hq", "Or try a clean HQ photo: degraded first, then scored against it"),
                         ("lq", "Or an already degraded input: restored as given"))
                for kind, label in kinds:
                    rows = example_rows(kind, task.id)
                    if rows:  # the checkbox column is set by the example, not shown
                        gr.Examples(rows, inputs=[image_in, degrade], label=label, visible_columns=[0])
                if task.needs_mask:
                    brush = gr.ImageEditor(
                        label="Paint the holes (white brush) on your input, or upload a mask below",
                        type="pil", image_mode="RGBA", sources=(), transforms=(), layers=False, height=320,
                        brush=gr.Brush(colors=["#ffffff"], default_color="#ffffff", default_size=24,
                                       color_mode="fixed"), elem_id=f"brush-{task.id}")
                else:
                    brush = gr.State(None)
                mask_in = gr.File(label="Mask file (white = the pixels to fill, same size as the input; wins over "
                                        "the brush; not needed when the input is a clean HQ image: a random mask "
                                        "is drawn)",
                                  type="filepath", file_types=["image"], visible=task.needs_mask,
                                  elem_id=f"mask-{task.id}")
                degrade.render()
                first = default_method(task)
                method = gr.Dropdown(serving.method_choices(task.id), value=first, label="Method",
                                     info=serving.official_note(task.id) or None)
                steps = gr.Slider(1, 4, value=4, step=1, label="Sampling steps")
                with gr.Row():
                    restore_button = gr.Button("Restore", variant="primary", elem_id=f"restore-{task.id}")
                    stop = gr.Button("Stop", variant="stop")
                with gr.Accordion("More options: large inputs, seed, IR network", open=False):
                    gr.Markdown(serving.budget_text(task))
                    fit = gr.Radio(serving.FIT_CHOICES, value="refuse", label="Too large?")
                    seed = gr.Number(value=0, minimum=0, maximum=MAX_SEED, label=f"Seed (0 to {MAX_SEED})")
                    ir_choices = list(restorers.registry.ir_network_choices())
                    ir_network = gr.Dropdown(ir_choices, value=ir_choices[0],
                                             label="IR network (DP-IR and its DDPM baseline)",
                                             info="the frozen one-shot network DP-IR starts from; add "
                                                  f"spandrel-loadable state dicts to {serving.IR_FOLDER_TEXT} to "
                                                  "list them",
                                             visible=serving.choice_of(first, task.id).spec.swappable_ir_network)
                preview = gr.Image(label="Input preview (click it after a comparison to zoom every result there)",
                                   type="pil", format="png", interactive=False, height=220,
                                   elem_id=f"preview-{task.id}")
            with gr.Column(scale=1):
                slider = gr.ImageSlider(label="Input (nearest-neighbour enlarged) | restored",
                                        format="png", type="pil")
                slider_left = gr.Radio(["HQ", "input"], value="HQ", label="Slider: the result against",
                                       info="the HQ when the input was degraded first (else the input)",
                                       elem_id=f"slider-left-{task.id}")
                cost = gr.Markdown(elem_id=f"cost-{task.id}")
                metrics = gr.Dataframe(label="Metrics (full-reference ones need the HQ: tick the box)",
                                       headers=["metric", "value", "note"], interactive=False, wrap=True)
                restored = gr.Image(label="Restored image (lossless PNG)", format="png", type="pil",
                                    interactive=False)
                with gr.Row():
                    output_format = gr.Radio(list(serving.OUTPUT_FORMATS), value="PNG", label="Download format",
                                             info=" · ".join(f"{k}: {v}" for k, v in serving.OUTPUT_FORMATS.items()))
                    quality = gr.Slider(50, 100, value=92, step=1, label="Quality (WebP and JPEG)")
                download = gr.DownloadButton("Download", visible=False, elem_id=f"download-{task.id}")
                last_result = gr.State(None)  # the last run: its images and download name (re-encoded on a change)
                with gr.Accordion("Run info (JSON)", open=False):
                    info = gr.JSON(label="Run info")
        with gr.Accordion("Compare methods on this input", open=False) as compare_panel:
            compare_shown = gr.State(False)
            compare_methods = gr.CheckboxGroup(serving.method_choices(task.id), value=serving.compare_defaults(task.id),
                                               label="Methods to compare (the slow conventional baselines are off "
                                                     "by default)", elem_id=f"compare-methods-{task.id}")
            gr.Markdown("Runs the ticked methods on the same input at their default steps and seed, with the "
                        "options above. Then click a point on the input preview to see the same spot in every "
                        "result, enlarged 4x.")
            compare = gr.Button(f"Compare {len(serving.compare_defaults(task.id))} methods",
                                elem_id=f"compare-{task.id}")
            compare_gallery = gr.Gallery(label="Input, HQ (when known) and each method's result", columns=3,
                                         format="png", type="pil", height="auto", elem_id=f"compare-gallery-{task.id}")
            compare_table = gr.Dataframe(label="Cost and quality per method (measured)", interactive=False,
                                         wrap=True, elem_id=f"compare-table-{task.id}")
            zoom_gallery = gr.Gallery(label="The picked spot in each image (4x, nearest neighbour)", columns=4,
                                      format="png", type="pil", height="auto", elem_id=f"zoom-gallery-{task.id}")
            with gr.Row():
                ab_a = gr.Dropdown([], label="A|B view: A", elem_id=f"ab-a-{task.id}")
                ab_b = gr.Dropdown([], label="B", elem_id=f"ab-b-{task.id}")
            ab = ab_view.ab_component(f"ab-{task.id}")
            downloads = gr.File(label="Download each result (PNG)", file_count="multiple", interactive=False)
            compare_state, ab_files = gr.State([]), gr.State([])
        started = compare.click(begin_run, None, None, api_visibility="private", queue=False)
        comparing = started.then(ui_compare, [task_box, image_in, seed, degrade, fit, ir_network, mask_in, brush,
                                              compare_methods],
                                 [compare_gallery, compare_table, downloads, compare_state, ab_files, ab_a, ab_b, ab],
                                 api_visibility="private", concurrency_id="restore-ui", concurrency_limit=1)
        preview.select(ui_zoom, [compare_state, preview], zoom_gallery, api_visibility="private")
        for picked in (ab_a.input, ab_b.input):
            picked(ui_ab, [ab_files, ab_a, ab_b], ab, api_visibility="private")
        if task.needs_mask:
            image_in.change(show_preview_and_canvas, image_in, [preview, brush], api_visibility="private")
        else:
            image_in.change(show_preview, image_in, preview, api_visibility="private")
        steps_for = gr.State(None)  # the method the slider's range and value belong to
        for changed in (method.change, demo.load):
            changed(on_method_change, [method, task_box, ir_network], [steps, steps_for], api_visibility="private")
        method.change(ir_network_visible, [method, task_box], ir_network, api_visibility="private")
        locked = restore_button.click(begin_restore, None, restore_button,
                                      api_visibility="private", queue=False)
        results = [slider, restored, metrics, cost, info]  # a refused run marks these "Error"; the next action unmarks
        for fresh_start in (image_in.change, compare.click):
            fresh_start(lambda: tuple(gr.skip() for _ in results), None, results, api_visibility="private",
                        queue=False)
        confirmed = gr.State(None)  # the settings of a long run the visitor was asked about
        job = locked.then(ui_restore, [task_box, method, image_in, steps, seed, degrade, fit, ir_network, mask_in,
                                       steps_for, brush, confirmed, slider_left],
                          [slider, restored, metrics, cost, info, confirmed, last_result], api_visibility="private",
                          concurrency_id="restore-ui", concurrency_limit=1)
        slider_left.change(ui_slider, [last_result, slider_left], slider, api_visibility="private")
        for changed in (job.then, output_format.change, quality.release):
            changed(ui_download, [last_result, output_format, quality], download, api_visibility="private")
        for finished in (job.then, job.failure):  # .then does not run after an error: the button comes back either way
            finished(lambda: gr.Button(interactive=True), None, restore_button, api_visibility="private", queue=False)
        stop.click(ui_stop, None, [restore_button, cost], api_visibility="private", queue=False)
        label_inputs = [task_box, method, image_in, steps, degrade, fit, ir_network]
        for changed in (image_in.change, method.change, steps.release, degrade.change, fit.change, job.then):
            changed(restore_label, label_inputs, restore_button, api_visibility="private", queue=False)
        compare_inputs = [task_box, image_in, degrade, fit, ir_network, compare_methods, compare_shown]
        opened = compare_panel.expand(lambda: True, None, compare_shown, api_visibility="private", queue=False)
        compare_panel.collapse(lambda: False, None, compare_shown, api_visibility="private", queue=False)
        for changed in (image_in.change, compare_methods.change, degrade.change, fit.change, opened.then):
            changed(compare_label, compare_inputs, compare, api_visibility="private", queue=False)
        for finished in (comparing.then, job.then):
            finished(compare_label_after_run, compare_inputs, compare, api_visibility="private", queue=False)


def build_demo() -> gr.Blocks:
    task = restorers.get_task(SR_TASK)
    with gr.Blocks(title="Efficient diffusion image restoration") as demo:
        gr.Markdown(
            "# Efficient diffusion image restoration\n"
            "**1.** Pick a task tab and upload a photo (or click an example). **2.** Pick a method; the Restore "
            "button says how long it will take. **3.** Press Restore, then drag the slider to compare, or open "
            "*Compare methods* to run several side by side.")
        with gr.Accordion("What the numbers mean", open=False):
            gr.Markdown(
                "Few-step diffusion methods (ResShift, DiffIR, DP-IR) beside honest baselines. Figures are "
                "**measured**: NFE (network calls) by hooks on the networks, TFLOPs by `torch.utils.flop_counter`, "
                "seconds by the wall clock. A restore's result line is measured on this server; each Leaderboard row "
                "says where it was measured in its Device column. The default models are small CPU checkpoints "
                "trained offline (see each model card in `assets/checkpoints`).")
        with gr.Tabs(overflow_behavior="wrap"):  # every tab's name stays visible on a phone
            for task_id in shown_tasks():  # a burst task has its own inputs (raw frames), the others one image
                shown = restorers.get_task(task_id)
                (burst_tab if shown.takes_bursts else restore_tab)(shown, demo)

            leaderboard_tab(demo)

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
        # its own queue lane: API clients and browser users each get a turn at the shared CPU (serving.RUN_LOCK)
        api_button.click(api_restore, [api_task, api_method, api_image, api_steps, api_seed, api_mask],
                         [api_out, api_info], api_name="restore", concurrency_id="restore-api", concurrency_limit=1)
        sweep_panel.api_endpoint()  # /sweep: the Leaderboard tab's sweep runner, returning its rows
    return demo


demo = build_demo()

if __name__ == "__main__":
    from leaderboard.fetch_weights import prefetch_weights

    prefetch_weights()  # the metrics' weights now, the pretrained RRDBs in the background
    threading.Thread(target=serving.warm_up, daemon=True, name="warm-up").start()  # metrics, speed
    serving.compile_landing_pipeline(shown_tasks()[0])  # with RESTORERS_DEMO_COMPILE set: compiles in the background
    demo.queue(max_size=64).launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                                   server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), show_error=True,
                                   allowed_paths=[str(serving.OUTPUT_DIR)],  # the A|B view's images
                                   css=result_text.PAGE_CSS, js=page_script.PAGE_JS)
