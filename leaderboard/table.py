"""The Leaderboard tab's data, shaped without any page: which rows, in which order, under which headers, and the
notes a reader needs to read them (what is missing, what is not comparable). ``app.py`` only wraps these frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from leaderboard.metrics import METRICS
from leaderboard.plots import quality_vs_cost
from leaderboard.results import RESULTS_DIR, load_all
from restorers.tasks import get_task

MAIN_COLUMNS = {"method": "Method", "checkpoint": "Checkpoint", "tau": "τ (DP-IR start)", "nfe": "NFE ↓",
                "tflops": "TFLOPs / image ↓", "seconds_per_image": "Seconds / image ↓", "device": "Device"}
DETAIL_COLUMNS = {"method": "Method", "nfe": "NFE", "nfe_detail": "NFE per network", "tau": "τ", "sampler": "Sampler",
                  "params": "Parameters (M)", "tflops_base": "TFLOPs once", "tflops_per_nfe": "TFLOPs per step call",
                  "n_images": "Images", "lq_size": "LQ size (px)", "device": "Device", "source": "Source",
                  "code_version": "Code", "notes": "Notes"}
RANK_METRIC = "rank"  # a metric value meaning "the task's ranking metric" (what a task change selects)
MIXED_DEVICES_NOTE = ("These rows were measured on different devices or thread counts (see Device): their seconds "
                      "are not comparable with each other.")


def metric_header(name: str) -> str:
    spec = METRICS[name]
    return f"{spec.label} {spec.arrow}"


def computed_metrics(frame: pd.DataFrame) -> list[str]:
    """The metrics with at least one value in this selection (the others would only draw empty plots)."""
    return [name for name in METRICS if name in frame and frame[name].notna().any()]


@dataclass
class LeaderboardView:
    """What the tab shows for one (task, dataset, metric) selection, the choices resolved to ones that exist."""

    datasets: list[str]
    dataset: str | None
    metric_choices: list[tuple[str, str]]
    metric: str
    table: pd.DataFrame
    by_nfe: object  # plotly figures
    by_tflops: object
    details: pd.DataFrame
    note: str
    devices_note: str


def _tau_text(column: pd.Series) -> pd.Series:
    return column.map(lambda v: "" if pd.isna(v) else f"{int(v)}")


def leaderboard_view(task: str, dataset: str | None, metric: str, frame: pd.DataFrame | None = None) -> LeaderboardView:
    """Rows of ``task`` ("all": every task) on ``dataset`` (unknown: the first one), best first by the task's
    ranking metric, plotted by ``metric`` (``RANK_METRIC``: the task's; one never computed here: the first that is)."""
    frame = load_all(RESULTS_DIR) if frame is None else frame
    if task != "all":
        frame = frame[frame["task"] == task]
    several_tasks = frame["task"].nunique() > 1  # "all": every row says its task, no line joins two tasks
    datasets = sorted(frame["dataset"].dropna().unique().tolist())
    if dataset not in datasets:
        dataset = datasets[0] if datasets else None
    frame = frame[frame["dataset"] == dataset] if dataset else frame.iloc[0:0]
    frame = frame.sort_values(["task", "method", "tau", "nfe"], na_position="first")
    shown_metrics = computed_metrics(frame)
    rank = get_task(task).rank_metric if task != "all" else None
    if rank in shown_metrics:  # best first by the task's ranking metric (LPIPS for real-world SR)
        frame = frame.sort_values(rank, ascending=METRICS[rank].lower_better, na_position="last", kind="stable")
    if metric == RANK_METRIC:
        metric = rank or "psnr_y"
    if metric not in shown_metrics:
        metric = shown_metrics[0] if shown_metrics else metric if metric in METRICS else "psnr_y"
    offered = shown_metrics or list(METRICS)  # no rows yet: every metric stays choosable, none is an error
    columns = [*(["task"] if several_tasks else []), *MAIN_COLUMNS, *shown_metrics]
    table = frame.reindex(columns=columns).round(4)
    table["tau"] = _tau_text(table["tau"])
    for name in shown_metrics:  # an empty cell is a metric we could not compute, never a zero
        table[name] = table[name].astype(object).where(table[name].notna(), "unavailable")
    # no FLOPs: the arithmetic ran outside torch (OpenCV), where no counter sees it
    table["tflops"] = table["tflops"].astype(object).where(table["tflops"].notna(), "not countable")
    table = table.rename(columns={"task": "Task", **MAIN_COLUMNS, **{n: metric_header(n) for n in shown_metrics}})
    details = frame.reindex(columns=[*(["task"] if several_tasks else []), *DETAIL_COLUMNS]).copy()
    details["params"] = (details["params"] / 1e6).round(3)
    details["tau"] = _tau_text(details["tau"])
    details = details.round(5).rename(columns={"task": "Task", **DETAIL_COLUMNS})
    hidden = [METRICS[n].label for n in METRICS if n not in shown_metrics]
    note = ("Not computed for any row here (so not offered): " + ", ".join(hidden) + ". See the notes column "
            "in Details for why.") if hidden and shown_metrics else ""
    if frame.empty:
        note = (f"No results for {task if task != 'all' else 'any task'}"
                f"{f' on {dataset}' if dataset else ''} yet: `python -m leaderboard.sweep --task "
                f"{task if task != 'all' else '<task>'}` measures them and writes them to assets/results.")
    if several_tasks:
        note = ("Rows of every task: each row and each plotted line belongs to one task (its Task column), and "
                "quality is comparable only within a task. " + note)
    if rank in shown_metrics:
        note = f"Ranked by {metric_header(rank)}, this task's ranking metric. " + note
    devices_note = MIXED_DEVICES_NOTE if frame["device"].dropna().nunique() > 1 else ""
    return LeaderboardView(datasets, dataset, [(metric_header(n), n) for n in offered], metric, table,
                           quality_vs_cost(frame, metric, "nfe"), quality_vs_cost(frame, metric, "tflops"), details,
                           note, devices_note)
