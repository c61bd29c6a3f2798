"""Train an embedded DiffIR (stage 1, then stage 2) for one task on the offline corpus.

    python -m restorers.training.train_diffir --task deblur --run-dir runs/diffir-deblur \
        --out assets/checkpoints/diffir-deblur --minutes 60

Stage 1: CPEN_S1 sees (LQ, GT) and DIRformer learns to restore with its vector: L1(image).
Stage 2: DIRformer starts from stage 1; CPEN_S2 (LQ only) and the IPR denoiser learn to produce that vector:
the chain starts from q(z_{T-1} | z_S1) and runs its T deterministic steps with gradients (as the official
training does); phase A trains CPEN_S2 + denoiser on L_diff = L1(z_hat, z_S1) alone, phase B everything on
L1(image) + L_diff. Inpainting uses the same L1 losses (the official LaMa adversarial/perceptual losses are not
reproduced: no discriminator or segmentation network is trained or available here).

Budgets: ``--steps1/--steps2`` or ``--minutes`` (split by ``--stage1-share``), whichever ends first; the LR
follows a warm-up + cosine over that budget. ``--device cuda`` adds bf16 autocast and ``--workers`` processes
that make the pairs. ``--photo-pack`` reads photos from a :mod:`photo_pack` folder instead of the corpus.
Resumable: state is saved to ``--run-dir`` every ``--save-every`` steps and at each stage's end.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from ..diffir.cpen import CPEN
from ..diffir.dirformer import DIRformer
from ..diffir.ipr_denoiser import IPRDenoiser
from ..diffir.pipeline import DiffIRPipeline
from ..diffir.presets import EMBEDDED_PRESETS, stage1_cpen
from ..diffir.scheduler import DiffIRScheduler
from ..tasks import get_task
from .checkpointing import store_half
from .loop import update_ema
from .pairs import SRPairSampler, task_pairs


class PairStream(torch.utils.data.IterableDataset):
    """Endless batches from a pair sampler; each worker reseeds its copy (forked, so photos load once)."""

    def __init__(self, sampler: SRPairSampler, batch: int, seed: int):
        self.sampler, self.batch, self.seed = sampler, batch, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is not None:
            self.sampler.rng = np.random.default_rng([self.seed, info.id, int(time.time())])
        while True:
            yield self.sampler.batch(self.batch)


def cosine_lr(progress: float, peak: float, warmup: float = 0.03) -> float:
    if progress < warmup:
        return peak * max(progress / warmup, 0.01)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warmup) / (1 - warmup)))))


def run_ipr_chain(denoiser: IPRDenoiser, scheduler: DiffIRScheduler, z_s1: torch.Tensor, condition: torch.Tensor):
    """Training forward of stage 2: z_{T-1} = q(. | z_S1), then every reverse step with gradients."""
    scheduler.set_timesteps(None)
    start = int(scheduler.timesteps[0])
    z = scheduler.add_noise(z_s1, torch.randn_like(z_s1), start)
    for t in scheduler.timesteps:
        z = scheduler.step(denoiser(z, t, condition), t, z).prev_sample
    return z


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="sr_x4", choices=sorted(EMBEDDED_PRESETS))
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--out", required=True, help="the stage-2 save_pretrained folder; stage 1 goes to OUT-stage1")
    parser.add_argument("--steps1", type=int, default=20000)
    parser.add_argument("--steps2", type=int, default=20000)
    parser.add_argument("--encoder-share", type=float, default=0.2, help="share of stage 2 in phase A")
    parser.add_argument("--minutes", type=float, default=None, help="wall-time budget for both stages")
    parser.add_argument("--stage1-share", type=float, default=0.55)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--ema", type=float, default=0.999)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--photo-pack", default=None)
    parser.add_argument("--save-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=4, help="length T of the IPR chain (official: 4)")
    parser.add_argument("--init-stage1", default=None,
                        help="skip stage 1: start stage 2 from a stage-1 export (OUT-stage1 of an earlier run)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    run_dir, out = Path(args.run_dir), Path(args.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "train.log", "a", buffering=1)
    preset = EMBEDDED_PRESETS[args.task]
    scale, degrade = task_pairs(args.task)

    dirformer = DIRformer(**preset["dirformer"]).to(device)
    cpen_s1 = CPEN(**stage1_cpen(preset["cpen"])).to(device)
    cpen_s2 = CPEN(**preset["cpen"]).to(device)
    denoiser = IPRDenoiser(num_train_timesteps=args.timesteps).to(device)
    scheduler = DiffIRScheduler(num_train_timesteps=args.timesteps)
    modules = {"dirformer": dirformer, "cpen_s1": cpen_s1, "cpen_s2": cpen_s2, "ipr_denoiser": denoiser}
    emas = {name: copy.deepcopy(m).requires_grad_(False) for name, m in modules.items()}

    state_file, meta_file = run_dir / "state.safetensors", run_dir / "state.json"
    state = {"stage": 1, "step": 0, "elapsed": [0.0, 0.0], "steps_done": [0, 0]}
    if state_file.is_file() and meta_file.is_file():  # weights and EMA resume; optimiser moments restart
        saved = load_file(state_file, device=str(device))
        for name, module in modules.items():
            for prefix, target in (("model", module), ("ema", emas[name])):
                target.load_state_dict({k.split(".", 2)[2]: v for k, v in saved.items()
                                        if k.startswith(f"{prefix}.{name}.")})
        state = json.loads(meta_file.read_text())
        log.write(f"resumed: stage {state['stage']} step {state['step']}\n")

    if args.init_stage1 and state["stage"] == 1:  # stage 1 comes from an earlier export (its EMA weights)
        earlier = DiffIRPipeline.from_pretrained(args.init_stage1)
        if not earlier.cpen.is_stage1:
            raise ValueError(f"{args.init_stage1} is not a stage-1 export (its CPEN does not see the ground truth)")
        for name, source in (("dirformer", earlier.dirformer), ("cpen_s1", earlier.cpen)):
            modules[name].load_state_dict(source.state_dict())
            emas[name].load_state_dict(source.state_dict())
        state.update(stage=2, step=0)
        log.write(f"stage 1 from {args.init_stage1}\n")

    if args.photo_pack:
        from .photo_pack import read_pack

        arrays = read_pack(args.photo_pack)
    else:
        arrays = None
    sampler = SRPairSampler(crop=args.crop, scale=scale, seed=args.seed + 1000 * state["stage"] + state["step"],
                            degrade=degrade, arrays=arrays)
    stream = PairStream(sampler, args.batch, args.seed)
    loader = iter(torch.utils.data.DataLoader(stream, batch_size=None, num_workers=args.workers,
                                              persistent_workers=args.workers > 0,
                                              prefetch_factor=4 if args.workers else None))
    budget = args.minutes * 60 if args.minutes else None
    shares = [args.stage1_share, 1 - args.stage1_share] if not args.init_stage1 else [0.0, 1.0]
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)

    def save(optimizer) -> None:
        tensors = {f"{prefix}.{n}.{k}": v.detach().contiguous()
                   for prefix, group in (("model", modules), ("ema", emas))
                   for n, m in group.items() for k, v in m.state_dict().items()}
        save_file(tensors, state_file)
        meta_file.write_text(json.dumps(state))

    def batch():
        hq, lq = next(loader)
        return hq.to(device, non_blocking=True), lq.to(device, non_blocking=True)

    for stage in (1, 2):
        if state["stage"] > stage:
            continue
        if stage == 2 and state["step"] == 0:  # stage 2 starts from stage 1's (EMA) DIRformer, as officially
            dirformer.load_state_dict(emas["dirformer"].state_dict())
        total_steps = args.steps1 if stage == 1 else args.steps2
        stage_budget = budget * shares[stage - 1] if budget else None
        trained = [dirformer, cpen_s1] if stage == 1 else [dirformer, cpen_s2, denoiser]
        params = [p for m in trained for p in m.parameters()]
        optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
        encoder_params = [p for m in (cpen_s2, denoiser) for p in m.parameters()]
        encoder_optimizer = torch.optim.AdamW(encoder_params, lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
        cpen_s1.requires_grad_(stage == 1)
        emas["cpen_s1"].requires_grad_(False)
        running, tick0 = None, time.time()
        elapsed0 = state["elapsed"][stage - 1]
        while True:
            step, elapsed = state["step"], elapsed0 + time.time() - tick0
            progress = max(step / total_steps, elapsed / stage_budget if stage_budget else 0.0)
            if progress >= 1.0:
                break
            hq, lq = batch()
            with amp:
                if stage == 1:
                    ipr = cpen_s1(lq, hq)
                    loss = F.l1_loss(dirformer(lq, ipr).float(), hq)
                    opt, lr_progress = optimizer, progress
                else:
                    with torch.no_grad():
                        z_s1 = emas["cpen_s1"](lq, hq).float()
                    z = run_ipr_chain(denoiser, scheduler, z_s1, cpen_s2(lq).float())
                    l_diff = F.l1_loss(z.float(), z_s1)
                    if progress < args.encoder_share:  # phase A: only CPEN_S2 + denoiser, on L_diff
                        loss, opt, lr_progress = l_diff, encoder_optimizer, progress / args.encoder_share
                    else:
                        loss = F.l1_loss(dirformer(lq, z).float(), hq) + l_diff
                        opt = optimizer
                        lr_progress = (progress - args.encoder_share) / (1 - args.encoder_share)
            for group in opt.param_groups:
                group["lr"] = cosine_lr(lr_progress, args.lr)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1.0)
            opt.step()
            decay = min(args.ema, (1 + step) / (10 + step))
            for module in trained:
                name = next(n for n, m in modules.items() if m is module)
                update_ema(emas[name], module, decay)
            state["step"] = step + 1
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if state["step"] % 100 == 0:
                log.write(f"stage {stage} step {state['step']} loss {running:.5f} lr {opt.param_groups[0]['lr']:.2e} "
                          f"{elapsed:.0f}s\n")
            if state["step"] % args.save_every == 0:
                state["elapsed"][stage - 1] = elapsed0 + time.time() - tick0
                save(optimizer)
        state["elapsed"][stage - 1] = elapsed0 + time.time() - tick0
        state["steps_done"][stage - 1] = state["step"]
        state["stage"], state["step"] = stage + 1, 0
        save(optimizer)
        log.write(f"stage {stage} done: {state['steps_done'][stage - 1]} steps, "
                  f"{state['elapsed'][stage - 1] / 60:.1f} min\n")

    hardware = (torch.cuda.get_device_name(device) if cuda
                else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads")
    record = {"task": args.task, "steps_stage1": state["steps_done"][0], "steps_stage2": state["steps_done"][1],
              "train_seconds_stage1": round(state["elapsed"][0], 1),
              "train_seconds_stage2": round(state["elapsed"][1], 1), "batch": args.batch, "crop": args.crop,
              "lr": args.lr, "ema": args.ema, "seed": args.seed, "hardware": hardware, "torch": torch.__version__,
              "precision": "bf16 autocast" if cuda else "fp32", "training_photos": sampler.photo_ids,
              "photo_licences": sampler.photo_licences,
              "photo_source": "photo pack (half size, JPEG q95)" if args.photo_pack else "corpus",
              "trainer_args": " ".join(argv) if argv else ""}
    sf = get_task(args.task).scale
    exports = (("", "cpen_s2"),) if args.init_stage1 else (("", "cpen_s2"), ("-stage1", "cpen_s1"))
    record["init_stage1"] = args.init_stage1
    record["timesteps"] = args.timesteps
    for suffix, cpen_name in exports:
        folder = Path(str(out) + suffix)
        pipe = DiffIRPipeline(dirformer=copy.deepcopy(emas["dirformer"]).cpu(), cpen=copy.deepcopy(emas[cpen_name]).cpu(),
                              ipr_denoiser=copy.deepcopy(emas["ipr_denoiser"]).cpu(), scheduler=scheduler, sf=sf)
        pipe.save_pretrained(folder, safe_serialization=True)
        store_half(folder)
        parameters = sum(p.numel() for m in (pipe.dirformer, pipe.cpen, pipe.ipr_denoiser) for p in m.parameters())
        (folder / "training.json").write_text(json.dumps({**record, "stage": 2 if not suffix else 1,
                                                          "parameters": parameters}, indent=2))
    log.write(f"exported {out}" + ("" if args.init_stage1 else f" and {out}-stage1") + "\n")
    return record


if __name__ == "__main__":
    main()
