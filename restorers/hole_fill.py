"""A parameter-free first guess for the holes of an image: the known pixels averaged down a pyramid and pulled
back up ("push-pull"), so every hole pixel gets the mean colour of the nearest known pixels at the coarsest scale
that reaches them.

Why: ResShift's chain shifts the LQ's latent towards the HQ's. With the official convention (holes at -1) a small
network must paint whole holes from flat black; started from this smooth fill it only has to add the structure
and texture. It runs in torch (its FLOPs are counted like the rest of a pipeline) and has no weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def push_pull_fill(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """``image`` (B, C, H, W), ``hole`` (B, 1, H, W) with 1 where to fill -> the image with its holes filled.

    Known pixels are returned unchanged; a hole pixel takes the known-weighted mean of the first pyramid level at
    which its neighbourhood holds any known pixel, bilinearly upsampled (smooth at the hole's edges)."""
    known = 1.0 - hole
    levels = [(image * known, known)]
    while max(levels[-1][0].shape[-2:]) > 1:  # to a single pixel: no data-dependent stop (it runs on meta too)
        total, weight = levels[-1]
        levels.append((F.avg_pool2d(total, 2, ceil_mode=True), F.avg_pool2d(weight, 2, ceil_mode=True)))
    total, weight = levels[-1]
    filled = total / weight.clamp_min(1e-8)  # the coarsest level: where its weight is 0 the image has no known pixel
    for total, weight in reversed(levels[:-1]):
        up = F.interpolate(filled, size=total.shape[-2:], mode="bilinear", align_corners=False)
        mean = total / weight.clamp_min(1e-8)
        filled = torch.where(weight >= 0.999, mean, mean * weight + up * (1.0 - weight))
    return image * known + filled * hole
