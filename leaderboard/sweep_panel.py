"""The Leaderboard tab's "Run a sweep" panel and the ``/sweep`` API: layout and events only.

``leaderboard.visitor_sweep`` parses, estimates and runs the request with the sweep's own code; this file shows
its progress, puts each row into the visitor's session (``rows`` state) as it is measured, and redraws the
leaderboard with those rows selected. Nothing a visitor measures is written to ``assets/results``.
"""

from __future__ import annotations

import tempfile

import gradio as gr
import pandas as pd

import restorers

from . import visitor_sweep
from .estimate import duration_text
from .results import COLUMNS
from .page_errors import quiet_when_stopped, user_errors
from .serving import OUTPUT_DIR, STOPPED, available_methods, choice_of, compare_defaults, shown_tasks
from .table import metric_header

SHOWN = ["method", "checkpoint", "nfe", "tflops", "seconds_per_image", "psnr_y", "ssim_y", "lpips", "piqe",
         "n_images", "dataset"]


def method_options(task: str):
    chosen = [m for m in compare_defaults(task) if m != restorers.get_task(task).baseline][:3]
    return gr.CheckboxGroup(choices=[(choice_of(k, task).title, k) for k in available_methods(task)], value=chosen)


def rows_table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).reindex(columns=SHOWN).round(4)
    return frame.rename(columns={n: metric_header(n) if n in ("psnr_y", "ssim_y", "lpips", "piqe") else n
                                 for n in SHOWN})


def rows_csv(rows: list[dict], session: str | None) -> str | None:
    """The session's rows as a results file (the schema of ``assets/results``), for the download button."""
    if not rows:
        return None
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", dir=OUTPUT_DIR, prefix="your_sweep_", suffix=".csv", delete=False)
    with handle:
        pd.DataFrame(rows).reindex(columns=COLUMNS).to_csv(handle, index=False, float_format="%.6g")
    return handle.name


def progress_bar(done: int, total: int, width: int = 24) -> str:
    filled = round(width * done / total) if total else width
    return "`" + "█" * filled + "░" * (width - filled) + "`"


def progress_text(done: int, total: int, left: float | None, rows: int, configs: int) -> str:
    """A bar and a sentence (the rows stay readable: a Gradio progress overlay would cover them)."""
    if done >= total and rows >= configs:
        return (f"{progress_bar(1, 1)} **Done:** {total} image runs, {rows} row{'s' * (rows != 1)} (yours: in the leaderboard above, "
                "the table below and its CSV).")
    eta = f"; about {duration_text(left).removeprefix('about ')} left" if left is not None else ""
    return (f"{progress_bar(done, total)} **Running:** {done} of {total} image runs ({rows} of {configs} rows "
            f"measured){eta}.")


