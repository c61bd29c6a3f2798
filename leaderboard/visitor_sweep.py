"""A sweep a visitor runs from the Leaderboard tab (or the ``/sweep`` API): their methods, steps and images.

The request is parsed once into a ``VisitorSweep`` (every bad value refused in one sentence), its time is
estimated from counted FLOPs and this server's measured speed, and one too long for the demo is refused with the
command line that runs it instead. It runs through the sweep's own ``iter_sweep``: each image takes its turn at
the CPU with the restore lanes (``serving.RUN_LOCK``, first come first served) and obeys the session's Stop.
Its rows are the visitor's: source ``yours``, kept in their session, never written to ``assets/results``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image

import restorers
from restorers.image_io import InvalidImageError, check_size, load_image, to_rgb

from .benchmarks import BUILTINS, IMAGE_SUFFIXES
from .estimate import duration_text, estimate_seconds
from .serving import (RUN_LOCK, STOPPED, RequestError, RunStopped, StoppedByUser, available_methods, choice_of,
                      get_pipeline, speed_key, stop_checker, stop_hooks)
from .sweep import benchmark_pairs, iter_sweep, parse_int_list, sweep_jobs

BENCHMARKS = {"heldout": "built-in held-out photos (256x256)", "heldout512": "built-in held-out, 512x512",
              "upload": "my images"}
PAIRINGS = {"hq": "clean photos: the task degrades them", "pairs": "LQ/HQ pairs, matched by name"}
MAX_IMAGES = 16
MAX_UPLOAD_PIXELS = 1024 * 1024  # per image: a sweep is many runs, so each must stay small
BUDGET_SECONDS = 600.0  # a longer sweep is refused here and run from the command line
PAIR_MARKS = ("lq", "hq")


@dataclass
class VisitorSweep:
    task: object
    choices: list  # MethodChoice per job (the demo's parsed method keys)
    jobs: list[tuple]  # (method, steps, tau, checkpoint) for iter_sweep
    pairs: list  # (name, HQ, LQ, conditions)
    dataset: str
    command: str  # the same sweep from the command line
    seconds: float | None = None  # the estimate
    rows: list[dict] = field(default_factory=list)


def pair_key(name: str) -> tuple[str, str] | None:
    """('photo', 'lq') for 'photo_lq.png', 'photo-HQ.jpg', 'lq/photo.png'; None when the name marks neither."""
    path = PurePosixPath(name)
    stem, parent = path.stem.lower(), path.parent.name.lower()
    if parent in PAIR_MARKS:
        return path.stem, parent
    for mark in PAIR_MARKS:
        for sep in ("_", "-", "."):
            if stem.endswith(sep + mark):
                return path.stem[: -len(mark) - 1], mark
    return None


def read_uploads(files) -> list[tuple[str, Image.Image]]:
    """(name, RGB image) of every uploaded image, the images inside uploaded zip files included, by name."""
    found = []
    for file in files or []:
        path = Path(file if isinstance(file, str) else getattr(file, "name", file))
        if path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    members = [m for m in archive.infolist() if not m.is_dir()
                               and PurePosixPath(m.filename).suffix.lower() in IMAGE_SUFFIXES
                               and not PurePosixPath(m.filename).name.startswith(".")]
                    if len(members) > 2 * MAX_IMAGES:
                        raise RequestError(f"{path.name} holds {len(members)} images; a sweep here takes at most "
                                           f"{MAX_IMAGES} (pairs: {2 * MAX_IMAGES} files).")
                    for member in members:
                        if member.file_size > 64 * 2**20:
                            raise RequestError(f"{member.filename} in {path.name} is over 64 MB.")
                        found.append((member.filename, _decode(archive.read(member), member.filename)))
            except zipfile.BadZipFile:
                raise RequestError(f"{path.name} is not a readable zip file.") from None
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            found.append((path.name, _decode(path, path.name)))
        else:
            raise RequestError(f"{path.name} is neither an image ({', '.join(sorted(IMAGE_SUFFIXES))}) nor a zip.")
    return sorted(found)


def _decode(source, name: str) -> Image.Image:
    try:
        image = to_rgb(load_image(source))
    except InvalidImageError as err:
        raise RequestError(f"{PurePosixPath(name).name}: {err}.") from None
    if image.width * image.height > MAX_UPLOAD_PIXELS:
        raise RequestError(f"{PurePosixPath(name).name} is {image.width}x{image.height}; a sweep here takes images "
                           f"up to {MAX_UPLOAD_PIXELS:,} pixels (crop or downscale it, or sweep from the command line).")
    return image


def upload_pairs(task, files, pairing: str) -> list:
    images = read_uploads(files)
    if not images:
        raise RequestError("Upload your images first (several image files, or a zip of them).")
    pairs = []
    if pairing == "hq":
        for name, picture in images:
            try:
                check_size(picture, min_side=8 * max(task.scale, task.size_multiple, 1))
            except InvalidImageError as err:
                raise RequestError(f"{PurePosixPath(name).name}: {err}.") from None
            hq = task.modcrop(picture)
            pairs.append((PurePosixPath(name).stem, hq, *task.degrade_with_conditions(hq)))
        return pairs
    if task.needs_mask:
        raise RequestError(f"{task.title} needs a mask with each pair; upload clean photos instead and the task "
                           "draws the holes.")
    if task.takes_bursts:
        raise RequestError(f"{task.title} restores bursts of raw frames, not LQ images; upload clean photos "
                           "instead and the task makes a burst of each.")
    sides: dict[str, dict[str, Image.Image]] = {}
    for name, picture in images:
        key = pair_key(name)
        if key is None:
            raise RequestError(f"{PurePosixPath(name).name} is not marked as LQ or HQ: name pairs like photo_lq.png "
                               "and photo_hq.png (or put them in folders lq/ and hq/ of a zip).")
        sides.setdefault(key[0], {})[key[1]] = picture
    for stem, side in sorted(sides.items()):
        if set(side) != set(PAIR_MARKS):
            missing = ({"lq", "hq"} - set(side)).pop().upper()
            raise RequestError(f"{stem} has no {missing} partner (pairs are matched by name).")
        lq, hq = side["lq"], side["hq"]
        if hq.size != (lq.width * task.scale, lq.height * task.scale):
            raise RequestError(f"{stem}: the HQ is {hq.width}x{hq.height}, but {task.title} needs "
                               f"{task.scale}x the LQ's {lq.width}x{lq.height}.")
        pairs.append((stem, hq, lq, {}))
    return pairs


def parse(task_id: str, methods: list[str], nfe_text: str, benchmark: str, files, pairing: str,
          count) -> VisitorSweep:
    try:
        task = restorers.get_task(task_id)
    except KeyError as err:
        raise RequestError(f"{err.args[0]}.") from None
    if not methods:
        raise RequestError("Tick at least one method to sweep.")
    offered = available_methods(task_id)
    unknown = [m for m in methods if m not in offered]
    if unknown:
        raise RequestError(f"{', '.join(unknown)} is not offered for {task.title}; choose from: {', '.join(offered)}.")
    try:
        nfe = parse_int_list(nfe_text) if nfe_text and nfe_text.strip() else None
    except argparse.ArgumentTypeError as err:
        raise RequestError(f"Step counts: {err}.") from None
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise RequestError(f"The image count must be a whole number from 1 to {MAX_IMAGES}.") from None
    if not 1 <= count <= MAX_IMAGES:
        raise RequestError(f"The image count must be from 1 to {MAX_IMAGES} here (sweep more from the command line).")
    if benchmark in BUILTINS:
        name, pairs = benchmark_pairs(task, benchmark, count)
        dataset = f"{name} (first {len(pairs)})"
    elif benchmark == "upload":
        if pairing not in PAIRINGS:
            raise RequestError(f"Say how your images are meant: {' or '.join(PAIRINGS.values())}.")
        pairs = upload_pairs(task, files, pairing)[:count]
        dataset = f"your {len(pairs)} {'pairs' if pairing == 'pairs' else 'photos'}"
    else:
        raise RequestError(f"Choose a benchmark: {', '.join(BENCHMARKS.values())}.")
    choices = [choice_of(m, task_id) for m in methods]
    jobs, job_choices = [], []
    for choice in choices:
        for method, steps, tau in sweep_jobs([choice.method], nfe):
            jobs.append((method, steps, tau, choice.load_checkpoint))
            job_choices.append(choice)
    source = benchmark if benchmark in BUILTINS else "<folder of your images>"
    command = (f"python -m leaderboard.sweep --task {task_id} --methods {','.join(sorted({c.method for c in choices}))}"
               f"{f' --nfe {nfe_text.strip()}' if nfe else ''} --dataset {source} --limit {len(pairs)}")
    return VisitorSweep(task, job_choices, jobs, pairs, dataset, command)


def estimate(sweep: VisitorSweep) -> float | None:
    """Seconds the whole sweep will take here (None: a method has never run here and cannot be estimated)."""
    total = 0.0
    for choice, (_, steps, _, _) in zip(sweep.choices, sweep.jobs):
        pipe = get_pipeline(choice, sweep.task.id)
        for _, _, lq, _ in sweep.pairs:
            seconds = estimate_seconds(pipe, speed_key(choice, None), lq.size, steps)
            if seconds is None:
                return None
            total += seconds
    return total


def check_budget(sweep: VisitorSweep) -> None:
    sweep.seconds = estimate(sweep)
    if sweep.seconds is not None and sweep.seconds > BUDGET_SECONDS:
        raise RequestError(f"This sweep would take {duration_text(sweep.seconds)} here, over the demo's "
                           f"budget of {duration_text(BUDGET_SECONDS).removeprefix('about ')}; run it from the command line instead: "
                           f"`{sweep.command}`")


def run(sweep: VisitorSweep, session: str | None):
    """Yield (images done, images in all, seconds left or None, the rows so far) after every image."""
    loaded = {(c.method, c.load_checkpoint): c for c in sweep.choices}

    def loader(method, checkpoint):
        return get_pipeline(loaded[(method, checkpoint)], sweep.task.id)

    @contextlib.contextmanager
    def guard(pipe):
        with RUN_LOCK:  # one image at a time, in turn with the restore lanes
            if session in STOPPED:
                raise RunStopped()
            with stop_hooks(pipe, session):
                yield

    started = time.perf_counter()
    try:
        for event in iter_sweep(sweep.task, sweep.jobs, sweep.pairs, sweep.dataset, guard=guard,
                                on_step=stop_checker(session), loader=loader, device=None):
            if event.row is not None:
                event.row.update(source="yours", notes="; ".join(
                    n for n in ("measured on this server in a visitor's session", event.row["notes"]) if n))
                sweep.rows.append(event.row)
            elapsed = time.perf_counter() - started
            left = elapsed / event.done * (event.total - event.done) if event.done else sweep.seconds
            yield event.done, event.total, left, list(sweep.rows)
    except RunStopped:
        raise StoppedByUser() from None
