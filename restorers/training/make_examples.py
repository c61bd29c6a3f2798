"""Write the app's example images into ``assets/examples`` from held-out package photos.

    python -m restorers.training.make_examples

``hq_*.png`` are clean 256x256 crops (the app degrades them first and can then score the result);
``lq_*.png`` is an already degraded 64x64 input. All come from the held-out set, never trained on.
"""

from __future__ import annotations

from pathlib import Path

from restorers.registry import ASSETS
from restorers.tasks import get_task
from restorers.training.data import heldout_images, package_provenance

HQ_EXAMPLES = ("astronaut", "coffee", "chelsea")
LQ_EXAMPLES = ("grace_hopper",)


def main(folder: Path = ASSETS / "examples") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    images = dict(heldout_images())
    task = get_task("sr_x4")
    lines = ["# Example images", "", "Held-out crops (never used in training); written by "
             "`python -m restorers.training.make_examples`.", "", "| file | source |", "|---|---|"]
    for name in HQ_EXAMPLES:
        images[name].save(folder / f"hq_{name}.png")
        lines.append(f"| hq_{name}.png | 256x256 centre crop of {package_provenance(name)} |")
    for name in LQ_EXAMPLES:
        task.degrade(images[name]).save(folder / f"lq_{name}.png")
        lines.append(f"| lq_{name}.png | MATLAB-bicubic x1/4 of the 256x256 centre crop of "
                     f"{package_provenance(name)} |")
    (folder / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
