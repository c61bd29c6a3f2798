"""Measure an exported ResShift x4 checkpoint on the held-out photos and write its model card.

    python -m restorers.training.model_card assets/checkpoints/resshift-sr_x4

Every number in the card is measured by this script on this machine (PSNR-Y / SSIM-Y with a 4-pixel
border, MATLAB-bicubic LQ, seed 0 per image); the training facts come from the ``training.json`` that
the trainer writes next to the weights.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import torch

import restorers
from leaderboard.evaluate import restore_and_score
from leaderboard.metrics import compute_metric

from .data import HELDOUT_CROP, HELDOUT_NAMES, TRAIN_COLOUR_NAMES, TRAIN_GREY_NAMES, heldout_images, \
    package_provenance
from .train_resshift import EMBEDDED_SCHEDULER_CONFIG

STEP_COUNTS = (1, 2, 4)


def evaluate(folder: Path) -> dict:
    task = restorers.get_task("sr_x4")
    pipe = restorers.load_pipeline("resshift", "sr_x4", checkpoint=str(folder))
    bicubic = restorers.load_pipeline("bicubic", "sr_x4")
    pairs = [(name, hq, task.degrade(hq)) for name, hq in heldout_images()]
    pipe(image=pairs[0][2], generator=torch.Generator().manual_seed(0))  # warm-up, untimed
    rows = []
    for name, hq, lq in pairs:
        base = bicubic(image=lq).images[0]
        row = {"image": name, "bicubic": (compute_metric("psnr_y", base, hq, 4), compute_metric("ssim_y", base, hq, 4))}
        for steps in STEP_COUNTS:
            scored = restore_and_score(pipe, task, lq, hq, steps, seed=0)
            row[steps] = (scored.metrics["psnr_y"], scored.metrics["ssim_y"], scored.seconds, scored.nfe)
        rows.append(row)
    return {"rows": rows, "lq_size": pairs[0][2].size}


def mean(values) -> float:
    return statistics.fmean(values)


def training_stages(training: dict) -> list[dict]:
    """The stages that produced the weights (a single stage for records written before fine-tuning existed)."""
    return training.get("stages") or [training]


def stage_table(training: dict) -> str:
    lines = ["| stage | steps | batch x crop | peak lr | EMA | wall time | hardware, torch |",
             "|---|---|---|---|---|---|---|"]
    for index, stage in enumerate(training_stages(training), 1):
        start = f"fine-tune of stage {index - 1}" if stage.get("init_from") else "from scratch"
        lines.append(f"| {index} ({start}) | {stage['steps']:,} | {stage['batch']} x {stage['crop']}px | "
                     f"{stage['lr']:g} | {stage['ema']} | {stage['train_seconds'] / 60:.1f} min | "
                     f"{stage['hardware']}, {stage['torch']} |")
    return "\n".join(lines)


def reproduce_commands(training: dict, folder: Path) -> str:
    """One trainer command per stage; each fine-tune starts from the previous stage's export."""
    stages = training_stages(training)
    commands = []
    for index, stage in enumerate(stages, 1):
        out = folder.as_posix() if index == len(stages) else f"runs/stage{index}/export"
        command = (f"python -m restorers.training.train_resshift --run-dir runs/stage{index} --out {out} "
                   f"--steps {stage.get('schedule_steps', stage['steps'])} --stop-at {stage['steps']} "
                   f"--batch {stage['batch']} --crop {stage['crop']} --lr {stage['lr']:g} "
                   f"--warmup {stage.get('warmup', 200)} --seed {stage['seed']} --threads {stage['threads']}")
        if stage.get("init_from"):
            command += f" --init-from runs/stage{index - 1}/export"
        commands.append(command)
    return "\n".join(commands)


