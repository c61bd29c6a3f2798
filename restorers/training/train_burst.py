"""Train the embedded burst network (MergeBurstNet, L1 in sRGB) on bursts synthesised from the offline corpus.

    python -m restorers.training.train_burst --run-dir runs/regression-burst_jddsr \
        --out assets/checkpoints/regression-burst_jddsr --steps 4000 --minutes 60

Every batch is new: HQ crops of corpus photos (and dead-leaves images), each made into a 14-frame raw burst by
the task's own forward operator (restorers.degradations.synthetic_burst) from the sampler's seeded generator.
The network is the task's one-shot ``regression`` row and DP-IR's IR network for it.

Loss: L1 of the sRGB output to the HQ. The network aligns the frames by OpenCV's estimate of their motion, as at
inference, never by the synthetic burst's true motion: what it learns to correct is the estimate's own error.
Crops of 256 (a 64x64 mosaic) give the alignment as much image as the benchmark's bursts have.

Resumable: rerun the same command after an interruption and it continues from ``--run-dir``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from ..burst.merge_network import MergeBurstNet
from ..burst.pipeline import BurstPipeline
from ..tasks import get_task
from .checkpointing import store_half, strip_source_paths
from .loop import add_training_arguments, initialise_from, train
from .pairs import task_pairs

TASK = "burst_jddsr"
EMBEDDED_CONFIG = dict(channels=64, num_blocks=8, upscale=4)


class Bursts:
    """Training batches of (HQ (B, 3, H, W), frames (B, N, H/4, W/4)), the frames rounded to the 16 bits a burst
    has at inference."""

    def __init__(self, sampler, degradation):
        self.sampler, self.degradation = sampler, degradation
        self.photo_ids, self.photo_licences, self.pyramids = sampler.photo_ids, sampler.photo_licences, sampler.pyramids

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        hq, lq = [], []
        for _ in range(size):
            patch = self.sampler.hq_patch()
            frames = np.round(self.degradation.frames(patch, self.sampler.rng) * 65535.0) / 65535.0
            hq.append(torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1).float() / 255.0)
            lq.append(torch.from_numpy(frames.astype(np.float32)))
        return torch.stack(hq), torch.stack(lq)

    def state(self) -> dict:
        return self.sampler.state()

    def set_state(self, state: dict) -> None:
        self.sampler.set_state(state)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, steps=4000, batch=8, crop=256, lr=5e-4, warmup=100)
    args = parser.parse_args(argv)
    if args.crop % 8:
        parser.error("--crop must be a multiple of 8 (an even mosaic after x1/4)")
    scale, degrade = task_pairs(TASK)
    args.task, args.trainer = TASK, "restorers.training.train_burst"
    model = MergeBurstNet(**EMBEDDED_CONFIG)
    stages = initialise_from(model, args.init_from, "network") if args.init_from else []

    def export(ema: torch.nn.Module) -> None:
        BurstPipeline(network=ema, sf=scale).save_pretrained(args.out, safe_serialization=True)
        store_half(args.out)  # stored in float16 (half the assets budget), computed in float32 after loading
        strip_source_paths(args.out)

    def loss_fn(model, hq, lq, generator):
        return F.l1_loss(model(lq), hq)

    train(model, loss_fn, export, args, stages, scale=scale, degrade=degrade,
          make_sampler=lambda pairs, log: Bursts(pairs, get_task(TASK).degradation))


if __name__ == "__main__":
    main()
