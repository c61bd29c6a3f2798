"""Global motion of each frame of a burst against the reference, by OpenCV: phase correlation for the shift, then
ECC (Evangelidis and Psarakis, 2008) refining a Euclidean motion (shift and rotation).

Hand-shake moves the whole frame, so a global motion is the right model for the task's bursts and far more
precise than a flow learned from scratch on a CPU: on the held-out bursts the typical frame lands within a sixth
of an HQ pixel of the truth (``python benchmarks/burst_alignment.py`` prints the distribution), where the learned
flow of the first burst network was 2.7 HQ pixels off. It fails on a few frames of flat photos (a sky, fog),
where a wrong shift costs little. A burst with motion inside the scene (a walker, leaves) is merged as if it were
still, which shows as ghosting there.
"""

from __future__ import annotations

import cv2
import numpy as np

ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
MIN_CORRELATION = 0.5  # ECC's own score below this: its motion is not trusted, the phase correlation's shift is


def green_plane(mosaic: np.ndarray) -> np.ndarray:
    """An RGGB mosaic (h, w) -> its green at every pixel (the mean of the four green neighbours where a red or blue
    sample sits), normalised to mean 1: the brightest, densest colour, the one to align by."""
    green = mosaic.astype(np.float32).copy()
    padded = np.pad(green, 1, mode="reflect")
    neighbours = (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]) / 4.0
    green[0::2, 0::2] = neighbours[0::2, 0::2]
    green[1::2, 1::2] = neighbours[1::2, 1::2]
    return green / max(float(green.mean()), 1e-6)


def global_motion(frames: np.ndarray) -> np.ndarray:
    """frames (N, h, w) mosaics, frame 0 the reference -> (N, 2, 3) affine matrices in mosaic pixels: the content at
    reference position x is at ``W_i x`` in frame i (the identity for frame 0)."""
    reference = green_plane(frames[0])
    window = cv2.createHanningWindow(reference.shape[::-1], cv2.CV_32F)
    warps = np.tile(np.eye(2, 3, dtype=np.float32), (len(frames), 1, 1))
    for index in range(1, len(frames)):
        moving = green_plane(frames[index])
        (dx, dy), _ = cv2.phaseCorrelate(reference, moving, window)
        warp = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], dtype=np.float32)
        try:
            score, refined = cv2.findTransformECC(reference, moving, warp.copy(), cv2.MOTION_EUCLIDEAN,
                                                  ECC_CRITERIA, None, 3)
            if score >= MIN_CORRELATION and np.all(np.isfinite(refined)):
                warp = refined
        except cv2.error:  # ECC did not converge (a flat frame): keep the phase correlation's shift
            pass
        warps[index] = warp
    return warps


def in_hq_pixels(warp: np.ndarray, factor: int = 4) -> np.ndarray:
    """A motion from :func:`global_motion` (mosaic pixels) as the same motion in HQ pixels, the units of the
    synthetic burst's true motion (mosaic pixel m covers the HQ pixels around factor m + (factor - 1) / 2)."""
    grid = np.array([[factor, 0.0, (factor - 1) / 2], [0.0, factor, (factor - 1) / 2], [0.0, 0.0, 1.0]])
    return (grid @ np.vstack([warp, [0.0, 0.0, 1.0]]) @ np.linalg.inv(grid))[:2]