def render(folder: Path, result: dict, training: dict) -> str:
    rows, default_steps = result["rows"], EMBEDDED_SCHEDULER_CONFIG["num_train_timesteps"]
    bic_psnr = mean(r["bicubic"][0] for r in rows)
    margins = {s: mean(r[s][0] for r in rows) - bic_psnr for s in STEP_COUNTS}
    seconds = statistics.median(r[default_steps][2] for r in rows)
    lq_w, lq_h = result["lq_size"]
    params = training["parameters"]
    header = ["image", "bicubic PSNR-Y / SSIM-Y"] + [f"ResShift {s} step{'s' * (s > 1)}" for s in STEP_COUNTS]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["image"], f"{r['bicubic'][0]:.2f} / {r['bicubic'][1]:.4f}"]
        cells += [f"{r[s][0]:.2f} / {r[s][1]:.4f}" for s in STEP_COUNTS]
        table.append("| " + " | ".join(cells) + " |")
    cells = ["**mean**", f"**{bic_psnr:.2f} / {mean(r['bicubic'][1] for r in rows):.4f}**"]
    cells += [f"**{mean(r[s][0] for r in rows):.2f} / {mean(r[s][1] for r in rows):.4f}**" for s in STEP_COUNTS]
    table.append("| " + " | ".join(cells) + " |")
    colour = ", ".join(f"`{n}` ({package_provenance(n)})" for n in TRAIN_COLOUR_NAMES)
    grey = ", ".join(f"`{n}`" for n in TRAIN_GREY_NAMES)
    heldout = ", ".join(f"`{n}` ({package_provenance(n)})" for n in HELDOUT_NAMES)
    side = lambda m: f"{abs(m):.2f} dB PSNR-Y {'above' if m > 0 else 'below'}"  # noqa: E731
    return f"""---
library_name: diffusers
tags: [image-restoration, super-resolution, resshift, diffusion]
pipeline_tag: image-to-image
---

# ResShift x4 super-resolution: embedded CPU checkpoint

A small ResShift model (Yue et al., NeurIPS 2023) trained here, offline, so that the workbench does its
job on a fresh clone with no network. It is the official method (the residual-shifting chain with the
4-step exponential schedule: kappa {EMBEDDED_SCHEDULER_CONFIG['kappa']}, min noise
{EMBEDDED_SCHEDULER_CONFIG['min_noise_level']}, sqrt(eta_T) {EMBEDDED_SCHEDULER_CONFIG['etas_end']},
power {EMBEDDED_SCHEDULER_CONFIG['power']}; x0 prediction) with two CPU-sized changes: the latent space is a
lossless 4x pixel-unshuffle instead of the VQ-GAN (so the Swin-UNet runs at LR resolution), and the
Swin-UNet is {params:,} parameters instead of 118.6 M.

**Held-out result (measured):** with its default {default_steps} steps it is **{side(margins[default_steps])}**
MATLAB bicubic on average over the {len(rows)} held-out photos (1 step: {margins[1]:+.2f} dB,
2 steps: {margins[2]:+.2f} dB). A {lq_w}x{lq_h} -> {4 * lq_w}x{4 * lq_h} image takes
{seconds:.2f} s (median, {default_steps} steps, {platform.machine()} CPU, {torch.get_num_threads()} threads).

Use: `restorers.load_pipeline("resshift", "sr_x4")` (this folder is the default), or
`ResShiftPipeline.from_pretrained("{folder.as_posix()}")`.

## Held-out evaluation (measured by `restorers/training/model_card.py`)

{HELDOUT_CROP}x{HELDOUT_CROP} centre crops of the held-out photos, LQ = MATLAB `imresize(HQ, 1/4, 'bicubic')`,
PSNR-Y / SSIM-Y on BT.601 Y with a 4-pixel border cropped (pyiqa), seed 0.

{chr(10).join(table)}

These images were never trained on: {heldout}. Their near-duplicates (`cat` = `chelsea`,
`motorcycle_right`) were excluded from training as well.

## Training data and provenance

Only images that pip packages install, plus procedural ones:
* colour photos: {colour};
* grey photos (scikit-image `skimage.data`, replicated to RGB): {grey};
* procedural dead-leaves images (occluding discs and boxes, 1/r^3 radii, colours sampled from the photos,
  some with shading or sinusoidal texture): 30% of the crops.

Pairs: random {training['crop']}x{training['crop']} HQ crops with flips and 90-degree rotations; LQ = MATLAB bicubic x1/4
(`restorers.degradations.matlab_imresize`).

## Training

| | |
|---|---|
| objective | MSE on the x0 prediction, t uniform over the {default_steps} steps (ResShift's loss without its LPIPS term: no LPIPS weights offline) |
| optimiser | AdamW, warm-up then cosine to 10% of the peak lr, gradient clip 1.0, EMA (the EMA weights are exported) |
| total steps | {training['steps']:,} |
| total wall time | {training['train_seconds'] / 60:.1f} min of training |
| parameters | {params:,} |

{stage_table(training)}

## Reproduce

```bash
{reproduce_commands(training, folder)}
python -m restorers.training.model_card {folder.as_posix()}
```
The trainer resumes from `--run-dir` if it is interrupted (`--minutes` bounds one session).

## Limitations

A tiny model trained for {training['train_seconds'] / 60:.0f} CPU minutes on about twenty images: it knows bicubic x4 degradation only (no noise,
blur or JPEG), and its textures are far from the official model's. It exists to make the pipeline, the app
and the leaderboard run offline; use the official weights (a later conversion script) for real work.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    training = json.loads((args.folder / "training.json").read_text())
    result = evaluate(args.folder)
    card = render(args.folder, result, training)
    (args.folder / "README.md").write_text(card)
    (args.folder / "heldout_metrics.json").write_text(json.dumps(result, indent=2))
    print(card.split("## Held-out evaluation")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
