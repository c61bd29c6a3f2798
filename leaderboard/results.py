"""One results schema for every row, measured or reported, stored as CSV (or JSON lines)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from restorers.registry import ASSETS

from .metrics import METRICS, REPORTED_ONLY

RESULTS_DIR = ASSETS / "results"
KEY = ["method", "checkpoint", "task", "dataset", "nfe", "tau"]  # tau: DP-IR's start step (empty for others)
SIZES = {"256": (256, 256), "720p": (1280, 720)}  # input sizes every row is also costed at (DP-IR's Table 9: 720p)
SIZE_COST_COLUMNS = [f"tflops_{size}{part}" for size in SIZES for part in ("", "_base", "_per_nfe")]
# how a row's metrics were computed: rows are ranked together only when these agree
PROTOCOL = ["psnr_channels", "crop_border", "lpips_backbone"]
COLUMNS = (KEY + ["steps", "sampler", "nfe_detail", "n_images", "lq_size", "tflops", "tflops_base", "tflops_per_nfe",
                  *SIZE_COST_COLUMNS, "params", "seconds_per_image", "device", "threads", "processes"]
           + list(METRICS) + list(REPORTED_ONLY) + PROTOCOL
           + ["source", "weights", "code_version", "time", "citation", "notes"])


# counts: written as whole numbers even where a column also has empty cells (pandas would write "4.0")
INTEGER_COLUMNS = ["nfe", "tau", "steps", "n_images", "params", "threads", "processes"]


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    frame = pd.read_json(path, lines=True) if path.suffix == ".jsonl" else pd.read_csv(path)
    return frame.reindex(columns=COLUMNS)


REPORTED_FILE = Path(__file__).parent / "reported.csv"


def load_all(directory: str | os.PathLike = RESULTS_DIR, reported: bool = True) -> pd.DataFrame:
    """Every results file in ``directory`` (and the papers' reported rows), one frame."""
    directory = Path(directory)
    files = sorted(f for pattern in ("*.csv", "*.jsonl") for f in directory.glob(pattern)
                   if ".partial-" not in f.name) if directory.is_dir() else []  # not an unfinished sweep's scores
    if reported and REPORTED_FILE.exists():
        files.append(REPORTED_FILE)
    frames = [read_results(f) for f in files]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)


def write_results(rows: list[dict], path: str | os.PathLike) -> pd.DataFrame:
    """Merge ``rows`` into ``path`` (same key -> replaced) and write atomically."""
    path = Path(path)
    new = pd.DataFrame(rows).reindex(columns=COLUMNS)
    if path.exists():
        old = read_results(path)
        merged = pd.concat([old, new], ignore_index=True)
        merged = merged.drop_duplicates(subset=KEY, keep="last")
    else:
        merged = new
    merged = merged.sort_values(["task", "dataset", "method", "nfe"], kind="stable").reset_index(drop=True)
    for column in INTEGER_COLUMNS:
        numbers = pd.to_numeric(merged[column], errors="coerce")
        if numbers.notna().sum() == merged[column].notna().sum() and (numbers.dropna() % 1 == 0).all():
            merged[column] = numbers.astype("Int64")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix + ".tmp")
    os.close(handle)
    try:
        if path.suffix == ".jsonl":
            merged.to_json(tmp, orient="records", lines=True)
        else:
            merged.to_csv(tmp, index=False, float_format="%.6g")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return merged
