"""Every shipped row names the weights it was measured with, and those are the weights shipped now."""

from __future__ import annotations

import pandas as pd
import torch

import restorers
from leaderboard import regenerate
from leaderboard.provenance import weights_digest
from leaderboard.results import RESULTS_DIR, load_all


def test_every_shipped_row_was_measured_on_the_weights_shipped_now():
    rows = load_all(RESULTS_DIR, reported=False)
    assert len(rows) > 40 and set(rows["source"]) == {"measured"}
    for column in ("weights", "code_version", "device", "time", "psnr_channels", "tflops_256", "tflops_720p"):
        if column.startswith("tflops"):  # OpenCV's arithmetic is not countable; every other row has its cost
            assert rows.loc[rows["method"] != "telea", column].notna().all(), column
        else:
            assert rows[column].notna().all(), f"a shipped row has no {column}: run python -m leaderboard.regenerate"
    assert (rows.loc[rows["device"].str.startswith("CPU"), "threads"] >= 1).all()
    stale = []
    for (method, task, checkpoint), group in rows.groupby(["method", "task", "checkpoint"]):
        digest = regenerate.current_digest(method, task, regenerate.checkpoint_path(checkpoint))
        if set(group["weights"]) != {digest}:
            stale.append(f"{method}/{task}/{checkpoint}")
    assert not stale, f"re-measure these rows (python -m leaderboard.regenerate): {stale}"


def test_a_changed_checkpoint_makes_its_rows_stale(tmp_path, tiny_pipeline):
    folder = tmp_path / "ckpt"
    tiny_pipeline.save_pretrained(folder, safe_serialization=True)
    before = weights_digest(restorers.load_pipeline("resshift", "sr_x4", str(folder)))
    assert before == weights_digest(restorers.load_pipeline("resshift", "sr_x4", str(folder)))  # stable
    changed = restorers.load_pipeline("resshift", "sr_x4", str(folder))
    with torch.no_grad():
        next(changed.unet.parameters()).view(-1)[0] += 1e-3
    changed.save_pretrained(folder, safe_serialization=True)
    row = pd.Series({"weights": before, "method": "resshift", "task": "sr_x4", "checkpoint": str(folder)})
    assert regenerate.stale(row)
    regenerate._DIGESTS.clear()
    row["weights"] = weights_digest(restorers.load_pipeline("resshift", "sr_x4", str(folder)))
    assert not regenerate.stale(row) and row["weights"] != before


def test_every_held_out_row_has_both_no_reference_metrics():
    """NIQE came after PIQE; ``regenerate --missing niqe`` re-measured the rows from before it, so the
    Leaderboard can rank every held-out row by either (the tau sweeps' cropped rows are another benchmark)."""
    for path in sorted(RESULTS_DIR.glob("*__heldout.csv")):
        rows = pd.read_csv(path)
        for metric in ("piqe", "niqe"):
            missing = rows.loc[rows[metric].isna(), ["method", "dataset", "nfe"]]
            assert missing.empty, f"{path.name}: no {metric} for {missing.to_dict('records')}"
