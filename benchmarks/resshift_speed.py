"""ResShift's sampler against the official one, at the official model size, on this CPU.

    python benchmarks/resshift_speed.py                      # 64x64 LQ -> 256x256, 4 steps, 7 interleaved rounds
    python benchmarks/resshift_speed.py --size 128 --rounds 5 --fp64
    python benchmarks/resshift_speed.py --levers             # also channels_last and bf16 autocast

The official-size networks (realsr_v3: the 118.6 M-parameter Swin UNet + the f4 VQ autoencoder) with random
weights in the official layout: the speed does not depend on the values. Variants, timed interleaved (A B C A B C
...) so that drift in the machine's load hits each alike, same LQ and seed:

- ``official sampler``: the reference, ``tests/resshift_official_sampler.py``: the official 4-step loop written
  out from the fact sheet, calling the networks eagerly in fp32, as the official code does. The official code
  itself is not vendored (this project does not copy other repositories' code); our network modules are the
  official architecture under the official key names, and were measured at 0.97-1.07x the official modules' time.
- ``pipeline, eager``: ``ResShiftPipeline.__call__`` as the demo runs it.
- ``pipeline, compiled``: after ``pipe.enable_compile()`` (Inductor with frozen weights; compile time printed
  separately, not in the median).

Prints the median and best seconds and the ratio to the official sampler: the median over rounds of each round's
ratio (a round runs every variant back to back, so a slow spell of a shared machine hits both sides of a ratio),
and the ratio of the best times (the least disturbed run of each). Then the largest output difference from it (outputs
in [0, 1]). ``--fp64`` also runs the reference in float64 (the exact computation, the same noise) and prints each
fp32 variant's largest error against it: a faster path should be no less accurate than the official fp32.
It also prints where output differences come from: the largest difference in the latent x_0 handed to the VQ
decoder, and how many of its vectors snap to a different codebook entry than the reference's (one such change
moves the output by about 1e-4 with these random weights). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from diffusers import VQModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
sys.path.insert(0, str(ROOT / "tests"))  # the reference sampler lives beside the test that checks against it

from resshift_official_sampler import official_sample  # noqa: E402

from restorers.image_io import to_signed  # noqa: E402
from restorers.resshift.pipeline import ResShiftPipeline  # noqa: E402
from restorers.resshift.presets import PRESETS  # noqa: E402
from restorers.resshift.scheduler import ResShiftScheduler  # noqa: E402
from restorers.resshift.unet import ResShiftUNet  # noqa: E402


def official_size_pipeline() -> ResShiftPipeline:
    torch.manual_seed(0)
    preset = PRESETS["realsr_v3"]
    pipe = ResShiftPipeline(unet=ResShiftUNet(**preset["unet"]).eval(), scheduler=ResShiftScheduler(**preset["scheduler"]),
                            vqvae=VQModel(**preset["vqvae"]).eval(), sf=4, latent_factor=4)
    # diffusers starts the 8192 codebook vectors within 1/8192 of zero, so every latent lies within rounding of a
    # tie between entries and any fp32 reordering flips some of them. A trained codebook is spread like the
    # latents it quantizes (std 0.2-0.3 here): drawn so, differences show the arithmetic, not the ties.
    with torch.no_grad():
        pipe.vqvae.quantize.embedding.weight.normal_(0.0, 0.3)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def float64_reference(pipe: ResShiftPipeline, lq: torch.Tensor, seed: int) -> torch.Tensor:
    """The official computation in float64 with the fp32 run's noise (drawn in fp32, then widened)."""
    import restorers.nn.blocks as blocks
    import resshift_official_sampler as reference

    wide = copy.deepcopy(pipe).to(torch.float64)
    wide.disable_compile()
    draw, group_norm = torch.randn, blocks.GroupNorm32.forward
    reference.torch.randn = lambda shape, generator=None: draw(shape, generator=generator).double()
    blocks.GroupNorm32.forward = torch.nn.GroupNorm.forward  # GroupNorm32 computes in fp32 by design
    try:
        return official_sample(wide, lq.double(), seed).float()
    finally:
        reference.torch.randn, blocks.GroupNorm32.forward = draw, group_norm


def decoder_input(pipe: ResShiftPipeline, run) -> torch.Tensor:
    """The latent x_0 that ``run()`` hands to the VQ decoder (the recorder replaces whichever decode, eager or
    compiled, is current; the reference's ``eager()`` keeps the recorder)."""
    captured = {}
    previous = vars(pipe.vqvae).get("decode")
    current = pipe.vqvae.decode

    def recording(latents, *args, **kwargs):
        captured["latents"] = latents.detach().clone()
        return current(latents, *args, **kwargs)

    recording.eager = recording
    pipe.vqvae.decode = recording
    try:
        with torch.no_grad():
            run()
    finally:
        if previous is None:
            del pipe.vqvae.decode
        else:
            pipe.vqvae.decode = previous
    return captured["latents"].float()


