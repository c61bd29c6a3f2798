"""Hole masks for inpainting: random free-form brush strokes and boxes, and user-drawn masks.

A mask is a uint8 (H, W) array with 1 where a pixel is missing (a hole) and 0 where it is known; the
degraded input is ``image * (1 - mask)``, holes black (the LaMa / DiffIR convention).

The free-form masks follow the idea of LaMa's training masks (Suvorov et al., "Resolution-robust Large Mask
Inpainting with Fourier Convolutions", WACV 2022): a few brush strokes, each a polyline that starts at a random
point and turns by a random angle at each vertex, painted with a round brush. "thick" strokes are wide and few,
"thin" ones narrow and more numerous. All sizes are fractions of the shorter image side, so a mask looks the
same at any resolution. Boxes model the other common case, a rectangular object to remove.

Everything is drawn from a ``numpy.random.Generator``, so a seed reproduces a mask exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..image_io import InvalidImageError

KINDS = ("thick", "thin", "box")

# (strokes, vertices per stroke, segment length, brush width): integer ranges are inclusive, lengths and widths
# are fractions of the shorter side. Thin brushes are ~5x narrower, so even with more strokes they cover less.
STROKES = {
    "thick": {"strokes": (1, 5), "vertices": (2, 6), "length": (0.10, 0.35), "width": (0.08, 0.20)},
    "thin": {"strokes": (4, 10), "vertices": (3, 8), "length": (0.10, 0.35), "width": (0.015, 0.04)},
}
MAX_TURN = np.pi / 2  # how far a stroke may turn at a vertex, either way


def _check_size(height: int, width: int) -> None:
    if height < 1 or width < 1:
        raise ValueError(f"a mask needs a positive size, got {height}x{width} (height x width)")


def free_form_mask(rng: np.random.Generator, height: int, width: int, kind: str = "thick") -> np.ndarray:
    """Random brush strokes: each a polyline with random turns, drawn as lines with round (circular) joints."""
    if kind not in STROKES:
        raise ValueError(f"kind must be one of {', '.join(STROKES)}, got {kind!r}")
    _check_size(height, width)
    p = STROKES[kind]
    side = min(height, width)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(p["strokes"][0], p["strokes"][1] + 1)):
        brush = max(1, round(rng.uniform(*p["width"]) * side))
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        angle = rng.uniform(0.0, 2.0 * np.pi)
        points = [(x, y)]
        for _ in range(rng.integers(p["vertices"][0], p["vertices"][1] + 1) - 1):
            angle += rng.uniform(-MAX_TURN, MAX_TURN)
            length = rng.uniform(*p["length"]) * side
            # a vertex outside the image is pulled back onto its border (the stroke then runs along it)
            x = float(np.clip(x + length * np.cos(angle), 0, width - 1))
            y = float(np.clip(y + length * np.sin(angle), 0, height - 1))
            points.append((x, y))
        draw.line(points, fill=1, width=brush)
        radius = brush / 2.0
        for px, py in points:  # round joints and caps: a plain wide polyline has notches at its corners
            draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=1)
    return np.asarray(canvas, dtype=np.uint8)


def box_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """1-3 axis-aligned rectangles, each side 10-50% of the image's, placed anywhere inside it."""
    _check_size(height, width)
    mask = np.zeros((height, width), dtype=np.uint8)
    for _ in range(rng.integers(1, 4)):
        box_h = max(1, round(rng.uniform(0.1, 0.5) * height))
        box_w = max(1, round(rng.uniform(0.1, 0.5) * width))
        top, left = rng.integers(0, height - box_h + 1), rng.integers(0, width - box_w + 1)
        mask[top:top + box_h, left:left + box_w] = 1
    return mask


