"""The papers' rows: parsed from the fact sheet (never typed), cited, with their protocol, shown apart."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import shared_file
from leaderboard import reported_rows
from leaderboard.results import COLUMNS, REPORTED_FILE, read_results
from leaderboard.table import REPORTED_NOTE, leaderboard_view


def test_checked_in_rows_are_what_the_fact_sheet_says():
    sheet = shared_file("reference", "reported.md")
    parsed = pd.DataFrame(reported_rows.reported_rows(sheet)).reindex(columns=COLUMNS)
    shipped = read_results(REPORTED_FILE)
    key = ["method", "checkpoint", "task", "dataset"]
    parsed, shipped = parsed.set_index(key).sort_index(), shipped.set_index(key).sort_index()
    assert list(parsed.index) == list(shipped.index), "run: python -m leaderboard.reported_rows"
    for column in ("psnr_y", "ssim_y", "lpips", "lpips_vgg", "lpips_unstated", "fid", "dists", "psnr_rgb",
                   "ssim_rgb", "clipiqa", "musiq", "nfe", "params"):
        assert parsed[column].astype(float).to_numpy() == pytest.approx(
            shipped[column].astype(float).to_numpy(), nan_ok=True, rel=1e-9), column


def test_every_reported_row_is_cited_and_carries_its_protocol():
    rows = read_results(REPORTED_FILE)
    assert len(rows) > 100 and set(rows["source"]) == {"reported"}
    assert rows["citation"].str.contains("reported.md").all() and rows["notes"].notna().all()
    assert not rows["method"].eq("dpir").any()  # DP-IR's tables could not be read: no row is invented
    diffir = rows[(rows.method == "diffir") & (rows.task == "sr_x4") & (rows.dataset == "Set14")].iloc[0]
    assert (diffir.psnr_y, diffir.lpips) == (27.73, 0.1117)  # the sheet's DiffIR_S2 Set14 cell
    assert (diffir.psnr_channels, diffir.crop_border, diffir.lpips_backbone) == ("Y (BT.601 YCbCr)", 4, "alex")
    realsr = rows[(rows.task == "realsr_x4") & rows.lpips_vgg.notna()]
    assert realsr["lpips"].isna().all() and set(realsr["lpips_backbone"]) == {"vgg"}  # never in the Alex column
    third = rows[rows.method == "resshift"]
    assert len(third) >= 5 and third["notes"].str.contains("third-party").all()
    assert rows.loc[rows.method == "SinSR", "notes"].str.contains("marked \\[unsure\\]").any()
    deblur = rows[rows.task == "deblur"]
    assert deblur["psnr_rgb"].notna().all() and deblur["psnr_y"].isna().all()


def test_the_leaderboard_shows_reported_rows_apart():
    view = leaderboard_view("sr_x4", "Set14", "psnr_y")
    assert view.dataset == "Set14" and len(view.table) == 9
    assert set(view.table["Source"]) == {"reported"}
    first = view.table.iloc[0]
    assert first["Method"] == "diffir" and first["PSNR-Y (dB) ↑"] == 27.73  # ranked among themselves
    assert all(value == "not reported" for value in view.table["TFLOPs / image ↓"])
    assert "never with measured rows" in REPORTED_NOTE
    own = leaderboard_view("sr_x4", None, "psnr_y")
    assert own.dataset == "heldout" and "reported" not in set(own.table["Source"])  # ours come first
