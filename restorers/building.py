"""One lock for building networks in a process that serves several threads (the demo).

diffusers' ``from_pretrained`` builds a model under accelerate's ``init_empty_weights``, which patches
``torch.nn.Module.register_parameter`` for the whole process while it runs: a network built in another thread
at that moment (a metric's, the speed probe's) silently gets its weights on the meta device, and a cached one
stays broken for the life of the server. Whoever builds or loads a network holds this lock.
"""

from __future__ import annotations

import threading

BUILD_LOCK = threading.RLock()
