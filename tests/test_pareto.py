"""The Pareto front: which rows nothing beats at their cost, per protocol, with the metric's direction."""

from __future__ import annotations

import pandas as pd

from leaderboard.pareto import front_plot, on_front
from leaderboard.results import COLUMNS


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {"source": "measured", "psnr_channels": "Y (BT.601 YCbCr)", "crop_border": 4, "lpips_backbone": "alex",
            "checkpoint": "x", "task": "sr_x4", "dataset": "heldout"}
    return pd.DataFrame([{**base, **r} for r in rows]).reindex(columns=COLUMNS)


ROWS = [
    {"method": "bicubic", "nfe": 0, "tflops": 0.0, "psnr_y": 27.0, "lpips": 0.40},
    {"method": "a", "nfe": 1, "tflops": 0.1, "psnr_y": 29.0, "lpips": 0.30},
    {"method": "b", "nfe": 2, "tflops": 0.2, "psnr_y": 28.5, "lpips": 0.20},  # costs more, worse PSNR, better LPIPS
    {"method": "c", "nfe": 4, "tflops": 0.4, "psnr_y": 29.5, "lpips": 0.25},
    {"method": "d", "nfe": 4, "tflops": 0.4, "psnr_y": 29.2, "lpips": 0.26},  # same cost as c, worse in both
]


def test_front_respects_each_metrics_direction():
    data = frame(ROWS)
    by_psnr = data.loc[on_front(data, "psnr_y", "tflops"), "method"].tolist()
    assert by_psnr == ["bicubic", "a", "c"]  # b is beaten by the cheaper a, d by the equally cheap c
    by_lpips = data.loc[on_front(data, "lpips", "nfe"), "method"].tolist()
    assert by_lpips == ["bicubic", "a", "b"]  # lower is better: b's 0.20 beats everything costlier


def test_rows_of_another_protocol_are_never_ranked_against_ours():
    reported = {"source": "reported", "psnr_channels": "RGB", "crop_border": 0}
    data = frame([*ROWS, {"method": "paper", "nfe": 1, "tflops": 0.01, "psnr_y": 40.0, **reported}])
    front = data.loc[on_front(data, "psnr_y", "tflops"), "method"].tolist()
    assert front == ["bicubic", "a", "c", "paper"]  # the paper's 40 dB dominates nothing of ours


def test_rows_without_the_cost_are_not_on_the_front():
    data = frame([*ROWS[:2], {"method": "unpriced", "psnr_y": 35.0}])
    assert data.loc[on_front(data, "psnr_y", "nfe"), "method"].tolist() == ["bicubic", "a"]


def test_front_plot_draws_the_front_as_a_step_line_and_hovers_the_whole_row():
    data = frame(ROWS)
    figure = front_plot(data, "lpips", "nfe")
    lines = [t for t in figure.data if t.mode == "lines"]
    assert len(lines) == 1 and lines[0].line.shape == "hv" and list(lines[0].y) == [0.40, 0.30, 0.20]
    assert lines[0].x[0] > 0  # NFE 0 sits at the log axis's floor, not at minus infinity
    markers = {t.name: t for t in figure.data if t.mode == "markers"}
    assert set(markers) == {"bicubic", "a", "b", "c", "d"}
    hover = markers["b"].hovertext[0]
    assert "nfe: 2" in hover and "PSNR-Y (dB) ↑: 28.5" in hover and "<b>LPIPS-Alex ↓: 0.2</b>" in hover
    assert "axis floor" in markers["bicubic"].hovertext[0]
    assert figure.layout.xaxis.type == "log" and "Pareto front vs NFE" in figure.layout.title.text


def test_reported_rows_get_their_own_markers():
    data = frame([*ROWS, {"method": "a", "nfe": 15, "psnr_y": 30.0, "source": "reported", "psnr_channels": "Y [inferred]"}])
    figure = front_plot(data, "psnr_y", "nfe")
    reported = [t for t in figure.data if t.name == "a [reported]"]
    assert len(reported) == 1 and reported[0].marker.symbol == "diamond-open"
    assert [t.name for t in figure.data if t.mode == "lines"] == ["Pareto front", "Pareto front (reported)"]


def test_the_visitors_rows_are_drawn_as_measured_not_as_reported():
    from leaderboard.table import dataset_choices

    data = frame([{**ROWS[0], "source": "yours", "dataset": "your 3 photos"}])
    figure = front_plot(data, "psnr_y", "nfe")
    assert [(t.name, t.marker.symbol) for t in figure.data if t.mode == "markers"] == [("bicubic", "circle")]
    assert dataset_choices(data) == [("your 3 photos", "your 3 photos")]  # not "(papers' numbers)"
