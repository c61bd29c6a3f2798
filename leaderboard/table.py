"""The Leaderboard tab's data, shaped without any page: which rows, in which order, under which headers, and the
notes a reader needs to read them (what is missing, what is not comparable). ``app.py`` only wraps these frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from leaderboard.metrics import ALL_METRICS, METRICS
from leaderboard.pareto import front_plot, on_front, protocol_groups
from leaderboard.plots import COST_AXES, quality_vs_cost
from leaderboard.results import RESULTS_DIR, load_all
from restorers.tasks import get_task

MAIN_COLUMNS = {"method": "Method", "checkpoint": "Checkpoint", "source": "Source", "tau": "τ (DP-IR start)",
                "nfe": "NFE ↓", "tflops": "TFLOPs / image ↓", "seconds_per_image": "Seconds / image ↓",
                "device": "Device"}
SIZE_COLUMNS = {  # the table's TFLOPs columns when the cost axis is a fixed input size
    size: {f"tflops_{size}": f"TFLOPs at {label} ↓", f"tflops_{size}_base": f"once at {label}",
           f"tflops_{size}_per_nfe": f"per step call at {label}"}
    for size, label in (("256", "256x256"), ("720p", "1280x720"))}
DETAIL_COLUMNS = {"method": "Method", "nfe": "NFE", "nfe_detail": "NFE per network", "tau": "τ", "sampler": "Sampler",
                  "params": "Parameters (M)", "tflops_base": "TFLOPs once", "tflops_per_nfe": "TFLOPs per step call",
                  "n_images": "Images", "lq_size": "LQ size (px)", "device": "Device", "threads": "Threads",
                  "processes": "Processes", "psnr_channels": "PSNR channels", "crop_border": "Border crop",
                  "lpips_backbone": "LPIPS backbone", "source": "Source", "weights": "Weights digest",
                  "code_version": "Code", "citation": "Citation", "notes": "Notes"}
REPORTED_NOTE = ("Rows marked *reported* are the papers' own numbers (`leaderboard/reported.csv`, each with its "
                 "citation): other benchmarks and protocols, so they are ranked only among themselves, never with "
                 "measured rows unless dataset and protocol agree.")
RANK_METRIC = "rank"  # a metric value meaning "the task's ranking metric" (what a task change selects)
MIXED_DEVICES_NOTE = ("These rows were measured on different devices or thread counts (see Device): their seconds "
                      "are not comparable with each other.")


def metric_header(name: str) -> str:
    spec = ALL_METRICS[name]
    return f"{spec.label} {spec.arrow}"


def computed_metrics(frame: pd.DataFrame) -> list[str]:
    """The metrics with at least one value in this selection (the others would only draw empty plots)."""
    return [name for name in ALL_METRICS if name in frame and frame[name].notna().any()]


def dataset_choices(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Our benchmarks first (the built-in held-out one leading), then the papers' (labelled so)."""
    measured = set(frame.loc[frame["source"] != "reported", "dataset"].dropna())  # ours and the visitor's
    names = sorted(frame["dataset"].dropna().unique(), key=lambda d: (d not in measured, d != "heldout", d))
    return [(d if d in measured else f"{d} (papers' numbers)", d) for d in names]


def ranked(frame: pd.DataFrame, rank: str | None) -> pd.DataFrame:
    """Best first by ``rank`` within each protocol (measured rows first); groups never interleave."""
    parts = []
    for _, group in protocol_groups(frame):
        if rank in group and group[rank].notna().any():
            group = group.sort_values(rank, ascending=ALL_METRICS[rank].lower_better, na_position="last",
                                      kind="stable")
        parts.append(group)
    if not parts:
        return frame
    return pd.concat(sorted(parts, key=lambda g: g["source"].iloc[0] != "measured"))


