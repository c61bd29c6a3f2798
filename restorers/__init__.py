"""Efficient diffusion image restoration: one pipeline per (method, task), diffusers style.

    import restorers
    pipe = restorers.load_pipeline("resshift", "sr_x4")           # embedded CPU checkpoint
    lq = restorers.get_task("sr_x4").degrade(hq_image)
    sr = pipe(image=lq, num_inference_steps=4, generator=torch.Generator().manual_seed(0)).images[0]
"""

from __future__ import annotations

import logging
from pathlib import Path

# bitsandbytes (pulled in by pyiqa, imported by diffusers) warns at import that an optional 4-bit CPU
# kernel is missing; we never quantise, so that line is only noise in every command's output.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

from . import official
from .building import BUILD_LOCK
from .heap import keep_freed_memory
from .linked_components import linked_components
from .registry import METHODS, default_checkpoint, get_method
from .tasks import get_task, list_tasks

__all__ = ["load_pipeline", "list_methods", "list_tasks", "get_task", "get_method"]


def list_methods(task: str | None = None) -> list[str]:
    """Method ids, optionally only those that serve ``task``."""
    return [m for m, spec in METHODS.items() if task is None or task in spec.tasks]


def load_pipeline(method: str, task: str, checkpoint: str | None = None, device: str = "cpu",
                  ir_network: str | None = None, compile: bool = False):
    """A ready ``DiffusionPipeline`` for (method, task).

    ``checkpoint``: None for the embedded default, a ``save_pretrained`` folder, a Hub id ("owner/name", which
    needs a network), or ``"official:<name>"`` for the authors' release (:mod:`restorers.official`: downloaded and
    converted once, then cached; e.g. ``official:realsr_v3``).
    ``ir_network`` (DP-IR and its ``ddpm`` baseline): a state-dict file (``.safetensors``, or ``.pth`` read with
    ``weights_only=True``) of any architecture ``spandrel`` recognises, used as the frozen IR network.
    ``compile``: compile the networks for CPU inference (``enable_compile``; ResShift declares what it compiles):
    faster per image after a minute or two of compiling per input shape, so worth it for sweeps.
    """
    with BUILD_LOCK:  # from_pretrained patches torch.nn.Module process-wide while it builds (restorers.building)
        return _load_pipeline(method, task, checkpoint, device, ir_network, compile)


def _load_pipeline(method: str, task: str, checkpoint: str | None, device: str, ir_network: str | None,
                   compile: bool):
    spec = get_method(method)
    scale = get_task(task).scale
    if task not in spec.tasks:
        raise ValueError(f"method {method!r} does not serve task {task!r} (it serves {', '.join(spec.tasks)})")
    cls = spec.pipeline_class(task)
    if spec.weights or not spec.default_checkpoints:
        if checkpoint is not None:
            raise ValueError(f"method {method!r} takes no checkpoint (its weights are "
                             f"{'a pretrained package file' if spec.weights else 'none: it has no network'})")
        # a pretrained network from a package registry (Real-ESRGAN), or a method without weights (bicubic)
        pipe = cls.from_package_weights(spec.weights, sf=scale) if spec.weights else cls(sf=scale)
    else:
        if checkpoint is not None and str(checkpoint).startswith(official.PREFIX):  # the authors' release, by name
            checkpoint = str(official.ensure(method, str(checkpoint)[len(official.PREFIX):], task))
        source = checkpoint or default_checkpoint(method, task)
        if source is None:
            raise ValueError(f"method {method!r} has no embedded checkpoint for {task!r}; pass checkpoint= (e.g. a "
                             f"converted official one, see restorers.{method}.convert)")
        path = Path(source).expanduser()
        if checkpoint is None and not path.is_dir():
            raise FileNotFoundError(f"the embedded checkpoint {path.name} is missing from assets/checkpoints; its "
                                    "model card says how to rebuild it")
        if not path.is_dir() and (path.exists() or looks_like_a_path(str(source))):
            raise FileNotFoundError(f"there is no checkpoint folder named {path.name!r} (expected a save_pretrained "
                                    "folder or a Hub id)")
        given = linked_components(path) if path.is_dir() else {}  # networks shared with another embedded folder
        pipe = cls.from_pretrained(str(path) if path.is_dir() else str(source), **given)
    for component, values in spec.overrides.items():
        (pipe if component == "pipeline" else getattr(pipe, component)).register_to_config(**values)
    if ir_network is not None:
        if not spec.swappable_ir_network:
            raise ValueError(f"method {method!r} has no IR network to replace")
        from .nn.spandrel_network import SpandrelNetwork

        pipe.set_ir_network(SpandrelNetwork.from_file(ir_network))
    pipe.set_progress_bar_config(disable=True)
    keep_freed_memory()  # the activations' pages stay warm between layers and runs (restorers/heap.py)
    pipe = pipe.to(device).use_channels_last()
    if compile:
        pipe.enable_compile()
    return pipe


def looks_like_a_path(text: str) -> bool:
    """Hub ids are 'owner/name'; anything else with a separator, or starting with '.', '/', '~', is a path."""
    return text.startswith((".", "/", "~")) or text.count("/") != 1 or "\\" in text
