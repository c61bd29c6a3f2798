"""Train DP-IR's task-agnostic Denoising network (Gaussian denoising in sRGB) on the offline corpus.

    python -m restorers.training.train_denoiser --run-dir runs/dpir-denoiser \
        --out assets/checkpoints/dpir-denoiser --steps 1500 --minutes 55 --threads 1

Noise levels: as the paper, sigma uniform in [0, sigma_tilde(tau_max)] (tau_max = 250: sigma up to 0.958 for
images in [0, 1]) for most samples; a fifth of the batch instead takes t uniform in (tau_max, T] so that the
conventional sampler (which calls the denoiser at every t up to T) gets sensible, if weak, estimates there.
The loss is the MSE to x_0 weighted by 1 / c_out^2 (EDM's weighting for its preconditioning, see
:mod:`restorers.dpir.denoiser`), so that every noise level pulls on the network equally; sigma >= 0.5/255.

Resumable: rerun the same command after an interruption and it continues from ``--run-dir``. Exported once,
reused by every task's DP-IR pipeline (``train_fusion`` copies it in).
"""

from __future__ import annotations

import argparse

import torch

from ..dpir.conv_denoiser import FoldedConvDenoiser
from ..dpir.denoiser import SIGMA_DATA, DenoiserNet, PreconditionedDenoiser
from ..dpir.scheduler import DPIRScheduler
from .loop import add_training_arguments, initialise_from, train

LAYOUTS = {  # the embedded checkpoint's layout first; the paper's MIRNet-style one stays trainable
    "conv": (FoldedConvDenoiser, dict(channels=64, num_blocks=6, fold=2)),
    "mirnet": (DenoiserNet, dict(channels=32, num_groups=2, blocks_per_group=1, scales=3)),
}
TAU_MAX = 250
HIGH_NOISE_FRACTION = 0.2
MIN_SIGMA = 0.5 / 255


def sample_sigmas(batch: int, generator: torch.Generator, scheduler: DPIRScheduler, tau_max: int = TAU_MAX) -> torch.Tensor:
    """(B,) noise levels: uniform up to sigma_tilde(tau_max), a fraction from t in (tau_max, T]."""
    top = float(scheduler.sigma_tilde(tau_max))
    low = MIN_SIGMA + (top - MIN_SIGMA) * torch.rand(batch, generator=generator)
    t_high = torch.randint(tau_max + 1, scheduler.config.num_train_timesteps + 1, (batch,), generator=generator)
    high = scheduler.sigma_tilde(t_high)
    return torch.where(torch.rand(batch, generator=generator) < HIGH_NOISE_FRACTION, high, low)


def denoising_loss(model: PreconditionedDenoiser, clean: torch.Tensor, generator: torch.Generator,
                   scheduler: DPIRScheduler) -> torch.Tensor:
    sigma = sample_sigmas(clean.shape[0], generator, scheduler)
    noisy = clean + sigma.view(-1, 1, 1, 1) * torch.randn(clean.shape, generator=generator)
    weight = (sigma ** 2 + SIGMA_DATA ** 2) / (sigma * SIGMA_DATA) ** 2
    error = (model(noisy, sigma) - clean).square().mean(dim=(1, 2, 3))
    return (weight * error).mean()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, steps=1500, batch=16, crop=96, lr=5e-4, warmup=100)
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="conv",
                        help="conv: wide 3x3 convolutions on 2x2 blocks (embedded); mirnet: the paper's layout")
    args = parser.parse_args(argv)
    scheduler = DPIRScheduler()
    model_class, config = LAYOUTS[args.layout]
    model = model_class(**config)
    stages = initialise_from(model, args.init_from, ".") if args.init_from else []

    def loss_fn(model, hq, lq, generator):
        return denoising_loss(model, hq, generator, scheduler)

    def export(ema: torch.nn.Module) -> None:
        ema.save_pretrained(args.out, safe_serialization=True)

    train(model, loss_fn, export, args, stages, scale=1, degrade=lambda hq, rng: hq)


if __name__ == "__main__":
    main()
