"""Speed levers for the official-size ResShift (118.6 M-parameter UNet + f4 VQ autoencoder) on this CPU.

    python benchmarks/resshift_speed.py                 # 64x64 LQ -> 256x256, 4 steps, 3 interleaved rounds
    python benchmarks/resshift_speed.py --size 128 --rounds 5 --threads 2

Random weights in the official layout (the speed does not depend on their values). Each variant restores the
same LQ with the same seed; rounds are interleaved (A B C A B C ...) so that drift in the machine's load hits
every variant alike. Prints the median seconds, the ratio to the fp32 default and the largest output difference
from it. Figures, not assertions.

Not measured here: the official code itself (it is not vendored), so no "x times the official sampler" ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from diffusers import VQModel
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from restorers.resshift.pipeline import ResShiftPipeline
from restorers.resshift.presets import PRESETS
from restorers.resshift.scheduler import ResShiftScheduler
from restorers.resshift.unet import ResShiftUNet


def official_size_pipeline() -> ResShiftPipeline:
    torch.manual_seed(0)
    preset = PRESETS["realsr_v3"]
    pipe = ResShiftPipeline(unet=ResShiftUNet(**preset["unet"]).eval(), scheduler=ResShiftScheduler(**preset["scheduler"]),
                            vqvae=VQModel(**preset["vqvae"]).eval(), sf=4, latent_factor=4)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64, help="LQ side (the output is 4x)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile of the UNet and the VQ decoder (about 200 s to compile here)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    pipe = official_size_pipeline()
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8))

    def run() -> np.ndarray:
        return pipe(image=image, generator=torch.Generator().manual_seed(0), output_type="np", tile_size=0).images[0]

    def as_channels_last(enabled: bool) -> None:
        fmt = torch.channels_last if enabled else torch.contiguous_format
        pipe.unet.to(memory_format=fmt)
        pipe.vqvae.to(memory_format=fmt)

    variants = {
        "fp32 (default)": (False, nullcontext),
        "fp32 channels_last": (True, nullcontext),
        "bf16 autocast (opt-in)": (False, lambda: torch.autocast("cpu", dtype=torch.bfloat16)),
    }
    seconds = {name: [] for name in variants}
    outputs = {}
    as_channels_last(False)
    run()  # warm-up: allocator, kernels
    for _ in range(args.rounds):
        for name, (channels_last, context) in variants.items():
            as_channels_last(channels_last)
            with context():
                tick = time.perf_counter()
                outputs[name] = run()
                seconds[name].append(time.perf_counter() - tick)
    as_channels_last(False)
    if args.compile:  # last, alone: compiling replaces the forward methods for good
        eager_unet, eager_decode = pipe.unet.forward, pipe.vqvae.decode
        pipe.unet.forward, pipe.vqvae.decode = torch.compile(eager_unet), torch.compile(eager_decode)
        tick = time.perf_counter()
        run()
        print(f"torch.compile took {time.perf_counter() - tick:.0f} s (first call)")
        seconds["fp32 torch.compile"] = []
        for _ in range(args.rounds):
            tick = time.perf_counter()
            outputs["fp32 torch.compile"] = run()
            seconds["fp32 torch.compile"].append(time.perf_counter() - tick)
        variants["fp32 torch.compile"] = None

    base = statistics.median(seconds["fp32 (default)"])
    print(f"ResShift realsr_v3 size (UNet {sum(p.numel() for p in pipe.unet.parameters()):,} + VQ f4), "
          f"{args.size}x{args.size} -> {4 * args.size}x{4 * args.size}, 4 steps, {args.threads} threads, "
          f"{args.rounds} interleaved rounds")
    print(f"{'variant':<26} {'median s':>9} {'vs default':>11} {'max |diff|':>11}")
    for name in variants:
        median = statistics.median(seconds[name])
        diff = float(np.abs(outputs[name] - outputs["fp32 (default)"]).max())
        print(f"{name:<26} {median:>9.2f} {median / base:>10.2f}x {diff:>11.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
