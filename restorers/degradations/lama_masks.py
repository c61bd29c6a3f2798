"""The hole masks inpainting papers test with: LaMa's evaluation generators ("thin", "medium", "thick" strokes,
with boxes mixed into medium and thick), as their 256-pixel configurations define them (Suvorov et al., WACV 2022;
DiffIR and ResShift evaluate on masks made this way).

Facts taken from LaMa's published evaluation configs (own code, not theirs):

* a stroke mask draws ``n`` strokes (``n`` uniform in [min_strokes, max_strokes]); each stroke starts at a random
  pixel and chains 1 to 5 straight segments; a segment turns by ``0.01 + k`` radians (``k`` a whole number below
  ``max_angle``; every other stroke turns the other way), runs ``10 + randint(max_len)`` pixels and is
  ``5 + randint(max_width)`` pixels wide; ends are clipped to the image;
* a box mask places 1 to ``max_boxes`` rectangles with sides in [min_box, max_box) inside a ``margin``;
* a "medium" or "thick" mask is a box mask with probability 0.3 / 1.3 (LaMa's box_proba 0.3 beside
  irregular_proba 1), else strokes; "thin" is strokes only;
* LaMa keeps masks whose hole covers at most 70% of the image; this project's benchmark keeps [min, max] of it
  (default 1% to 60%, the papers' large-mask regime), redrawing otherwise.

All lengths are for a 256-pixel image and scale with the shorter side, so a mask looks the same at any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class StrokeConfig:
    min_strokes: int
    max_strokes: int
    max_width: int
    max_len: int
    max_angle: int = 4


@dataclass(frozen=True)
class BoxConfig:
    margin: int
    min_box: int
    max_box: int
    max_boxes: int


KINDS = {  # LaMa's thin_256, medium_256 and thick_256
    "thin": (StrokeConfig(4, 50, 10, 40), None),
    "medium": (StrokeConfig(4, 5, 50, 100), BoxConfig(0, 10, 50, 5)),
    "thick": (StrokeConfig(1, 5, 100, 200), BoxConfig(10, 30, 150, 3)),
}
BOX_SHARE = 0.3 / 1.3  # box_proba / (irregular_proba + box_proba)
REFERENCE_SIDE = 256


def stroke_mask(rng: np.random.Generator, height: int, width: int, config: StrokeConfig) -> np.ndarray:
    scale = min(height, width) / REFERENCE_SIDE
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in range(int(rng.integers(config.min_strokes, config.max_strokes + 1))):
        x, y = float(rng.integers(width)), float(rng.integers(height))
        for _ in range(1 + int(rng.integers(5))):
            angle = 0.01 + int(rng.integers(config.max_angle))
            if stroke % 2 == 0:
                angle = 2 * np.pi - angle
            length = (10 + int(rng.integers(config.max_len))) * scale
            brush = max(1, round((5 + int(rng.integers(config.max_width))) * scale))
            end_x = float(np.clip(x + length * np.sin(angle), 0, width))
            end_y = float(np.clip(y + length * np.cos(angle), 0, height))
            draw.line([(x, y), (end_x, end_y)], fill=1, width=brush)
            radius = brush / 2
            draw.ellipse((end_x - radius, end_y - radius, end_x + radius, end_y + radius), fill=1)  # round joint
            x, y = end_x, end_y
    return np.asarray(canvas, dtype=np.uint8)


def box_mask(rng: np.random.Generator, height: int, width: int, config: BoxConfig) -> np.ndarray:
    scale = min(height, width) / REFERENCE_SIDE
    margin = round(config.margin * scale)
    low = max(1, round(config.min_box * scale))
    high = min(round(config.max_box * scale), height - 2 * margin, width - 2 * margin)
    high = max(high, low + 1)
    mask = np.zeros((height, width), dtype=np.uint8)
    for _ in range(int(rng.integers(1, config.max_boxes + 1))):
        box_w, box_h = int(rng.integers(low, high)), int(rng.integers(low, high))
        left = int(rng.integers(margin, max(margin, width - margin - box_w) + 1))
        top = int(rng.integers(margin, max(margin, height - margin - box_h) + 1))
        mask[top:top + box_h, left:left + box_w] = 1
    return mask


def lama_mask(rng: np.random.Generator, height: int, width: int, kind: str) -> np.ndarray:
    """One mask of LaMa's ``kind`` generator (1 = hole), before any area bounds."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    strokes, boxes = KINDS[kind]
    if boxes is not None and rng.uniform() < BOX_SHARE:
        return box_mask(rng, height, width, boxes)
    return stroke_mask(rng, height, width, strokes)


def bounded_lama_mask(rng: np.random.Generator, height: int, width: int, min_fraction: float = 0.01,
                      max_fraction: float = 0.6, kinds: tuple[str, ...] = tuple(KINDS),
                      attempts: int = 200) -> np.ndarray:
    """A mask whose hole covers [min, max] of the image: kind (uniform over ``kinds``) and mask are drawn again
    until it does, so a bin that only thick strokes reach gets thick strokes. LaMa's own rule keeps [0, 70%]."""
    if not 0.0 <= min_fraction < max_fraction <= 1.0:
        raise ValueError(f"need 0 <= min_fraction < max_fraction <= 1, got {min_fraction}, {max_fraction}")
    for _ in range(attempts):
        mask = lama_mask(rng, height, width, kinds[int(rng.integers(len(kinds)))])
        if min_fraction <= mask.mean() <= max_fraction:
            return mask
    raise ValueError(f"no {'/'.join(kinds)} mask of a {width}x{height} image covered {min_fraction:.0%} to "
                     f"{max_fraction:.0%} in {attempts} draws")
