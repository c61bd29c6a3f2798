"""Put the learned metrics' weights on disk (needs a network; run once where one exists).

    python -m leaderboard.fetch_weights

LPIPS uses torchvision's AlexNet (``$TORCH_HOME/hub/checkpoints``); TOPIQ-FR uses pyiqa's head
(``$TORCH_HOME/hub/pyiqa``) on timm's ResNet-50 (the Hugging Face cache). Afterwards the metrics
are computed offline; until then they are reported as unavailable.
"""

from __future__ import annotations

import sys

from .metrics import METRICS, weights_available


def main() -> int:
    import torchvision

    torchvision.models.alexnet(weights=torchvision.models.AlexNet_Weights.IMAGENET1K_V1)
    import pyiqa

    pyiqa.create_metric("topiq_fr", device="cpu")
    failed = 0
    for name, spec in METRICS.items():
        if spec.needs_files:
            ok, why = weights_available(name)
            print(f"{name}: {'ready' if ok else 'missing, ' + why}")
            failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