@dataclass
class LeaderboardView:
    """What the tab shows for one (task, dataset, metric) selection, the choices resolved to ones that exist."""

    datasets: list[str]
    dataset: str | None
    metric_choices: list[tuple[str, str]]
    metric: str
    table: pd.DataFrame
    by_nfe: object  # plotly figures: each method's quality against its steps
    front: object  # the Pareto front against the chosen cost axis
    cost: str
    details: pd.DataFrame
    note: str
    devices_note: str


def _tau_text(column: pd.Series) -> pd.Series:
    return column.map(lambda v: "" if pd.isna(v) else f"{int(v)}")


def leaderboard_view(task: str, dataset: str | None, metric: str, cost: str = "tflops",
                     frame: pd.DataFrame | None = None) -> LeaderboardView:
    """Rows of ``task`` ("all": every task) on ``dataset`` (unknown: the first one), best first by the task's
    ranking metric, plotted by ``metric`` (``RANK_METRIC``: the task's; one never computed here: the first that is)
    against ``cost`` (a key of ``plots.COST_AXES``; a fixed input size shows that size's TFLOPs in the table)."""
    if cost not in COST_AXES:
        cost = "tflops"
    frame = load_all(RESULTS_DIR) if frame is None else frame
    if task != "all":
        frame = frame[frame["task"] == task]
    several_tasks = frame["task"].nunique() > 1  # "all": every row says its task, no line joins two tasks
    datasets = dataset_choices(frame)
    if dataset not in [value for _, value in datasets]:
        dataset = datasets[0][1] if datasets else None
    frame = frame[frame["dataset"] == dataset] if dataset else frame.iloc[0:0]
    frame = frame.sort_values(["task", "method", "tau", "nfe"], na_position="first")
    shown_metrics = computed_metrics(frame)
    rank = get_task(task).rank_metric if task != "all" else None
    frame = ranked(frame, rank if rank in shown_metrics else None)  # LPIPS first for real-world SR
    if metric == RANK_METRIC:
        metric = rank or "psnr_y"
    if metric not in shown_metrics:
        metric = shown_metrics[0] if shown_metrics else metric if metric in ALL_METRICS else "psnr_y"
    offered = shown_metrics or list(METRICS)  # no rows yet: every metric stays choosable, none is an error
    front = on_front(frame, metric, cost)
    size_columns = SIZE_COLUMNS.get(cost.removeprefix("tflops_"), {})
    main = {**MAIN_COLUMNS, **({"tflops": None} if size_columns else {})}
    columns = [*(["task"] if several_tasks else []), "front", *[c for c, label in main.items() if label],
               *size_columns, *shown_metrics]
    table = frame.assign(front=front.map({True: "★", False: ""})).reindex(columns=columns).round(4)
    table["tau"] = _tau_text(table["tau"])
    for name in shown_metrics:  # an empty cell is a metric we could not compute, never a zero
        table[name] = table[name].astype(object).where(table[name].notna(), "unavailable")
    # no FLOPs: the arithmetic ran outside torch (OpenCV), where no counter sees it; a paper printed none
    for column in ("tflops", *size_columns):
        if column in table:
            text = frame["source"].map(lambda s: "not countable" if s == "measured" else "not reported")
            table[column] = table[column].astype(object).where(table[column].notna(), text)
    front_header = "Pareto ★"  # the note under the controls says against what
    table = table.rename(columns={"task": "Task", "front": front_header, **MAIN_COLUMNS, **size_columns,
                                  **{n: metric_header(n) for n in shown_metrics}})
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
    if front.any():
        note += (f" ★: on the Pareto front of {metric_header(metric)} against {COST_AXES[cost]} (nothing here costs "
                 "no more and scores better).")
    devices_note = MIXED_DEVICES_NOTE if frame["device"].dropna().nunique() > 1 else ""
    return LeaderboardView(datasets, dataset, [(metric_header(n), n) for n in offered], metric, table,
                           quality_vs_cost(frame, metric, "nfe"), front_plot(frame, metric, cost), cost, details,
                           note.strip(), devices_note)
