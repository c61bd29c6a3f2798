"""Quality against cost (NFE, TFLOPs): one trace per method and checkpoint, plotly."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

import restorers

from .metrics import ALL_METRICS

COST_AXES = {"nfe": "NFE (network evaluations per image)", "tflops": "TFLOPs per image (benchmark size)",
             "tflops_256": "TFLOPs per image at 256x256 input", "tflops_720p": "TFLOPs per image at 1280x720 input",
             "seconds_per_image": "seconds per image"}


def metric_label(metric: str) -> str:
    spec = ALL_METRICS.get(metric)
    return f"{spec.label} {spec.arrow}" if spec else metric


MIN_Y_SPAN = {"psnr_y": 2.0, "ssim_y": 0.05, "ms_ssim": 0.05, "lpips": 0.05, "gmsd": 0.02}


def y_range(values: pd.Series, metric: str) -> list[float]:
    """The data's range with 10% margins, widened to a minimum span so that a small gap looks small."""
    low, high = float(values.min()), float(values.max())
    span = max(high - low, MIN_Y_SPAN.get(metric, 0.1 * max(abs(high), 1e-6)))
    middle = (low + high) / 2
    return [middle - 0.6 * span, middle + 0.6 * span]


def sampler_variant(row) -> str:
    """How a DP-IR-family row was sampled, so that a tau sweep and a DDIM sweep draw separate lines."""
    tau = row.get("tau")
    if tau is None or pd.isna(tau):
        return ""
    spec = restorers.registry.METHODS.get(row.get("method"))
    if spec is not None and spec.sweeps_start_step:  # an accelerated start (DP-IR), not sampling from x_T
        return "DDPM after the jump, tau varies" if row.get("sampler") == "ddpm" else f"DDIM after the jump to tau={int(tau)}"
    return "from x_T, no jump"


def quality_vs_cost(frame: pd.DataFrame, metric: str = "psnr_y", cost: str = "nfe", log_x: bool = True) -> go.Figure:
    """Lines over each method's sweep; methods with zero cost (no network) become dashed reference lines."""
    if cost not in COST_AXES:
        raise ValueError(f"cost axis must be one of {', '.join(COST_AXES)}")
    figure = go.Figure()
    data = frame.dropna(subset=[metric]) if metric in frame else frame.iloc[0:0]
    data = data.assign(variant=[sampler_variant(r) for r in data.to_dict("records")]) if not data.empty \
        else data.assign(variant=[])
    colours = px.colors.qualitative.Plotly
    data = data.assign(task=data["task"] if "task" in data else "")
    several_tasks = data["task"].nunique() > 1  # a line never joins two tasks' points
    for i, ((task, method, checkpoint, source, variant), group) in enumerate(
            data.groupby(["task", "method", "checkpoint", "source", "variant"], dropna=False, sort=True)):
        several = data.loc[(data["method"] == method) & (data["task"] == task), "checkpoint"].nunique(dropna=False) > 1
        name = f"{method} ({checkpoint})" if several else method
        if several_tasks:
            name = f"{task}: {name}"
        if variant:
            name += f": {variant}"
        if source != "measured":
            name += f" [{source}]"
        colour = colours[i % len(colours)]
        group = group.sort_values(cost)
        hover = [f"{name}<br>NFE {r.nfe:g}<br>{r.tflops:.4g} TFLOPs<br>{r.seconds_per_image:.3g} s/img"
                 f"<br>{metric_label(metric)} {getattr(r, metric):.4g}<br>{r.dataset}, n={r.n_images:g}"
                 for r in group.itertuples()]
        positive = group[group[cost] > 0]
        if log_x and positive.empty:  # a zero-cost baseline cannot sit on a log axis: draw a level line
            figure.add_hline(y=float(group[metric].mean()), line_dash="dash", line_color=colour,
                             annotation_text=f"{name} ({cost} = 0)", annotation_position="bottom right")
            figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=name,
                                        line=dict(dash="dash", color=colour)))
            continue
        shown = positive if log_x else group
        figure.add_trace(go.Scatter(x=shown[cost], y=shown[metric], mode="lines+markers", name=name,
                                    line=dict(color=colour), marker=dict(size=9),
                                    hovertext=[hover[k] for k in range(len(group)) if group.index[k] in shown.index],
                                    hoverinfo="text"))
    figure.update_layout(
        # two short lines: a phone-width plot cuts a one-line title (plotly does not wrap)
        title=f"{metric_label(metric)}<br><sup>vs {COST_AXES[cost]}</sup>", xaxis_title=COST_AXES[cost],
        yaxis_title=metric_label(metric), template="plotly_white", legend_title="method",
        # the legend goes under the plot, so long checkpoint names never squeeze the axes
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
        margin=dict(l=60, r=20, t=60, b=50), height=440 + 24 * len(figure.data))
    if log_x:
        figure.update_xaxes(type="log")
    if not data.empty:
        figure.update_yaxes(range=y_range(data[metric].astype(float), metric))
    if data.empty:
        figure.add_annotation(text="no results for this selection", showarrow=False, x=0.5, y=0.5,
                              xref="paper", yref="paper")
    return figure
