"""Fixed inputs and stored outputs of every embedded pipeline: the pin that a refactor changes no result.

    python -m tests.golden write           # (re)write tests/fixtures/golden/ with the current code; only on purpose
    python -m tests.golden write NAME ...  # (re)write these cases only (a new checkpoint's, a retrained one's)

Each case restores a small crop of a held-out photo (sizes that are not multiples of any network's window, so
padding is exercised; one case forces tiles) with a fixed seed. Its input (the task's degradation of the crop, and
the mask for inpainting) is stored in ``inputs/`` the first time, so the pin is on the pipelines alone. ``tests/test_golden_outputs.py`` runs the same
cases with the code of the day and compares them with the stored PNGs (at most 1/255 apart).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FOLDER = Path(__file__).resolve().parent / "fixtures" / "golden"
INPUTS = FOLDER / "inputs"
HELDOUT = ROOT / "assets" / "benchmarks" / "heldout"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    task: str
    hq_size: tuple[int, int]  # (width, height) of the HQ crop the task degrades
    photo: int = 0  # index into the sorted held-out photos
    steps: int | None = None
    call: dict = field(default_factory=dict)  # extra pipeline arguments (tiling)


CASES = [
    Case("resshift-sr_x4", "resshift", "sr_x4", (176, 144)),
    Case("resshift-sr_x4-tiled", "resshift", "sr_x4", (176, 144), call={"tile_size": 32, "tile_overlap": 8}),
    Case("resshift-sr_x4-2steps", "resshift", "sr_x4", (176, 144), photo=3, steps=2),
    Case("resshift-realsr_x4", "resshift", "realsr_x4", (192, 160), photo=1),
    Case("diffir-sr_x4", "diffir", "sr_x4", (176, 144), photo=2),
    Case("diffir_direct-sr_x4", "diffir_direct", "sr_x4", (176, 144), photo=2),
    Case("diffir-deblur", "diffir", "deblur", (70, 54), photo=4),
    Case("diffir-inpaint", "diffir", "inpaint", (68, 52), photo=5),
    Case("diffir-realsr_x4", "diffir", "realsr_x4", (192, 160), photo=1),
    Case("dpir-sr_x4", "dpir", "sr_x4", (176, 144), photo=6),
    Case("dpir-sr_x4-tau100", "dpir", "sr_x4", (88, 72), photo=6, steps=3, call={"tau": 100}),
    Case("dpir-deblur", "dpir", "deblur", (70, 54), photo=4),
    Case("dpir-realsr_x4", "dpir", "realsr_x4", (192, 160), photo=9),
    Case("ddpm-sr_x4", "ddpm", "sr_x4", (88, 72), photo=6, steps=5),
    Case("regression-sr_x4", "regression", "sr_x4", (176, 144), photo=7),
    Case("regression-deblur", "regression", "deblur", (70, 54), photo=4),
    Case("regression-sr_x4-tiled", "regression", "sr_x4", (176, 144), photo=7,
         call={"tile_size": 24, "tile_overlap": 6}),
    Case("bicubic-sr_x4", "bicubic", "sr_x4", (176, 144), photo=8),
    Case("realesrgan-realsr_x4", "realesrgan", "realsr_x4", (192, 160), photo=9),
    Case("identity-inpaint", "identity", "inpaint", (68, 52), photo=5),
    Case("resshift-inpaint", "resshift", "inpaint", (200, 176), photo=10),
    Case("regression-burst_jddsr", "regression", "burst_jddsr", (88, 72), photo=11),
    Case("dpir-burst_jddsr", "dpir", "burst_jddsr", (88, 72), photo=11),
    Case("burst_naive-burst_jddsr", "burst_naive", "burst_jddsr", (88, 72), photo=11),
]


def hq_crop(case: Case) -> Image.Image:
    photos = sorted(HELDOUT.glob("*.png"))
    if not photos:
        raise FileNotFoundError(f"the held-out benchmark is missing from {HELDOUT}")
    image = Image.open(photos[case.photo]).convert("RGB")
    width, height = case.hq_size
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


def case_inputs(case: Case) -> tuple[Image.Image, dict]:
    """The stored LQ (and mask) of a case: fixed files, so a later change of a task's degradation (another mask
    generator, say) does not change what the pinned pipelines are given. A raw burst is a folder of 16-bit
    frames."""
    if (INPUTS / case.name).is_dir():
        from restorers.burst.raw_burst import RawBurst

        return RawBurst.from_files(sorted((INPUTS / case.name).glob("*.png"))), {}
    lq = Image.open(INPUTS / f"{case.name}.png").convert("RGB")
    mask = INPUTS / f"{case.name}-mask.png"
    return lq, ({"mask_image": Image.open(mask).convert("L")} if mask.is_file() else {})


def write_inputs(case: Case) -> None:
    import restorers

    task = restorers.get_task(case.task)
    lq, conditions = task.degrade_with_conditions(hq_crop(case))
    INPUTS.mkdir(parents=True, exist_ok=True)
    if task.takes_bursts:
        lq.save_pngs(INPUTS / case.name)
        return
    lq.save(INPUTS / f"{case.name}.png")
    if "mask_image" in conditions:
        conditions["mask_image"].save(INPUTS / f"{case.name}-mask.png")


def run_case(case: Case) -> Image.Image:
    import restorers

    lq, conditions = case_inputs(case)
    pipe = restorers.load_pipeline(case.method, case.task)
    generator = torch.Generator().manual_seed(0)
    return pipe(image=lq, num_inference_steps=case.steps, generator=generator, **conditions, **case.call).images[0]


def write(names: list[str] | None = None) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    index = json.loads((FOLDER / "index.json").read_text()) if names and (FOLDER / "index.json").is_file() else {}
    unknown = set(names or ()) - {case.name for case in CASES}
    if unknown:
        sys.exit(f"no golden case named {', '.join(sorted(unknown))}")
    for case in CASES:
        if names and case.name not in names:
            continue
        if not (INPUTS / f"{case.name}.png").is_file() and not (INPUTS / case.name).is_dir():
            write_inputs(case)
        image = run_case(case)
        image.save(FOLDER / f"{case.name}.png")
        index[case.name] = {"method": case.method, "task": case.task, "size": list(image.size)}
        print(case.name, image.size, flush=True)
    (FOLDER / "index.json").write_text(json.dumps(index, indent=1) + "\n")


def difference(case: Case) -> int:
    """Largest per-channel difference (0-255) between today's output and the stored one."""
    stored = np.asarray(Image.open(FOLDER / f"{case.name}.png").convert("RGB"), dtype=np.int16)
    today = np.asarray(run_case(case), dtype=np.int16)
    if stored.shape != today.shape:
        raise AssertionError(f"{case.name}: output {today.shape} but stored {stored.shape}")
    return int(np.abs(stored - today).max())


if __name__ == "__main__":
    if sys.argv[1:2] != ["write"]:
        sys.exit(__doc__)
    write(sys.argv[2:] or None)
