"""Train the embedded burst network (BurstSRNet, L1 in sRGB) on bursts synthesised from the offline corpus.

    python -m restorers.training.train_burst --run-dir runs/regression-burst_jddsr \
        --out assets/checkpoints/regression-burst_jddsr --steps 3000 --minutes 40

Every batch is new: HQ crops of corpus photos (and dead-leaves images), each made into a 14-frame raw burst by
the task's own forward operator (restorers.degradations.synthetic_burst) from the sampler's seeded generator.
The network is the task's one-shot ``regression`` row and DP-IR's IR network for it.

Loss: L1 of the sRGB output to the HQ, plus ``--flow-weight`` x L1 of the network's alignment flow to the burst's
true motion (known for a synthetic burst; 0 turns it off). Without that term the flow head learned nothing in
1,000 steps (its mean flow stayed near 0.3 packed pixels whatever the shake): the reconstruction gradient that
reaches it through a bilinear warp sees only a pixel around each sample, and the shake moves frames by up to 3.

Resumable: rerun the same command after an interruption and it continues from ``--run-dir``.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

import numpy as np

from ..burst.network import BurstSRNet
from ..degradations.synthetic_burst import motion_flow
from ..tasks import get_task
from ..burst.pipeline import BurstPipeline
from .checkpointing import store_half, strip_source_paths
from .loop import add_training_arguments, initialise_from, train
from .pairs import task_pairs

TASK = "burst_jddsr"
EMBEDDED_CONFIG = dict(channels=48, encoder_blocks=2, decoder_blocks=6, upscale=4, last_channels=16)


class BurstsWithMotion:
    """Training batches of (HQ, frames and their true flow): the LQ carries N frames and then 2N flow channels
    (x, y per frame, in packed pixels, repeated 2x2 onto the mosaic's grid), so it travels as one tensor."""

    def __init__(self, sampler, degradation):
        self.sampler, self.degradation = sampler, degradation
        self.photo_ids, self.photo_licences, self.pyramids = sampler.photo_ids, sampler.photo_licences, sampler.pyramids

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        hq, lq = [], []
        for _ in range(size):
            patch = self.sampler.hq_patch()
            frames, matrices = self.degradation.frames_and_motion(patch, self.sampler.rng)
            frames = np.round(frames * 65535.0) / 65535.0  # the 16-bit values a burst has at inference
            flow = motion_flow(matrices, patch.shape[:2], self.degradation.factor)
            flow = flow.repeat(2, axis=2).repeat(2, axis=3).reshape(-1, *frames.shape[1:])
            hq.append(torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1).float() / 255.0)
            lq.append(torch.from_numpy(np.concatenate([frames, flow]).astype(np.float32)))
        return torch.stack(hq), torch.stack(lq)

    def state(self) -> dict:
        return self.sampler.state()

    def set_state(self, state: dict) -> None:
        self.sampler.set_state(state)


def burst_loss(model: BurstSRNet, hq: torch.Tensor, lq: torch.Tensor, flow_weight: float) -> torch.Tensor:
    """L1 to the HQ + ``flow_weight`` x L1 of the alignment flow to the true motion (frames after the first)."""
    count = lq.shape[1] // 3
    frames = lq[:, :count]
    restored, flow = model(frames, return_flow=True)
    loss = F.l1_loss(restored, hq)
    if flow_weight:
        truth = lq[:, count:].unflatten(1, (count, 2))[..., ::2, ::2]
        loss = loss + flow_weight * F.l1_loss(flow[:, 1:], truth[:, 1:])
    return loss


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, steps=3000, batch=8, crop=128, lr=5e-4, warmup=100)
    parser.add_argument("--flow-weight", type=float, default=0.02,
                        help="weight of the L1 between the alignment flow and the burst's true motion")
    args = parser.parse_args(argv)
    if args.crop % 8:
        parser.error("--crop must be a multiple of 8 (an even mosaic after x1/4)")
    scale, degrade = task_pairs(TASK)
    args.task, args.trainer = TASK, "restorers.training.train_burst"
    args.trainer_args = f"--flow-weight {args.flow_weight:g}"
    model = BurstSRNet(**EMBEDDED_CONFIG)
    stages = initialise_from(model, args.init_from, "network") if args.init_from else []

    def export(ema: torch.nn.Module) -> None:
        BurstPipeline(network=ema, sf=scale).save_pretrained(args.out, safe_serialization=True)
        store_half(args.out)  # stored in float16 (half the assets budget), computed in float32 after loading
        strip_source_paths(args.out)

    def loss_fn(model, hq, lq, generator):
        return burst_loss(model, hq, lq, args.flow_weight)

    train(model, loss_fn, export, args, stages, scale=scale, degrade=degrade,
          make_sampler=lambda pairs, log: BurstsWithMotion(pairs, get_task(TASK).degradation))


if __name__ == "__main__":
    main()
