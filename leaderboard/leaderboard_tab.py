"""The Leaderboard tab: quality against cost from the result files, filtered by task, dataset and metric.

Layout and events only; ``leaderboard.table`` shapes what it shows (the same code the README tables use).
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

import restorers

from .metrics import METRICS
from .plots import COST_AXES
from .results_dataset import ResultsSourceError, load_results
from .sweep_panel import sweep_panel
from .table import RANK_METRIC, REPORTED_NOTE, metric_header
from .table import leaderboard_view as table_view

FIRST_TASK = "sr_x4"


def leaderboard_for_task(task: str, dataset: str, cost: str = "tflops", rows: list | None = None,
                         source: str = ""):
    """A new task shows its own ranking metric (LPIPS for real-world SR, PSNR-Y elsewhere)."""
    return leaderboard_view(task, dataset, RANK_METRIC, cost, rows, source)


def leaderboard_view(task: str, dataset: str, metric: str, cost: str = "tflops", rows: list | None = None,
                     source: str = ""):
    """``rows``: the visitor's own sweep rows of this session, shown beside the ``source`` ones (empty: the
    shipped results; else a results folder, a saved dataset or a Hub dataset id)."""
    try:
        frame = load_results(source)
    except ResultsSourceError as err:
        raise gr.Error(f"Results from {str(err)[0].lower()}{str(err)[1:]}.", print_exception=False) from None
    if rows:
        frame = pd.concat([frame, pd.DataFrame(rows).reindex(columns=frame.columns)], ignore_index=True)
    view = table_view(task, dataset, metric, cost, frame)
    return (gr.Dropdown(choices=view.datasets, value=view.dataset),
            gr.Dropdown(choices=view.metric_choices, value=view.metric), view.table, view.front, view.by_nfe,
            view.details, view.note, view.devices_note)


def leaderboard_tab(demo: gr.Blocks) -> None:
    with gr.Tab("Leaderboard"):
        gr.Markdown("Which method gives the best quality for a compute budget? The Pareto front (left) joins "
                    "the rows nothing beats at their cost; the right plot follows each method over its step "
                    "counts. Rows come from `assets/results` (write more with `python -m leaderboard.sweep`) and "
                    "are **measured** unless their source says *reported*. A metric marked unavailable could not "
                    "be computed offline; the notes column says why.")
        gr.Markdown(REPORTED_NOTE, elem_id="leaderboard-reported-note")
        with gr.Row():
            lb_task = gr.Dropdown(["all", *restorers.list_tasks()], value=FIRST_TASK, label="Task")
            lb_dataset = gr.Dropdown([], label="Dataset", allow_custom_value=True)
            lb_metric = gr.Dropdown([(metric_header(n), n) for n in METRICS], value="psnr_y", label="Metric")
            lb_cost = gr.Dropdown([(label, key) for key, label in COST_AXES.items()], value="tflops",
                                  label="Cost axis", elem_id="leaderboard-cost")
            lb_source = gr.Textbox(label="Results from", placeholder="the shipped results (or a saved dataset "
                                   "folder, a results folder, a Hub dataset id)", elem_id="leaderboard-source")
            reload = gr.Button("Reload results")
        lb_note = gr.Markdown()
        with gr.Row(equal_height=False):  # two columns on a wide screen, stacked on a narrow one
            with gr.Column(min_width=420):
                plot_front = gr.Plot(label="Pareto front", elem_id="leaderboard-plot-front")
            with gr.Column(min_width=420):
                plot_nfe = gr.Plot(label="Quality vs steps, per method", elem_id="leaderboard-plot-nfe")
        table = gr.Dataframe(interactive=False, wrap=True, elem_id="leaderboard-table",
                             label="Results (measured unless Source says reported; mean over the "
                                   "dataset's images)")
        lb_devices = gr.Markdown(elem_id="leaderboard-devices")
        with gr.Accordion("Details: parameters, sizes, device, notes", open=False):
            details = gr.Dataframe(interactive=False, wrap=True)
        outputs = [lb_dataset, lb_metric, table, plot_front, plot_nfe, details, lb_note, lb_devices]
        rows = gr.State([])  # the visitor's own sweep rows, this session only
        sweep_panel(demo, lb_task, lb_metric, lb_cost, outputs, leaderboard_view, rows)
        lb_task.change(leaderboard_for_task, [lb_task, lb_dataset, lb_cost, rows, lb_source], outputs,
                       api_visibility="private")
        chosen = [lb_task, lb_dataset, lb_metric, lb_cost, rows, lb_source]
        for trigger in (lb_dataset.change, lb_metric.change, lb_cost.change, reload.click, lb_source.submit):
            trigger(leaderboard_view, chosen, outputs, api_visibility="private")
        demo.load(leaderboard_view, chosen, outputs, api_visibility="private")
