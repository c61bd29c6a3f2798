"""Results as a ``datasets.Dataset``: exported to disk or the Hub, and read back by the Leaderboard tab.

    python -m leaderboard.results_dataset export runs/results_ds          # save_to_disk (every shipped row)
    python -m leaderboard.results_dataset export user/restoration-results --push --token hf_...   # push_to_hub

A sweep on a cluster writes CSV files; this turns any folder of them into one dataset that travels (a Hub dataset
id, a folder), and the tab reads one back: "Results from" takes a folder of CSV files, a saved dataset, or a Hub
dataset id. Every column of the results schema is kept, as strings and floats (empty cells as None).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from .results import COLUMNS, RESULTS_DIR, load_all

TEXT_COLUMNS = ["method", "checkpoint", "task", "dataset", "sampler", "nfe_detail", "lq_size", "device",
                "psnr_channels", "lpips_backbone", "source", "weights", "code_version", "time", "citation", "notes",
                "steps"]


class ResultsSourceError(ValueError):
    """A results source that cannot be read, in one sentence."""


def to_dataset(frame: pd.DataFrame):
    from datasets import Dataset, Features, Value

    frame = frame.reindex(columns=COLUMNS)
    features = Features({c: Value("string" if c in TEXT_COLUMNS else "float64") for c in COLUMNS})
    data = {c: [None if pd.isna(v) else (str(v) if c in TEXT_COLUMNS else float(v)) for v in frame[c]]
            for c in COLUMNS}
    return Dataset.from_dict(data, features=features)


def export(frame: pd.DataFrame, target: str, push: bool = False, token: str | None = None) -> str:
    """``save_to_disk(target)``, or ``push_to_hub(target)`` when asked with a token (a private repo's too)."""
    dataset = to_dataset(frame)
    if push:
        token = token or os.environ.get("HF_TOKEN")
        if not token:
            raise ResultsSourceError("pushing to the Hub needs a token (--token or $HF_TOKEN)")
        dataset.push_to_hub(target, token=token)
        return f"pushed {len(dataset)} rows to the Hub dataset {target}"
    dataset.save_to_disk(target)
    return f"saved {len(dataset)} rows to {target}"


def from_dataset(dataset) -> pd.DataFrame:
    return dataset.to_pandas().reindex(columns=COLUMNS).replace({None: float("nan")}).infer_objects()


def load_results(source: str | None) -> pd.DataFrame:
    """The rows of ``source``: empty for the shipped results (with the papers' rows), a folder of results files,
    a folder a ``Dataset`` was saved to, or a Hub dataset id (split ``train``; needs a network)."""
    if not source or not source.strip():
        return load_all(RESULTS_DIR)
    source = source.strip()
    path = Path(source)
    if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "state.json").exists()):
        from datasets import load_from_disk

        return from_dataset(load_from_disk(str(path)))
    if path.is_dir():
        frame = load_all(path, reported=False)
        if frame.empty:
            raise ResultsSourceError(f"the folder {path.name} holds no results files (.csv or .jsonl)")
        return frame
    if path.exists() or source.count("/") != 1:
        raise ResultsSourceError(f"{source!r} is neither a results folder, a saved dataset, nor a Hub dataset id "
                                 "(owner/name)")
    try:
        from datasets import load_dataset

        return from_dataset(load_dataset(source, split="train"))
    except Exception as err:  # offline, unknown id, private without a token: one sentence, no traceback
        reason = type(err).__name__
        raise ResultsSourceError(f"the Hub dataset {source} could not be loaded ({reason}); this server may be "
                                 "offline, or the id may be wrong or private") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("export", help="write results as a datasets.Dataset")
    out.add_argument("target", help="a folder (save_to_disk) or, with --push, a Hub dataset id")
    out.add_argument("--results", default=str(RESULTS_DIR), help="folder of results files (default: shipped)")
    out.add_argument("--push", action="store_true", help="push_to_hub instead of save_to_disk")
    out.add_argument("--token", default=None, help="Hub token (default: $HF_TOKEN)")
    args = parser.parse_args(argv)
    try:
        print(export(load_all(args.results, reported=False), args.target, args.push, args.token))
    except ResultsSourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
