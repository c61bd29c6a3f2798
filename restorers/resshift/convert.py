"""Convert official ResShift checkpoints into a ``save_pretrained`` folder of :class:`ResShiftPipeline`.

    python -m restorers.resshift.convert --unet resshift_realsrx4_s4_v3.pth --config realsr_v3 \
        --vae autoencoder_vq_f4.pth --out checkpoints/resshift-realsr-v3

The UNet keeps the official key names (our ``ResShiftUNet`` mirrors ``UNetModelSwin``), so its weights load as
they are after the usual wrappers are removed (a ``state_dict`` entry, ``module.`` / ``_orig_mod.`` prefixes). The
VQ autoencoder (ldm ``VQModelTorch``) is renamed onto diffusers' ``VQModel``: decoder levels are reversed, the mid
attention's 1x1 convolutions become linear layers (the face f8 model, with resnets counted per level, becomes a
``PerLevelVQModel``, a VQModel subclass). Files are read with ``torch.load(..., weights_only=True)``;
anything that does not match the preset is refused with the missing and unexpected keys named.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

import torch
from diffusers import VQModel

from .pipeline import ResShiftPipeline
from .presets import PRESETS
from .scheduler import ResShiftScheduler
from .unet import ResShiftUNet
from .vq import PerLevelVQModel


class CheckpointMismatch(ValueError):
    pass


def read_official(path: str | Path) -> dict[str, torch.Tensor]:
    raw = torch.load(str(path), map_location="cpu", weights_only=True)
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else raw
    if not isinstance(state, dict):
        raise CheckpointMismatch(f"{Path(path).name} holds no state dict")
    cleaned = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            key = key.removeprefix(prefix)
        cleaned[key] = value
    return cleaned


def _listing(keys: list[str]) -> str:
    return ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "") if keys else "none"


def load_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], what: str, ignore=()) -> None:
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected and not k.startswith(tuple(ignore))]
    wrong = [f"{k} {tuple(v.shape)} (expected {tuple(expected[k].shape)})" for k, v in state.items()
             if k in expected and v.shape != expected[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointMismatch(f"the {what} does not fit: missing keys: {_listing(missing)}; unexpected keys: "
                                 f"{_listing(unexpected)}; shapes differ: {_listing(wrong)}")
    module.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=True)


def ldm_vq_to_diffusers(state: dict[str, torch.Tensor], levels: int) -> dict[str, torch.Tensor]:
    """Rename an ldm VQ autoencoder's keys onto diffusers' VQModel (``levels`` = len(ch_mult))."""
    out = {}
    for key, value in state.items():
        if key.startswith("loss."):  # the LDM training loss (discriminator, LPIPS) rides along in some files
            continue
        new = key
        new = re.sub(r"^encoder\.down\.(\d+)\.block\.(\d+)\.", r"encoder.down_blocks.\1.resnets.\2.", new)
        new = re.sub(r"^encoder\.down\.(\d+)\.downsample\.conv\.", r"encoder.down_blocks.\1.downsamplers.0.conv.", new)
        match = re.match(r"^decoder\.up\.(\d+)\.(block\.(\d+)|upsample\.conv)\.(.*)$", new)
        if match:
            level = levels - 1 - int(match.group(1))
            inner = f"resnets.{match.group(3)}" if match.group(3) is not None else "upsamplers.0.conv"
            new = f"decoder.up_blocks.{level}.{inner}.{match.group(4)}"
        new = re.sub(r"\.mid\.block_1\.", ".mid_block.resnets.0.", new)
        new = re.sub(r"\.mid\.block_2\.", ".mid_block.resnets.1.", new)
        new = re.sub(r"\.mid\.attn_1\.norm\.", ".mid_block.attentions.0.group_norm.", new)
        attention = re.match(r"^(.*)\.mid\.attn_1\.(q|k|v|proj_out)\.(weight|bias)$", new)
        if attention:
            name = {"q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}[attention.group(2)]
            new = f"{attention.group(1)}.mid_block.attentions.0.{name}.{attention.group(3)}"
            if attention.group(3) == "weight" and value.ndim == 4:
                value = value[:, :, 0, 0]
        new = new.replace(".nin_shortcut.", ".conv_shortcut.").replace(".norm_out.", ".conv_norm_out.")
        out[new] = value
    return out


def build_pipeline(preset: str, unet_state: dict, vae_state: dict | None) -> ResShiftPipeline:
    if preset not in PRESETS:
        raise ValueError(f"unknown config {preset!r}; presets: {', '.join(PRESETS)}")
    config = PRESETS[preset]
    unet = ResShiftUNet(**config["unet"])
    load_strict(unet, unet_state, f"UNet checkpoint for {preset!r}")
    vqvae = None
    if vae_state is not None:
        if config["vqvae"] is None:
            raise CheckpointMismatch(f"{preset}: {config['note']}")
        vq_class = PerLevelVQModel if "layers_per_level" in config["vqvae"] else VQModel
        vqvae = vq_class(**config["vqvae"])
        levels = len(config["vqvae"]["block_out_channels"])
        load_strict(vqvae, ldm_vq_to_diffusers(vae_state, levels), "autoencoder checkpoint")
    elif config["vqvae"] is not None:
        raise CheckpointMismatch(f"{preset} samples in the latent space of its VQ autoencoder: pass --vae")
    return ResShiftPipeline(unet=unet, scheduler=ResShiftScheduler(**config["scheduler"]), vqvae=vqvae,
                            sf=config["sf"], latent_factor=4)


def convert(unet: str | Path, preset: str, out: str | Path, vae: str | Path | None = None) -> ResShiftPipeline:
    pipe = build_pipeline(preset, read_official(unet), read_official(vae) if vae else None)
    out = Path(out)
    pipe.save_pretrained(out, safe_serialization=True)
    sources = {"unet": Path(unet), **({"vae": Path(vae)} if vae else {})}
    (out / "conversion.json").write_text(json.dumps({
        "preset": preset, "task": PRESETS[preset]["task"], "note": PRESETS[preset]["note"],
        "sources": {k: {"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                    for k, p in sources.items()}}, indent=2))
    return pipe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unet", required=True, help="official ResShift .pth (a state dict, EMA or not)")
    parser.add_argument("--config", required=True, choices=sorted(PRESETS), help="which published model it is")
    parser.add_argument("--vae", default=None, help="its VQ autoencoder .pth (autoencoder_vq_f4.pth, ...)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        pipe = convert(args.unet, args.config, args.out, args.vae)
    except (CheckpointMismatch, FileNotFoundError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    count = sum(p.numel() for m in (pipe.unet, pipe.vqvae) if m is not None for p in m.parameters())
    print(f"wrote {args.out}: {args.config} ({PRESETS[args.config]['note']}), {count:,} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
