"""Which denoiser a saved folder holds: DP-IR's denoiser is swappable, so loaders read the class from its config."""

from __future__ import annotations

import json
from pathlib import Path

from .conv_denoiser import FoldedConvDenoiser
from .denoiser import DenoiserNet, PreconditionedDenoiser

DENOISER_CLASSES = {cls.__name__: cls for cls in (FoldedConvDenoiser, DenoiserNet)}


def denoiser_class_of(folder: str | Path) -> type[PreconditionedDenoiser] | None:
    """The denoiser class a ``save_pretrained`` folder names, or None when it holds no denoiser."""
    config = Path(folder) / "config.json"
    if not config.is_file():
        return None
    return DENOISER_CLASSES.get(json.loads(config.read_text()).get("_class_name"))


def load_denoiser(folder: str | Path) -> PreconditionedDenoiser:
    model_class = denoiser_class_of(folder)
    if model_class is None:
        raise ValueError(f"{Path(folder).name} holds no DP-IR denoiser (known: {', '.join(DENOISER_CLASSES)})")
    return model_class.from_pretrained(str(folder)).eval()
