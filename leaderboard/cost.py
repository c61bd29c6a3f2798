"""What a restoration costs, measured rather than declared.

* NFE: forward hooks count the calls of the networks a pipeline declares (``nfe_networks``); the per-NFE
  FLOPs are those of the networks called at every step (``step_networks``, when a pipeline has once-per-image NFEs).
  A method without a network (bicubic) is counted the same way: its arithmetic runs in torch, so its FLOPs show.
* FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` over the pipeline's tensor path
  (``restore_tensor``, through the same tiles as a real run when the input is large enough to be tiled), run on a copy of the pipeline built on the **meta** device (no weights, no
  arithmetic, so it is free at any resolution) and under the MATH attention backend (the fused CPU
  SDPA kernel is invisible to the counter). Hooks on the denoiser split the total into a once-per-image
  part (encoders, decoders, conditioning) and a per-NFE part. Like every FLOP counter it counts
  matmul/conv/attention ops, not element-wise ones; FLOPs = 2 x MACs.
* Parameters: every parameter of every network in the pipeline.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections import Counter
from dataclasses import dataclass

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._pytree import tree_flatten, tree_map
from torch.utils.flop_counter import FlopCounterMode

from restorers.pipeline import RestorationPipeline


def networks(pipe: RestorationPipeline) -> list[torch.nn.Module]:
    return [m for m in pipe.components.values() if isinstance(m, torch.nn.Module)]


def parameter_count(pipe: RestorationPipeline) -> int:
    return sum(p.numel() for m in networks(pipe) for p in m.parameters())


class NFECounter(contextlib.AbstractContextManager):
    """Counts forward calls of the pipeline's denoising networks while the context is open, in total and per
    network (DiffIR: 4 IPR-denoiser calls + 1 DIRformer pass; DP-IR: 1 IR pass + the steps)."""

    def __init__(self, pipe: RestorationPipeline):
        self.modules = pipe.networks_counted()
        self.count = 0
        self.by_network = {name: 0 for name in self.modules}
        self._handles = []

    def _hook_for(self, name: str):
        def hook(*_):
            self.count += 1
            self.by_network[name] += 1
        return hook

    def __enter__(self):
        self._handles = [m.register_forward_hook(self._hook_for(n)) for n, m in self.modules.items()]
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return False


@dataclass
class FlopReport:
    """FLOPs of one image; all None when the method's arithmetic runs outside torch (OpenCV), where no counter
    sees it: unknown, never a made-up zero."""

    total: float | None  # FLOPs for one image at the measured size and step count
    per_nfe: float | None  # FLOPs of one denoiser call
    base: float | None  # FLOPs spent once per image (total - nfe * per_nfe)
    nfe: int

    @property
    def countable(self) -> bool:
        return self.total is not None

    @property
    def tflops(self) -> dict:
        def tera(value):
            return None if value is None else value / 1e12
        return {"tflops": tera(self.total), "tflops_per_nfe": tera(self.per_nfe), "tflops_base": tera(self.base)}


# (shape, steps, start step) -> _count_one's counts, per pipeline (weakly keyed): the tiles of every large photo
# share one shape, so a new upload's estimate counts nothing again (a count takes 0.5-2 s of CPU per method)
_TILE_COUNTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def count_flops(pipe: RestorationPipeline, lq_height: int, lq_width: int,
                num_inference_steps: int | None = None, channels: int | None = None) -> FlopReport:
    """FLOPs of restoring one LQ image of the given size (no real computation happens); ``channels``: the LQ
    batch's (a raw burst's frame count; default: what the pipeline declares, ``input_channels``).

    A tiled run is counted through the same tiles as a real run (so FLOPs and NFE agree), each distinct tile
    shape once, times the number of tiles of that shape: a 1024x1024 input is 25 equal tiles, counted in one.
    A tile shape counted once for this pipeline is not counted again for the next photo.
    """
    if not pipe.flops_countable:
        return FlopReport(None, None, None, 0)
    shapes: Counter = Counter()
    scale = pipe.scale

    def record(x, generator=None, **_):
        shapes[tuple(x.shape)] += 1
        return torch.zeros(x.shape[0], 3, x.shape[-2] * scale, x.shape[-1] * scale, device=x.device)

    channels = pipe.input_channels if channels is None else int(channels)
    # the tiling's geometry only: ``record`` stands in for the networks, on meta tensors
    pipe.restore_tiled(record, torch.empty(1, channels, lq_height, lq_width, device="meta"), progress=False)
    known = _TILE_COUNTS.setdefault(pipe, {})
    clone = None
    total = network = 0.0
    calls = 0
    for shape, count in shapes.items():
        key = (shape, num_inference_steps, pipe.start_step())
        if key not in known:
            clone = clone or pipe.meta_copy()
            known[key] = _count_one(clone, shape, num_inference_steps)
        one_total, one_network, one_calls = known[key]
        total, network, calls = total + count * one_total, network + count * one_network, calls + count * one_calls
    per_nfe = network / calls if calls else 0.0
    return FlopReport(total=total, per_nfe=per_nfe, base=total - network, nfe=calls)


def call_signature(args: tuple, kwargs: dict) -> tuple:
    """What a network call's FLOPs can depend on, on the meta device: its tensors' shapes and dtypes and its
    other arguments' values (no data exists to branch on)."""
    leaves, spec = tree_flatten((args, kwargs))
    return str(spec), tuple((tuple(x.shape), x.dtype) if isinstance(x, torch.Tensor) else repr(x) for x in leaves)


