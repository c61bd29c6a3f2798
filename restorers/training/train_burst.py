"""Train the embedded burst network (BurstSRNet, L1 in sRGB) on bursts synthesised from the offline corpus.

    python -m restorers.training.train_burst --run-dir runs/regression-burst_jddsr \
        --out assets/checkpoints/regression-burst_jddsr --steps 3000 --minutes 40

Every batch is new: HQ crops of corpus photos (and dead-leaves images), each made into a 14-frame raw burst by
the task's own forward operator (restorers.degradations.synthetic_burst) from the sampler's seeded generator.
The network is the task's one-shot ``regression`` row and DP-IR's IR network for it.

Resumable: rerun the same command after an interruption and it continues from ``--run-dir``.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from ..burst.network import BurstSRNet
from ..burst.pipeline import BurstPipeline
from .checkpointing import store_half, strip_source_paths
from .loop import add_training_arguments, initialise_from, train
from .pairs import task_pairs

TASK = "burst_jddsr"
EMBEDDED_CONFIG = dict(channels=48, encoder_blocks=2, decoder_blocks=6, upscale=4, last_channels=16)


def l1_loss(model: BurstSRNet, hq: torch.Tensor, frames: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return F.l1_loss(model(frames), hq)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, steps=3000, batch=8, crop=128, lr=5e-4, warmup=100)
    args = parser.parse_args(argv)
    if args.crop % 8:
        parser.error("--crop must be a multiple of 8 (an even mosaic after x1/4)")
    scale, degrade = task_pairs(TASK)
    args.task, args.trainer, args.trainer_args = TASK, "restorers.training.train_burst", ""
    model = BurstSRNet(**EMBEDDED_CONFIG)
    stages = initialise_from(model, args.init_from, "network") if args.init_from else []

    def export(ema: torch.nn.Module) -> None:
        BurstPipeline(network=ema, sf=scale).save_pretrained(args.out, safe_serialization=True)
        store_half(args.out)  # stored in float16 (half the assets budget), computed in float32 after loading
        strip_source_paths(args.out)

    train(model, l1_loss, export, args, stages, scale=scale, degrade=degrade)


if __name__ == "__main__":
    main()
