"""A sweep's images split over the processes of a distributed launch, and what they measured merged again.

accelerate's ``PartialState`` reads the launcher's environment (``accelerate launch``, ``torchrun``, MPI); outside
a launch it is one process and nothing changes. The sweep's (configuration, image) units are dealt out in turn,
unit u to process u mod N: every image of every configuration is restored by exactly one process, the processes'
loads differ by at most one image over the whole sweep (not by one per configuration), and a merged row is the
mean over the same images as a one-process sweep. The scores travel once, when every process has finished. On the CPU the
processes talk over gloo (``torchrun --nproc_per_node N -m leaderboard.sweep ...``); on GPUs each process takes
its own device (``accelerate launch --multi_gpu --num_processes N -m leaderboard.sweep ...``).
"""

from __future__ import annotations

from accelerate import PartialState
from accelerate.utils import gather_object

from .device import serving_device


def sweep_state(device: str | None) -> tuple[PartialState, str]:
    """This process's place in the launch and the device it computes on (``None``: the GPU when there is one,
    in a multi-GPU launch this process's own)."""
    wanted = device or serving_device()
    state = PartialState(cpu=wanted.startswith("cpu"))
    if device is None and state.num_processes > 1 and state.device.type == "cuda":
        wanted = str(state.device)
    return state, wanted


def my_share(count: int, state: PartialState, offset: int = 0) -> list[int]:
    """The images of one configuration this process restores; ``offset``: the units dealt before it."""
    return [i for i in range(count) if (offset + i) % state.num_processes == state.process_index]


def merged(scores: list, state: PartialState) -> list:
    """Every process's scores, on every process, in image order."""
    everything = gather_object(list(scores)) if state.num_processes > 1 else list(scores)
    return sorted(everything, key=lambda s: s.index)
