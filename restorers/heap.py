"""Keep freed activation memory in the process instead of handing it back to the kernel after every layer.

glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and returns it with
``munmap`` when the tensor dies. A 256 x 256 LQ already makes 50 MB feature maps, so each layer of an image
network paid for tens of thousands of page faults (the pages zeroed by the kernel) before doing any arithmetic:
on a 2-core CPU an elementwise add over 50 MB took 35 ms instead of 4, and DiffIR's DIRformer ran 1.5x slower
than it computes (``benchmarks/throughput.py``). Serving large blocks from the heap and never trimming it makes
the second and later runs reuse warm pages, as PyTorch's CPU tuning guide obtains with jemalloc/tcmalloc by
LD_PRELOAD; mallopt does it from inside the process.

The cost: the process keeps its peak memory after a run instead of returning it (the next run needs it again), and
the peak grows a little (ResShift at 256 x 256: 1,361 MB resident against 1,240 MB), because glibc 2.36's
posix_memalign, which PyTorch's CPU allocator calls, asks for a block slightly larger than the one just freed: a
freed map is not always reusable at once, and one size allocated over and over can grow the heap a few times
before it settles. A network's mix of sizes settles within one or two passes (``tests/test_heap.py``).
Elsewhere than glibc Linux this does nothing. ``RESTORERS_KEEP_HEAP=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h parameter numbers
_M_MMAP_MAX = -4
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Ask glibc to serve large blocks from the heap and keep freed pages; True when it took effect. Idempotent."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("RESTORERS_KEEP_HEAP", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # the trim threshold first: with it at its largest, freed heap blocks stay mapped (and their pages warm)
    _applied = bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)) and bool(mallopt(_M_MMAP_MAX, 0))
    return _applied
