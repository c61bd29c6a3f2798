"""Train the embedded ResShift x4 checkpoint (pixel-unshuffle latent space, CPU-sized Swin-UNet).

    python -m restorers.training.train_resshift --minutes 45 --run-dir runs/resshift-sr_x4 \
        --out assets/checkpoints/resshift-sr_x4

Objective as in ResShift (section 1.8 of the fact sheet): t ~ U{0..T-1}, x_t ~ q(x_t | x_0, y),
MSE between the UNet's x0 prediction and x_0. The LPIPS term of the journal models is left out
because LPIPS backbone weights cannot be downloaded here. The run is resumable: the state is saved
every ``--save-every`` steps and on exit, and a rerun with the same ``--run-dir`` continues.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ..resshift.pipeline import ResShiftPipeline
from ..resshift.scheduler import ResShiftScheduler
from ..resshift.unet import ResShiftUNet
from .checkpointing import load_training_state, save_training_state
from .pairs import SRPairSampler

SCALE = 4
EMBEDDED_UNET_CONFIG = dict(
    image_size=64, in_channels=3 * SCALE ** 2, out_channels=3 * SCALE ** 2, model_channels=64,
    channel_mult=(1, 2, 2), num_res_blocks=(1, 1, 1), attention_resolutions=(16,), num_head_channels=32,
    swin_embed_dim=64, swin_depth=2, window_size=8, mlp_ratio=4.0, lq_size=64, cond_lq=True,
)
EMBEDDED_SCHEDULER_CONFIG = dict(num_train_timesteps=4, kappa=2.0, min_noise_level=0.2, etas_end=0.99, power=0.3)


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1.0 - decay)


def training_loss(unet: ResShiftUNet, scheduler: ResShiftScheduler, hq: torch.Tensor, lq: torch.Tensor,
                  generator: torch.Generator) -> torch.Tensor:
    hq_s, lq_s = hq * 2 - 1, lq * 2 - 1
    x0 = F.pixel_unshuffle(hq_s, SCALE)
    z_y = F.pixel_unshuffle(F.interpolate(lq_s, scale_factor=SCALE, mode="bicubic"), SCALE)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (hq.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = scheduler.add_noise(x0, noise, t, z_y)
    scale = scheduler.input_scale(t).to(x_t).view(-1, 1, 1, 1)
    pred = unet(x_t / scale, t, lq=lq_s).sample
    return F.mse_loss(pred, x0)


def initialise_from(unet: ResShiftUNet, folder: Path) -> list[dict]:
    """Load exported (EMA) weights to fine-tune them; return the training stages that produced them."""
    from safetensors.torch import load_file

    record = folder / "training.json"
    if not record.is_file():  # the model card must be able to say how every stage was trained
        raise FileNotFoundError(f"{record} is missing: --init-from takes a folder this trainer exported")
    unet.load_state_dict(load_file(folder / "unet" / "diffusion_pytorch_model.safetensors"))
    info = json.loads(record.read_text())
    return info.get("stages") or [{k: v for k, v in info.items() if k != "parameters"}]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", default="runs/resshift-sr_x4")
    parser.add_argument("--out", default="assets/checkpoints/resshift-sr_x4")
    parser.add_argument("--steps", type=int, default=6000, help="length of the LR schedule")
    parser.add_argument("--stop-at", type=int, default=None,
                        help="stop (and export) after this many steps, before the LR schedule ends")
    parser.add_argument("--minutes", type=float, default=None, help="stop (and export) after this wall time")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=128, help="HQ crop; the LQ crop is crop / 4")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--ema", type=float, default=0.999)
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-from", default=None,
                        help="start from an exported checkpoint folder (fine-tuning); its training.json is kept "
                             "as the earlier stages of the new one")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "train.log", "a", buffering=1)

    unet = ResShiftUNet(**EMBEDDED_UNET_CONFIG)
    earlier_stages = []
    if args.init_from:
        earlier_stages = initialise_from(unet, Path(args.init_from))
    ema = copy.deepcopy(unet).requires_grad_(False)
    scheduler = ResShiftScheduler(**EMBEDDED_SCHEDULER_CONFIG)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.0)
    sampler = SRPairSampler(crop=args.crop, scale=SCALE, seed=args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    meta = load_training_state(run_dir, unet, ema, optimizer)
    step, elapsed = 0, 0.0
    if meta:
        step, elapsed = meta["step"], meta["elapsed_s"]
        sampler.set_state(meta["sampler_rng"])
        generator.manual_seed(args.seed + step)
        log.write(f"resumed at step {step} ({elapsed / 60:.1f} min so far)\n")

    def save() -> None:
        save_training_state(run_dir, unet, ema, optimizer, {
            "step": step, "elapsed_s": elapsed, "sampler_rng": sampler.state(), "args": vars(args)})

    started, running = time.time(), None
    budget_s = args.minutes * 60 if args.minutes else None
    session_start_elapsed = elapsed
    try:
        last_step = min(args.steps, args.stop_at or args.steps)
        while step < last_step:
            if budget_s is not None and elapsed - session_start_elapsed >= budget_s:
                break
            tick = time.time()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
            hq, lq = sampler.batch(args.batch)
            loss = training_loss(unet, scheduler, hq, lq, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
            optimizer.step()
            update_ema(ema, unet, min(args.ema, (1 + step) / (10 + step)))
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

    pipe = ResShiftPipeline(unet=ema, scheduler=scheduler, vqvae=None, sf=SCALE, latent_factor=SCALE)
    pipe.save_pretrained(args.out, safe_serialization=True)
    stage = {"steps": step, "schedule_steps": args.steps, "train_seconds": round(elapsed, 1), "batch": args.batch, "crop": args.crop,
             "lr": args.lr, "warmup": args.warmup, "ema": args.ema, "seed": args.seed, "threads": args.threads,
             "init_from": args.init_from,
             "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads",
             "torch": torch.__version__}
    stages = earlier_stages + [stage]
    info = {**stage, "steps": sum(s["steps"] for s in stages),
            "train_seconds": round(sum(s["train_seconds"] for s in stages), 1),
            "parameters": sum(p.numel() for p in ema.parameters()), "stages": stages}
    (Path(args.out) / "training.json").write_text(json.dumps(info, indent=2))
    log.write(f"exported {args.out} after {step} steps, {elapsed / 60:.1f} min of training "
              f"({(time.time() - started) / 60:.1f} min this session)\n")


if __name__ == "__main__":
    main()
