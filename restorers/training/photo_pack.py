"""A portable copy of the training photos: each at half size, JPEG quality 95, in one folder.

A trainer on a lent GPU machine has no Debian corpus and cannot fetch one (no network there); this folder
(~20 MB for the 90 training photos) travels with the job instead. Half size is the first level of the photo
pyramid the trainers use anyway (camera-resolution photos are smooth at the pixel level).

    python -m restorers.training.photo_pack .devdata/photos
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from .corpus import licence, load_photo, training_photos


def write_pack(out: Path, quality: int = 95) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, photo in enumerate(training_photos()):
        array = load_photo(photo.id)
        height, width = array.shape[:2]
        image = Image.fromarray(array).resize((width // 2, height // 2), Image.Resampling.LANCZOS)
        name = f"{index:03d}.jpg"
        image.save(out / name, quality=quality, subsampling=0)
        entries.append({"file": name, "photo_id": photo.id, "size": [width // 2, height // 2],
                        "licence": licence(photo)})  # the GPU machine has no copyright files to read it from
    (out / "manifest.json").write_text(json.dumps(entries, indent=1))
    return entries


def read_pack(folder: str | Path) -> tuple[list[str], list[np.ndarray], dict[str, str]]:
    """(photo ids, uint8 arrays, licence of each id) of a pack written by :func:`write_pack`."""
    folder = Path(folder)
    entries = json.loads((folder / "manifest.json").read_text())
    arrays = [np.asarray(Image.open(folder / e["file"]).convert("RGB")) for e in entries]
    licences = {e["photo_id"]: e.get("licence", "unknown (not recorded in the photo pack)") for e in entries}
    return [e["photo_id"] for e in entries], arrays, licences


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--quality", type=int, default=95)
    args = parser.parse_args(argv)
    entries = write_pack(args.out, args.quality)
    size = sum((args.out / e["file"]).stat().st_size for e in entries)
    print(f"{len(entries)} photos, {size / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
