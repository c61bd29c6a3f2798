"""Speed and memory benchmark: seconds per image and peak memory, per method, size and step count.

    python -m leaderboard.speed --methods resshift,bicubic --task sr_x4 --sizes 64,128 --nfe 1,4 --repeats 5

Prints a table (median and min of ``--repeats`` timed calls after one warm-up call). Peak memory is the
process's peak resident set size (CPU) or ``torch.cuda.max_memory_allocated`` (GPU) after the runs of a
configuration; on CPU it is a high-water mark of the whole process, so read it as an upper bound.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import diffusers
import numpy as np
import torch
from PIL import Image

import restorers

from .cost import NFECounter, count_flops
from .device import device_name
from .sweep import parse_int_list


def noise_image(size: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="resshift,bicubic")
    parser.add_argument("--task", default="sr_x4")
    parser.add_argument("--sizes", type=parse_int_list, default=[64], help="LQ side lengths")
    parser.add_argument("--nfe", type=parse_int_list, default=None, help="step counts (default: the method's)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)
    diffusers.utils.logging.disable_progress_bar()

    print(f"device: {device_name(args.device)}, torch {torch.__version__}")
    print(f"{'method':<10} {'LQ':>9} {'steps':>5} {'NFE':>4} {'TFLOPs':>9} {'median s':>9} {'min s':>8} "
          f"{'img/s':>7} {'peak MB':>8}")
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        spec = restorers.get_method(method)
        pipe = restorers.load_pipeline(method, args.task, args.checkpoint if spec.has_steps else None, args.device)
        for size in args.sizes:
            image = noise_image(size)
            for steps in (args.nfe or [None]) if spec.has_steps else [None]:
                run = lambda: pipe(image=image, num_inference_steps=steps,  # noqa: E731
                                   generator=torch.Generator().manual_seed(0))
                run()  # warm-up
                times = []
                with NFECounter(pipe) as counter:
                    for _ in range(args.repeats):
                        if args.device.startswith("cuda"):
                            torch.cuda.synchronize()
                        start = time.perf_counter()
                        run()
                        if args.device.startswith("cuda"):
                            torch.cuda.synchronize()
                        times.append(time.perf_counter() - start)
                flops = count_flops(pipe, size, size, steps)
                median = statistics.median(times)
                print(f"{method:<10} {f'{size}x{size}':>9} {str(steps or '-'):>5} {counter.count // args.repeats:>4} "
                      f"{flops.total / 1e12:>9.4f} {median:>9.3f} {min(times):>8.3f} {1 / median:>7.2f} "
                      f"{peak_memory_mb(args.device):>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
