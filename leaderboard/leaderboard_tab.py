"""The Leaderboard tab: quality against cost from the result files, filtered by task, dataset and metric.

Layout and events only; ``leaderboard.table`` shapes what it shows (the same code the README tables use).
"""

from __future__ import annotations

import gradio as gr

import restorers

from .metrics import METRICS
from .table import RANK_METRIC, metric_header
from .table import leaderboard_view as table_view

FIRST_TASK = "sr_x4"


def leaderboard_for_task(task: str, dataset: str):
    """A new task shows its own ranking metric (LPIPS for real-world SR, PSNR-Y elsewhere)."""
    return leaderboard_view(task, dataset, RANK_METRIC)


def leaderboard_view(task: str, dataset: str, metric: str):
    view = table_view(task, dataset, metric)
    return (gr.Dropdown(choices=view.datasets, value=view.dataset),
            gr.Dropdown(choices=view.metric_choices, value=view.metric), view.table, view.by_nfe, view.by_tflops,
            view.details, view.note, view.devices_note)


def leaderboard_tab(demo: gr.Blocks) -> None:
    with gr.Tab("Leaderboard"):
        gr.Markdown("Quality against cost, from the result files in `assets/results` "
                    "(write more with `python -m leaderboard.sweep`). Rows are **measured** unless "
                    "their source says *reported*. A metric marked unavailable could not be computed offline; "
                    "the notes column says why.")
        with gr.Row():
            lb_task = gr.Dropdown(["all", *restorers.list_tasks()], value=FIRST_TASK, label="Task")
            lb_dataset = gr.Dropdown([], label="Dataset", allow_custom_value=True)
            lb_metric = gr.Dropdown([(metric_header(n), n) for n in METRICS], value="psnr_y", label="Metric")
            reload = gr.Button("Reload results")
        lb_note = gr.Markdown()
        with gr.Row(equal_height=False):  # two columns on a wide screen, stacked on a narrow one
            with gr.Column(min_width=420):
                plot_nfe = gr.Plot(label="vs NFE", elem_id="leaderboard-plot-nfe")
            with gr.Column(min_width=420):
                plot_tflops = gr.Plot(label="vs TFLOPs")
        table = gr.Dataframe(interactive=False, wrap=True, elem_id="leaderboard-table",
                             label="Results (measured unless Source says reported; mean over the "
                                   "dataset's images)")
        lb_devices = gr.Markdown(elem_id="leaderboard-devices")
        with gr.Accordion("Details: parameters, sizes, device, notes", open=False):
            details = gr.Dataframe(interactive=False, wrap=True)
        outputs = [lb_dataset, lb_metric, table, plot_nfe, plot_tflops, details, lb_note, lb_devices]
        lb_task.change(leaderboard_for_task, [lb_task, lb_dataset], outputs, api_visibility="private")
        for trigger in (lb_dataset.change, lb_metric.change, reload.click):
            trigger(leaderboard_view, [lb_task, lb_dataset, lb_metric], outputs, api_visibility="private")
        demo.load(leaderboard_view, [lb_task, lb_dataset, lb_metric], outputs, api_visibility="private")
