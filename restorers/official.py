"""The authors' own released weights by name: ``load_pipeline("resshift", "realsr_x4", checkpoint="official:realsr_v3")``.

The files come from the URLs the authors' READMEs give (ResShift: its GitHub release v2.0), are read with
``torch.load(weights_only=True)`` by the method's converter, and the converted ``save_pretrained`` folder is cached
under ``$RESTORERS_CACHE/official/<method>-<name>``, so a name is downloaded and converted once per machine.
``$RESTORERS_OFFICIAL_MIRROR`` replaces the host part of every URL (a mirror, or a local server in the tests).

DiffIR's authors publish their weights only as Google Drive folders, which give no direct download URL: those are
converted from a downloaded file with ``python -m restorers.diffir.convert`` instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .paths import cache_root, hide_paths

PREFIX = "official:"
RESSHIFT_RELEASE = "https://github.com/zsyOAOA/ResShift/releases/download/v2.0/"


@dataclass(frozen=True)
class Release:
    """One published model: the method it belongs to, our converter preset, and its files (role -> file name)."""

    method: str
    preset: str
    base_url: str
    files: dict

    def url(self, file_name: str) -> str:
        mirror = os.environ.get("RESTORERS_OFFICIAL_MIRROR")
        base = mirror.rstrip("/") + "/" if mirror else self.base_url
        return base + file_name


def _resshift(preset: str, unet: str, vae: str = "autoencoder_vq_f4.pth") -> Release:
    return Release("resshift", preset, RESSHIFT_RELEASE, {"unet": unet, "vae": vae})


RELEASES: dict[tuple[str, str], Release] = {(r.method, r.preset): r for r in (
    _resshift("realsr_v1", "resshift_realsrx4_s15_v1.pth"),
    _resshift("realsr_v2", "resshift_realsrx4_s15_v2.pth"),
    _resshift("realsr_v3", "resshift_realsrx4_s4_v3.pth"),
    _resshift("bicsr", "resshift_bicsrx4_s4.pth"),
    _resshift("inpaint_imagenet", "resshift_inpainting_imagenet_s4.pth"),
    _resshift("inpaint_face", "resshift_inpainting_face_s4.pth", "celeba256_vq_f4_dim3_face.pth"),
    _resshift("faceir", "resshift_faceir_s4.pth", "ffhq512_vq_f8_dim8_face.pth"),
)}
NO_DIRECT_URL = {"diffir": "DiffIR's authors publish their weights only as Google Drive folders (no direct download "
                           "URL): download the .pth and convert it with python -m restorers.diffir.convert"}


class OfficialWeightsUnavailable(FileNotFoundError):
    """The release could not be fetched or converted; the message says why in one sentence, without paths."""


def names(method: str, task: str | None = None) -> list[str]:
    """The official names a method offers (for ``task`` only, when given)."""
    from .resshift.presets import PRESETS

    return [name for (m, name), release in RELEASES.items()
            if m == method and (task is None or PRESETS[release.preset]["task"] == task)]


def release(method: str, name: str, task: str | None = None) -> Release:
    if method in NO_DIRECT_URL:
        raise OfficialWeightsUnavailable(NO_DIRECT_URL[method])
    found = RELEASES.get((method, name))
    if found is None:
        known = ", ".join(PREFIX + n for n in names(method)) or "none"
        raise OfficialWeightsUnavailable(f"{method} has no official release named {name!r} (known: {known})")
    if task is not None and name not in names(method, task):
        raise OfficialWeightsUnavailable(f"{PREFIX}{name} is not a {task} model (for {task}: "
                                         f"{', '.join(PREFIX + n for n in names(method, task)) or 'none'})")
    return found


def folder(method: str, name: str) -> Path:
    return cache_root() / "official" / f"{method}-{name}"


def is_cached(method: str, name: str) -> bool:
    return (folder(method, name) / "model_index.json").is_file()


def reachable(timeout: float = 3.0) -> bool:
    """Whether the release host answers (a Space can download; this project's offline machines cannot)."""
    probe = Release("resshift", "", RESSHIFT_RELEASE, {}).url("")
    try:
        urllib.request.urlopen(urllib.request.Request(probe, method="HEAD"), timeout=timeout)
        return True
    except urllib.error.HTTPError:
        return True  # the host answered (a release folder itself is not a file)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def download(url: str, target: Path, timeout: float = 60.0) -> None:
    """Fetch ``url`` into ``target`` through a temporary file, so an interrupted download leaves nothing behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as handle:
            shutil.copyfileobj(response, handle, length=1 << 20)
        partial.replace(target)
    except urllib.error.HTTPError as err:
        raise OfficialWeightsUnavailable(f"could not download {target.name}: {url.split('/')[2]} answered "
                                         f"{err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise OfficialWeightsUnavailable(hide_paths(f"could not download {target.name} from {url.split('/')[2]} "
                                                    f"({reason}); without a network, use an embedded checkpoint")) \
            from None
    finally:
        partial.unlink(missing_ok=True)


def ensure(method: str, name: str, task: str | None = None) -> Path:
    """The converted folder of an official release, downloading and converting it the first time."""
    wanted = release(method, name, task)
    out = folder(method, name)
    if is_cached(method, name):
        return out
    from .resshift.convert import CheckpointMismatch, convert

    downloads = cache_root() / "downloads"
    files = {}
    for role, file_name in wanted.files.items():
        files[role] = downloads / file_name
        if not files[role].is_file():
            download(wanted.url(file_name), files[role])
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))  # same filesystem: one rename
    try:
        convert(files["unet"], wanted.preset, staging, files.get("vae"))
        staging.replace(out)  # whole or not at all: a half-converted folder is never found
    except (CheckpointMismatch, ValueError, OSError) as err:
        raise OfficialWeightsUnavailable(hide_paths(f"the downloaded {PREFIX}{name} files do not convert: {err}"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
