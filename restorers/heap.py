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

Threads: glibc gives each thread that allocates an arena of its own, built from mmap'd regions of at most 64 MiB;
a block larger than that is always mmap'd there (whatever ``M_MMAP_MAX`` says) and unmapped when freed, and the
smaller ones are kept or not by chance. The demo restores in Gradio's worker threads, so its runs paid the page
faults anyway: 130,000-250,000 per restore of a 240x180 photo through ``/restore`` (0-66 with one arena), and a
256 x 256 ResShift restore in a fresh thread took 6.1-7.1 s against 5.1-5.5 s in the main thread (stop 36).
With one arena for every thread (as ``MALLOC_ARENA_MAX=1``) the threaded runs took 4.8-5.8 s and stopped faulting
after their first. The limit reaches only threads that have not allocated yet, so the programs apply it first
thing (``leaderboard``'s import); ``load_pipeline`` applies it too.

Elsewhere than glibc Linux this does nothing. ``RESTORERS_KEEP_HEAP=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h parameter numbers
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Ask glibc to serve large blocks from one heap for all threads and keep its freed pages; True when it took
    effect. Idempotent."""
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
    # then one arena for every thread, so that the threads' allocations are kept as well
    _applied = all(mallopt(option, value) for option, value in (
        (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_MMAP_MAX, 0), (_M_ARENA_MAX, 1)))
    return _applied
