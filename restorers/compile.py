"""Opt-in ahead-of-time speed for CPU inference: ``torch.compile`` (Inductor) with weight freezing.

Freezing lets Inductor treat the weights as constants (folded, laid out once), and the elementwise work around
the convolutions (GroupNorm, SiLU, residual adds, window shuffles) is fused into few loops. The weights stay plain
tensors, not oneDNN-packed ones (:data:`FROZEN_UNPACKED`). On this project's 2-core CPU a large photo through
ResShift's compiled tiles took 0.80-0.91x of its eager time until stop 33 (``benchmarks/compiled_demo.py``), with
outputs within 7e-7 of eager fp32's; since the eager code keeps its freed memory (:mod:`restorers.heap`) the
compiled tiles take 1.17-1.22x of it, so the demo no longer compiles by default (:mod:`leaderboard.device`).

Inside the compiled code the upsamplers (nearest x2, then a 3x3 convolution) run as one transposed convolution
with 16/36 of the work (:mod:`restorers.nn.transposed_upsampling`); the eager code is left as the model defines
it, so FLOP counts (taken eagerly, on the meta device) stay those of the model as defined.

The price is compiling: one to two minutes per input shape on the first call, so it pays off in sweeps over
many same-sized images. A demo sees every size once, so it can compile only tile-shaped calls (``tiles_only``: a
large photo is restored in fixed-size windows, :mod:`restorers.tiling`). Inductor's FX-graph cache on disk (under
``TORCHINDUCTOR_CACHE_DIR``, pointed at the project's cache folder) stores these frozen graphs' generated code, so a
restarted process skips the C++ compilation; it still traces the model again (AOTAutograd's cache refuses frozen
graphs): 20-29 s for ResShift where the first start took 76-83 s. Only inference is compiled: a call with
autograd on, on another device than the CPU, or under a dispatch mode (FLOP counting on the meta device) runs the
eager function, so cost measurement and training never see the compiled graph.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import time
from contextlib import contextmanager, nullcontext
from typing import Callable, ContextManager

import torch

LOG = logging.getLogger(__name__)

# False inside :func:`eager_calls`: the compiled wrappers then run their eager function (a demo's untiled,
# arbitrarily sized calls, which would each cost a fresh compilation)
_COMPILED_CALLS = contextvars.ContextVar("compiled_calls", default=True)


@contextmanager
def eager_calls():
    """Within this block (this thread), compiled methods run eagerly."""
    token = _COMPILED_CALLS.set(False)
    try:
        yield
    finally:
        _COMPILED_CALLS.reset(token)


# frozen weights, kept as plain tensors rather than packed into oneDNN's layout: on this project's CPU the packed
# code was slower than eager (ResShift's UNet at its tile: packed 1.02 s, eager 0.96 s, plain 0.76 s), and packed
# (mkldnn) tensors cannot be pickled, so Inductor's disk cache refused every frozen graph. One compile thread: a pool
# of compiler processes started with the compilation kept importing torch while the next photo ran, and cost a
# large photo after a restart 7 s of its 40 (benchmarks/compiled_demo.py)
FROZEN_UNPACKED = {"freezing": True, "cpp.weight_prepack": False, "compile_threads": 1}

# compiled calls on an input signature their function had not seen: they compile before they run, so their time is no measure of speed (the demo leaves it out of its estimates)
_FIRST_CALLS = {"seconds": 0.0}


def first_call_seconds() -> float:
    """Seconds spent so far in this process in first compiled calls (compiling, plus one run each)."""
    return _FIRST_CALLS["seconds"]


def _dispatch_mode_active() -> bool:
    from torch.utils._python_dispatch import _get_current_dispatch_mode

    return _get_current_dispatch_mode() is not None


def compile_for_cpu_inference(function: Callable,
                              rewrite: Callable[[], ContextManager] | None = None) -> Callable:
    """``function`` compiled with Inductor + freezing for no-grad CPU calls; eager otherwise. ``rewrite`` (a
    context) is active around the compiled calls only, e.g. :class:`TransposedUpsampling`'s."""
    import torch._inductor.config as inductor_config

    compiled = torch.compile(function, dynamic=False)
    failed = []  # the compiler's error, once it has failed: every later call then runs eagerly
    seen = set()  # the input signatures compiled so far

    @functools.wraps(function)
    def run(*args, **kwargs):
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        if (failed or not _COMPILED_CALLS.get() or torch.is_grad_enabled() or _dispatch_mode_active()
                or any(t.device.type != "cpu" for t in tensors)):
            return function(*args, **kwargs)
        signature = tuple((tuple(t.shape), t.dtype) for t in tensors)
        started = time.perf_counter()
        try:
            # freezing is read when a graph is (re)compiled, i.e. inside this call
            with inductor_config.patch(FROZEN_UNPACKED), (rewrite() if rewrite is not None else nullcontext()):
                result = compiled(*args, **kwargs)
            if signature not in seen:
                seen.add(signature)
                _FIRST_CALLS["seconds"] += time.perf_counter() - started
            return result
        except Exception as err:  # noqa: BLE001  (a compiler failure must not fail a restore the eager code can do)
            result = function(*args, **kwargs)  # an error of the input itself is raised here, eagerly
            failed.append(err)
            first_line = (str(err).splitlines() or [""])[0]
            LOG.warning("compiling %s failed (%s: %s); it runs eagerly from now on",
                        getattr(function, "__qualname__", function), type(err).__name__, first_line)
            return result

    run.eager = function
    run.compile_error = lambda: failed[0] if failed else None
    run.has_compiled = lambda: bool(seen) or bool(failed)  # False until its first compiled call
    return run


def compile_methods(module: torch.nn.Module, names: tuple[str, ...]) -> None:
    """Replace ``module.<name>`` (e.g. ``forward``, ``encode``, ``decode``) on this instance by compiled versions,
    whose upsamplers run as transposed convolutions (:mod:`restorers.nn.transposed_upsampling`). Instance
    attributes, so forward hooks (NFE counting) still fire and ``save_pretrained`` is unaffected."""
    from .nn.transposed_upsampling import TransposedUpsampling
    from .paths import inductor_cache_folder

    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(inductor_cache_folder())  # read when the first graph compiles
    upsampling = TransposedUpsampling(module)
    for name in names:
        current = getattr(module, name)
        if hasattr(current, "eager"):  # already compiled
            continue
        setattr(module, name, compile_for_cpu_inference(current, upsampling.active if len(upsampling) else None))


def uncompile_methods(module: torch.nn.Module) -> None:
    """Back to eager: drop the instance attributes :func:`compile_methods` set."""
    for name, value in list(vars(module).items()):
        if callable(value) and hasattr(value, "eager"):
            delattr(module, name)


def compiled_functions(module: torch.nn.Module) -> list[Callable]:
    """The compiled wrappers :func:`compile_methods` set on this instance."""
    return [value for value in vars(module).values() if callable(value) and hasattr(value, "eager")]
