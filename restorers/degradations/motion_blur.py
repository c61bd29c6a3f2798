"""Synthetic camera-shake blur: random camera trajectories rasterised into blur kernels.

The kernel model follows Boracchi & Foi ("Modeling the performance of image restoration from motion blur",
IEEE TIP 2012): the image-plane position of the camera is a 2-D random walk whose velocity has inertia
(each step keeps the previous direction), a Gaussian jitter ("anxiety"), a pull back towards the start
(centripetal term, hand tremor returns) and rare impulsive jerks. The path, sampled at many sub-steps over
the exposure, is splatted bilinearly onto a ``size`` x ``size`` grid and normalised to sum 1, so the kernel
is the time the sensor spent at each offset. Blur is then a convolution of each colour channel with that
kernel (reflect-padded borders, output the same size), plus mild Gaussian noise, rounded to 8 bits.

Everything is drawn from a ``numpy.random.Generator``, so a seed reproduces a kernel exactly.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def camera_shake_trajectory(rng: np.random.Generator, length: float, steps: int = 500, anxiety: float | None = None,
                            centripetal: float = 0.01, jerk_probability: float = 0.003) -> np.ndarray:
    """(steps, 2) positions in pixels of a shaking camera whose path is ``length`` pixels long."""
    anxiety = rng.uniform(0.0, 0.6) if anxiety is None else anxiety
    step_length = length / steps
    angle = rng.uniform(0.0, 2.0 * np.pi)
    velocity = step_length * np.array([np.cos(angle), np.sin(angle)])
    position = np.zeros(2)
    path = np.empty((steps, 2))
    for i in range(steps):
        change = anxiety * step_length * rng.standard_normal(2) - centripetal * step_length * position
        if rng.uniform() < jerk_probability:  # an impulsive jerk: turn round by ~180 degrees, twice as fast
            turn = np.pi + rng.uniform(-0.5, 0.5)
            rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
            change = change + 2.0 * rotation @ velocity
        velocity = velocity + change
        velocity *= step_length / max(np.linalg.norm(velocity), 1e-12)
        position = position + velocity
        path[i] = position
    return path


def rasterise(path: np.ndarray, size: int) -> np.ndarray:
    """Splat a path (centred on its bounding box, shrunk to fit if needed) onto a normalised size x size kernel."""
    path = path - (path.min(axis=0) + path.max(axis=0)) / 2.0
    extent = np.abs(path).max()
    limit = (size - 3) / 2.0
    if extent > limit:
        path = path * (limit / extent)
    coords = path + (size - 1) / 2.0
    kernel = np.zeros((size, size))
    x0, y0 = np.floor(coords[:, 0]).astype(int), np.floor(coords[:, 1]).astype(int)
    fx, fy = coords[:, 0] - x0, coords[:, 1] - y0
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), weight)
    return kernel / kernel.sum()


def random_motion_kernel(rng: np.random.Generator, size: int = 19, min_length: float = 3.0,
                         max_length: float | None = None) -> np.ndarray:
    """A camera-shake kernel whose path length is uniform in [min_length, max_length] (default size - 4) pixels."""
    max_length = size - 4 if max_length is None else max_length
    length = rng.uniform(min_length, max_length)
    return rasterise(camera_shake_trajectory(rng, length), size)


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """(H, W, C) float image convolved with ``kernel`` per channel; reflect-padded, same size."""
    size = kernel.shape[0]
    pad = size // 2
    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float64)).permute(2, 0, 1)[:, None]
    mode = "reflect" if min(image.shape[:2]) > pad else "replicate"
    padded = F.pad(tensor, (pad, pad, pad, pad), mode=mode)
    weight = torch.from_numpy(np.ascontiguousarray(kernel[::-1, ::-1]))[None, None]  # convolution, not correlation
    return F.conv2d(padded, weight)[:, 0].permute(1, 2, 0).numpy()


def motion_blur(image: np.ndarray, rng: np.random.Generator, kernel_size: int = 19,
                noise_std: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (H, W, 3) -> (blurred noisy uint8 image, the kernel used)."""
    kernel = random_motion_kernel(rng, kernel_size)
    blurred = blur(image.astype(np.float64) / 255.0, kernel)
    noisy = blurred + noise_std * rng.standard_normal(blurred.shape)
    return np.clip(np.round(noisy * 255.0), 0, 255).astype(np.uint8), kernel
