"""Write the app's example images into ``assets/examples`` from the held-out benchmark.

    python -m restorers.training.make_examples

``hq_*.png`` are clean 256x256 benchmark images (the app degrades them first and can then score the
result); ``lq_*.png`` are already degraded 64x64 inputs for x4 SR, ``realsr_x4_lq_*.png`` 64x64 inputs with the
real-world (Real-ESRGAN second-order) degradation and ``deblur_lq_*.png`` already blurred 256x256 inputs for
deblurring. All are held out: never trained on.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from restorers.registry import ASSETS
from restorers.tasks import get_task

BENCHMARK = ASSETS / "benchmarks" / "heldout"
HQ_EXAMPLES = ("pip__astronaut", "kphotoalbum__spiff", "opencv__butterfly", "mate__LadyBird")
LQ_EXAMPLES = ("pip__grace_hopper", "lomiri__picosdeeuropa")
DEBLUR_EXAMPLES = ("pip__grace_hopper", "lomiri__picosdeeuropa")
REALSR_EXAMPLES = ("pip__grace_hopper", "opencv__fruits")


def main(folder: Path = ASSETS / "examples") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for pattern in ("hq_*.png", "lq_*.png", "deblur_lq_*.png", "realsr_x4_lq_*.png"):
        for old in folder.glob(pattern):
            old.unlink()
    provenance = {row["file"]: row for row in json.loads((BENCHMARK / "provenance.json").read_text())}
    task, deblur, realsr = get_task("sr_x4"), get_task("deblur"), get_task("realsr_x4")
    lines = ["# Example images", "", "Held-out benchmark images (never used in training); written by "
             "`python -m restorers.training.make_examples` from `assets/benchmarks/heldout`.", "",
             "| file | source | licence |", "|---|---|---|"]
    jobs = ([(s, "hq") for s in HQ_EXAMPLES] + [(s, "lq") for s in LQ_EXAMPLES] +
            [(s, "deblur") for s in DEBLUR_EXAMPLES] + [(s, "realsr") for s in REALSR_EXAMPLES])
    for stem, kind in jobs:
        source = provenance[f"{stem}.png"]
        image = Image.open(BENCHMARK / f"{stem}.png").convert("RGB")
        name = stem.split("__", 1)[1]
        if kind == "hq":
            target, what = f"hq_{name}.png", "256x256 benchmark image"
        elif kind == "realsr":
            image, target = realsr.degrade(image), f"realsr_x4_lq_{name}.png"
            what = "Real-ESRGAN second-order degradation x1/4 (the realsr_x4 task, seeded by the pixels)"
        elif kind == "deblur":
            image, target = deblur.degrade(image), f"deblur_lq_{name}.png"
            what = "camera-shake blur + noise (the deblur task, seeded by the pixels) of the benchmark image"
        else:
            image, target, what = task.degrade(image), f"lq_{name}.png", "MATLAB-bicubic x1/4 of the benchmark image"
        image.save(folder / target)
        lines.append(f"| {target} | {what} from {source['package']} `{source['source_file']}` | {source['licence']} |")
    (folder / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
