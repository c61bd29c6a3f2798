"""A reader for ncnn model files (``.param`` text + ``.bin`` weights), enough for plain convolutional networks.

ncnn stores a network as a layer list (``.param``: type, name, blob wiring, ``key=value`` parameters) and one
flat weight blob (``.bin``) in layer order. A Convolution's weights come first, behind a 4-byte storage tag
(0x01306B47: float16; 0: float32), padded to 4 bytes; its bias follows as raw float32 (no tag). Parameters used
here: 0 = num_output, 1 = kernel_w, 11 = kernel_h (default kernel_w), 5 = bias_term, 6 = weight_data_size.
Layers without weights (Split, Concat, Eltwise, BinaryOp, Interp, ...) take nothing from the blob; a layer type
with weights that this reader does not know is refused rather than skipped, so the offsets can never drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAGIC = 7767517
TAG_FLOAT16 = 0x01306B47
TAG_FLOAT32 = 0
WEIGHTLESS = {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "ReLU", "Sigmoid", "Crop", "Padding",
              "PixelShuffle", "Reshape", "Permute", "Slice", "Flatten", "Noop", "UnaryOp", "Clip", "Softmax"}


@dataclass
class Convolution:
    name: str
    weight: np.ndarray  # (out, in, kh, kw) float32
    bias: np.ndarray | None  # (out,) float32


def parse_param(text: str) -> list[tuple[str, str, dict[int, str]]]:
    """[(type, name, {param id: value})] in file order."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [str(MAGIC)]:
        raise ValueError(f"not an ncnn .param file (the first line must be the magic {MAGIC})")
    layers = []
    for parts in lines[2:]:
        kind, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
        params = {}
        for item in parts[4 + n_in + n_out:]:
            key, _, value = item.partition("=")
            params[int(key)] = value
        layers.append((kind, name, params))
    return layers


def _read_tagged(blob: bytes, offset: int, count: int) -> tuple[np.ndarray, int]:
    tag = int(np.frombuffer(blob, "<u4", 1, offset)[0])
    offset += 4
    if tag == TAG_FLOAT16:
        data = np.frombuffer(blob, "<f2", count, offset).astype(np.float32)
        return data, offset + (2 * count + 3) // 4 * 4
    if tag == TAG_FLOAT32:
        return np.frombuffer(blob, "<f4", count, offset).copy(), offset + 4 * count
    raise ValueError(f"unsupported ncnn weight storage tag {tag:#x} (only float16 and float32 are read)")


def read_convolutions(param_text: str, blob: bytes) -> list[Convolution]:
    """Every Convolution's weight and bias, in file (= module) order; the blob must be consumed exactly."""
    convolutions, offset = [], 0
    for kind, name, params in parse_param(param_text):
        if kind in WEIGHTLESS:
            continue
        if kind != "Convolution":
            raise ValueError(f"layer {name} is a {kind}, which has weights this reader does not know")
        out_channels, kernel_w = int(params[0]), int(params.get(1, 1))
        kernel_h, size = int(params.get(11, kernel_w)), int(params[6])
        in_channels = size // (out_channels * kernel_h * kernel_w)
        if in_channels * out_channels * kernel_h * kernel_w != size:
            raise ValueError(f"layer {name}: weight_data_size {size} does not factor into its shape")
        weight, offset = _read_tagged(blob, offset, size)
        bias = None
        if int(params.get(5, 0)):
            bias = np.frombuffer(blob, "<f4", out_channels, offset).copy()
            offset += 4 * out_channels
        convolutions.append(Convolution(name, weight.reshape(out_channels, in_channels, kernel_h, kernel_w), bias))
    if offset != len(blob):
        raise ValueError(f"the .bin has {len(blob) - offset} bytes the .param does not account for")
    return convolutions
