"""Where networks run: the device a server uses, and how a row or a cost line names it.

The demo runs on the GPU when there is one (``torch.cuda``; on a ZeroGPU Space ``spaces`` lends one for each
run), else on the CPU; ``RESTORERS_DEVICE`` overrides the choice (``cpu``, ``cuda``, ``cuda:1``).

On the CPU the demo runs every method eagerly by default. ResShift's compiled mode for its fixed tile shape
(:meth:`restorers.pipeline.RestorationPipeline.enable_compile` with ``tiles_only``; one compilation serves every
large photo, and Inductor's disk cache keeps the generated code across restarts) was the default until stop 34:
it made a large photo 0.88-0.89x of its eager time after a restart. Once freed memory stayed with the process
(:mod:`restorers.heap`), the eager code got faster and the compiled code did not: on an AMD EPYC a 755x703 photo
took 60.6 s eager and 74.2 s compiled after a restart (1.22x), plus 40-109 s of compiling at the server's start
(``benchmarks/compiled_demo.py``, README). ``RESTORERS_DEMO_COMPILE`` chooses: ``0`` (the default) none, ``1``
every method with a compiled mode, or method names separated by commas (``resshift``); a compiled method is
compiled at the server's start for the landing tab (:func:`leaderboard.serving.compile_landing_pipeline`).
"""

from __future__ import annotations

import os
import platform

import torch


def serving_device() -> str:
    chosen = os.environ.get("RESTORERS_DEVICE", "").strip()
    if chosen:
        try:
            device = torch.device(chosen)
        except RuntimeError:
            raise ValueError(f"RESTORERS_DEVICE={chosen!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"RESTORERS_DEVICE={chosen!r} asks for CUDA, which this machine does not have")
        return chosen
    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_model() -> str:
    """The processor's name (``model name`` in /proc/cpuinfo), else its architecture: two machines that both say
    "x86_64" can differ threefold in speed (AVX-512 or not), so rows name the model."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name") and ":" in line:
                    return " ".join(line.split(":", 1)[1].split()) or platform.machine()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({cpu_model()}, {torch.get_num_threads()} threads)"


DEMO_COMPILE_DEFAULT = "0"  # eager: faster than the compiled code here since restorers.heap (docstring)


def demo_compiles(device: str, method: str) -> bool:
    """Whether the demo compiles ``method``'s tile-shaped calls (on the CPU only; ``RESTORERS_DEMO_COMPILE``)."""
    import restorers

    value = os.environ.get("RESTORERS_DEMO_COMPILE", DEMO_COMPILE_DEFAULT).strip().lower()
    if value in ("1", "true", "on", "yes", "all"):
        chosen = set(restorers.list_methods())
    elif value in ("0", "false", "off", "no", "none", ""):
        chosen = set()
    else:
        chosen = {name.strip() for name in value.split(",") if name.strip()}
        unknown = sorted(chosen - set(restorers.list_methods()))
        if unknown:
            raise ValueError(f"RESTORERS_DEMO_COMPILE={value!r}: {', '.join(unknown)} is not a method; use 1 (every "
                             f"method with a compiled mode), 0 (none) or method names separated by commas")
    return torch.device(device).type == "cpu" and method in chosen
