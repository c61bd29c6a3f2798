"""The measuring and serving side: sweeps, costs, metrics, results, the demo's request handling.

Its programs (the demo server, the sweep CLI, the benchmarks) share a small CPU with other threads: Gradio's
event loop, the metrics, a second queue lane, the sweep's other processes, on a laptop the browser itself.
torch's OpenMP runtime (libgomp) lets idle worker threads spin for a long while before they sleep, and a team
that spins on cores someone else needs makes every small kernel wait on threads that are not running; never
spinning (OMP_WAIT_POLICY=PASSIVE) costs the wake-up instead. A short spin keeps both cases fast (measured here
on the 2-core machine, ResShift x4 at 64x64: alone about as fast as the default, beside a busy process two to
three times faster). It must be set before torch loads its OpenMP runtime, hence this package's first import;
a value the user set wins.

The same import keeps freed memory in the process for all threads (``restorers.heap``): before any thread has
allocated, since glibc's one-arena limit does not reach a thread that already has an arena of its own.
"""

import os

os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from restorers.heap import keep_freed_memory  # noqa: E402  (after the variable above: this loads torch)

keep_freed_memory()