class _NoModuleTracking:
    """Stands in for ``FlopCounterMode``'s module tracker, whose process-wide module hooks a compiled network
    running meanwhile in another thread (a visitor's restore while the page estimates the next one) takes as a
    change of its graph, so Dynamo compiled it again (a minute) inside that visitor's run. Only totals are read."""

    parents = frozenset({"Global"})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def totals_only_flop_counter() -> FlopCounterMode:
    """A FLOP counter that installs no global module hooks (its totals are ``FlopCounterMode``'s own)."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _NoModuleTracking()
    return counter


def _count_one(clone: RestorationPipeline, shape: tuple, num_inference_steps: int | None) -> tuple[float, float, int]:
    """(all FLOPs, FLOPs inside the step networks, step-network calls) of one untiled ``restore_tensor``.

    A step network called again with the same signature (every step of a sampler) does the same arithmetic, so
    its FLOPs are counted once and added again for each repeat; the repeat returns fresh meta tensors of the
    first call's shapes instead of tracing the network again (the counter's Python dispatch is the slow part)."""
    inside = {"flops": 0.0, "calls": 0, "start": 0.0, "repeated": 0.0}
    with totals_only_flop_counter() as counter:
        def before(*_):
            inside["start"] = counter.get_total_flops()

        def after(*_):
            inside["flops"] += counter.get_total_flops() - inside["start"]
            inside["calls"] += 1

        def counted_once(original):
            seen = {}

            def forward(*args, **kwargs):
                key = call_signature(args, kwargs)
                if key in seen:
                    flops, output = seen[key]
                    inside["flops"] += flops
                    inside["repeated"] += flops
                    return tree_map(lambda x: torch.empty_like(x) if isinstance(x, torch.Tensor) else x, output)
                start = counter.get_total_flops()
                output = original(*args, **kwargs)
                seen[key] = (counter.get_total_flops() - start, output)
                return output
            return forward

        modules = list(clone.networks_per_step().values())
        for module in modules:
            module.forward = counted_once(module.forward)  # the clone is a throwaway meta copy
        handles = [h for m in modules for h in (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
        try:
            with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
                clone.restore_tensor(torch.empty(*shape, device="meta"), num_inference_steps)
        finally:
            for h in handles:
                h.remove()
            for module in modules:
                del module.forward
    return float(counter.get_total_flops()) + inside["repeated"], inside["flops"], inside["calls"]


@dataclass
class RunCost:
    nfe: int
    seconds: float
    by_network: dict | None = None

    @property
    def detail(self) -> str:
        """'ipr_denoiser 4 + dirformer 1' where more than one network counts; empty otherwise."""
        parts = {k: v for k, v in (self.by_network or {}).items()}
        return " + ".join(f"{k} {v}" for k, v in parts.items()) if len(parts) > 1 else ""


@contextlib.contextmanager
def measure_run(pipe: RestorationPipeline):
    """Wall time and NFE of the pipeline calls made inside the block."""
    counter = NFECounter(pipe)
    cost = RunCost(nfe=0, seconds=0.0)
    start = time.perf_counter()
    with counter:
        yield cost
    cost.seconds = time.perf_counter() - start
    cost.nfe = counter.count
    cost.by_network = dict(counter.by_network)
