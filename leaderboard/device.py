"""Where networks run: the device a server uses, and how a row or a cost line names it.

The demo runs on the GPU when there is one (``torch.cuda``; on a ZeroGPU Space ``spaces`` lends one for each
run), else on the CPU; ``RESTORERS_DEVICE`` overrides the choice (``cpu``, ``cuda``, ``cuda:1``).
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


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
