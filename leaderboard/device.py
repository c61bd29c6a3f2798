"""Where networks run: the device a server uses, and how a row or a cost line names it.

The demo runs on the GPU when there is one (``torch.cuda``; on a ZeroGPU Space ``spaces`` lends one for each
run), else on the CPU; ``RESTORERS_DEVICE`` overrides the choice (``cpu``, ``cuda``, ``cuda:1``).

``RESTORERS_DEMO_COMPILE=1`` makes the demo run the methods that offer a compiled mode (ResShift, DiffIR, DP-IR)
compiled for their fixed tile shape on the CPU (:meth:`restorers.pipeline.RestorationPipeline.enable_compile`
with ``tiles_only``): large photos are restored in same-sized windows, so one compilation serves every large photo
of a server's life. It is off by default because it did not pay on the machine it was measured on
(``benchmarks/compiled_demo.py``, README): the fast compiled code freezes the weights into oneDNN's packed
layout, which Inductor's disk caches refuse to store, so every start compiles again (a minute and a half for
ResShift), for 0.89x of the eager time afterwards.
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


def demo_compiles(device: str) -> bool:
    """Whether the demo compiles tile-shaped calls (CPU only, when ``RESTORERS_DEMO_COMPILE=1``)."""
    value = os.environ.get("RESTORERS_DEMO_COMPILE", "0").strip().lower()
    if value not in ("0", "1", "false", "true", "off", "on", "no", "yes"):
        raise ValueError(f"RESTORERS_DEMO_COMPILE={value!r}: use 1 (compile tile-shaped calls) or 0 (never)")
    return torch.device(device).type == "cpu" and value in ("1", "true", "on", "yes")
