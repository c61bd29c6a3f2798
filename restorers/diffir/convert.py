"""Convert an official DiffIR stage-2 checkpoint into a ``save_pretrained`` folder of :class:`DiffIRPipeline`.

    python -m restorers.diffir.convert --checkpoint DiffIRS2-GAN.pth --preset sr_x4 --out checkpoints/diffir-realsr-x4

Reads BasicSR ``.pth`` files (``params_ema``, else ``params``) and the inpainting lightning ``.ckpt``
(``state_dict`` with the ``generator.`` prefix) with ``torch.load(weights_only=True)``: no pickled code runs.
``G.*`` becomes the DIRformer, ``condition.*`` CPEN_S2 and ``denoise.*`` the IPR denoiser; the ``diffusion.*``
entries (a second registration of the same CPEN/denoiser tensors, and the schedule buffers) are dropped, the
schedule being recomputed by :class:`DiffIRScheduler`. The weights are loaded strictly: a file that does not match
the preset is refused, naming the missing and unexpected keys.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from .cpen import CPEN
from .dirformer import DIRformer
from .ipr_denoiser import IPRDenoiser
from .pipeline import DiffIRPipeline
from .presets import OFFICIAL_PRESETS
from .scheduler import DiffIRScheduler

PREFIXES = {"G.": "dirformer", "condition.": "cpen", "denoise.": "ipr_denoiser"}
SCALES = {"sr_x4": 4, "srgan_x4": 4, "sr_x2": 2, "sr_x1": 1, "deblur": 1, "inpaint": 1, "inpaint_big": 1}


class CheckpointMismatch(ValueError):
    pass


def generator_state_dict(raw: dict) -> dict[str, torch.Tensor]:
    """The S2 generator's tensors from any of the official containers."""
    if "params_ema" in raw:
        state = raw["params_ema"]
    elif "params" in raw:
        state = raw["params"]
    elif "state_dict" in raw:  # pytorch-lightning (LaMa fork): keep the S2 generator only
        state = {k[len("generator."):]: v for k, v in raw["state_dict"].items() if k.startswith("generator.")}
    else:
        state = raw
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointMismatch("the file holds no state dict of tensors (expected params_ema, params or state_dict)")
    return state


def split_components(state: dict[str, torch.Tensor]) -> tuple[dict[str, dict], list[str]]:
    """{component: state dict} and the keys that belong to none (``diffusion.*`` is expected and dropped)."""
    parts: dict[str, dict] = {name: {} for name in PREFIXES.values()}
    unexpected = []
    for key, value in state.items():
        for prefix, name in PREFIXES.items():
            if key.startswith(prefix):
                parts[name][key[len(prefix):]] = value
                break
        else:
            if not key.startswith("diffusion."):
                unexpected.append(key)
    return parts, unexpected


def build_pipeline(preset: str, state: dict[str, torch.Tensor]) -> DiffIRPipeline:
    if preset not in OFFICIAL_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; presets: {', '.join(OFFICIAL_PRESETS)}")
    config = OFFICIAL_PRESETS[preset]
    modules = {"dirformer": DIRformer(**config["dirformer"]), "cpen": CPEN(**config["cpen"]),
               "ipr_denoiser": IPRDenoiser()}
    parts, unexpected = split_components(state)
    missing = []
    for name, module in modules.items():
        expected = module.state_dict()
        prefix = next(p for p, n in PREFIXES.items() if n == name)
        missing += [prefix + k for k in expected if k not in parts[name]]
        unexpected += [prefix + k for k in parts[name] if k not in expected]
        wrong = [f"{prefix}{k} {tuple(v.shape)} (expected {tuple(expected[k].shape)})"
                 for k, v in parts[name].items() if k in expected and v.shape != expected[k].shape]
        if wrong:
            raise CheckpointMismatch(f"the checkpoint does not fit preset {preset!r}: shapes differ for "
                                     + "; ".join(wrong[:8]) + (f" and {len(wrong) - 8} more" if len(wrong) > 8 else ""))
    if missing or unexpected:
        def listing(keys):
            return ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "") if keys else "none"
        raise CheckpointMismatch(f"the checkpoint does not fit preset {preset!r}: missing keys: {listing(missing)}; "
                                 f"unexpected keys: {listing(unexpected)}")
    for name, module in modules.items():
        module.load_state_dict({k: v.float() for k, v in parts[name].items()}, strict=True)
    return DiffIRPipeline(**modules, scheduler=DiffIRScheduler(), sf=SCALES[preset])


def convert(checkpoint: str | Path, preset: str, out: str | Path) -> DiffIRPipeline:
    checkpoint = Path(checkpoint)
    raw = torch.load(checkpoint, map_location="cpu", weights_only=True)
    pipe = build_pipeline(preset, generator_state_dict(raw))
    out = Path(out)
    pipe.save_pretrained(out, safe_serialization=True)
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    (out / "conversion.json").write_text(json.dumps({
        "source": checkpoint.name, "sha256": digest, "preset": preset, "task": OFFICIAL_PRESETS[preset]["task"],
        "converter": "restorers.diffir.convert"}, indent=2))
    return pipe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="official DiffIRS2*.pth or lightning last.ckpt")
    parser.add_argument("--preset", required=True, choices=sorted(OFFICIAL_PRESETS))
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        pipe = convert(args.checkpoint, args.preset, args.out)
    except (CheckpointMismatch, FileNotFoundError) as error:
        parser.exit(2, f"error: {error}\n")
    count = sum(p.numel() for m in (pipe.dirformer, pipe.cpen, pipe.ipr_denoiser) for p in m.parameters())
    print(f"wrote {args.out}: preset {args.preset}, {count:,} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
