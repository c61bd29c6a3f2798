"""How long a restore will take, said before it starts: the counted FLOPs over this process's measured speed.

A run's FLOPs are counted on the meta device (no computation) for the exact input size, steps and tiles it will
use. The speed is what this process measured for the same method on its earlier runs (FLOPs / seconds), or,
before its first run, half of the speed of a plain 64-channel 3x3 convolution stack measured here once (network
pipelines reach 35-80% of it on a CPU). A method whose arithmetic no counter sees (OpenCV's Telea) is estimated
from its measured seconds per pixel, or said to be unknown until it has run once.
"""

from __future__ import annotations

import time

import torch

from restorers.building import BUILD_LOCK

from .evaluate import estimated_flops

FIRST_GUESS_EFFICIENCY = 0.5  # of the conv stack's speed, until a method has run here once
LONG_RUN_SECONDS = 90.0  # an estimate over this asks before it starts
MIN_TIMED_FLOPS = 2e11  # runs below this many FLOPs (a thumbnail) do not set a method's measured speed

_SPEED: dict[str, float] = {}  # method key -> FLOP/s measured on its runs in this process
_SECONDS_PER_PIXEL: dict[str, float] = {}  # for methods whose FLOPs are not countable
_REFERENCE: dict[str, float] = {}


class ConvStack:
    """The yardstick: four channels-last 64-channel 3x3 convolutions at 128 x 128, as the pipelines run (their
    networks are kept channels-last by ``use_channels_last``)."""

    FLOPS_PER_CALL = 4 * 2 * 64 * 64 * 9 * 128 * 128

    def __init__(self, device: torch.device | str = "cpu"):
        device = torch.device(device)
        with BUILD_LOCK:  # restorers.building: not while a pipeline loads in another thread
            stack = torch.nn.Sequential(*[torch.nn.Conv2d(64, 64, 3, padding=1) for _ in range(4)]).eval()
        self.stack = stack.to(device, memory_format=torch.channels_last)
        self.x = torch.randn(1, 64, 128, 128, device=device).to(memory_format=torch.channels_last)
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.speed_for(0.0)  # warm-up

    def speed_for(self, seconds: float) -> float:
        """FLOP/s over at least two calls and about ``seconds`` of running."""
        with torch.no_grad():
            runs, started = 0, time.perf_counter()
            while runs < 2 or time.perf_counter() - started < seconds:
                self.stack(self.x)
                runs += 1
            self.sync()
        return self.FLOPS_PER_CALL * runs / (time.perf_counter() - started)


def reference_speed(device: torch.device | str = "cpu") -> float:
    """FLOP/s of the :class:`ConvStack` on ``device`` (measured once per process): the best of five short
    timings, since another thread's work (the page counting FLOPs for its estimates, which holds the GIL) only
    ever slows a timing down. One timing taken beside such a count read 68 GFLOP/s where the quiet CPU gives
    121-132, which doubled every first estimate."""
    device = torch.device(device)
    if str(device) not in _REFERENCE:
        stack = ConvStack(device)
        _REFERENCE[str(device)] = max(stack.speed_for(0.06) for _ in range(5))
    return _REFERENCE[str(device)]


def record(key: str, flops: float | None, seconds: float, pixels: int) -> None:
    """What a finished run measured, so the next estimate of this method uses this machine's real speed."""
    if seconds <= 0.02:
        return  # too short to time
    if flops:
        if flops >= MIN_TIMED_FLOPS:  # a tiny run is all overhead: its speed would overstate a photo's time
            _SPEED[key] = flops / seconds
    else:
        _SECONDS_PER_PIXEL[key] = seconds / max(pixels, 1)


def estimate_seconds(pipe, key: str, lq_size: tuple[int, int], steps: int | None) -> float | None:
    """Seconds the restore of an LQ of ``lq_size`` (width, height) will take here; None: not known yet."""
    report = estimated_flops(pipe, tuple(lq_size), steps)
    if not report.countable:
        per_pixel = _SECONDS_PER_PIXEL.get(key)
        return None if per_pixel is None else per_pixel * lq_size[0] * lq_size[1]
    speed = _SPEED.get(key) or FIRST_GUESS_EFFICIENCY * reference_speed(pipe.device)
    return report.total / speed


def measured(key: str) -> bool:
    """Whether this method's speed comes from its own runs here (only then does a long estimate ask first: the
    first guess, from a conv stack timed once, may have been timed while the CPU was busy)."""
    return key in _SPEED or key in _SECONDS_PER_PIXEL


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "time not known until it has run once"
    if seconds < 1.5:
        return "about a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min"
