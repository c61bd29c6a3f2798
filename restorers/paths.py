"""Every folder the project reads or writes outside the checkout, in one place.

The user cache root is ``$RESTORERS_CACHE`` (default ``~/.cache/restorers``); each folder under it has its own
override for a machine that keeps it elsewhere. Read at call time, so a test or a Space can point them anywhere.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
CHECKPOINTS = ASSETS / "checkpoints"  # the embedded checkpoints (save_pretrained folders + model cards)
BENCHMARKS = ASSETS / "benchmarks"
RESULTS = ASSETS / "results"
EXAMPLES = ASSETS / "examples"


def cache_root() -> Path:
    return Path(os.environ.get("RESTORERS_CACHE") or Path.home() / ".cache" / "restorers").expanduser()


def _under_cache(variable: str, name: str) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else cache_root() / name


def weights_folder() -> Path:
    """Weights converted from registry packages (LPIPS backbone, Real-ESRGAN, RealSR), as safetensors."""
    return cache_root() / "weights"


def inductor_cache_folder() -> Path:
    """torch.compile's on-disk caches (Inductor's FX graphs, AOTAutograd), so a restart reuses a compilation;
    ``TORCHINDUCTOR_CACHE_DIR`` as torch reads it (torch's own default is under /tmp, lost on reboot)."""
    return _under_cache("TORCHINDUCTOR_CACHE_DIR", "inductor")


def checkpoint_folder() -> Path:
    """Converted or self-trained ``save_pretrained`` folders the demo lists beside the embedded ones."""
    return _under_cache("RESTORERS_CHECKPOINTS", "checkpoints")


def ir_network_folder() -> Path:
    """Third-party IR networks (state dicts spandrel loads) offered to DP-IR."""
    return _under_cache("RESTORERS_IR_NETWORKS", "ir_networks")


def corpus_folder() -> Path:
    """The offline training photos unpacked from Debian and pip packages."""
    return _under_cache("RESTORERS_CORPUS", "corpus")



_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])(?:[A-Za-z]:)?[\\/](?:[^\s'\"\\/]+[\\/])*[^\s'\"\\/,;)]*")


def hide_paths(text: str) -> str:
    """A message with every absolute path replaced by its last part: what reaches a user of a server (an error
    from the OS, a download) names the file, never where it lives on the machine."""
    return _ABSOLUTE_PATH.sub(lambda match: Path(match.group(0).rstrip("/\\")).name or "the folder", text)
