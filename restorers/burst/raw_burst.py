"""A burst of raw frames as a pipeline's input, and the 16-bit PNG layout a user uploads one in.

**Layout** (what :meth:`RawBurst.from_files` reads and :meth:`RawBurst.save_pngs` writes): one PNG per frame,
16-bit single channel (PIL mode ``I;16``), the RGGB Bayer mosaic of the synthetic camera
(:mod:`restorers.burst.camera`): red at even rows and even columns, blue at odd rows and odd columns, green
elsewhere; linear values, 0 = black and 65535 = white (no black level, no white-balance applied); every frame the
same size, with even width and height; the first file is the reference frame the result is aligned to, the
order of the files is the order of the frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..image_io import InvalidImageError, load_image
from .camera import bilinear_demosaic, process

MIN_FRAMES, MAX_FRAMES = 2, 32
MIN_SIDE, MAX_PIXELS = 16, 512 * 512  # per frame: a 512x512 mosaic restores to 2048x2048
PEAK = 65535.0


@dataclass(frozen=True)
class RawBurst:
    """``frames``: uint16 (N, H, W) RGGB mosaics, frame 0 the reference. Checked when made."""

    frames: np.ndarray

    def __post_init__(self):
        frames = self.frames
        if frames.ndim != 3 or frames.dtype != np.uint16:
            raise InvalidImageError("a raw burst is an (N, H, W) array of 16-bit mosaics")
        count, height, width = frames.shape
        if not MIN_FRAMES <= count <= MAX_FRAMES:
            raise InvalidImageError(f"a burst needs {MIN_FRAMES} to {MAX_FRAMES} frames; got {count}")
        if min(height, width) < MIN_SIDE or height * width > MAX_PIXELS:
            raise InvalidImageError(f"each frame is {width}x{height}; frames must be at least {MIN_SIDE} pixels a "
                                    f"side and at most {MAX_PIXELS:,} pixels")
        if height % 2 or width % 2:
            raise InvalidImageError(f"each frame is {width}x{height}; an RGGB mosaic has even width and height")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of a frame, as PIL's ``Image.size``."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def to_tensor(self) -> torch.Tensor:
        """(1, N, H, W) float32 in [0, 1]."""
        return torch.from_numpy(self.frames.astype(np.float32) / PEAK).unsqueeze(0)

    def frame_preview(self, index: int = 0) -> Image.Image:
        """One frame as an sRGB picture: demosaicked bilinearly and processed by the synthetic camera (what the
        naive baseline starts from)."""
        raw = self.to_tensor()[:, index:index + 1]
        rgb = process(bilinear_demosaic(raw))[0]
        return Image.fromarray((rgb.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8))

    def save_pngs(self, folder: str | Path, stem: str = "frame") -> list[Path]:
        """One 16-bit PNG per frame, named ``<stem>_00.png``, ``<stem>_01.png``, ... (sorted = frame order)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, frame in enumerate(self.frames):
            path = folder / f"{stem}_{index:02d}.png"
            Image.fromarray(frame).save(path)  # uint16 -> mode I;16
            paths.append(path)
        return paths

    @classmethod
    def from_files(cls, sources) -> RawBurst:
        """Frames from 16-bit single-channel PNG files (paths or bytes), in the given order."""
        sources = list(sources or [])
        if len(sources) < MIN_FRAMES:
            raise InvalidImageError(f"upload at least {MIN_FRAMES} raw frames (one 16-bit PNG each); got "
                                    f"{len(sources)}")
        if len(sources) > MAX_FRAMES:
            raise InvalidImageError(f"a burst has at most {MAX_FRAMES} frames; got {len(sources)} files")
        frames = []
        for number, source in enumerate(sources, start=1):
            image = load_image(source)
            if image.mode not in ("I;16", "I;16L", "I;16B", "I"):
                raise InvalidImageError(f"frame {number} is a {image.mode} image; raw frames are 16-bit single-"
                                        "channel PNGs (the RGGB mosaic, 0-65535)")
            array = np.asarray(image)
            if array.ndim != 2 or array.min() < 0 or array.max() > PEAK:
                raise InvalidImageError(f"frame {number} is not a single-channel mosaic with values 0-65535")
            if frames and array.shape != frames[0].shape:
                raise InvalidImageError(f"frame {number} is {array.shape[1]}x{array.shape[0]} but frame 1 is "
                                        f"{frames[0].shape[1]}x{frames[0].shape[0]}; every frame must be the same "
                                        "size")
            frames.append(array.astype(np.uint16))
        return cls(np.stack(frames))


def bursts_to_batch(bursts) -> torch.Tensor:
    """One burst or a list of bursts with the same frame count and size -> (B, N, H, W) in [0, 1]."""
    bursts = list(bursts) if isinstance(bursts, (list, tuple)) else [bursts]
    if len({(b.num_frames, b.size) for b in bursts}) != 1:
        raise ValueError("all bursts in a batch must have the same number of frames and the same size")
    return torch.cat([b.to_tensor() for b in bursts])
