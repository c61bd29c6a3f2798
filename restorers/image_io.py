"""Images at the boundary: checking what users hand us, and PIL <-> tensor conversion.

Pipelines accept PIL images; inside they work on float tensors in [0, 1] (or [-1, 1]
where a method's math wants it, converted in :func:`to_signed`). Every check here
raises :class:`InvalidImageError` with a message a user can act on.
"""

from __future__ import annotations

import io
import os

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

MIN_SIDE = 8
MAX_PIXELS = 4096 * 4096  # a clean HQ for x4 SR may be 16x the demo's LQ budget of 1024 x 1024
MAX_DECODE_PIXELS = 50_000_000  # checked from the file header, before any pixel is decoded


class InvalidImageError(ValueError):
    """The image cannot be restored as given (mode, size, or unreadable file)."""


def load_image(source, max_pixels: int = MAX_DECODE_PIXELS) -> Image.Image:
    """Open a path, bytes or PIL image; apply the EXIF orientation; fail clearly on corrupt data.

    The size is read from the header and checked before decoding (a decompression bomb never allocates), and
    messages never contain the file's path (an app's temporary paths mean nothing to its user).
    """
    if isinstance(source, Image.Image):
        return source
    try:
        if isinstance(source, (bytes, bytearray)):
            image = Image.open(io.BytesIO(source))
        elif isinstance(source, (str, os.PathLike)):
            image = Image.open(source)
        else:
            raise InvalidImageError(f"cannot read an image from {type(source).__name__}")
        width, height = image.size
        if width * height > max_pixels:
            raise InvalidImageError(f"the image is {width}x{height} = {width * height:,} pixels; files over "
                                    f"{max_pixels:,} pixels are not opened")
        image.load()
    except UnidentifiedImageError as err:
        raise InvalidImageError("the file is not an image this app can read (PNG, JPEG, WebP, TIFF, BMP, GIF, "
                                "...)") from err
    except Image.DecompressionBombError as err:
        raise InvalidImageError("the image is too large to open safely") from err
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, InvalidImageError):
            raise
        reason = str(err).replace(str(source), "the file") if isinstance(source, (str, os.PathLike)) else str(err)
        raise InvalidImageError(f"the image file is damaged or truncated ({reason})") from err
    image.info["n_frames"] = getattr(image, "n_frames", 1)  # animations: kept through the transpose's copy
    return ImageOps.exif_transpose(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB. Alpha is composited on white, not silently dropped."""
    if not isinstance(image, Image.Image):
        raise InvalidImageError(f"expected a PIL image, got {type(image).__name__}")
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        array = np.clip(np.round(array / peak * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(array).convert("RGB")
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        array = np.clip(np.round(array * (255.0 if array.max() <= 1.0 else 1.0)), 0, 255).astype(np.uint8)
        return Image.fromarray(array).convert("RGB")
    return image.convert("RGB")


def check_size(image: Image.Image, min_side: int = MIN_SIDE, max_pixels: int = MAX_PIXELS) -> None:
    width, height = image.size
    if min(width, height) < min_side:
        raise InvalidImageError(f"the image is {width}x{height}; each side must be at least {min_side} pixels")
    if width * height > max_pixels:
        raise InvalidImageError(
            f"the image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,} "
            "(crop it, or downscale it first)"
        )


def prepare_image(image, min_side: int = MIN_SIDE, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """What every pipeline does first: read, orient, make RGB, check the size."""
    image = to_rgb(load_image(image))
    check_size(image, min_side, max_pixels)
    return image


def images_to_batch(image) -> torch.Tensor:
    """A pipeline's ``image`` argument (one image or a list of equally sized ones) -> Bx3xHxW in [0, 1]; a raw
    burst (:class:`restorers.burst.raw_burst.RawBurst`, or a list of them) -> BxNxHxW, its N frames as channels."""
    from .burst.raw_burst import RawBurst, bursts_to_batch

    first = image[0] if isinstance(image, (list, tuple)) and image else image
    if isinstance(first, RawBurst):
        return bursts_to_batch(image)
    images = [prepare_image(im) for im in (image if isinstance(image, (list, tuple)) else [image])]
    if len({im.size for im in images}) != 1:
        raise ValueError("all images in a batch must have the same size")
    return torch.cat([pil_to_tensor(im) for im in images])


def input_kind(image) -> str:
    """"raw_burst" for a :class:`restorers.burst.raw_burst.RawBurst` (or a list of them), else "image"."""
    from .burst.raw_burst import RawBurst

    first = image[0] if isinstance(image, (list, tuple)) and image else image
    return "raw_burst" if isinstance(first, RawBurst) else "image"


def input_channels(image) -> int:
    """The channels a pipeline input becomes in :func:`images_to_batch`: 3, or a raw burst's frame count."""
    from .burst.raw_burst import RawBurst

    return image.num_frames if isinstance(image, RawBurst) else 3


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL -> 1x3xHxW float32 in [0, 1]."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_signed(x: torch.Tensor) -> torch.Tensor:
    return x * 2.0 - 1.0


def to_unit(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(-1.0, 1.0) + 1.0) / 2.0


def tensor_to_uint8(x: torch.Tensor) -> np.ndarray:
    """Bx3xHxW in [0, 1] -> BxHxWx3 uint8, rounding half up (the usual (x*255).round())."""
    x = x.detach().float().clamp(0.0, 1.0).cpu()
    return (x * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def postprocess(x: torch.Tensor, output_type: str = "pil"):
    """[0, 1] tensor batch -> the pipeline's requested output type."""
    if output_type == "pt":
        return x.clamp(0.0, 1.0)
    if output_type == "np":
        return x.detach().float().clamp(0.0, 1.0).cpu().permute(0, 2, 3, 1).numpy()
    if output_type == "pil":
        return [Image.fromarray(a) for a in tensor_to_uint8(x)]
    raise ValueError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")