def codebook_indices(pipe: ResShiftPipeline, latents: torch.Tensor) -> torch.Tensor:
    """The VQ entry each latent vector snaps to in ``decode`` (nearest codebook vector, as diffusers does)."""
    flat = latents.permute(0, 2, 3, 1).reshape(-1, latents.shape[1])
    return torch.cdist(flat, pipe.vqvae.quantize.embedding.weight.float()).argmin(dim=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64, help="LQ side (the output is 4x)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled variant (1-2 min to compile)")
    parser.add_argument("--levers", action="store_true", help="also time channels_last and bf16 autocast")
    parser.add_argument("--fp64", action="store_true", help="also measure each variant's error against float64")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    pipe = official_size_pipeline()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    lq = to_signed(torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255)
    seed = 0

    compiled: dict = {}

    def use_compiled(enabled: bool) -> None:
        for module in (pipe.unet, pipe.vqvae):
            for name in ("forward", "encode", "decode"):
                vars(module).pop(name, None)
        if enabled:
            for (module, name), function in compiled.items():
                setattr(module, name, function)

    def as_channels_last(enabled: bool) -> None:
        fmt = torch.channels_last if enabled else torch.contiguous_format
        pipe.unet.to(memory_format=fmt)
        pipe.vqvae.to(memory_format=fmt)

    def ours() -> torch.Tensor:
        with torch.no_grad():
            return pipe.restore_tensor((lq + 1) / 2, generator=torch.Generator().manual_seed(seed))  # takes [0, 1]

    variants = {"official sampler (reference)": (lambda: official_sample(pipe, lq, seed), False, False, nullcontext),
                "pipeline, eager": (ours, False, False, nullcontext)}
    if not args.no_compile:
        pipe.enable_compile()
        compiled = {(module, name): vars(module)[name] for module in (pipe.unet, pipe.vqvae)
                    for name in ("forward", "encode", "decode") if name in vars(module)}
        tick = time.perf_counter()
        ours()
        compile_seconds = time.perf_counter() - tick
        variants["pipeline, compiled"] = (ours, True, False, nullcontext)
        use_compiled(False)
    if args.levers:
        variants["pipeline, channels_last"] = (ours, False, True, nullcontext)
        variants["pipeline, bf16 autocast"] = (ours, False, False, lambda: torch.autocast("cpu", dtype=torch.bfloat16))

    seconds = {name: [] for name in variants}
    outputs = {}
    official_sample(pipe, lq, seed)  # warm-up: allocator, kernels
    for _ in range(args.rounds):
        for name, (run, use_compile, channels_last, context) in variants.items():
            use_compiled(use_compile)
            as_channels_last(channels_last)
            with context():
                tick = time.perf_counter()
                outputs[name] = run().float()
                seconds[name].append(time.perf_counter() - tick)
    # where the differences come from: the decoder snaps x_0 to its nearest codebook vector, so a latent within
    # rounding distance of the boundary between two entries takes the other one and moves the output by ~1e-4
    latents = {}
    for name, (run, use_compile, channels_last, context) in variants.items():
        use_compiled(use_compile)
        as_channels_last(channels_last)
        with context():
            latents[name] = decoder_input(pipe, run)
    use_compiled(False)
    as_channels_last(False)
    exact = float64_reference(pipe, lq, seed) if args.fp64 else None

    reference = "official sampler (reference)"
    print(f"ResShift realsr_v3 size (UNet {sum(p.numel() for p in pipe.unet.parameters()):,} + VQ f4), "
          f"{args.size}x{args.size} -> {4 * args.size}x{4 * args.size}, 4 steps, {args.threads} threads, "
          f"{args.rounds} interleaved rounds, fp32")
    if "pipeline, compiled" in variants:
        print(f"compiling took {compile_seconds:.0f} s (first call, once per input shape; not in the medians)")
    header = (f"{'variant':<30} {'median s':>9} {'best s':>7} {'vs official':>12} {'best vs best':>13} "
              f"{'max |diff|':>11} {'x_0 max |diff|':>15} "
              f"{'VQ entries changed':>19}")
    print(header + (f" {'max |err| vs fp64':>18}" if exact is not None else ""))
    codes = {name: codebook_indices(pipe, value) for name, value in latents.items()}
    for name in variants:
        median, best = statistics.median(seconds[name]), min(seconds[name])
        ratio = statistics.median(mine / theirs for mine, theirs in zip(seconds[name], seconds[reference]))
        best_ratio = best / min(seconds[reference])
        diff = float((outputs[name] - outputs[reference]).abs().max())
        latent_diff = float((latents[name] - latents[reference]).abs().max())
        changed = f"{int((codes[name] != codes[reference]).sum())} of {codes[name].numel()}"
        line = (f"{name:<30} {median:>9.2f} {best:>7.2f} {ratio:>11.2f}x {best_ratio:>12.2f}x {diff:>11.2e} "
                f"{latent_diff:>15.2e} {changed:>19}")
        if exact is not None:
            line += f" {float((outputs[name] - exact).abs().max()):>18.2e}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
