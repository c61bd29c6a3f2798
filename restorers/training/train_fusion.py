"""Train DP-IR's per-task Fusion network with the IR network and the denoiser frozen, and export the pipeline.

    python -m restorers.training.train_fusion --task sr_x4 --run-dir runs/dpir-sr_x4 \
        --out assets/checkpoints/dpir-sr_x4 --steps 800 --minutes 45 --threads 1
    python -m restorers.training.train_fusion --task deblur --run-dir runs/dpir-deblur \
        --out assets/checkpoints/dpir-deblur --steps 800 --minutes 45 --threads 1
    python -m restorers.training.train_fusion --task realsr_x4 --ir-package realesrgan-x4plus --cache-crops 1200 \
        --lpips-weight 1 --tau 50 --tau-max 50 --default-steps 1 --run-dir runs/dpir-realsr_x4 \
        --out assets/checkpoints/dpir-realsr_x4 --steps 1200 --minutes 25
    python -m restorers.training.train_fusion --task burst_jddsr --tau 5 --tau-max 5 --lpips-weight 1 \
        --start-fraction 0.5 --run-dir runs/dpir-burst_jddsr --out assets/checkpoints/dpir-burst_jddsr

Each step (eq. 6 of the paper, with phi = phi_F(phi_IR(y), phi_D(x_t / sqrt(abar_t), sigma_t), t)):
y and x_0 come from the corpus through the task's degradation; t is uniform in [1, tau_max] for most of the batch
and uniform in [1, T] for the rest (the paper does not state the range; the accelerated sampler only needs
t <= tau, the conventional ``ddpm`` baseline needs all of them); x_t ~ q(x_t | x_0); the loss is the MSE of
phi to x_0. Only the fusion net learns. The exported folder holds all four components, ready for
``restorers.load_pipeline("dpir", task)``; ``--tau`` and ``--default-steps`` are written into it as the defaults.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import load_pipeline
from ..dpir.denoiser import PreconditionedDenoiser
from ..dpir.denoiser_loading import load_denoiser
from ..dpir.fusion import FusionNet
from ..dpir.scheduler import DPIRScheduler
from ..nn.spandrel_network import SpandrelNetwork
from ..registry import CHECKPOINTS, get_method
from ..linked_components import link_duplicates
from .loop import add_training_arguments, initialise_from, train, perceptual_loss
from .checkpointing import store_half, strip_source_paths
from .ir_cache import CachedIRPairs
from .pairs import task_pairs

EMBEDDED_CONFIG = dict(num_features=32, growth=16, time_dim=32, ir_skip=True)
# --fold 4: the paper's full layout (0.73 M parameters) on 4 x 4 pixel blocks, i.e. at the LQ's resolution on x4
FOLDED_CONFIG = dict(num_features=64, growth=32, time_dim=64, ir_skip=True)
FULL_RANGE_FRACTION = 0.3


def sample_timesteps(batch: int, generator: torch.Generator, tau_max: int, total: int) -> torch.Tensor:
    low = torch.randint(1, tau_max + 1, (batch,), generator=generator)
    full = torch.randint(1, total + 1, (batch,), generator=generator)
    return torch.where(torch.rand(batch, generator=generator) < FULL_RANGE_FRACTION, full, low)


def block_pattern_loss(estimate: torch.Tensor, hq: torch.Tensor, fold: int, window: int = 8) -> torch.Tensor:
    """Mean square of the part of the error that repeats with the fold's period.

    A folded fusion net writes each f x f block from its own output channels, so it can paint a pattern that
    repeats every f pixels; LPIPS-Alex rewards such a dither on flat areas (seen as a 4x4 checkerboard on a sky).
    A natural image's error is not locked to the block grid: averaged per position in the block over
    ``window`` x ``window`` blocks, the 16 positions agree, so what differs between them is the pattern.
    """
    error = F.pixel_unshuffle(estimate - hq, fold)  # (B, 3 f^2, h, w): channel c f^2 + position in the block
    local = F.avg_pool2d(error, min(window, error.shape[-2], error.shape[-1]))
    local = local.unflatten(1, (-1, fold * fold))
    return (local - local.mean(dim=2, keepdim=True)).pow(2).mean()


# BT.601 chroma (Cb, Cr) of an RGB image in [0, 1], without the offsets (an error has none)
CHROMA = torch.tensor([[-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def chroma_error(estimate: torch.Tensor, hq: torch.Tensor) -> torch.Tensor:
    """Mean square of the error's colour part. LPIPS-Alex also rewards coloured speckle where the HQ has detail
    the estimate lacks (seen as a blue-white halo around thin cables); true detail is mostly brightness."""
    return torch.einsum("kc,bchw->bkhw", CHROMA.to(estimate), estimate - hq).pow(2).mean()


def fusion_loss(fusion: FusionNet, ir_estimate: torch.Tensor, denoiser: PreconditionedDenoiser, scheduler: DPIRScheduler,
                hq: torch.Tensor, generator: torch.Generator, tau_max: int, perceptual: torch.nn.Module | None = None,
                perceptual_weight: float = 0.0, start_fraction: float = 0.0,
                pattern_weight: float = 0.0, chroma_weight: float = 0.0) -> torch.Tensor:
    """MSE of phi_F(x_IR, phi_D(x_t / sqrt(abar_t), sigma_t), t) to x_0 (+ ``perceptual_weight`` x LPIPS).

    ``start_fraction`` of the batch is not drawn from q(x_t | x_0) but is the sampler's own first state: t = tau
    and x_tau = the accelerated start from x_IR (eq. 11), exactly what the first sampling step sees. The paper
    trains on q(x_t | x_0) only, where x_t carries the true x_0; at tau it carries the IR estimate instead.
    """
    batch = hq.shape[0]
    t = sample_timesteps(batch, generator, tau_max, scheduler.config.num_train_timesteps)
    at_start = torch.rand(batch, generator=generator) < start_fraction
    with torch.no_grad():
        x_t = scheduler.add_noise(hq, torch.randn(hq.shape, generator=generator), t)
        if at_start.any():
            tau = int(scheduler.config.tau)
            t = torch.where(at_start, torch.full_like(t, tau), t)
            start = scheduler.accelerated_start(ir_estimate, tau, generator=generator)
            x_t = torch.where(at_start.view(-1, 1, 1, 1), start, x_t)
        abar = torch.as_tensor(scheduler.alphas_cumprod, dtype=torch.float64)[t].float().view(-1, 1, 1, 1)
        denoised = denoiser(x_t / abar.sqrt(), scheduler.sigma_tilde(t))
    estimate = fusion(ir_estimate, denoised, t)
    loss = F.mse_loss(estimate, hq)
    if perceptual is not None and perceptual_weight:
        loss = loss + perceptual_weight * perceptual(estimate.clamp(0, 1) * 2 - 1, hq * 2 - 1).mean()
    if pattern_weight:
        loss = loss + pattern_weight * block_pattern_loss(estimate, hq, fusion.config.fold)
    if chroma_weight:
        loss = loss + chroma_weight * chroma_error(estimate, hq)
    return loss


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, steps=800, batch=8, crop=128, lr=5e-4, warmup=50)
    parser.add_argument("--task", default="sr_x4", choices=["sr_x4", "realsr_x4", "deblur", "burst_jddsr"])
    parser.add_argument("--denoiser", default=str(CHECKPOINTS / "dpir-denoiser"), help="exported denoiser folder")
    parser.add_argument("--ir-network", default=None,
                        help="exported regression folder (default: the embedded regression-<task>)")
    parser.add_argument("--ir-package", default=None,
                        help="a pretrained network from a package file instead (e.g. realesrgan-x4plus); the export "
                             "names it and does not copy its weights")
    parser.add_argument("--cache-crops", type=int, default=0,
                        help="compute the IR network's answer once for this many crops and train on those "
                             "(0: fresh crops every step)")
    parser.add_argument("--lpips-weight", type=float, default=0.0, help="add this x LPIPS-Alex of the fused estimate")
    parser.add_argument("--pattern-weight", type=float, default=0.0,
                        help="add this x the mean square of the error's part that repeats with the fold's period "
                             "(keeps a folded net from painting a block pattern for LPIPS)")
    parser.add_argument("--chroma-weight", type=float, default=0.0,
                        help="add this x the mean square of the error's colour (BT.601 Cb, Cr)")
    parser.add_argument("--tau-max", type=int, default=250, help="most of the training t are in [1, tau_max]")
    parser.add_argument("--tau", type=int, default=250, help="the exported pipeline's default tau")
    parser.add_argument("--start-fraction", type=float, default=0.0,
                        help="this fraction of each batch is the sampler's own start x_tau from the IR estimate")
    parser.add_argument("--fold", type=int, default=1,
                        help="run the fusion net on f x f pixel blocks (4: the paper's 0.73 M layout at the LQ's "
                             "resolution; 1: the 32-feature net at the HQ's)")
    parser.add_argument("--default-steps", type=int, default=None,
                        help="the exported pipeline's default steps after the jump (fewer than tau: DDIM)")
    args = parser.parse_args(argv)
    if args.pattern_weight and args.fold == 1:
        parser.error("--pattern-weight needs --fold above 1: an unfolded net has no block period to repeat")
    scale, degrade = task_pairs(args.task)
    args.trainer = "restorers.training.train_fusion"
    args.trainer_args = " ".join(
        [f"--task {args.task} --tau-max {args.tau_max} --tau {args.tau}"]
        + ([f"--default-steps {args.default_steps}"] if args.default_steps else [])
        + ([f"--ir-package {args.ir_package}"] if args.ir_package else [])
        + ([f"--cache-crops {args.cache_crops}"] if args.cache_crops else [])
        + ([f"--lpips-weight {args.lpips_weight:g}"] if args.lpips_weight else [])
        + ([f"--start-fraction {args.start_fraction:g}"] if args.start_fraction else [])
        + ([f"--pattern-weight {args.pattern_weight:g}"] if args.pattern_weight else [])
        + ([f"--chroma-weight {args.chroma_weight:g}"] if args.chroma_weight else [])
        + ([f"--fold {args.fold}"] if args.fold > 1 else []))

    if args.ir_package:
        ir_network = SpandrelNetwork.from_package(args.ir_package).eval().requires_grad_(False)
    else:
        ir_folder = Path(args.ir_network or CHECKPOINTS / f"regression-{args.task}")
        ir_network = load_pipeline("regression", args.task, checkpoint=str(ir_folder)).network
        ir_network = ir_network.eval().requires_grad_(False)
    denoiser = load_denoiser(args.denoiser).requires_grad_(False)
    scheduler = DPIRScheduler(tau=args.tau)
    fusion = FusionNet(**(dict(FOLDED_CONFIG, fold=args.fold) if args.fold > 1 else EMBEDDED_CONFIG))
    stages = initialise_from(fusion, args.init_from, "fusion") if args.init_from else []
    perceptual = perceptual_loss(parser, args.lpips_weight)

    def loss_fn(model, hq, lq_or_ir, generator):
        ir_estimate = lq_or_ir if args.cache_crops else ir_network(lq_or_ir).clamp(0.0, 1.0)
        return fusion_loss(model, ir_estimate, denoiser, scheduler, hq, generator, args.tau_max, perceptual,
                           args.lpips_weight, args.start_fraction, args.pattern_weight, args.chroma_weight)

    def cached(pairs, log):
        return CachedIRPairs(pairs, ir_network, args.cache_crops, Path(args.run_dir) / "ir_cache.safetensors",
                             seed=args.seed, log=log)

    def export(ema: torch.nn.Module) -> None:
        pipeline_class = get_method("dpir").pipeline_class(args.task)  # a burst task has its own (raw input)
        pipe = pipeline_class(ir_network=ir_network, denoiser=denoiser, fusion=ema, scheduler=scheduler, sf=scale,
                              num_inference_steps=args.default_steps)
        pipe.save_pretrained(args.out, safe_serialization=True)
        strip_source_paths(args.out)
        if Path(args.out).resolve().parent == CHECKPOINTS.resolve():  # embedded: name the shipped frozen parts
            link_duplicates(args.out, CHECKPOINTS)
            store_half(args.out)  # the assets budget; computed in float32 after loading

    train(fusion, loss_fn, export, args, stages, scale=scale, degrade=degrade,
          make_sampler=cached if args.cache_crops else None)


if __name__ == "__main__":
    main()
