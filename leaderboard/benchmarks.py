"""Benchmark sets of clean HQ images; the task's own ``degrade`` makes the LQ inputs from them.

``--dataset`` accepts: nothing / ``heldout`` (the built-in benchmark: 34 held-out photos at 256x256,
shipped in ``assets/benchmarks``), ``heldout512`` (its 512x512 variant, for speed and tiling), a folder of
images, a folder written by ``datasets.Dataset.save_to_disk``, or a Hugging Face datasets id (needs a
network). The built-in sets were written by ``python -m restorers.training.corpus benchmark``; no embedded
checkpoint has seen their photos (their ``README.md`` lists sources and licences).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from restorers.image_io import InvalidImageError, load_image, to_rgb
from restorers.registry import ASSETS

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
BENCHMARKS_DIR = ASSETS / "benchmarks"
BUILTIN = "heldout"
BUILTINS = ("heldout", "heldout512")


@dataclass
class Benchmark:
    name: str
    items: list[tuple[str, Image.Image]]  # (image id, clean RGB image)


def _image_column(dataset) -> str:
    from datasets import Image as ImageFeature

    for column, feature in dataset.features.items():
        if isinstance(feature, ImageFeature):
            return column
    raise ValueError(f"the dataset has no image column (columns: {', '.join(dataset.column_names)})")


def _from_hf(dataset, name: str, limit: int | None) -> Benchmark:
    column = _image_column(dataset)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    items = [(f"{i:05d}", to_rgb(dataset[i][column])) for i in range(count)]
    return Benchmark(name, items)


def load_benchmark(dataset: str | None = None, limit: int | None = None, split: str = "test") -> Benchmark:
    if limit is not None and limit < 1:
        raise ValueError("--limit must be at least 1")
    if dataset in (None, ""):
        dataset = BUILTIN
    if dataset in BUILTINS:
        folder = BENCHMARKS_DIR / dataset
        if not folder.is_dir():
            raise FileNotFoundError(f"the built-in benchmark {folder} is missing; "
                                    "`python -m restorers.training.corpus benchmark` rebuilds it")
        return Benchmark(dataset, _folder_items(folder, limit))
    path = Path(dataset)
    if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "state.json").exists()):
        from datasets import load_from_disk

        loaded = load_from_disk(str(path))
        if hasattr(loaded, "keys"):  # a DatasetDict
            loaded = loaded[split] if split in loaded else loaded[next(iter(loaded.keys()))]
        return _from_hf(loaded, path.name, limit)
    if path.is_dir():
        return Benchmark(path.name, _folder_items(path, limit))
    if path.exists():
        raise ValueError(f"{path} is a file; pass a folder of images, a saved dataset or a datasets id")
    from datasets import load_dataset  # a Hub id: needs a network

    return _from_hf(load_dataset(dataset, split=split), dataset.replace("/", "__"), limit)


def _folder_items(path: Path, limit: int | None) -> list[tuple[str, Image.Image]]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
    items = []
    for file in files[:limit] if limit else files:
        try:
            items.append((file.stem, to_rgb(load_image(file))))
        except InvalidImageError as err:
            raise InvalidImageError(f"{file}: {err}") from err
    return items
