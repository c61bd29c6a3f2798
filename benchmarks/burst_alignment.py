"""How far the burst network's alignment is from the truth, on the held-out bursts.

    python benchmarks/burst_alignment.py            # the 34 held-out photos at 256x256, seeded as the benchmark

Each photo's burst is synthesised as the task does (``restorers.degradations.synthetic_burst``), which also gives
each frame's true hand-shake; OpenCV's estimate (``restorers.burst.alignment.global_motion``) is compared with it
at the photo's centre, in HQ pixels. Figures, not assertions (tests/test_burst.py asserts a bound on two photos).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import restorers  # noqa: E402
from leaderboard.benchmarks import load_benchmark  # noqa: E402
from restorers.burst.alignment import global_motion, in_hq_pixels  # noqa: E402
from restorers.tasks import _seed as pixel_seed  # noqa: E402  # the seed the task draws a photo's burst from


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="the first N held-out photos (default: all)")
    args = parser.parse_args()
    task = restorers.get_task("burst_jddsr")
    degradation = task.degradation
    errors, shakes, seconds = [], [], []
    for _, photo in load_benchmark(None, args.limit).items:
        hq = np.asarray(task.modcrop(photo))
        frames, truth = degradation.frames_and_motion(hq, np.random.default_rng(pixel_seed(hq, None)))
        frames = np.round(frames * 65535.0) / 65535.0
        started = time.perf_counter()
        warps = global_motion(frames)
        seconds.append(time.perf_counter() - started)
        centre = np.array([(hq.shape[1] - 1) / 2, (hq.shape[0] - 1) / 2, 1.0])
        for warp, matrix in zip(warps[1:], truth[1:]):
            errors.append(np.linalg.norm(in_hq_pixels(warp, degradation.factor) @ centre - matrix @ centre))
            shakes.append(np.linalg.norm(matrix @ centre - centre[:2]))
    errors = np.array(errors)
    print(f"{len(seconds)} bursts, {len(errors)} moved frames; shake at the centre: mean {np.mean(shakes):.2f} HQ px")
    print(f"alignment error at the centre (HQ px): mean {errors.mean():.3f}, median {np.median(errors):.3f}, "
          f"95th percentile {np.percentile(errors, 95):.3f}, max {errors.max():.3f}; "
          f"frames off by more than 1 px: {int((errors > 1).sum())}")
    print(f"seconds per burst: {np.mean(seconds):.3f}")


if __name__ == "__main__":
    main()
