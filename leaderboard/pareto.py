"""Which rows give the best quality for their cost: the Pareto front of a selection, and the plot of it.

A row is on the front when no other row of the same protocol costs no more and scores at least as well, one of
the two strictly (the metric's direction respected: lower LPIPS is better). Rows are compared only within a
protocol (source, PSNR channels, border crop, LPIPS backbone): a paper's number is never ranked against one of
ours measured another way. Rows without the cost or the metric (a paper that printed no NFE) are not on it.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from .metrics import ALL_METRICS
from .plots import COST_AXES, metric_label, y_range
from .results import PROTOCOL

PROTOCOL_KEY = ["source", *PROTOCOL]
HOVER = ["method", "checkpoint", "nfe", "tau", "tflops", "tflops_256", "tflops_720p", "seconds_per_image", "device",
         "n_images", "lq_size", "source"]


def protocol_groups(frame: pd.DataFrame):
    keys = frame.reindex(columns=PROTOCOL_KEY).astype(object).where(lambda f: f.notna(), "")
    return frame.groupby([keys[c] for c in PROTOCOL_KEY], sort=False, dropna=False)


def on_front(frame: pd.DataFrame, metric: str, cost: str) -> pd.Series:
    """True for the rows of ``frame`` on the Pareto front of ``metric`` against ``cost`` (per protocol)."""
    flags = pd.Series(False, index=frame.index)
    if metric not in frame or cost not in frame or frame.empty:
        return flags
    sign = -1.0 if ALL_METRICS[metric].lower_better else 1.0  # after this, higher is better
    for _, group in protocol_groups(frame):
        data = group[[cost, metric]].apply(pd.to_numeric, errors="coerce").dropna()
        best = float("-inf")
        # cheapest first; among equal costs the best first, so an equal-cost worse row is dominated
        order = data.assign(score=sign * data[metric]).sort_values([cost, "score"], ascending=[True, False])
        for index, row in order.iterrows():
            if row["score"] > best:
                flags[index] = True
                best = row["score"]
    return flags


def hover_text(row: pd.Series, metric: str) -> str:
    lines = [f"<b>{row['method']}</b> ({row['checkpoint']})"]
    for column in HOVER[2:]:
        value = row.get(column)
        if value is not None and not pd.isna(value) and value != "":
            lines.append(f"{column}: {value:.4g}" if isinstance(value, float) else f"{column}: {value}")
    for name, spec in ALL_METRICS.items():
        value = row.get(name)
        if value is not None and not pd.isna(value):
            lines.append(f"{'<b>' if name == metric else ''}{spec.label} {spec.arrow}: {value:.4g}"
                         f"{'</b>' if name == metric else ''}")
    return "<br>".join(lines)


def front_plot(frame: pd.DataFrame, metric: str, cost: str) -> go.Figure:
    """Every row as a marker (measured: filled circles, reported: open diamonds), the front as a step line. A row
    of zero cost (bicubic, NFE 0) sits at the log axis's floor, and its hover says so."""
    if cost not in COST_AXES:
        raise ValueError(f"cost axis must be one of {', '.join(COST_AXES)}")
    figure = go.Figure()
    data = frame.copy()
    for column in (cost, metric):
        data[column] = pd.to_numeric(data.get(column), errors="coerce")
    data = data.dropna(subset=[cost, metric])
    positive = data.loc[data[cost] > 0, cost]
    floor = float(positive.min()) / 3 if not positive.empty else 1.0
    data = data.assign(x=data[cost].where(data[cost] > 0, floor))
    colours = px.colors.qualitative.Plotly
    methods = sorted(data["method"].astype(str).unique())
    for method in methods:
        for source, group in data[data["method"].astype(str) == method].groupby("source", sort=True):
            reported = source == "reported"  # the visitor's rows ("yours") are measured here too
            hover = [hover_text(r, metric) + ("<br>(cost 0: drawn at the axis floor)" if r[cost] <= 0 else "")
                     for _, r in group.iterrows()]
            figure.add_trace(go.Scatter(
                x=group["x"], y=group[metric], mode="markers", name=f"{method}{' [reported]' if reported else ''}",
                marker=dict(size=11 if reported else 10, color=colours[methods.index(method) % len(colours)],
                            symbol="diamond-open" if reported else "circle",
                            line=dict(width=2 if reported else 0.5, color="#333")),
                hovertext=hover, hoverinfo="text"))
    front = data[on_front(data, metric, cost)]
    for key, group in protocol_groups(front):
        group = group.sort_values(cost)
        figure.add_trace(go.Scatter(
            x=group["x"], y=group[metric], mode="lines", line_shape="hv", line=dict(color="#222", width=2, dash="dot"),
            name="Pareto front" + (f" ({key[0]})" if key[0] != "measured" else ""), hoverinfo="skip"))
    figure.update_layout(
        title=f"Best {metric_label(metric)} for the cost<br><sup>Pareto front vs {COST_AXES[cost]}</sup>",
        xaxis_title=COST_AXES[cost], yaxis_title=metric_label(metric), template="plotly_white",
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
        margin=dict(l=60, r=20, t=60, b=50), height=440 + 12 * len(figure.data))
    figure.update_xaxes(type="log")
    if data.empty:
        figure.add_annotation(text="no rows with this cost and metric here", showarrow=False, x=0.5, y=0.5,
                              xref="paper", yref="paper")
    else:
        figure.update_yaxes(range=y_range(data[metric].astype(float), metric))
    return figure