def sweep_panel(demo: gr.Blocks, lb_task, lb_metric, lb_cost, leaderboard_outputs, view, rows_state) -> None:
    """The panel under the leaderboard; ``view(task, dataset, metric, cost, rows)`` redraws the leaderboard's
    ``leaderboard_outputs``; ``rows_state`` holds the session's rows (the leaderboard's own events read it too)."""
    first = shown_tasks()[0] if shown_tasks() else "sr_x4"
    with gr.Accordion("Run a sweep: your methods, steps and images", open=False, elem_id="sweep-panel"):
        gr.Markdown("Measure rows yourself, here on this server: each image takes its turn at the CPU with the "
                    "restore tabs. Your rows are marked *yours*, kept for this session (download them as CSV) "
                    "and never written into the shipped results. For larger sweeps, the command line runs the "
                    "same code: `python -m leaderboard.sweep`.")
        with gr.Row():
            task = gr.Dropdown([(restorers.get_task(t).title, t) for t in shown_tasks()], value=first, label="Sweep task",
                               elem_id="sweep-task")
            nfe = gr.Textbox(label="Sweep step counts (comma-separated; empty: each method's default)", value="",
                             placeholder="1,2,4", elem_id="sweep-nfe")
            count = gr.Slider(1, visitor_sweep.MAX_IMAGES, value=4, step=1, label="Images to use",
                              elem_id="sweep-count")
        methods = gr.CheckboxGroup(label="Methods to sweep", elem_id="sweep-methods")
        with gr.Row():
            benchmark = gr.Radio([(label, key) for key, label in visitor_sweep.BENCHMARKS.items()], value="heldout",
                                 label="Benchmark", elem_id="sweep-benchmark")
            pairing = gr.Radio([(label, key) for key, label in visitor_sweep.PAIRINGS.items()], value="hq",
                               label="Your images are", elem_id="sweep-pairing")
        files = gr.File(file_count="multiple", type="filepath", label="Your images (several files or a zip)",
                        file_types=[*sorted(visitor_sweep.IMAGE_SUFFIXES), ".zip"], height=110,
                        elem_id="sweep-files")
        with gr.Row():
            run = gr.Button("Run sweep", variant="primary", elem_id="sweep-run")
            stop = gr.Button("Stop sweep", variant="stop", elem_id="sweep-stop")
        status = gr.Markdown(elem_id="sweep-status")
        table = gr.Dataframe(interactive=False, wrap=True, label="Your rows (this session)", elem_id="sweep-rows")
        download = gr.DownloadButton("Download your rows (CSV)", value=None, elem_id="sweep-csv")

    def on_task(chosen):
        return method_options(chosen)

    @quiet_when_stopped(outputs=len(leaderboard_outputs) + 5)
    def on_run(chosen_task, chosen_methods, steps, bench, uploads, pairs, images, rows, metric, cost,
               request: gr.Request):
        session = request.session_hash if request is not None else None
        STOPPED.discard(session)
        with user_errors():
            sweep = visitor_sweep.parse(chosen_task, chosen_methods, steps, bench, uploads, pairs, images)
            visitor_sweep.check_budget(sweep)
            configs = len(sweep.jobs)
            total = configs * len(sweep.pairs)
            expected = f", {duration_text(sweep.seconds)}" if sweep.seconds is not None else ""
            yield (f"**Starting:** {total} image runs ({len(sweep.pairs)} images x {configs} configurations"
                   f"{expected}).", gr.skip(), gr.skip(), gr.skip(), *[gr.skip()] * (len(leaderboard_outputs) + 1))
            shown = 0  # rows drawn so far (the session's earlier ones are on the page already)
            for done, total, left, measured in visitor_sweep.run(sweep, session):
                progress = progress_text(done, total, left, len(measured), configs)
                if len(measured) == shown:  # no new row: only the bar moves (a redraw costs the CPU a sweep uses)
                    yield progress, *[gr.skip()] * (len(leaderboard_outputs) + 4)
                    continue
                shown = len(measured)
                everything = [*rows, *measured]
                yield (progress, rows_table(everything), gr.DownloadButton(value=rows_csv(everything, session)),
                       everything, gr.Dropdown(value=chosen_task),
                       *view(chosen_task, sweep.dataset, metric, cost, everything))

    def on_stop(request: gr.Request):
        if request is not None:
            STOPPED.add(request.session_hash)
        return "**Stopped.** The rows measured before the stop stay in your table and CSV."

    task.change(on_task, task, methods, api_visibility="private")
    job = run.click(on_run, [task, methods, nfe, benchmark, files, pairing, count, rows_state, lb_metric, lb_cost],
                    [status, table, download, rows_state, lb_task, *leaderboard_outputs], api_visibility="private",
                    concurrency_id="sweep-ui", concurrency_limit=1)
    stop.click(on_stop, None, status, cancels=[job], api_visibility="private", queue=False)
    demo.load(on_task, task, methods, api_visibility="private")


def api_sweep(task: str, methods: str, nfe: str, benchmark: str, count, files=None, pairing: str = "hq"):
    """The ``/sweep`` endpoint: the same runner, returning the rows (the results schema, source ``yours``)."""
    keys = [m.strip() for m in (methods or "").split(",") if m.strip()]
    with user_errors():
        sweep = visitor_sweep.parse(task, keys, nfe, benchmark, files, pairing, count)
        visitor_sweep.check_budget(sweep)
        rows = []
        for *_, rows in visitor_sweep.run(sweep, None):
            pass
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()} for row in rows]


def api_endpoint() -> None:
    """Hidden components behind ``/sweep`` (as ``/restore``), in their own queue lane."""
    with gr.Row(visible=False):
        task = gr.Dropdown(restorers.list_tasks(), value="sr_x4", label="task")
        methods = gr.Textbox(label="methods (comma-separated method keys, as the demo lists them)")
        nfe = gr.Textbox(value="", label="step counts (comma-separated; empty: each method's default)")
        benchmark = gr.Dropdown(list(visitor_sweep.BENCHMARKS), value="heldout", label="benchmark")
        count = gr.Number(value=4, label="images")
        files = gr.File(file_count="multiple", type="filepath", label="files (benchmark 'upload')")
        pairing = gr.Dropdown(list(visitor_sweep.PAIRINGS), value="hq", label="pairing")
        rows = gr.JSON(label="rows")
        button = gr.Button("sweep")
    button.click(api_sweep, [task, methods, nfe, benchmark, count, files, pairing], rows, api_name="sweep",
                 concurrency_id="sweep-api", concurrency_limit=1)
