"""Image sources that need no download: pip packages' sample photos and procedural "dead leaves" images.

:mod:`restorers.training.corpus` lists which of these photos are trained on and which are held out, next to
the Debian photos; this module only knows how to read a pip sample image and how to draw dead leaves.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image


def _skimage(name: str) -> np.ndarray:
    import skimage.data
    import skimage.io

    if name == "motorcycle_left":
        return skimage.data.stereo_motorcycle()[0]
    if name == "clock_motion":
        import os

        return skimage.io.imread(os.path.join(os.path.dirname(skimage.data.__file__), "clock_motion.png"))
    return getattr(skimage.data, name)()


def _sklearn(name: str) -> np.ndarray:
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    for filename, image in zip(bunch.filenames, bunch.images):
        if filename.endswith(f"{name}.jpg"):
            return image
    raise KeyError(name)


def _matplotlib(name: str) -> np.ndarray:
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data(f"{name}.jpg") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


SOURCES = {"china": ("scikit-learn", _sklearn), "flower": ("scikit-learn", _sklearn),
           "grace_hopper": ("matplotlib", _matplotlib)}


@lru_cache(maxsize=None)
def package_image(name: str) -> np.ndarray:
    """A named sample image as an H x W x 3 uint8 array (grey images are replicated to 3 channels)."""
    _, loader = SOURCES.get(name, ("scikit-image", _skimage))
    array = np.asarray(loader(name))
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.shape[2] == 4:
        array = array[..., :3]
    if array.dtype != np.uint8:
        array = np.clip(np.round(array * (255.0 if array.max() <= 1 else 1.0)), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def package_provenance(name: str) -> str:
    """Where a sample image comes from, precisely enough to fetch it again."""
    package = SOURCES.get(name, ("scikit-image",))[0]
    if package == "scikit-learn":
        return f"scikit-learn `sklearn.datasets.load_sample_images()` ({name}.jpg)"
    if package == "matplotlib":
        return f"matplotlib sample data `{name}.jpg` (`matplotlib.cbook.get_sample_data`)"
    if name == "motorcycle_left":
        return "scikit-image `skimage.data.stereo_motorcycle()[0]`"
    if name == "clock_motion":
        return "scikit-image data file `clock_motion.png`"
    return f"scikit-image `skimage.data.{name}()`"


def dead_leaves(size: int, rng: np.random.Generator, palette: np.ndarray | None = None,
                r_min: float = 2.0, r_max: float = 80.0, shapes: int = 250) -> np.ndarray:
    """A dead-leaves image: occluding discs and boxes with power-law (1/r^3) sizes.

    Colours are drawn from ``palette`` (an N x 3 uint8 array, e.g. pixels of a training photo) so the
    colour statistics look natural; some leaves carry a linear shading or a sinusoidal texture.
    """
    canvas = np.empty((size, size, 3), dtype=np.float64)
    canvas[:] = rng.uniform(0, 255, 3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    # inverse-CDF sampling of p(r) ~ r^-3 on [r_min, r_max]
    u = rng.uniform(size=shapes)
    radii = (r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5
    for radius in radii:
        cy, cx = rng.uniform(-radius, size + radius, 2)
        if rng.uniform() < 0.7:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
        else:
            ry, rx = radius * rng.uniform(0.5, 1.5, 2)
            mask = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
        if not mask.any():
            continue
        colour = (palette[rng.integers(len(palette))] if palette is not None else rng.uniform(0, 255, 3))
        fill = np.broadcast_to(colour.astype(np.float64), (size, size, 3))
        style = rng.uniform()
        if style < 0.2:
            angle, period = rng.uniform(0, np.pi), rng.uniform(2.5, 12.0)
            wave = np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * 2 * np.pi / period)
            fill = fill + rng.uniform(10, 60) * wave[..., None]
        elif style < 0.4:
            gy, gx = rng.normal(0, 1.0, 2)
            fill = fill + ((yy - cy) * gy + (xx - cx) * gx)[..., None]
        canvas[mask] = fill[mask]
    return np.clip(np.round(canvas), 0, 255).astype(np.uint8)
