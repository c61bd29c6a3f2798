"""Real-ESRGAN's two-stage ("second-order") degradation: the forward operator of real-world x4 SR.

Wang et al. (Real-ESRGAN, ICCVW 2021) model a real camera-and-internet pipeline as two rounds of
blur -> random resize -> Gaussian or Poisson noise -> JPEG, then a final resize to 1/4 with a sinc filter and a
last JPEG in random order. ResShift trains its real-world models on this degradation with the parameters of
``configs/realsr_swinunet_realesrgan256_journal.yaml``; :data:`RESSHIFT_REALSR` holds them, and one
``numpy.random.Generator`` drives every random choice, so a seed reproduces an LQ image exactly.

The blur kernels (21x21 after padding): isotropic / anisotropic Gaussian, generalised Gaussian
``exp(-0.5 * d^beta)`` and plateau ``1 / (1 + d^beta)`` with ``d = x^T Sigma^-1 x``, or (with ``sinc_prob``) an
ideal circular low-pass ("sinc") kernel ``omega J1(omega r) / (2 pi r)`` that rings like real sharpening.

Two deliberate differences from the GPU training code: JPEG is real libjpeg (Pillow, 4:2:0, integer quality)
instead of the differentiable DiffJPEG approximation, and images are processed one at a time, in float32.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.special import j1

KERNEL_SIZES = tuple(range(7, 22, 2))  # odd sizes 7..21, drawn uniformly
PADDED_KERNEL = 21
KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class StageParams:
    """One blur -> resize -> noise -> JPEG round."""

    kernel_prob: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)  # over KERNEL_TYPES
    sinc_prob: float = 0.1
    blur_sigma: tuple[float, float] = (0.2, 3.0)
    betag_range: tuple[float, float] = (0.5, 4.0)
    betap_range: tuple[float, float] = (1.0, 2.0)
    resize_prob: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_range: tuple[float, float] = (0.15, 1.5)
    gaussian_noise_prob: float = 0.5
    noise_range: tuple[float, float] = (1.0, 30.0)  # sigma on the 0-255 scale
    poisson_scale_range: tuple[float, float] = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_range: tuple[float, float] = (30.0, 95.0)


@dataclass(frozen=True)
class RealESRGANDegradation:
    scale: int = 4
    first: StageParams = StageParams()
    second: StageParams = StageParams(blur_sigma=(0.2, 1.5), resize_prob=(0.3, 0.4, 0.3), resize_range=(0.3, 1.2),
                                      noise_range=(1.0, 25.0), poisson_scale_range=(0.05, 2.5))
    second_order_prob: float = 0.5  # ResShift's addition: the second round happens half of the time
    second_blur_prob: float = 0.8
    final_sinc_prob: float = 0.8
    min_side: int = 128  # the first round may shrink by 0.15 and still leave room for a 21-tap reflect pad
    seeded = True

    def degrade(self, hq: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        return self(hq, rng), {}

    def __call__(self, hq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """HxWx3 uint8 HQ (sides multiples of ``scale``, at least ``min_side``) -> (H/s)x(W/s)x3 uint8 LQ."""
        hq = np.asarray(hq)
        if hq.dtype != np.uint8 or hq.ndim != 3 or hq.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 uint8 image, got {hq.dtype} {hq.shape}")
        height, width = hq.shape[:2]
        if min(height, width) < self.min_side or height % self.scale or width % self.scale:
            raise ValueError(f"the HQ must be at least {self.min_side} px a side and a multiple of {self.scale}; "
                             f"got {width}x{height}")
        kernel1 = random_blur_kernel(rng, self.first)
        kernel2 = random_blur_kernel(rng, self.second)
        final = final_sinc_kernel(rng) if rng.uniform() < self.final_sinc_prob else None
        out = torch.from_numpy(hq.copy()).permute(2, 0, 1)[None].float() / 255.0

        out = filter2d(out, kernel1)
        out = random_resize(out, rng, self.first, scale_factor=True)
        out = random_noise(out, rng, self.first)
        out = jpeg(out, rng.uniform(*self.first.jpeg_range))

        if rng.uniform() < self.second_order_prob:
            if rng.uniform() < self.second_blur_prob:
                out = filter2d(out, kernel2)
            out = random_resize(out, rng, self.second, base=(height // self.scale, width // self.scale))
            out = random_noise(out, rng, self.second)

        size = (height // self.scale, width // self.scale)
        if rng.uniform() < 0.5:  # [resize back + sinc] then JPEG, or the other way round
            out = filter2d(resize(out, size, rng), final)
            out = jpeg(out, rng.uniform(*self.second.jpeg_range))
        else:
            out = jpeg(out, rng.uniform(*self.second.jpeg_range))
            out = filter2d(resize(out, size, rng), final)
        out = (out.clamp(0, 1) * 255).round()
        return out[0].permute(1, 2, 0).numpy().astype(np.uint8)


RESSHIFT_REALSR = RealESRGANDegradation()


# -- kernels -------------------------------------------------------------------------------------------------------
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2
    return np.meshgrid(axis, axis, indexing="xy")


def _mahalanobis(size: int, sigma_x: float, sigma_y: float, rotation: float) -> np.ndarray:
    """x^T Sigma^-1 x on the kernel grid, Sigma = R diag(sx^2, sy^2) R^T."""
    cos, sin = math.cos(rotation), math.sin(rotation)
    rot = np.array([[cos, -sin], [sin, cos]])
    inverse = np.linalg.inv(rot @ np.diag([sigma_x ** 2, sigma_y ** 2]) @ rot.T)
    xx, yy = _grid(size)
    return inverse[0, 0] * xx * xx + (inverse[0, 1] + inverse[1, 0]) * xx * yy + inverse[1, 1] * yy * yy


def _beta(rng: np.random.Generator, low_high: tuple[float, float]) -> float:
    """Half the time below 1 (heavier tails), half above (flatter top), as Real-ESRGAN draws it."""
    return rng.uniform(low_high[0], 1.0) if rng.uniform() < 0.5 else rng.uniform(1.0, low_high[1])


def mixed_kernel(rng: np.random.Generator, size: int, params: StageParams) -> np.ndarray:
    kind = KERNEL_TYPES[rng.choice(len(KERNEL_TYPES), p=np.asarray(params.kernel_prob) / sum(params.kernel_prob))]
    sigma_x = rng.uniform(*params.blur_sigma)
    if kind.endswith("iso") and not kind.endswith("aniso"):
        sigma_y, rotation = sigma_x, 0.0
    else:
        sigma_y, rotation = rng.uniform(*params.blur_sigma), rng.uniform(-math.pi, math.pi)
    distance = _mahalanobis(size, sigma_x, sigma_y, rotation)
    if kind.startswith("generalized"):
        kernel = np.exp(-0.5 * np.power(distance, _beta(rng, params.betag_range)))
    elif kind.startswith("plateau"):
        kernel = 1.0 / (1.0 + np.power(distance, _beta(rng, params.betap_range)))
    else:
        kernel = np.exp(-0.5 * distance)
    return kernel / kernel.sum()


def sinc_kernel(cutoff: float, size: int, pad_to: int = 0) -> np.ndarray:
    """The ideal circular low-pass filter with cutoff ``cutoff`` (radians / pixel), normalised to sum 1."""
    xx, yy = _grid(size)
    radius = np.hypot(xx, yy)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = cutoff * j1(cutoff * radius) / (2 * math.pi * radius)
    kernel[radius == 0] = cutoff ** 2 / (4 * math.pi)
    kernel = kernel / kernel.sum()
    return _pad(kernel, pad_to)


def _pad(kernel: np.ndarray, size: int) -> np.ndarray:
    extra = (size - kernel.shape[0]) // 2
    return np.pad(kernel, extra) if extra > 0 else kernel


def random_blur_kernel(rng: np.random.Generator, params: StageParams) -> np.ndarray:
    size = int(rng.choice(KERNEL_SIZES))
    if rng.uniform() < params.sinc_prob:
        cutoff = rng.uniform(math.pi / 3, math.pi) if size < 13 else rng.uniform(math.pi / 5, math.pi)
        return _pad(sinc_kernel(cutoff, size), PADDED_KERNEL)
    return _pad(mixed_kernel(rng, size, params), PADDED_KERNEL)


def final_sinc_kernel(rng: np.random.Generator) -> np.ndarray:
    size = int(rng.choice(KERNEL_SIZES))
    return sinc_kernel(rng.uniform(math.pi / 3, math.pi), size, pad_to=PADDED_KERNEL)


# -- operations ----------------------------------------------------------------------------------------------------
def filter2d(image: torch.Tensor, kernel: np.ndarray | None) -> torch.Tensor:
    """Convolve each channel with ``kernel`` (reflect padding); ``None`` is the identity (no final sinc)."""
    if kernel is None:
        return image
    pad = kernel.shape[0] // 2
    weight = torch.from_numpy(np.ascontiguousarray(kernel[::-1, ::-1])).to(image).expand(3, 1, *kernel.shape)
    return F.conv2d(F.pad(image, (pad, pad, pad, pad), mode="reflect"), weight, groups=3)


def resize(image: torch.Tensor, size: tuple[int, int], rng: np.random.Generator) -> torch.Tensor:
    mode = RESIZE_MODES[rng.integers(len(RESIZE_MODES))]
    return F.interpolate(image, size=size, mode=mode)


def random_resize(image: torch.Tensor, rng: np.random.Generator, params: StageParams, scale_factor: bool = False,
                  base: tuple[int, int] | None = None) -> torch.Tensor:
    """Up, down or keep; the first round scales the current size, the second scales the final LQ size."""
    direction = rng.choice(3, p=np.asarray(params.resize_prob) / sum(params.resize_prob))
    if direction == 0:
        factor = rng.uniform(1.0, params.resize_range[1])
    elif direction == 1:
        factor = rng.uniform(params.resize_range[0], 1.0)
    else:
        factor = 1.0
    height, width = base if base is not None else image.shape[-2:]
    size = (max(1, int(height * factor)), max(1, int(width * factor)))
    return resize(image, size, rng)


def random_noise(image: torch.Tensor, rng: np.random.Generator, params: StageParams) -> torch.Tensor:
    """Gaussian (sigma in ``noise_range`` / 255) or Poisson (shot) noise, colour or (``gray_noise_prob``) grey."""
    gaussian = rng.uniform() < params.gaussian_noise_prob
    gray = rng.uniform() < params.gray_noise_prob
    _, _, height, width = image.shape
    if gaussian:
        sigma = rng.uniform(*params.noise_range) / 255.0
        noise = rng.standard_normal((1 if gray else 3, height, width)) * sigma
    else:
        strength = rng.uniform(*params.poisson_scale_range)
        source = image[0].numpy()
        if gray:
            source = (0.299 * source[0] + 0.587 * source[1] + 0.114 * source[2])[None]
        source = np.round(np.clip(source, 0, 1) * 255) / 255  # counted on 8-bit levels, as Real-ESRGAN does
        levels = 2 ** math.ceil(math.log2(max(2, len(np.unique(np.round(source * 255))))))
        noise = (rng.poisson(source * levels) / levels - source) * strength
    noise = torch.from_numpy(np.broadcast_to(noise, (3, height, width)).astype(np.float32))
    return (image + noise[None]).clamp(0, 1)


def jpeg(image: torch.Tensor, quality: float) -> torch.Tensor:
    """Encode and decode with libjpeg at ``round(quality)`` (Pillow's default 4:2:0 chroma subsampling)."""
    array = (image[0].clamp(0, 1) * 255).round().permute(1, 2, 0).numpy().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=round(quality))
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return torch.from_numpy(decoded.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
