"""Sweep methods x step counts over a benchmark and write one results row per configuration.

    python -m leaderboard.sweep --methods resshift,bicubic --task sr_x4 --nfe 1,2,4 --limit 6

Each row is the mean over the images of a (method, checkpoint, task, dataset, NFE) configuration. NFE
and TFLOPs are measured (hooks, FlopCounterMode), seconds are wall time per image after one untimed
warm-up call, and a metric is empty when it could not be computed (the ``notes`` column says why).
Methods without steps (bicubic) get one row at NFE 0 whatever ``--nfe`` says. Every row also carries its
TFLOPs at 256x256 and 1280x720 input (counted on the meta device), its metric protocol and its provenance
(a digest of the weights, the code version, the device and thread count).

A killed sweep resumes: run the same command again and it goes on from the first image it had not finished.
Past one process (images split by ``leaderboard.sharding``; the merged rows equal a one-process sweep's):

    torchrun --nproc_per_node 2 -m leaderboard.sweep --methods resshift --task sr_x4      # a CPU box
    accelerate launch --multi_gpu --num_processes 8 -m leaderboard.sweep --methods resshift --task sr_x4
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import sys
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import diffusers
import torch
from accelerate import PartialState
from tqdm.auto import tqdm

import restorers
from restorers.registry import CHECKPOINTS, get_method

from .benchmarks import load_benchmark
from .cost import parameter_count
from .device import device_name
from .evaluate import cached_flops, restore_and_score
from .image_scores import ImageScore, PartialScores
from .metrics import METRICS, metric_protocol
from .provenance import thread_count, weights_digest
from .results import RESULTS_DIR, SIZES, code_version, write_results
from .sharding import my_share, merged, sweep_state


def parse_int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("step counts must be positive integers")
    return sorted(set(values))


def checkpoint_label(method: str, task: str, checkpoint: str | None) -> str:
    """How a row names its weights: ``embedded:<folder>`` for a folder of ``assets/checkpoints`` (whichever task
    it was trained for), the path or hub id otherwise, ``none`` for a method without weights."""
    if checkpoint:
        path = Path(checkpoint)
        if path.is_dir() and path.resolve().parent == CHECKPOINTS.resolve():
            return f"embedded:{path.name}"
        return checkpoint
    default = restorers.registry.default_checkpoint(method, task)
    return f"embedded:{default.name}" if default else "none"


def sweep_jobs(methods: list[str], nfe: list[int] | None, taus: list[int] | None = None) -> list[tuple]:
    """(method, steps, tau) per configuration; tau only for methods with an accelerated start (DP-IR)."""
    jobs = []
    for method in methods:
        spec = get_method(method)
        if not spec.has_steps:
            jobs.append((method, None, None))
            continue
        for tau in (taus if taus and spec.sweeps_start_step else [None]):
            jobs += [(method, steps, tau) for steps in (nfe or [None]) if tau is None or steps is None or steps <= tau]
    return jobs


def centre_crop(image, size: int | None):
    if not size or min(image.size) <= size:
        return image
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return image.crop((left, top, left + size, top + size))


def benchmark_pairs(task, dataset: str | None = None, limit: int | None = None,
                    crop: int | None = None) -> tuple[str, list]:
    """(benchmark name, [(image id, HQ, LQ, conditions)]): the task's own degradation of each (cropped) HQ, so a
    method is scored on exactly what it was shown; the sweep's and the model cards' one way to make them."""
    bench = load_benchmark(dataset, limit)
    pairs = []
    for name, hq in bench.items:
        hq = task.modcrop(centre_crop(hq, crop))
        pairs.append((name, hq, *task.degrade_with_conditions(hq)))
    return bench.name, pairs


def config_key(method: str, label: str, task_id: str, dataset: str, steps, tau, seed: int, digest: str,
               device: str, compiled: bool) -> str:
    """Everything that makes two per-image scores parts of the same row (a resumed sweep reuses only these)."""
    return json.dumps([method, label, task_id, dataset, steps, tau, seed, digest, device_name(device), compiled])


def size_costs(pipe, steps: int | None) -> dict:
    """TFLOPs (total, once, per step call) at the fixed input sizes of ``results.SIZES``, counted on the meta
    device: the cost of a photo of that size without running one."""
    costs = {}
    for size, (width, height) in SIZES.items():
        report = cached_flops(pipe, (width, height), steps)
        for part, key in (("", "tflops"), ("_base", "tflops_base"), ("_per_nfe", "tflops_per_nfe")):
            costs[f"tflops_{size}{part}"] = report.tflops[key]
    return costs


@dataclass
class SweepEvent:
    """What a sweep has done so far: images restored of all it will restore here, and a row when one is done."""

    done: int
    total: int
    label: str
    row: dict | None = None


def check_jobs(task_id: str, jobs: list[tuple]) -> None:
    for method, *_ in jobs:
        if task_id not in get_method(method).tasks:
            raise ValueError(f"method {method!r} does not serve task {task_id!r}")


# pipeline -> the (LQ size, conditions, compiled) it has run on in this process: the demo's sweeps reuse its
# loaded pipelines, which need no second untimed warm-up for a shape they have restored before
_WARMED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def iter_sweep(task, jobs: list[tuple], pairs: list, dataset_name: str, out: str | Path | None = None,
               checkpoint: str | None = None, seed: int = 0, device: str | None = "cpu", compile: bool = False,
               guard=None, on_step=None, loader=None) -> Iterator[SweepEvent]:
    """The sweep itself, one event per restored image and per finished row: the CLI, the model cards' rows and
    the Leaderboard tab's runner all go through it. ``guard(pipe)`` is entered around each image (the demo takes
    its turn at the CPU there and installs its Stop checks); ``on_step`` is the samplers' step callback; a job
    may name its own checkpoint as a fourth item; ``loader(method, checkpoint)`` replaces ``load_pipeline`` (the
    demo reuses its loaded pipelines).
    Closing the iterator stops the sweep between two images (what is finished stays in ``out``'s partial file)."""
    state, device = sweep_state(device)
    alone = state.num_processes == 1
    shares = [my_share(len(pairs), state, offset=j * len(pairs)) for j in range(len(jobs))]
    store = PartialScores(out, state.process_index) if out is not None else None
    done = store.done() if store is not None else {}
    total, count = sum(map(len, shares)), 0
    rows, pending = [], []  # rows finished only once every process has measured its share
    for (method, steps, tau, *own), mine in zip(jobs, shares):
        chosen = (own[0] if own else checkpoint) if get_method(method).has_steps else None
        pipe = loader(method, chosen) if loader else restorers.load_pipeline(method, task.id, chosen, device)
        compiled = compile and bool(pipe.compile_targets)
        if tau is not None:
            pipe.set_start_step(tau)
        label = checkpoint_label(method, task.id, chosen)
        digest = weights_digest(pipe)
        key = config_key(method, label, task.id, dataset_name, steps, pipe.start_step(), seed, digest, device, compiled)
        scores = [done[(key, i)] for i in mine if (key, i) in done]
        count += len(scores)
        todo = [i for i in mine if (key, i) not in done]
        what = f"{method} steps={steps if steps is not None else 'default'} tau={pipe.start_step()}"
        if todo:
            if compiled:
                pipe.enable_compile()
            _, _, lq, conditions = pairs[todo[0]]
            warm, shape = _WARMED.setdefault(pipe, set()), (lq.size, tuple(sorted(conditions)), compiled)
            if shape not in warm:  # a reused pipeline warms up once per shape
                with guard(pipe) if guard else contextlib.nullcontext():
                    pipe(image=lq, num_inference_steps=steps, generator=torch.Generator().manual_seed(seed),
                         callback_on_step_end=on_step, **conditions)  # warm-up, untimed
                warm.add(shape)
        for index in todo:
            name, hq, lq, conditions = pairs[index]
            with guard(pipe) if guard else contextlib.nullcontext():
                scored = restore_and_score(pipe, task, lq, hq, steps, seed + index, on_step=on_step,
                                           conditions=conditions)
            score = ImageScore.of(scored, key, index, name, lq)
            if store is not None:
                store.add(score)
            scores.append(score)
            count += 1
            yield SweepEvent(count, total, f"{what} {name}")
        head = row_head(pipe, method, label, task.id, dataset_name, steps, device, compiled, digest,
                        state.num_processes)
        if alone:
            rows.append(finish_row(head, scores))
            yield SweepEvent(count, total, what, rows[-1])
        else:
            pending.append((head, key, what, scores))
    if pending:  # one exchange for the whole sweep, so no process waits for another between configurations
        everything = merged([score for *_, scores in pending for score in scores], state)
        for head, key, what, _ in pending:
            rows.append(finish_row(head, [score for score in everything if score.config == key]))
            yield SweepEvent(count, total, what, rows[-1])
    if out is not None and state.is_main_process:
        write_results(rows, out)
        store.clear()
    state.wait_for_everyone()


def run_sweep(methods: list[str], task_id: str, nfe: list[int] | None, dataset: str | None = None,
              limit: int | None = None, out: str | Path | None = None, checkpoint: str | None = None,
              seed: int = 0, device: str | None = "cpu", progress: bool = True, taus: list[int] | None = None,
              jobs: list[tuple] | None = None, crop: int | None = None, compile: bool = False,
              variant: str | None = None) -> list[dict]:
    """One row per (method, steps, tau) job: ``jobs`` explicitly, or every method x ``nfe`` x ``taus``.

    ``variant``: one of the task's ``variants`` (inpainting: a hole-size bin), recorded as ``dataset:variant``.
    ``crop``: centre-crop each HQ image first (recorded in the dataset name), for expensive grids.
    ``compile``: compile the networks of methods that offer it (ResShift) before the untimed warm-up, so the
    seconds are steady-state; the row's notes say so.
    ``out``: the results file; each image's scores are kept beside it until the sweep ends, so a killed sweep
    resumes. In a distributed launch (``leaderboard.sharding``) each process restores its share of the images
    and the main process writes the merged rows.
    """
    task = restorers.get_task(task_id).variant(variant)
    jobs = jobs if jobs is not None else sweep_jobs(methods, nfe, taus)
    check_jobs(task_id, jobs)
    bench_name, pairs = benchmark_pairs(task, dataset, limit, crop)
    dataset_name = bench_name + (f"-crop{crop}" if crop else "") + (f":{variant}" if variant else "")
    state, device = sweep_state(device)  # before anything asks PartialState(): it is set up once per process
    rows = []
    with tqdm(desc="sweep", unit="img", disable=not progress or not state.is_main_process) as bar:
        for event in iter_sweep(task, jobs, pairs, dataset_name, out, checkpoint, seed, device, compile):
            bar.total = event.total
            bar.n = event.done
            bar.set_postfix_str(event.label)
            bar.refresh()
            if event.row is not None:
                rows.append(event.row)
    return rows


def results_row(pipe, method: str, label: str, task_id: str, dataset: str, steps: int | None,
                scores: list[ImageScore], device: str = "cpu", compiled: bool = False, digest: str | None = None,
                processes: int = 1) -> dict:
    """The results row of one configuration from its per-image scores: the sweep's and the model cards'
    (``leaderboard.cards``) one definition of a row, so both write the same numbers for the same measurement."""
    return finish_row(row_head(pipe, method, label, task_id, dataset, steps, device, compiled, digest, processes),
                      scores)


def row_head(pipe, method: str, label: str, task_id: str, dataset: str, steps: int | None, device: str = "cpu",
             compiled: bool = False, digest: str | None = None, processes: int = 1) -> dict:
    """What a row says of the pipeline itself (sampler, costs at the fixed sizes, provenance), taken while it is
    loaded; the per-image part comes from ``finish_row``."""
    task = restorers.get_task(task_id)
    notes = set()
    if compiled:
        notes.add("compiled (torch.compile + freezing; compile time not counted)")
    if processes > 1:
        notes.add(f"seconds: {processes} processes shared the machine, each timing its own images")
    return {
        "method": method, "checkpoint": label, "task": task_id, "dataset": dataset, "tau": pipe.start_step(),
        "sampler": pipe.sampler_name(steps), "steps": steps if steps is not None else "",
        **size_costs(pipe, steps), "params": parameter_count(pipe),
        "device": device_name(device), "threads": thread_count(device), "processes": processes,
        **metric_protocol(task), "source": "measured", "weights": digest or weights_digest(pipe),
        "code_version": code_version(), "notes": notes,
    }


def finish_row(head: dict, scores: list[ImageScore]) -> dict:
    """A row: ``row_head``'s part and the means over the configuration's images (NFE must not vary)."""
    nfes = {s.nfe for s in scores}
    if len(nfes) != 1:
        raise RuntimeError(f"{head['method']}: NFE varied across images ({sorted(nfes)})")
    countable = scores[0].countable
    row = {
        **head, "nfe": nfes.pop(), "nfe_detail": scores[0].nfe_detail,
        "n_images": len(scores), "lq_size": ";".join(sorted({s.lq_size for s in scores})),
        **{key: mean(s.tflops[key] for s in scores) if countable else None
           for key in ("tflops", "tflops_base", "tflops_per_nfe")},
        "seconds_per_image": mean(s.seconds for s in scores),
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    notes = set(head["notes"])
    for name in METRICS:
        values = [s.metrics.get(name) for s in scores]
        row[name] = mean(values) if all(v is not None for v in values) else None
        notes.update(f"{name}: {s.unavailable[name]}" for s in scores if name in s.unavailable)
    if not countable:
        notes.add("tflops: its arithmetic runs inside OpenCV, which torch's FLOP counter cannot see")
    row["notes"] = "; ".join(sorted(notes))
    return row


def mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="resshift,bicubic", help="comma-separated method ids")
    parser.add_argument("--task", default="sr_x4")
    parser.add_argument("--nfe", type=parse_int_list, default=None,
                        help="comma-separated step counts (default: each method's own)")
    parser.add_argument("--dataset", default=None,
                        help="folder of HQ images, a saved dataset, a datasets id, or 'heldout' (default)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--tau", type=parse_int_list, default=None,
                        help="DP-IR start steps to sweep (comma-separated; default: the checkpoint's)")
    parser.add_argument("--crop", type=int, default=None, help="centre-crop each HQ image to this size first")
    parser.add_argument("--variant", default=None,
                        help="one of the task's variants, reported as its own dataset (inpaint: 'holes<20%%', "
                             "'holes20-40%%', 'holes>40%%'); 'all': the task as is and every variant")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder or hub id (default: embedded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true",
                        help="compile ResShift's networks first (about 1.3x faster per image after 1-2 min)")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda, cuda:1 (default: the GPU when there is one; in a multi-GPU launch each "
                             "process's own)")
    parser.add_argument("--out", default=None, help="results file (.csv or .jsonl); default assets/results/")
    args = parser.parse_args(argv)

    diffusers.utils.logging.disable_progress_bar()  # the sweep's own bar is the one to watch
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    out = Path(args.out) if args.out else RESULTS_DIR / f"{args.task}__{Path(args.dataset or 'heldout').name}.csv"
    variants = [None, *restorers.get_task(args.task).variants] if args.variant == "all" else [args.variant]
    try:
        rows = [row for variant in variants for row in
                run_sweep(methods, args.task, args.nfe, args.dataset, args.limit, out, args.checkpoint, args.seed,
                          args.device, taus=args.tau, crop=args.crop, compile=args.compile, variant=variant)]
    except (KeyError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            # tear the process group down before the interpreter does: left to exit, gloo's threads were
            # sometimes destroyed while joinable ("terminate called without an active exception", SIGABRT)
            torch.distributed.destroy_process_group()
    if not PartialState().is_main_process:
        return 0  # the main process prints and writes the merged rows
    shown = ["method", "tau", "nfe", "tflops", "seconds_per_image", "psnr_y", "ssim_y", "lpips"]
    for row in rows:
        print("  ".join(f"{k}={row[k]:.4g}" if isinstance(row[k], float)
                        else f"{k}={'unavailable' if row[k] is None and k in METRICS else row[k]}" for k in shown))
    print(f"wrote {len(rows)} rows to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
