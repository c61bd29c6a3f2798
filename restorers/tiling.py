"""Restore a large image tile by tile, so that memory stays flat in the image size.

The LQ is cut into ``tile`` x ``tile`` windows that overlap by ``overlap`` pixels (the last window of a row or
column is moved back to end at the border, so every window has the full size); each window is restored on its
own, and the outputs are blended with weights that ramp linearly across each overlap (``feather``), so a seam
never shows as a step. ``uniform`` weights reproduce ResShift's official chopping (``ImageSpliterTh``: patches at
a fixed stride, overlaps plain-averaged).

Windows are processed in raster order, and window k draws its noise from a generator seeded with
``base + k``, ``base`` drawn once from the caller's generator: the same seed gives the same image, tiled or
re-run. Extra per-pixel inputs (an inpainting mask) are cut with the same windows. A method's own official tile
loop (Real-ESRGAN's tiles with context) is :func:`context_tiles`; when to tile is decided by
:meth:`restorers.pipeline.RestorationPipeline.restore_tiled`.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from tqdm.auto import tqdm


def window_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of windows of size ``tile`` covering ``[0, length)`` with at least ``overlap`` shared pixels."""
    if tile >= length:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f"the overlap ({overlap}) must be smaller than the tile ({tile})")
    stride = tile - overlap
    starts = list(range(0, length - tile, stride)) + [length - tile]
    return sorted(set(starts))


def ramp(size: int, before: int, after: int) -> torch.Tensor:
    """1 inside, rising linearly over ``before`` pixels at the start and falling over ``after`` at the end."""
    weight = torch.ones(size, dtype=torch.float64)
    if before:
        weight[:before] = torch.arange(1, before + 1, dtype=torch.float64) / (before + 1)
    if after:
        weight[size - after:] = torch.minimum(weight[size - after:],
                                              torch.arange(after, 0, -1, dtype=torch.float64) / (after + 1))
    return weight


def tiled_restore(restore: Callable[..., torch.Tensor], lq: torch.Tensor, tile: int, overlap: int, scale: int,
                  generator: torch.Generator | None = None, extras: dict[str, torch.Tensor] | None = None,
                  weighting: str = "feather", progress: bool = True) -> torch.Tensor:
    """``restore(lq_window, generator=..., **extra_windows)`` -> the window's output (x ``scale``), blended."""
    if weighting not in ("feather", "uniform"):
        raise ValueError("weighting must be 'feather' or 'uniform'")
    if tile < 8:
        raise ValueError(f"tiles of {tile} pixels are too small to restore")
    batch, _, height, width = lq.shape
    ys, xs = window_starts(height, tile, overlap), window_starts(width, tile, overlap)
    base = int(torch.randint(0, 2 ** 62, (1,), generator=generator)) if generator is not None else None
    output = weights = None
    windows = [(y, x) for y in ys for x in xs]
    for index, (y, x) in enumerate(tqdm(windows, desc="tiles", disable=not progress or len(windows) == 1)):
        th, tw = min(tile, height), min(tile, width)
        crop = (slice(None), slice(None), slice(y, y + th), slice(x, x + tw))
        window_generator = torch.Generator(device="cpu").manual_seed(base + index) if base is not None else None
        extra = {k: v[crop] for k, v in (extras or {}).items()}
        out = restore(lq[crop], generator=window_generator, **extra)
        if output is None:
            output = torch.zeros(batch, out.shape[1], height * scale, width * scale, dtype=torch.float64,
                                 device=out.device)
            weights = torch.zeros(1, 1, height * scale, width * scale, dtype=torch.float64, device=out.device)
        if weighting == "uniform":
            weight = torch.ones(th * scale, tw * scale, dtype=torch.float64)
        else:  # ramp only where a neighbour shares the pixels, so the image border keeps full weight
            top = (overlap if y > 0 else 0) * scale
            bottom = (overlap if y + th < height else 0) * scale
            left = (overlap if x > 0 else 0) * scale
            right = (overlap if x + tw < width else 0) * scale
            weight = ramp(th * scale, top, bottom)[:, None] * ramp(tw * scale, left, right)[None, :]
        weight = weight.to(out.device)
        region = (slice(None), slice(None), slice(y * scale, (y + th) * scale), slice(x * scale, (x + tw) * scale))
        output[region] += out.double() * weight
        weights[region] += weight
    return (output / weights).to(lq.dtype)


def context_tiles(restore: Callable[..., torch.Tensor], image: torch.Tensor, tile: int, context: int, scale: int,
                  extras: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Real-ESRGAN's official tile loop: each ``tile`` x ``tile`` tile is restored with ``context`` pixels of its
    neighbours around it, and only its centre is pasted into the output (no blending)."""
    batch, channels, height, width = image.shape
    output = image.new_zeros(batch, channels, height * scale, width * scale)
    for y in range(math.ceil(height / tile)):
        for x in range(math.ceil(width / tile)):
            x0, y0 = x * tile, y * tile
            x1, y1 = min(x0 + tile, width), min(y0 + tile, height)
            px0, py0 = max(x0 - context, 0), max(y0 - context, 0)
            px1, py1 = min(x1 + context, width), min(y1 + context, height)
            window = (slice(None), slice(None), slice(py0, py1), slice(px0, px1))
            out = restore(image[window], **{k: v[window] for k, v in (extras or {}).items()})
            oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
            output[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
                out[:, :, oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
    return output
