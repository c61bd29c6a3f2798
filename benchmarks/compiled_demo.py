"""The demo's compiled ResShift path on a large photo: eager, first start (cold compile), and after a restart.

    python benchmarks/compiled_demo.py                    # a 480x480 photo -> 1920x1920 (4 tiles of 256)
    python benchmarks/compiled_demo.py --size 755x703     # the issue's photo size (12 tiles)

Each variant runs in its own fresh process, loading the pipeline exactly as the demo does
(``leaderboard.serving.get_pipeline``: channels-last weights, the 32x32 warm-up, and on the CPU
``enable_compile(tiles_only=True)``):

- ``eager``: ``RESTORERS_DEMO_COMPILE=0``;
- ``first start``: an empty Inductor cache folder;
- ``after a restart``: a new process on the cache the first start left, as the demo after a restart.

Each compiled process first compiles the tile shape as the app does at its start
(``RestorationPipeline.compile_tile_now``; timed apart), then restores the same photo twice (seed 0) and prints
both times. The ratio that matters for a visitor is the restarted process's *first* photo against the eager first
photo. The outputs of the compiled and eager runs are compared as well. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def photo(size: tuple[int, int]):
    """A held-out photograph resized to ``size`` (the content does not change the time, only the size)."""
    from PIL import Image

    source = sorted((ROOT / "assets" / "benchmarks" / "heldout").rglob("*.png"))[0]
    return Image.open(source).convert("RGB").resize(size, Image.BICUBIC)


def child(size: tuple[int, int], out: Path) -> None:
    """Load as the demo does, restore the photo twice, write the times and the output."""
    import numpy as np
    import torch

    import leaderboard  # noqa: F401  (sets the OpenMP spin before torch runs anything, as app.py does)
    from leaderboard import serving

    started = time.perf_counter()
    pipe = serving.get_pipeline(serving.choice_of("resshift", "sr_x4"), "sr_x4")
    load = time.perf_counter() - started
    start_compile = pipe.compile_tile_now()  # what the app does at its start (serving.compile_landing_pipeline)
    image, times = photo(size), []
    for _ in range(2):
        started = time.perf_counter()
        result = pipe(image=image, generator=torch.Generator().manual_seed(0), output_type="np").images[0]
        times.append(time.perf_counter() - started)
    np.save(out.with_suffix(".npy"), result)
    out.write_text(json.dumps({"load": load, "start_compile": start_compile, "times": times,
                               "compiled": hasattr(pipe.unet.forward, "eager")}))


def run_variant(name: str, size: tuple[int, int], env: dict, folder: Path) -> dict:
    out = folder / f"{name}.json"
    command = [sys.executable, __file__, "--child", str(out), "--size", f"{size[0]}x{size[1]}"]
    subprocess.run(command, env={**os.environ, **env}, check=True)
    record = json.loads(out.read_text())
    print(f"{name:>18}: load {record['load']:6.1f} s | compile at start {record['start_compile']:6.1f} s | "
          f"first photo {record['times'][0]:7.1f} s | "
          f"second {record['times'][1]:7.1f} s | compiled: {record['compiled']}", flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="480x480", help="the LQ photo, WxH (ResShift x4: the output is 4x)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    if args.child:
        child(size, Path(args.child))
        return
    import numpy as np

    print(f"ResShift x4 (embedded sr_x4) on a {size[0]}x{size[1]} photo -> {4 * size[0]}x{4 * size[1]}, "
          f"each variant in a fresh process")
    with tempfile.TemporaryDirectory() as scratch:
        folder, cache = Path(scratch), Path(scratch) / "inductor"
        eager = run_variant("eager", size, {"RESTORERS_DEMO_COMPILE": "0"}, folder)
        cold = run_variant("first start", size, {"RESTORERS_DEMO_COMPILE": "1", "TORCHINDUCTOR_CACHE_DIR": str(cache)},
                           folder)
        warm = run_variant("after a restart", size,
                           {"RESTORERS_DEMO_COMPILE": "1", "TORCHINDUCTOR_CACHE_DIR": str(cache)}, folder)
        difference = np.abs(np.load(folder / "eager.npy") - np.load(folder / "after a restart.npy")).max()
    print(f"compiling at the start: first start {cold['start_compile']:.1f} s, after a restart "
          f"{warm['start_compile']:.1f} s")
    print(f"after a restart, first photo / eager first photo: {warm['times'][0] / eager['times'][0]:.2f}x; "
          f"steady (second photos): {warm['times'][1] / eager['times'][1]:.2f}x; "
          f"first start's first photo: {cold['times'][0] / eager['times'][0]:.2f}x (compilation included)")
    print(f"largest output difference, compiled vs eager (outputs in [0, 1]): {difference:.2e}")


if __name__ == "__main__":
    main()
