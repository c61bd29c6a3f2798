"""Random (HQ, LQ) training pairs built on the fly from the offline corpus (x4 SR by default, any degradation)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from PIL import Image

from ..degradations import matlab_imresize
from ..tasks import get_task
from .corpus import licence, load_photo, training_photos
from .data import dead_leaves


def photo_pyramid(array: np.ndarray, min_side: int) -> list[np.ndarray]:
    """The photo and its antialiased halvings down to ``min_side``.

    Camera-resolution photos are smooth at the pixel level; their halvings have the detail density of the
    web-sized photos that SR is judged on, and give the network edges at every scale.
    """
    levels = [array]
    while min(levels[-1].shape[:2]) // 2 >= min_side:
        height, width = levels[-1].shape[:2]
        half = Image.fromarray(levels[-1]).resize((width // 2, height // 2), Image.Resampling.LANCZOS)
        levels.append(np.asarray(half))
    return levels


class SRPairSampler:
    """Crops of corpus photos (any pyramid level, flips, rotations) mixed with dead-leaves images.

    LQ = MATLAB bicubic x1/scale of the HQ crop (the task's own degradation), or ``degrade(hq, rng)`` when given
    (e.g. camera-shake blur for deblurring; the sampler's own generator keeps it reproducible and resumable).
    """

    def __init__(self, crop: int = 128, scale: int = 4, photo_fraction: float = 0.85, pool_size: int = 256,
                 seed: int = 0, photos: list | None = None,
                 degrade: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
                 arrays: tuple[list[str], list[np.ndarray], dict[str, str]] | None = None):
        if crop % scale:
            raise ValueError("the crop must be a multiple of the scale")
        self.crop, self.scale, self.photo_fraction, self.degrade = crop, scale, photo_fraction, degrade
        self.rng = np.random.default_rng(seed)
        if arrays is not None:  # (ids, uint8 arrays, licences), e.g. a photo pack on a machine without the corpus
            self.photo_ids, loaded, self.photo_licences = list(arrays[0]), arrays[1], dict(arrays[2])
        else:
            chosen = training_photos() if photos is None else photos
            self.photo_ids = [p.id for p in chosen]
            self.photo_licences = {p.id: licence(p) for p in chosen}
            loaded = (load_photo(photo.id) for photo in chosen)
        self.pyramids = []
        for array in loaded:
            if min(array.shape[:2]) >= crop:
                self.pyramids.append(photo_pyramid(array, crop))
        if not self.pyramids:
            raise ValueError("no training photo is large enough for the crop")
        palette = np.concatenate([levels[-1][::7, ::7].reshape(-1, 3) for levels in self.pyramids])
        self.leaves = [dead_leaves(crop, self.rng, palette) for _ in range(pool_size)]

    def hq_patch(self) -> np.ndarray:
        """One random HQ training crop (uint8, crop x crop x 3)."""
        rng = self.rng
        if rng.uniform() < self.photo_fraction:
            levels = self.pyramids[rng.integers(len(self.pyramids))]
            photo = levels[rng.integers(len(levels))]
            top = rng.integers(photo.shape[0] - self.crop + 1)
            left = rng.integers(photo.shape[1] - self.crop + 1)
            patch = photo[top:top + self.crop, left:left + self.crop]
        else:
            patch = self.leaves[rng.integers(len(self.leaves))]
        patch = np.rot90(patch, k=int(rng.integers(4)))
        if rng.uniform() < 0.5:
            patch = patch[:, ::-1]
        return np.ascontiguousarray(patch)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(hq, lq) as float tensors in [0, 1], shapes (B, 3, crop, crop) and (B, C, crop/s, crop/s): C = 3, plus
        the task's conditions, or a raw burst's frame count."""
        hq = [self.hq_patch() for _ in range(size)]
        if self.degrade is not None:
            lq = [self.degrade(h, self.rng) for h in hq]
        else:
            lq = [matlab_imresize(h, 1.0 / self.scale) for h in hq]

        def stack(arrays):  # uint8 images, or uint16 raw bursts (frames as channels): each to [0, 1]
            return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / np.iinfo(arrays[0].dtype).max

        return stack(hq), stack(lq)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def task_pairs(task_id: str) -> tuple[int, Callable[[np.ndarray, np.random.Generator], np.ndarray]]:
    """(scale, degrade) for :class:`SRPairSampler` from the task's own forward operator, the one the benchmark uses.

    The LQ carries the task's conditions as extra channels after its RGB (inpainting: the mask, 255 = hole), so a
    batch stays one (hq, lq) pair of tensors; :func:`split_conditions` takes them apart again.
    """
    task = get_task(task_id)

    def degrade(hq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        lq, conditions = task.degradation.degrade(hq, rng)
        extra = [conditions[name][..., None] if conditions[name].ndim == 2 else conditions[name]
                 for name in task.conditions]
        return np.concatenate([lq, *extra], axis=2) if extra else lq

    return task.scale, degrade


def split_conditions(lq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(image, mask or None) from a :func:`task_pairs` LQ batch (B, 3 or 4, h, w); the mask is 1 where to fill."""
    return (lq[:, :3], lq[:, 3:4]) if lq.shape[1] > 3 else (lq, None)
