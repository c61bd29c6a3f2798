"""Restore one image and account for it: the single code path shared by the app and the sweep."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Callable

import torch
from PIL import Image

from restorers.image_io import input_channels
from restorers.pipeline import RestorationPipeline
from restorers.tasks import Task

from .cost import FlopReport, count_flops, measure_run
from .metrics import compute_metrics


@dataclass
class Scored:
    image: Image.Image
    nfe: int
    seconds: float
    flops: FlopReport
    nfe_detail: str = ""
    metrics: dict[str, float | None] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    metrics_seconds: float = 0.0
    flops_seconds: float = 0.0  # counting FLOPs (a meta-device pass through the same tiles), once per size

    def info(self) -> dict:
        """A JSON-able summary (what the app's API returns as ``info``)."""
        return {"nfe": self.nfe, "nfe_detail": self.nfe_detail, "seconds": round(self.seconds, 4),
                "metrics_seconds": round(self.metrics_seconds, 4),
                **{k: v for k, v in self.flops.tflops.items()}, "step_calls": self.flops.nfe,
                "output_size": list(self.image.size), "metrics": self.metrics,
                "unavailable_metrics": self.unavailable}


_FLOP_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # pipeline -> {(size, steps): report}


def cached_flops(pipe: RestorationPipeline, size: tuple[int, int], steps: int | None,
                 channels: int | None = None) -> FlopReport:
    """FLOPs depend only on the pipeline, its start step, the input size and the steps: count once per
    combination. Keyed by the pipeline object itself (weakly), not its ``id()``, which a later pipeline may reuse
    once this one is freed. ``channels``: a raw burst's frame count (None: the pipeline's usual input)."""
    reports = _FLOP_CACHE.setdefault(pipe, {})
    key = (tuple(size), steps, pipe.start_step()) + ((int(channels),) if channels is not None else ())
    if key not in reports:
        reports[key] = count_flops(pipe, size[1], size[0], steps, channels)
    return reports[key]


def estimated_flops(pipe: RestorationPipeline, size: tuple[int, int], steps: int | None) -> FlopReport:
    """FLOPs for a time estimate: the exact count when one is cached for these steps, else, for an explicit step
    count, the once-per-image part plus ``steps`` step calls from a count of the same size at other steps (every
    step call of a sampler costs the same), else a fresh count. Never written into a results row."""
    reports = _FLOP_CACHE.get(pipe, {})
    key = (tuple(size), steps, pipe.start_step())
    if key in reports or steps is None:
        return cached_flops(pipe, size, steps)
    for (other_size, _, start, *channels), report in reports.items():
        if (other_size, start) == key[::2] and not channels and report.countable and report.nfe:
            return FlopReport(total=report.base + steps * report.per_nfe, per_nfe=report.per_nfe, base=report.base,
                              nfe=steps)
    return cached_flops(pipe, size, steps)


def restore_and_score(pipe: RestorationPipeline, task: Task, lq, reference: Image.Image | None = None,
                      steps: int | None = None, seed: int = 0, on_step=None, conditions: dict | None = None,
                      stop_check: Callable[[], None] | None = None) -> Scored:
    """Run ``pipe`` on ``lq`` (an image, or a raw burst) with a seeded generator; score against ``reference`` when
    it is known.

    ``on_step(pipe, i, t, tensors)`` is passed as ``callback_on_step_end`` (one-shot methods never call it);
    ``conditions`` are the task's extra inputs (inpainting: ``mask_image``), from ``Task.degrade_with_conditions``.
    ``stop_check()`` runs after the restore and before each metric: the demo's Stop raises there, so a Stop pressed
    after the networks have finished does not wait for the scoring (up to seconds on a large result).
    """
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    with measure_run(pipe) as cost:
        image = pipe(image=lq, num_inference_steps=steps, generator=generator, output_type="pil",
                     callback_on_step_end=on_step, **(conditions or {})).images[0]
    if stop_check is not None:
        stop_check()
    counted = time.perf_counter()
    frames = input_channels(lq)  # 3, or a raw burst's frame count (FLOPs grow with it)
    flops = cached_flops(pipe, lq.size, steps, None if frames == pipe.input_channels else frames)
    flops_seconds = time.perf_counter() - counted
    if reference is not None:
        reference = task.modcrop(reference)
        if reference.size != image.size:
            raise ValueError(f"the HQ reference is {reference.size} but the restored image is {image.size}")
    started = time.perf_counter()
    metrics, unavailable = compute_metrics(image, reference, task.crop_border, before_each=stop_check)
    return Scored(image=image, nfe=cost.nfe, seconds=cost.seconds, flops=flops, nfe_detail=cost.detail, metrics=metrics,
                  unavailable=unavailable, metrics_seconds=time.perf_counter() - started, flops_seconds=flops_seconds)
