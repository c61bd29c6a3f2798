"""The measuring and serving side: sweeps, costs, metrics, results, the demo's request handling.

Its programs (the demo server, the sweep CLI, the benchmarks) share a small CPU with other threads: Gradio's
event loop, the metrics, a second queue lane, the sweep's other processes, on a laptop the browser itself.
OpenMP's idle worker threads spin by default, and a spinning team that shares its cores with anyone else makes
every small kernel wait on threads that are not running (measured here: 0.23 s against 0.55-1.7 s per image for
the same ResShift sweep beside a busy process). So OpenMP waits passively unless the user chose otherwise; it
must be set before torch loads its OpenMP runtime, which is why it lives in this package's first import.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
