"""The offline corpus: a split by group that never leaks, the shipped benchmark, .edj reading, licences."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from restorers.registry import ASSETS
from restorers.training import corpus
from restorers.training.data import package_image

BENCH = ASSETS / "benchmarks"


def test_split_is_by_group_and_never_leaks():
    groups: dict[str, set] = {}
    for photo in corpus.photos():
        groups.setdefault((photo.id.split("/")[0], photo.group), set()).add(photo.split)
    for key, splits in groups.items():
        assert not ("train" in splits and ({"heldout", "excluded"} & splits)), key
    held = [p for p in corpus.photos() if p.split == "heldout"]
    assert len(held) >= 30 and len({p.package for p in held}) >= 3
    train = [p for p in corpus.photos() if p.split == "train"]
    assert len(train) >= 80 and not {p.id for p in train} & {p.id for p in held}


@pytest.mark.parametrize("name,crop", [("heldout", 256), ("heldout512", 512)])
def test_shipped_benchmark_matches_the_split_and_documents_each_image(name, crop):
    folder = BENCH / name
    rows = json.loads((folder / "provenance.json").read_text())
    files = sorted(p.name for p in folder.glob("*.png"))
    assert files == sorted(r["file"] for r in rows)
    assert len(rows) >= (30 if crop == 256 else 20) and len({r["package"] for r in rows}) >= 3
    for row in rows:
        assert corpus.get_photo(row["id"]).split == "heldout"
        assert row["licence"] and not row["licence"].startswith(("see ", "unknown"))
        with Image.open(folder / row["file"]) as image:
            assert image.size == (crop, crop) and image.mode == "RGB"
    readme = (folder / "README.md").read_text()
    assert all(r["file"] in readme for r in rows)


def test_shipped_pip_images_are_reproduced_from_their_packages():
    """The benchmark is what the corpus code makes of the package files (checked where no apt is needed)."""
    for row in json.loads((BENCH / "heldout" / "provenance.json").read_text()):
        if row["package"] in ("scikit-image", "scikit-learn", "matplotlib"):
            expected = corpus.benchmark_view(corpus.load_photo(row["id"]), 256)
            assert np.array_equal(np.asarray(Image.open(BENCH / "heldout" / row["file"])), expected), row["id"]


def test_benchmark_view_downscales_large_photos_and_refuses_small_ones():
    rng = np.random.default_rng(0)
    large = rng.integers(0, 256, (1000, 1500, 3), dtype=np.uint8)
    view = corpus.benchmark_view(large, 256)
    assert view.shape == (256, 256, 3)
    assert corpus.benchmark_view(large[:200], 256) is None
    medium = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)  # short side below 1.5 x crop: crop only
    assert np.array_equal(corpus.benchmark_view(medium, 256), medium[22:278, 72:328])


def test_largest_jpeg_is_taken_from_an_edj_blob():
    def jpeg(size):
        buffer = io.BytesIO()
        Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG")
        return buffer.getvalue()

    blob = b"EET\x00header" + jpeg((40, 30)) + b"\x00junk\xff\xd8" + jpeg((160, 90)) + b"tail" + jpeg((80, 45))
    with Image.open(io.BytesIO(corpus._largest_jpeg(blob))) as image:
        assert image.size == (160, 90)
    with pytest.raises(ValueError):
        corpus._largest_jpeg(b"no image here")


def test_licence_comes_from_the_matching_dep5_stanza(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORERS_CORPUS", str(tmp_path))
    doc = tmp_path / "root" / "usr/share/doc/lomiri-wallpapers-16.04"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: someone\nLicense: GPL-3\n\n"
        "Files: 16.04/Bridge_by_Sander_Klootwijk.jpg\n 16.04/Other.jpg\nCopyright: 2018 S. K.\nLicense: CC-BY-SA-4.0\n"
        " long licence text\n\n"
        "Files: debian/*\nCopyright: packagers\nLicense: GPL-2+\n")
    assert corpus.licence(corpus.get_photo("lomiri/Bridge")) == "CC-BY-SA-4.0"
    assert corpus.licence(corpus.get_photo("lomiri/Wine")) == "GPL-3"
    assert corpus.licence(corpus.get_photo("opencv/baboon")) == "unknown (package not fetched)"


def test_missing_debian_photo_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORERS_CORPUS", str(tmp_path))
    corpus.load_photo.cache_clear()
    assert not corpus.available(corpus.get_photo("mate/Aqua"))
    assert all(not p.is_debian for p in corpus.training_photos())
    with pytest.raises(FileNotFoundError, match="corpus fetch"):
        corpus.load_photo("mate/Aqua")
    corpus.load_photo.cache_clear()


def test_list_cli_prints_the_manifest(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORERS_CORPUS", str(tmp_path))  # nothing fetched: pip photos are still listed
    assert corpus.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "pip/astronaut" in out and "not fetched" in out and "heldout:" in out
    assert package_image("astronaut").shape == (512, 512, 3)
