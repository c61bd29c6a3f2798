"""What a measured row was measured with: the weights (a digest of their values), the code, the machine.

The digest is taken over the loaded networks' state dicts (component, key, dtype, shape and bytes, in sorted
order), so it names the weights themselves whatever file, converter or hub id they came from; a pipeline with
no network (bicubic) has the digest of nothing, which is still a fixed value. A row whose digest no longer
matches its checkpoint was measured on other weights and must be regenerated (``tests/test_provenance.py``).
"""

from __future__ import annotations

import hashlib

import torch

from restorers.pipeline import RestorationPipeline

DIGEST_LENGTH = 16  # hex characters: 64 bits, plenty to notice a change


def weights_digest(pipe: RestorationPipeline) -> str:
    digest = hashlib.sha256()
    for name in sorted(pipe.components):
        module = pipe.components[name]
        if not isinstance(module, torch.nn.Module):
            continue
        state = module.state_dict()
        for key in sorted(state):
            tensor = state[key].detach().to("cpu").contiguous()
            digest.update(f"{name}/{key}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:DIGEST_LENGTH]


def thread_count(device: str) -> int | None:
    """CPU threads one process computes with (None on a GPU, where it does not set the speed)."""
    return None if str(device).startswith("cuda") else torch.get_num_threads()
