"""Random (HQ, LQ) training pairs for x4 super-resolution, built on the fly from offline images."""

from __future__ import annotations

import numpy as np
import torch

from ..degradations import matlab_imresize
from .data import dead_leaves, training_images


class SRPairSampler:
    """Crops of package photos (with flips/rotations) mixed with dead-leaves images; LQ = MATLAB bicubic x1/4."""

    def __init__(self, crop: int = 128, scale: int = 4, photo_fraction: float = 0.7, pool_size: int = 512,
                 seed: int = 0):
        if crop % scale:
            raise ValueError("the crop must be a multiple of the scale")
        self.crop, self.scale, self.photo_fraction = crop, scale, photo_fraction
        self.rng = np.random.default_rng(seed)
        self.photos = [array for _, array in training_images() if min(array.shape[:2]) >= crop]
        palette = np.concatenate([p[:: 7, :: 7].reshape(-1, 3) for p in self.photos])
        self.leaves = [dead_leaves(crop, self.rng, palette) for _ in range(pool_size)]

    def _hq(self) -> np.ndarray:
        rng = self.rng
        if rng.uniform() < self.photo_fraction:
            photo = self.photos[rng.integers(len(self.photos))]
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
        """(hq, lq) as float tensors in [0, 1], shapes (B, 3, crop, crop) and (B, 3, crop/s, crop/s)."""
        hq = [self._hq() for _ in range(size)]
        lq = [matlab_imresize(h, 1.0 / self.scale) for h in hq]

        def stack(arrays):
            return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255.0

        return stack(hq), stack(lq)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