def _fallback_box(rng: np.random.Generator, height: int, width: int, min_fraction: float,
                  max_fraction: float) -> np.ndarray:
    """One block of an in-range area (the last resort, when random draws keep missing the bounds).

    The block is a rectangle about the image's shape plus, when the area is not a product of its sides, one
    partial row below it, so its area is exactly the drawn target.
    """
    total = height * width
    target = int(rng.integers(int(np.ceil(min_fraction * total)), int(np.floor(max_fraction * total)) + 1))
    block_w = min(width, max(1, int(np.ceil(np.sqrt(target * width / height)))))
    block_w = max(block_w, -(-target // height))  # no taller than the image
    rows, rest = divmod(target, block_w)
    block_h = rows + (rest > 0)
    top, left = rng.integers(0, height - block_h + 1), rng.integers(0, width - block_w + 1)
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[top:top + rows, left:left + block_w] = 1
    if rest:
        mask[top + rows, left:left + rest] = 1
    return mask


def random_mask(rng: np.random.Generator, height: int, width: int, kinds: tuple[str, ...] = KINDS,
                min_fraction: float = 0.05, max_fraction: float = 0.5, attempts: int = 50) -> np.ndarray:
    """A thick, thin or box mask (kind chosen uniformly from ``kinds``) whose hole covers [min, max] of the image.

    A draw outside the bounds is redrawn (same kind) up to ``attempts`` times: an almost empty mask tests nothing
    and a mostly empty image leaves nothing to inpaint from. If every draw misses, one box of an in-range area is
    used, so the bounds always hold.
    """
    _check_size(height, width)
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds!r}")
    if not 0.0 <= min_fraction <= max_fraction <= 1.0:
        raise ValueError(f"need 0 <= min_fraction <= max_fraction <= 1, got {min_fraction}, {max_fraction}")
    total = height * width
    if int(np.ceil(min_fraction * total)) > int(np.floor(max_fraction * total)):
        raise ValueError(f"no whole number of pixels of a {height}x{width} image lies between "
                         f"{min_fraction:.0%} and {max_fraction:.0%}")
    kind = kinds[int(rng.integers(len(kinds)))]
    for _ in range(attempts):
        mask = box_mask(rng, height, width) if kind == "box" else free_form_mask(rng, height, width, kind)
        if min_fraction <= mask.mean() <= max_fraction:
            return mask
    return _fallback_box(rng, height, width, min_fraction, max_fraction)


def apply_mask(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 (H, W, C) or (H, W) image with its holes set to 0: ``image * (1 - mask)``."""
    image, mask = np.asarray(image), np.asarray(mask)
    if mask.shape != image.shape[:2] or mask.ndim != 2:
        raise ValueError(f"the mask is {mask.shape} but the image is {image.shape}; the mask must be (H, W) of "
                         "the image")
    hole = mask.astype(bool)
    return np.where(hole[..., None] if image.ndim == 3 else hole, 0, image).astype(np.uint8)


def load_mask(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """A user's mask (PIL image, any mode) -> uint8 (H, W), 1 = hole.

    The mask is converted to grayscale ("L"; colour becomes luminance, alpha is ignored) and a pixel brighter
    than 127 is a hole: white (or any light paint) marks what to fill, black what to keep. ``size`` is the
    image's PIL size, (width, height); the mask must have exactly that size (it is never resized, which would
    move the hole's edges).
    """
    if not isinstance(image, Image.Image):
        raise InvalidImageError(f"expected the mask as a PIL image, got {type(image).__name__}")
    if tuple(image.size) != tuple(size):
        raise InvalidImageError(f"the mask is {image.size[0]}x{image.size[1]} but the image is {size[0]}x{size[1]} "
                         "(width x height); draw the mask on the image itself or resize it to match")
    mask = (np.asarray(image.convert("L")) > 127).astype(np.uint8)
    if not mask.any():
        raise InvalidImageError("the mask marks no pixel to fill: paint the holes white (brighter than 127) on "
                                "black")
    return mask


def mask_to_batch(mask_image, shape: torch.Size) -> torch.Tensor:
    """A mask (PIL image of any mode, list of them, or a tensor) -> (B, 1, H, W) in {0, 1}; > 127 (or > 0.5) = fill."""
    if isinstance(mask_image, torch.Tensor):
        mask = mask_image.float()
        mask = mask[None, None] if mask.ndim == 2 else mask[:, None] if mask.ndim == 3 else mask
        mask = (mask > 0.5).float()
    else:
        images = mask_image if isinstance(mask_image, (list, tuple)) else [mask_image]
        arrays = []
        for item in images:
            if not isinstance(item, Image.Image):
                raise InvalidImageError("mask_image must be a PIL image (white = fill) or a tensor")
            arrays.append(torch.from_numpy((np.asarray(item.convert("L")) > 127).astype("float32")))
        mask = torch.stack(arrays)[:, None]
    if mask.shape[-2:] != shape[-2:]:
        raise InvalidImageError(f"the mask is {mask.shape[-1]}x{mask.shape[-2]} but the image is {shape[-1]}x{shape[-2]}; "
                              "they must be the same size")
    if mask.shape[0] == 1 and shape[0] > 1:
        mask = mask.expand(shape[0], -1, -1, -1)
    if not bool(mask.any()):
        raise InvalidImageError("the mask marks no pixel to fill (white = fill)")
    return mask
