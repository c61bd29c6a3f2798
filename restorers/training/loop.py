"""The training loop every embedded checkpoint shares: LR schedule, EMA, resumable state, time budget.

A trainer supplies the model, a loss on an (hq, lq) batch and an export function; this module does the
rest the same way for all of them, and returns the stage record that goes into ``training.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import signal
import time
from pathlib import Path
from typing import Callable

import torch

from .checkpointing import load_training_state, save_training_state
from .pairs import SRPairSampler


def add_training_arguments(parser: argparse.ArgumentParser, *, steps: int, batch: int, crop: int, lr: float,
                           warmup: int = 200, ema: float = 0.999) -> None:
    parser.add_argument("--run-dir", required=True, help="resumable state and train.log live here")
    parser.add_argument("--out", required=True, help="the save_pretrained folder to export")
    parser.add_argument("--steps", type=int, default=steps, help="length of the LR schedule")
    parser.add_argument("--stop-at", type=int, default=None,
                        help="stop (and export) after this many steps, before the LR schedule ends")
    parser.add_argument("--minutes", type=float, default=None, help="stop (and export) after this wall time")
    parser.add_argument("--batch", type=int, default=batch)
    parser.add_argument("--crop", type=int, default=crop, help="HQ crop (the LQ crop is crop / scale)")
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--warmup", type=int, default=warmup)
    parser.add_argument("--ema", type=float, default=ema)
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-from", default=None,
                        help="start from an exported checkpoint folder (fine-tuning); its training.json is kept "
                             "as the earlier stages of the new one")


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up, then cosine down to 10% of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1.0 - decay)


def earlier_stages(folder: Path) -> list[dict]:
    """The stages recorded in an exported folder (so a fine-tune's card lists every stage)."""
    record = Path(folder) / "training.json"
    if not record.is_file():
        raise FileNotFoundError(f"{record} is missing: --init-from takes a folder this trainer exported")
    info = json.loads(record.read_text())
    if info.get("stages"):
        return info["stages"]
    stage = {k: v for k, v in info.items() if k not in ("parameters", "training_photos")}
    if "steps_stage1" in info:  # a joint two-stage run (train_diffir): one record, both stages' totals
        stage.update(steps=info["steps_stage1"] + info["steps_stage2"], joint=True,
                     train_seconds=info["train_seconds_stage1"] + info["train_seconds_stage2"],
                     photos=len(info.get("training_photos") or []), trainer="restorers.training.train_diffir")
    return [stage]


def initialise_from(model: torch.nn.Module, folder: str | Path, component: str) -> list[dict]:
    """Load an exported folder's ``component`` weights into ``model``; return the stages that produced them."""
    from safetensors.torch import load_file

    folder = Path(folder)
    stages = earlier_stages(folder)  # first: refuses a folder without its training record
    model.load_state_dict(load_file(folder / component / "diffusion_pytorch_model.safetensors"))
    return stages


def train(model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor,
                                                     torch.Generator], torch.Tensor],
          export: Callable[[torch.nn.Module], None], args: argparse.Namespace, stages_before: list[dict],
          scale: int = 4, degrade=None, make_sampler=None) -> dict:
    """Train ``model`` with ``loss_fn(model, hq, lq, generator)``; export the EMA weights; write training.json.

    Pairs are x``scale`` MATLAB-bicubic SR pairs, or ``degrade(hq_uint8, rng)`` pairs when given;
    ``make_sampler(pair_sampler, log)`` may wrap them (e.g. :class:`.ir_cache.CachedIRPairs`).
    """
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "train.log", "a", buffering=1)

    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    sampler = SRPairSampler(crop=args.crop, scale=scale, seed=args.seed, degrade=degrade)
    generator = torch.Generator().manual_seed(args.seed)
    log.write(f"{len(sampler.pyramids)} training photos, {sum(len(p) for p in sampler.pyramids)} pyramid levels\n")
    if make_sampler is not None:
        sampler = make_sampler(sampler, lambda line: log.write(line + "\n"))

    meta = load_training_state(run_dir, model, ema, optimizer)
    step, elapsed = 0, 0.0
    if meta:
        step, elapsed = meta["step"], meta["elapsed_s"]
        sampler.set_state(meta["sampler_rng"])
        generator.manual_seed(args.seed + step)
        log.write(f"resumed at step {step} ({elapsed / 60:.1f} min so far)\n")

    def save() -> None:
        save_training_state(run_dir, model, ema, optimizer, {
            "step": step, "elapsed_s": elapsed, "sampler_rng": sampler.state(), "args": vars(args)})

    stop = {"asked": False}  # SIGTERM (kill, a job scheduler) ends the run like --minutes: save and export

    def ask_to_stop(*_):
        stop["asked"] = True

    previous_handler = signal.signal(signal.SIGTERM, ask_to_stop)
    started, running = time.time(), None
    budget_s = args.minutes * 60 if args.minutes else None
    session_start_elapsed = elapsed
    try:
        last_step = min(args.steps, args.stop_at or args.steps)
        while step < last_step:
            if stop["asked"] or (budget_s is not None and elapsed - session_start_elapsed >= budget_s):
                break
            tick = time.time()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
            hq, lq = sampler.batch(args.batch)
            loss = loss_fn(model, hq, lq, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            update_ema(ema, model, min(args.ema, (1 + step) / (10 + step)))
            step += 1
            elapsed += time.time() - tick
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if step % 25 == 0:
                log.write(f"step {step} loss {running:.5f} lr {optimizer.param_groups[0]['lr']:.2e} "
                          f"{elapsed / step:.3f}s/step\n")
            if step % args.save_every == 0:
                save()
    finally:
        save()
        signal.signal(signal.SIGTERM, previous_handler)

    export(ema)
    stage = {"steps": step, "schedule_steps": args.steps, "train_seconds": round(elapsed, 1), "batch": args.batch,
             "crop": args.crop, "lr": args.lr, "warmup": args.warmup, "ema": args.ema, "seed": args.seed,
             "threads": args.threads, "init_from": args.init_from, "photos": len(sampler.photo_ids),
             "task": getattr(args, "task", "sr_x4"), "trainer_args": getattr(args, "trainer_args", ""),
             "trainer": getattr(args, "trainer", ""),
             "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads",
             "torch": torch.__version__}
    stages = stages_before + [stage]
    info = {**stage, "steps": sum(s["steps"] for s in stages),
            "train_seconds": round(sum(s["train_seconds"] for s in stages), 1),
            "parameters": sum(p.numel() for p in ema.parameters()), "training_photos": sampler.photo_ids,
            "photo_licences": sampler.photo_licences,
            "stages": stages}
    (Path(args.out) / "training.json").write_text(json.dumps(info, indent=2))
    log.write(f"exported {args.out} after {step} steps, {elapsed / 60:.1f} min of training "
              f"({(time.time() - started) / 60:.1f} min this session)\n")
    return info


def perceptual_loss(parser: argparse.ArgumentParser, weight: float) -> torch.nn.Module | None:
    """LPIPS-Alex for an ``--lpips-weight`` term (None at weight 0); a missing backbone ends the run in one line."""
    if not weight:
        return None
    from ..lpips_weights import ensure, lpips_alex

    available, why = ensure()
    if not available:
        parser.error(f"--lpips-weight needs the LPIPS backbone: {why}")
    return lpips_alex()
