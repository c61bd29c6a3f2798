"""One results schema for every row, measured or reported, stored as CSV (or JSON lines)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from restorers.registry import ASSETS

from .metrics import METRICS

RESULTS_DIR = ASSETS / "results"
KEY = ["method", "checkpoint", "task", "dataset", "nfe", "tau"]  # tau: DP-IR's start step (empty for others)
COLUMNS = (KEY + ["steps", "sampler", "nfe_detail", "n_images", "lq_size", "tflops", "tflops_base", "tflops_per_nfe", "params",
                  "seconds_per_image", "device"]
           + list(METRICS) + ["source", "code_version", "time", "notes"])


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


def load_all(directory: str | os.PathLike = RESULTS_DIR) -> pd.DataFrame:
    """Every results file in ``directory`` (and the reported rows), one frame."""
    directory = Path(directory)
    files = sorted(list(directory.glob("*.csv")) + list(directory.glob("*.jsonl"))) if directory.is_dir() else []
    reported = Path(__file__).parent / "reported.csv"
    if reported.exists():
        files.append(reported)
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
