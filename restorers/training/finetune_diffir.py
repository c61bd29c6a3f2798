"""Fine-tune an exported DiffIR stage-2 pipeline end to end on a task's own degradation, with a perceptual term.

    python -m restorers.training.finetune_diffir --task inpaint --init-from assets/checkpoints/diffir-inpaint \
        --run-dir runs/diffir-inpaint-ft --out assets/checkpoints/diffir-inpaint --lpips-weight 1 --minutes 25
    python -m restorers.training.finetune_diffir --task realsr_x4 --init-from assets/checkpoints/diffir-sr_x4 \
        --run-dir runs/diffir-realsr_x4 --out assets/checkpoints/diffir-realsr_x4 --lpips-weight 1 --minutes 30

Why a second trainer: :mod:`.train_diffir` trains both stages from scratch with L1 only and needs the stage-1
oracle; a fine-tune has only the shipped stage-2 folder. The loss is taken on exactly what inference returns:
CPEN_S2, the IPR chain from noise (all its steps, unrolled with gradients) and the DIRformer, for inpainting with
the known pixels pasted back, against the HQ: L1 + ``--lpips-weight`` x LPIPS-Alex. All three modules learn.
Pairs come from the task's degradation (the benchmark's: LaMa masks of 1-60% for inpainting, Real-ESRGAN's
second-order chain for real-world SR). Resumable like every :mod:`.loop` trainer.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import nn

from ..diffir.pipeline import DiffIRPipeline
from ..tasks import get_task
from .checkpointing import store_half, strip_source_paths
from .loop import add_training_arguments, earlier_stages, train, perceptual_loss
from .pairs import split_conditions, task_pairs


class DiffIRModules(nn.Module):
    """The three trained modules of a stage-2 DiffIR as one module (one optimiser, one EMA, one state file)."""

    def __init__(self, pipe: DiffIRPipeline):
        super().__init__()
        self.dirformer, self.cpen, self.ipr_denoiser = pipe.dirformer, pipe.cpen, pipe.ipr_denoiser
        self.scheduler, self.sf = pipe.scheduler, int(pipe.config.sf)

    def pipeline(self) -> DiffIRPipeline:
        return DiffIRPipeline(dirformer=self.dirformer, cpen=self.cpen, ipr_denoiser=self.ipr_denoiser,
                              scheduler=self.scheduler, sf=self.sf)

    def forward(self, lq: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The inference path with gradients: a :func:`.pairs.task_pairs` LQ batch -> the restored batch."""
        image, mask = split_conditions(lq)
        pipe = self.pipeline()
        pipe.set_progress_bar_config(disable=True)
        out = pipe.restore_padded(image, None, generator, None, mask=mask)
        return out if mask is None else out * mask + image * (1.0 - mask)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, steps=1000, batch=8, crop=128, lr=1e-4, warmup=20)
    parser.add_argument("--task", required=True, choices=["sr_x4", "realsr_x4", "deblur", "inpaint"])
    parser.add_argument("--lpips-weight", type=float, default=1.0,
                        help="weight of LPIPS-Alex against L1 (0: L1 only)")
    args = parser.parse_args(argv)
    if not args.init_from:
        parser.error("--init-from is required: a fine-tune starts from an exported stage-2 DiffIR folder")
    scale, degrade = task_pairs(args.task)
    pipe = DiffIRPipeline.from_pretrained(args.init_from, dtype=torch.float32)
    if pipe.cpen.is_stage1:
        parser.error(f"{args.init_from} is a stage-1 (oracle) export; fine-tune a stage-2 folder")
    if int(pipe.config.sf) != scale or pipe.is_inpainting != get_task(args.task).needs_mask:
        parser.error(f"{args.init_from} does not fit the {args.task} task (scale or inpainting input differ)")
    model = DiffIRModules(pipe).train()
    stages = earlier_stages(args.init_from)
    args.trainer = "restorers.training.finetune_diffir"
    args.trainer_args = f"--task {args.task} --lpips-weight {args.lpips_weight:g}"

    perceptual = perceptual_loss(parser, args.lpips_weight)

    def loss_fn(module: DiffIRModules, hq: torch.Tensor, lq: torch.Tensor, generator: torch.Generator):
        out = module(lq, generator)
        loss = F.l1_loss(out, hq)
        if perceptual is not None:
            loss = loss + args.lpips_weight * perceptual(out * 2 - 1, hq * 2 - 1).mean()
        return loss

    def export(ema: DiffIRModules) -> None:
        ema.pipeline().save_pretrained(args.out, safe_serialization=True)
        store_half(args.out)
        strip_source_paths(args.out)

    return train(model, loss_fn, export, args, stages, scale=scale, degrade=degrade)


if __name__ == "__main__":
    main()
