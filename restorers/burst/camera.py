"""The synthetic camera of the burst task: sRGB <-> linear camera RGB, and the RGGB Bayer mosaic.

One fixed, documented camera, so that an uploaded burst in the same layout means the same colours:

* **to raw** (:func:`unprocess`, numpy, used by the degradation): sRGB -> linear RGB (the exact sRGB transfer
  curve), -> camera RGB through the inverse of ``CAMERA_TO_SRGB``, -> divided by the white-balance ``GAINS``,
  clipped to [0, 1];
* **to sRGB** (:func:`process`, torch, used by the networks and the naive baseline): the same steps backwards.

``CAMERA_TO_SRGB`` and ``GAINS`` are this project's choice (a plausible daylight matrix whose rows sum to 1, so grey
stays grey; red and blue gains of a typical sensor), not a measured camera. DBSR's synthetic pipeline draws a
random matrix and gains per burst and undoes them with the known values when scoring; here they are fixed, so a
method needs no metadata beside the frames.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

CAMERA_TO_SRGB = np.array([[1.62, -0.46, -0.16],
                           [-0.24, 1.46, -0.22],
                           [-0.04, -0.52, 1.56]])
GAINS = np.array([2.0, 1.0, 1.6])  # white balance: red, green, blue (the raw red and blue are this much darker)
SRGB_TO_CAMERA = np.linalg.inv(CAMERA_TO_SRGB)


def srgb_to_linear(x):
    """The sRGB transfer curve, inverted (IEC 61966-2-1); numpy or torch, values in [0, 1]."""
    if isinstance(x, torch.Tensor):
        return torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x):
    """The sRGB transfer curve (linear light -> display values), values clipped to [0, 1] first."""
    if isinstance(x, torch.Tensor):
        x = x.clamp(0.0, 1.0)
        return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.maximum(x, 0.0031308) ** (1 / 2.4) - 0.055)


def unprocess(srgb: np.ndarray) -> np.ndarray:
    """sRGB float (H, W, 3) in [0, 1] -> linear camera RGB in [0, 1] (what the sensor saw, before the mosaic)."""
    camera = srgb_to_linear(srgb) @ SRGB_TO_CAMERA.T
    return np.clip(camera / GAINS, 0.0, 1.0)


def process(camera: torch.Tensor) -> torch.Tensor:
    """Linear camera RGB (B, 3, H, W) -> sRGB in [0, 1]: white balance, colour matrix, transfer curve."""
    gains = torch.as_tensor(GAINS, dtype=camera.dtype, device=camera.device).view(1, 3, 1, 1)
    matrix = torch.as_tensor(CAMERA_TO_SRGB, dtype=camera.dtype, device=camera.device)
    balanced = (camera * gains).clamp(0.0, 1.0)
    return linear_to_srgb(torch.einsum("ij,bjhw->bihw", matrix, balanced))


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W) RGGB Bayer mosaic: R at even rows and columns, B at odd ones, G elsewhere."""
    raw = rgb[..., 1].copy()
    raw[0::2, 0::2] = rgb[0::2, 0::2, 0]
    raw[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return raw


def pack(raw: torch.Tensor) -> torch.Tensor:
    """(..., H, W) RGGB mosaics with even sides -> (..., 4, H/2, W/2): R, G (red rows), G (blue rows), B."""
    return torch.stack([raw[..., 0::2, 0::2], raw[..., 0::2, 1::2], raw[..., 1::2, 0::2], raw[..., 1::2, 1::2]],
                       dim=-3)


_BILINEAR_RB = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
_BILINEAR_G = torch.tensor([[0.0, 0.25, 0.0], [0.25, 1.0, 0.25], [0.0, 0.25, 0.0]])


def bilinear_demosaic(raw: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) RGGB mosaic -> (B, 3, H, W) by bilinear interpolation of each colour's samples (the classic
    demosaicking of every camera pipeline textbook); mirrored at the borders, so the Bayer phase is kept."""
    height, width = raw.shape[-2:]
    masks = torch.zeros(3, height, width, dtype=raw.dtype, device=raw.device)
    masks[0, 0::2, 0::2] = 1
    masks[1, 0::2, 1::2] = masks[1, 1::2, 0::2] = 1
    masks[2, 1::2, 1::2] = 1
    sampled = F.pad(raw * masks.unsqueeze(0), (1, 1, 1, 1), mode="reflect")
    kernels = torch.stack([_BILINEAR_RB, _BILINEAR_G, _BILINEAR_RB]).to(raw).unsqueeze(1)
    return F.conv2d(sampled, kernels, groups=3)
