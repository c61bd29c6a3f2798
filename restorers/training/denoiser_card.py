"""Measure DP-IR's embedded denoiser on the held-out benchmark and write its model card.

    python -m restorers.training.denoiser_card assets/checkpoints/dpir-denoiser

The denoiser is a Gaussian denoiser (it never sees a task's degradation), so it is scored as one: each held-out
photo plus white Gaussian noise at several levels (seeded per image and level), PSNR (RGB, [0, 1]) of the
noisy input and of the denoised output. The levels include sigma_tilde_t = sqrt((1 - abar_t) / abar_t) at the
timesteps DP-IR samples from, which is the scale the pipeline feeds it.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch

from leaderboard.benchmarks import load_benchmark
from restorers.dpir.denoiser import DenoiserNet
from restorers.dpir.scheduler import DPIRScheduler
from restorers.image_io import pil_to_tensor

from .model_card import provenance, reproduce_commands, stage_table


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float((a.clamp(0, 1) - b).square().mean())
    return 10.0 * np.log10(1.0 / max(mse, 1e-12))


def evaluate(folder: Path, dataset: str = "heldout", limit: int | None = None) -> dict:
    model = DenoiserNet.from_pretrained(folder).eval()
    scheduler = DPIRScheduler()
    levels = [("5/255", 5 / 255), ("15/255", 15 / 255), ("25/255", 25 / 255), ("50/255", 50 / 255)]
    levels += [(f"t={t}", float(scheduler.sigma_tilde(t))) for t in (100, 250, 500)]
    bench = load_benchmark(dataset, limit)
    rows = []
    with torch.no_grad():
        for index, (name, hq) in enumerate(bench.items):
            clean = pil_to_tensor(hq)
            row = {"image": name}
            for number, (label, sigma) in enumerate(levels):
                generator = torch.Generator().manual_seed(1000 * index + number)
                noisy = clean + sigma * torch.randn(clean.shape, generator=generator)
                row[label] = {"noisy": psnr(noisy, clean), "denoised": psnr(model(noisy, sigma), clean)}
            rows.append(row)
    return {"dataset": bench.name, "levels": [[label, sigma] for label, sigma in levels], "rows": rows}


def render(folder: Path, result: dict, training: dict) -> str:
    lines = ["| noise level | sigma (image in [0, 1]) | PSNR noisy (dB) | PSNR denoised (dB) | gain |", "|---|---|---|---|---|"]
    for label, sigma in result["levels"]:
        noisy = statistics.fmean(r[label]["noisy"] for r in result["rows"])
        denoised = statistics.fmean(r[label]["denoised"] for r in result["rows"])
        lines.append(f"| {label} | {sigma:.4f} | {noisy:.2f} | {denoised:.2f} | {denoised - noisy:+.2f} |")
    config = json.loads((folder / "config.json").read_text())
    n = len(result["rows"])
    return f"""---
library_name: diffusers
tags: [image-restoration, denoising, dpir, diffusion]
---

# DP-IR denoising module: embedded CPU checkpoint

DP-IR's task-agnostic Denoising network phi_D(x_tilde, sigma) ~ E[x_0 | x_tilde] (Zhussip et al., NeurIPS 2024),
trained here, offline, for Gaussian denoising in sRGB. It is shared by every task's DP-IR pipeline (each
`assets/checkpoints/dpir-<task>` folder holds a copy) and never sees a task's degradation.

A MIRNet-style network (`restorers/dpir/denoiser.py`: recursive residual groups of multi-scale residual blocks
with dual attention units and selective kernel fusion, the noise level as an input channel) of
{training['parameters']:,} parameters: {config['num_groups']} groups x {config['blocks_per_group']} block,
{config['channels']} features at full resolution, {config['scales']} scales. The paper's MIRNet-S has 15.95 M; this
one is sized for a 2-core CPU. Inputs are preconditioned as in EDM (see the module docstring), so it is exact at
sigma = 0 and bounded at any sigma.

## Held-out evaluation (measured by `restorers/training/denoiser_card.py`)

`assets/benchmarks/{result['dataset']}`: {n} photos (256x256) never trained on, plus white Gaussian noise (seeded);
PSNR on RGB in [0, 1]. `t=...` rows are the noise level sigma_tilde_t of the DP-IR sampler at that timestep.

{chr(10).join(lines)}

## Training data and provenance

{provenance(training)}

Plus procedural dead-leaves images (15% of the crops). Random {training['crop']}x{training['crop']} crops with flips
and rotations; sigma uniform in [0.5/255, sigma_tilde(250) = 0.958] for 80% of a batch, sigma_tilde(t) with t
uniform in (250, 1000] for the rest.

## Training

| | |
|---|---|
| objective | MSE to x_0 weighted by 1 / c_out(sigma)^2 (every noise level pulls equally) |
| optimiser | AdamW, warm-up then cosine to 10% of the peak lr, gradient clip 1.0, EMA (the EMA weights are exported) |
| total steps | {training['steps']:,} |
| total wall time | {training['train_seconds'] / 60:.1f} min of training |
| parameters | {training['parameters']:,} |

{stage_table(training)}

## Reproduce

```bash
python -m restorers.training.corpus fetch
{reproduce_commands('denoiser', training, folder)}
python -m restorers.training.denoiser_card {folder.as_posix()}
```

## Limitations

A small denoiser trained for {training['train_seconds'] / 60:.0f} CPU minutes (the paper's trains 1 M iterations on DF2K).
It is far weaker than MIRNet-S; DP-IR's perceptual quality depends on it (the paper's Table 12 reports that a
weaker denoiser costs about 30% in LPIPS). Gaussian noise only: real camera noise is signal-dependent.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    training = json.loads((args.folder / "training.json").read_text())
    result = evaluate(args.folder)
    card = render(args.folder, result, training)
    (args.folder / "README.md").write_text(card)
    (args.folder / "heldout_metrics.json").write_text(json.dumps(result, indent=1))
    print(card.split("## Training data")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
