"""Resumable training state in safetensors + JSON (no pickle anywhere)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def _flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, per_param in state["state"].items():
        for key, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict, meta: dict) -> dict:
    state: dict = {}
    for name, value in list(tensors.items()) + list(meta["scalars"].items()):
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_training_state(run_dir: str | os.PathLike, model: torch.nn.Module, ema: torch.nn.Module,
                        optimizer: torch.optim.Optimizer, meta: dict) -> None:
    """Write to a temporary folder and rename, so a kill mid-write never leaves a half state."""
    run_dir = Path(run_dir)
    tmp = run_dir / "state.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp / "model.safetensors")
    save_file({k: v.contiguous() for k, v in ema.state_dict().items()}, tmp / "ema.safetensors")
    opt_tensors, opt_meta = _flatten_optimizer(optimizer)
    save_file(opt_tensors, tmp / "optimizer.safetensors")
    (tmp / "meta.json").write_text(json.dumps({**meta, "optimizer": opt_meta}))
    final = run_dir / "state"
    if final.exists():
        old = run_dir / "state.old"
        if old.exists():
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
        final.rename(old)
    tmp.rename(final)


def load_training_state(run_dir: str | os.PathLike, model: torch.nn.Module, ema: torch.nn.Module,
                        optimizer: torch.optim.Optimizer) -> dict | None:
    final = Path(run_dir) / "state"
    if not (final / "meta.json").exists():
        final = Path(run_dir) / "state.old"  # killed between the two renames: the previous state is whole
        if not (final / "meta.json").exists():
            return None
    model.load_state_dict(load_file(final / "model.safetensors"))
    ema.load_state_dict(load_file(final / "ema.safetensors"))
    meta = json.loads((final / "meta.json").read_text())
    optimizer.load_state_dict(_unflatten_optimizer(load_file(final / "optimizer.safetensors"), meta.pop("optimizer")))
    return meta


def store_half(folder: str | Path) -> None:
    """Rewrite every float32 tensor of an exported folder's safetensors files as float16.

    Halves the download (and keeps each file under a Space's 10 MiB plain-git limit); diffusers casts the
    weights back to the model's float32 on loading, so inference still computes in fp32.
    """
    for file in Path(folder).rglob("*.safetensors"):
        tensors = load_file(file)
        save_file({k: v.half() if v.dtype == torch.float32 else v for k, v in tensors.items()}, file,
                  metadata={"format": "pt"})


def strip_source_paths(folder: str | Path) -> None:
    """Drop diffusers' ``_name_or_path`` (where a component was loaded from on the training machine) from an
    exported folder's configs: a shipped checkpoint names no build path."""
    import json

    for config in Path(folder).rglob("config.json"):
        data = json.loads(config.read_text())
        if data.pop("_name_or_path", None) is not None:
            config.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
