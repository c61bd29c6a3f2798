"""Efficient diffusion image restoration: one pipeline per (method, task), diffusers style.

    import restorers
    pipe = restorers.load_pipeline("resshift", "sr_x4")           # embedded CPU checkpoint
    lq = restorers.get_task("sr_x4").degrade(hq_image)
    sr = pipe(image=lq, num_inference_steps=4, generator=torch.Generator().manual_seed(0)).images[0]
"""

from __future__ import annotations

from pathlib import Path

from .registry import METHODS, default_checkpoint, get_method
from .tasks import get_task, list_tasks

__all__ = ["load_pipeline", "list_methods", "list_tasks", "get_task", "get_method"]


def list_methods(task: str | None = None) -> list[str]:
    """Method ids, optionally only those that serve ``task``."""
    return [m for m, spec in METHODS.items() if task is None or task in spec.tasks]


def load_pipeline(method: str, task: str, checkpoint: str | None = None, device: str = "cpu"):
    """A ready ``DiffusionPipeline`` for (method, task).

    ``checkpoint``: None for the embedded default, a ``save_pretrained`` folder, or a Hub id.
    """
    spec = get_method(method)
    get_task(task)
    if task not in spec.tasks:
        raise ValueError(f"method {method!r} does not serve task {task!r} (it serves {', '.join(spec.tasks)})")
    cls = spec.pipeline_class()
    source = checkpoint or default_checkpoint(method, task)
    if source is None:  # a method without weights (e.g. bicubic)
        pipe = cls(sf=get_task(task).scale)
    else:
        if checkpoint is None and not Path(source).is_dir():
            raise FileNotFoundError(f"the embedded checkpoint {source} is missing; see its model card to rebuild it")
        pipe = cls.from_pretrained(str(source))
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)
