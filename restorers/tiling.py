"""Restore a large image tile by tile, so that memory stays flat in the image size.

The LQ is cut into ``tile`` x ``tile`` windows that overlap by ``overlap`` pixels (the last window of a row or
column is moved back to end at the border, so every window has the full size); each window is restored on its
own, and the outputs are blended with weights that ramp linearly across each overlap (``feather``), so a seam
never shows as a step. ``uniform`` weights reproduce ResShift's official chopping (``ImageSpliterTh``: patches at
a fixed stride, overlaps plain-averaged).

Windows are processed in raster order, and window k draws its noise from a generator seeded with
``base + k``, ``base`` drawn once from the caller's generator: the same seed gives the same image, tiled or
re-run. Extra per-pixel inputs (an inpainting mask) are cut with the same windows.
"""

from __future__ import annotations

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


class TilingMixin:
    """What a pipeline needs to restore in tiles: above ``max_untiled_pixels`` LQ pixels it tiles by itself
    (``default_tile`` windows, ``default_overlap`` shared pixels), and ``tile_size`` forces (> 0) or forbids (0) it.
    The defaults leave every benchmark image (at most 256 x 256 LQ) in one pass."""

    max_untiled_pixels = 256 * 256
    default_tile, default_overlap = 256, 32

    def min_tile_size(self) -> int:
        """The LQ side the network works at anyway (inputs are padded up to it): automatic tiles are never
        smaller, so an input that fits one such window is never cut (ResShift's face model: 512)."""
        return 0

    def restore_tiled(self, restore: Callable[..., torch.Tensor], lq: torch.Tensor, generator=None,
                      tile_size: int | None = None, tile_overlap: int | None = None,
                      extras: dict[str, torch.Tensor] | None = None, weighting: str = "feather",
                      progress: bool = True) -> torch.Tensor:
        height, width = lq.shape[-2:]
        if tile_size is None:
            tile = max(self.default_tile, self.min_tile_size())
            tile_size = tile if height * width > max(self.max_untiled_pixels, tile * tile) else 0
        if not tile_size or (tile_size >= height and tile_size >= width):
            return restore(lq, generator=generator, **(extras or {}))
        if isinstance(generator, (list, tuple)):
            raise ValueError("tiled restoration takes one generator, not a list")
        overlap = self.default_overlap if tile_overlap is None else int(tile_overlap)
        return tiled_restore(restore, lq, int(tile_size), overlap, int(self.config.sf), generator, extras, weighting,
                             progress)
