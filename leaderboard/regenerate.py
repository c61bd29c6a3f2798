"""Re-measure shipped results rows with the code and weights of now: what a changed checkpoint calls for.

    python -m leaderboard.regenerate                      # every stale row of every file in assets/results
    python -m leaderboard.regenerate --all FILE [FILE]    # every row of these files
    python -m leaderboard.regenerate --missing niqe FILE  # also the rows measured before a metric existed

A row is stale when it names no weights digest, or one that is not its checkpoint's any more (the code version
is recorded in every row, not enforced: most commits do not change a number). Rows are grouped back into the sweeps that made them (benchmark, crop,
hole bin, checkpoint, image count) and re-run by the sweep itself, with the sweep's seeds. A row whose
checkpoint is not shipped cannot be re-measured: it is named, and left as it is unless ``--drop-unshipped``.
Model cards measure their own rows (``python -m leaderboard.cards``); run them first and this fills the rest.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import diffusers
import pandas as pd

import restorers
from restorers.registry import CHECKPOINTS, get_method

from .provenance import weights_digest
from .results import COLUMNS, RESULTS_DIR, read_results, write_results
from .sweep import run_sweep

DATASET = re.compile(r"^(?P<bench>[^:]+?)(?:-crop(?P<crop>\d+))?(?::(?P<variant>.+))?$")


def checkpoint_path(label: str) -> str | None:
    """The folder a row's checkpoint label names (None: a method without weights or its default)."""
    if label == "none":
        return None
    if label.startswith("embedded:"):
        folder = CHECKPOINTS / label.removeprefix("embedded:")
        if not folder.is_dir():
            raise FileNotFoundError(f"{label} is not shipped")
        return str(folder)
    if Path(label).is_dir():
        return label
    raise FileNotFoundError(f"{label} is not shipped")


_PIPES: dict[tuple, object] = {}
_DIGESTS: dict[tuple, str] = {}


def pipeline(method: str, task: str, folder: str | None):
    key = (method, task, folder)
    if key not in _PIPES:
        _PIPES.clear()  # one at a time: they are large
        _PIPES[key] = restorers.load_pipeline(method, task, folder if get_method(method).has_steps else None)
    return _PIPES[key]


def job_of(row, folder: str | None) -> tuple:
    """The sweep job that made ``row``; a step count the method no longer takes (a row written when it took
    more) becomes its default, which is what its NFE shows it ran."""
    steps = None if pd.isna(row.steps) or row.steps == "" else int(float(row.steps))
    limits = pipeline(row.method, row.task, folder).step_limits()
    if steps is not None and (limits is None or steps > limits[0]):
        steps = None
    tau = int(row.tau) if get_method(row.method).sweeps_start_step and not pd.isna(row.tau) else None
    return row.method, steps, tau


def current_digest(method: str, task: str, folder: str | None) -> str:
    key = (method, task, folder)
    if key not in _DIGESTS:
        _DIGESTS[key] = weights_digest(pipeline(method, task, folder))
    return _DIGESTS[key]


def stale(row) -> bool:
    if pd.isna(row.weights):
        return True
    return row.weights != current_digest(row.method, row.task, checkpoint_path(row.checkpoint))


def regenerate(path: Path, everything: bool = False, drop_unshipped: bool = False, missing: str | None = None) -> int:
    frame = read_results(path)
    measured = frame[frame["source"] == "measured"]
    groups: dict[tuple, list] = defaultdict(list)
    unshipped = []
    for row in measured.itertuples():
        try:
            folder = checkpoint_path(row.checkpoint)
        except FileNotFoundError:
            unshipped.append(row.Index)
            continue
        if everything or stale(row) or (missing is not None and pd.isna(getattr(row, missing))):
            parts = DATASET.match(row.dataset)
            crop = int(parts["crop"]) if parts["crop"] else None
            groups[(row.task, parts["bench"], crop, parts["variant"], folder, int(row.n_images))].append(job_of(row, folder))
    if unshipped:
        names = sorted(set(frame.loc[unshipped, "checkpoint"]))
        print(f"{path.name}: {len(unshipped)} rows name checkpoints that are not shipped ({', '.join(names)})"
              + ("; dropped" if drop_unshipped else "; left as they are"))
        if drop_unshipped:
            kept = frame.drop(index=unshipped)
            path.unlink()
            if not kept.empty:
                write_results(kept.to_dict("records"), path)
    count = 0
    for (task, bench, crop, variant, folder, limit), jobs in groups.items():
        print(f"{path.name}: {task} {bench} crop={crop} variant={variant} checkpoint={folder}: {len(jobs)} rows")
        rows = run_sweep([], task, None, bench, limit, path, folder, jobs=jobs, crop=crop, variant=variant)
        count += len(rows)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="re-measure every row, stale or not")
    parser.add_argument("--drop-unshipped", action="store_true",
                        help="remove rows whose checkpoint is not shipped (they cannot be re-measured)")
    parser.add_argument("--missing", metavar="METRIC", default=None,
                        help="also re-measure rows with no value for METRIC (measured before it was computed)")
    args = parser.parse_args(argv)
    if args.missing is not None and args.missing not in COLUMNS:
        parser.error(f"--missing: {args.missing} is not a results column")
    diffusers.utils.logging.disable_progress_bar()
    files = args.files or sorted(RESULTS_DIR.glob("*.csv"))
    total = sum(regenerate(f, args.all, args.drop_unshipped, args.missing) for f in files)
    print(f"re-measured {total} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())

