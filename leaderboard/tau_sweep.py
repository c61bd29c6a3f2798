"""DP-IR's central claim, measured: accelerated start at several tau against conventional sampling from T.

    python -m leaderboard.tau_sweep --task sr_x4 --limit 4 --crop 96
    python -m leaderboard.tau_sweep --task deblur --limit 4 --crop 96
    python -m leaderboard.tau_sweep --task burst_jddsr --limit 34 --crop 0

One results row per configuration (``assets/results/<task>__tau_sweep.csv``; with ``--crop 0`` on the built-in
benchmark, ``<task>__heldout.csv``, the model cards' file), all from the same embedded checkpoint (the same IR network, denoiser and fusion net), seed i for image i:

* ``dpir`` DDPM from the jump at each tau in the task's grid (tau + 1 NFE);
* ``dpir`` DDIM from the checkpoint's default tau at several step counts;
* ``ddpm``: the same conditional model from x_T ~ N(0, I), DDIM at several step counts and full DDPM
  (T = 1000 steps, 1001 NFE: the reference the paper's ">= 4x fewer NFE" is measured against);
* the IR network alone (``regression``, 1 NFE) and the task's trivial baseline.

The full 1000-step sampler is what makes this expensive on a CPU; ``--limit`` and ``--crop`` (a centre crop of
each held-out photo, recorded in the dataset name) keep it to minutes. The leaderboard plots these rows with
one line per sampler family.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import diffusers

from restorers.registry import get_method

from .results import RESULTS_DIR
from .sweep import run_sweep

GRIDS = {  # DDIM after the jump runs from the checkpoint's default tau
    "sr_x4": {"taus": [5, 10, 25, 50, 100, 250], "ddim_steps": [1, 2, 5, 10],
              "from_t_steps": [10, 25, 50, 100], "baseline": "bicubic"},
    "deblur": {"taus": [2, 5, 10, 25, 50, 100], "ddim_steps": [1, 2, 5],
               "from_t_steps": [5, 10, 25, 50, 100], "baseline": None},
    # no conventional sampler from x_T here: the ``ddpm`` method serves image tasks only
    "burst_jddsr": {"taus": [2, 5, 10, 25], "ddim_steps": [1, 2], "from_t_steps": [], "baseline": "burst_naive"},
}
TOTAL_STEPS = 1000


def default_tau(task: str) -> int:
    import json

    from restorers.registry import default_checkpoint

    config = default_checkpoint("dpir", task) / "scheduler" / "scheduler_config.json"
    return int(json.loads(config.read_text())["tau"])


def grid_jobs(task: str, full: bool = True) -> list[tuple]:
    grid = GRIDS[task]
    tau = default_tau(task)
    jobs = [("dpir", t, t) for t in grid["taus"]]
    jobs += [("dpir", steps, tau) for steps in grid["ddim_steps"] if steps < tau]
    jobs += [("ddpm", steps, None) for steps in grid["from_t_steps"]]
    if full and task in get_method("ddpm").tasks:
        jobs.append(("ddpm", TOTAL_STEPS, None))
    jobs.append(("regression", None, None))
    if grid["baseline"]:
        jobs.append((grid["baseline"], None, None))
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="sr_x4", choices=sorted(GRIDS))
    parser.add_argument("--limit", type=int, default=4, help="the first N held-out photos")
    parser.add_argument("--crop", type=int, default=96, help="centre crop of each photo (0: the whole photo)")
    parser.add_argument("--no-full", action="store_true", help="skip the 1000-step DDPM reference")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    diffusers.utils.logging.disable_progress_bar()
    # uncropped on the built-in benchmark, the rows are the held-out table's own: one file, so that a configuration
    # the model cards also measure is one row (run the cards after the sweep: their rows replace the sweep's)
    own_table = not args.crop and not args.dataset
    out = Path(args.out) if args.out else RESULTS_DIR / f"{args.task}__{'heldout' if own_table else 'tau_sweep'}.csv"
    rows = run_sweep([], args.task, None, args.dataset, args.limit, out, jobs=grid_jobs(args.task, not args.no_full),
                     crop=args.crop or None)
    for row in rows:
        print(f"{row['method']:>10} tau={row['tau'] if row['tau'] is not None else '-':>5} {row['sampler']:>4} "
              f"NFE={row['nfe']:>5}  PSNR-Y {row['psnr_y']:.2f}  SSIM-Y {row['ssim_y']:.4f}  "
              f"LPIPS {row['lpips'] if row['lpips'] is None else round(row['lpips'], 4)}  "
              f"{row['seconds_per_image']:.2f} s/img")
    print(f"wrote {len(rows)} rows to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
