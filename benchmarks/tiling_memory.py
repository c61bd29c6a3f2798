"""Peak memory and time of a restoration against the output size, tiled (default) or in one pass.

    python benchmarks/tiling_memory.py --method resshift --task sr_x4 --sizes 512,1024,2048,3072
    python benchmarks/tiling_memory.py --sizes 512,1024 --untiled

Each size runs in a fresh process: the pipeline is loaded, the peak-RSS counter is reset (``/proc/self/clear_refs``),
one image is restored (a photo from the benchmark, resized so the *output* has the given side), and the script
prints the seconds, the number of network calls, and the peak resident memory above the loaded process.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def vm(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def one(method: str, task_id: str, size: int, tile_size: int | None, steps: int | None) -> dict:
    sys.path.insert(0, str(ROOT))
    import torch
    from PIL import Image

    import restorers
    from leaderboard.benchmarks import load_benchmark
    from leaderboard.cost import measure_run

    torch.set_num_threads(2)
    task = restorers.get_task(task_id)
    pipe = restorers.load_pipeline(method, task_id)
    _, hq = load_benchmark("heldout512", 1).items[0]
    lq_side = size // task.scale
    lq = task.degrade(hq).resize((lq_side, lq_side), Image.Resampling.BICUBIC)
    pipe(image=lq.crop((0, 0, 64, 64)), num_inference_steps=steps, generator=torch.Generator().manual_seed(0))
    loaded = vm("VmRSS")
    with open("/proc/self/clear_refs", "w") as handle:  # reset the peak (VmHWM) to the current RSS
        handle.write("5")
    start = time.perf_counter()
    with measure_run(pipe) as cost:
        pipe(image=lq, num_inference_steps=steps, generator=torch.Generator().manual_seed(0), tile_size=tile_size)
    return {"output": size, "lq": lq_side, "seconds": round(time.perf_counter() - start, 1), "network_calls": cost.nfe,
            "loaded_gib": round(loaded / 2**30, 2), "peak_above_loaded_gib": round((vm("VmHWM") - loaded) / 2**30, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="resshift")
    parser.add_argument("--task", default="sr_x4")
    parser.add_argument("--sizes", default="512,1024,2048,3072", help="output sides")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--untiled", action="store_true", help="force one pass (tile_size=0)")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    tile_size = 0 if args.untiled else None
    if args.one is not None:
        print(json.dumps(one(args.method, args.task, args.one, tile_size, args.steps)))
        return 0
    print(f"{args.method} {args.task} {'one pass' if args.untiled else 'tiled above 256x256 LQ (256 + 32 overlap)'}")
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--method", args.method, "--task", args.task, "--one", str(size)]
        command += ["--untiled"] if args.untiled else []
        command += ["--steps", str(args.steps)] if args.steps else []
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            print(f"{size}: failed: {result.stderr.strip()[-400:]}")
            continue
        row = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"output {row['output']}^2 (LQ {row['lq']}^2): {row['seconds']} s, {row['network_calls']} network calls, "
              f"peak {row['peak_above_loaded_gib']} GiB above the loaded process ({row['loaded_gib']} GiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
