"""Training crops with the frozen IR network's answer computed once, for DP-IR's fusion training.

The fusion net learns on (x_IR, x_0) pairs while the IR network stays frozen, so its pass never changes: with a
16.7 M-parameter RRDB (Real-ESRGAN) it would cost most of every training step. :class:`CachedIRPairs` draws
``count`` (HQ, LQ) crops from a :class:`.pairs.SRPairSampler`, runs the IR network on them once (in chunks, saved
every few chunks, so a cut-off run resumes), and then serves batches of (HQ, x_IR) under random flips and 90-degree
rotations applied to both alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .pairs import SRPairSampler

CHUNK = 16
SAVE_EVERY = 8  # chunks between saves of the cache (each save rewrites the whole file)


class CachedIRPairs:
    def __init__(self, sampler: SRPairSampler, ir_network: torch.nn.Module, count: int, path: str | Path,
                 seed: int = 0, log=None):
        self.photo_ids, self.photo_licences = sampler.photo_ids, sampler.photo_licences
        self.pyramids = sampler.pyramids
        self.rng = np.random.default_rng(seed + 1)
        path = Path(path)
        hq, ir = [], []
        if path.is_file():
            saved = load_file(str(path))
            hq, ir = list(saved["hq"].split(CHUNK)), list(saved["ir"].split(CHUNK))
            sampler.set_state(_rng_state(saved))
        done = sum(len(h) for h in hq)
        while done < count:
            batch_hq, batch_lq = sampler.batch(min(CHUNK, count - done))
            with torch.no_grad():
                estimate = ir_network(batch_lq).clamp(0.0, 1.0)
            hq.append((batch_hq * 255).round().to(torch.uint8).contiguous())
            ir.append(estimate.half().contiguous())
            done += len(batch_hq)
            if done >= count or len(hq) % SAVE_EVERY == 0:
                save_file({"hq": torch.cat(hq), "ir": torch.cat(ir), **_rng_tensors(sampler)}, str(path))
                if log:
                    log(f"IR cache: {done}/{count} crops")
        self.hq, self.ir = torch.cat(hq)[:count], torch.cat(ir)[:count]

    def __len__(self) -> int:
        return len(self.hq)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(HQ, x_IR) float batches in [0, 1], each pair under the same random flip and rotation."""
        hq, ir = [], []
        for index in self.rng.integers(len(self), size=size):
            k, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
            pair = [self.hq[index].float() / 255.0, self.ir[index].float()]
            pair = [torch.rot90(x, k, dims=(1, 2)) for x in pair]
            if flip:
                pair = [x.flip(-1) for x in pair]
            hq.append(pair[0])
            ir.append(pair[1])
        return torch.stack(hq), torch.stack(ir)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def _rng_tensors(sampler: SRPairSampler) -> dict[str, torch.Tensor]:
    """The sampler's generator state as a tensor (so a resumed cache goes on with fresh crops)."""
    import json

    return {"sampler_state": torch.tensor(list(json.dumps(sampler.state()).encode()), dtype=torch.uint8)}


def _rng_state(saved: dict[str, torch.Tensor]) -> dict:
    import json

    return json.loads(bytes(saved["sampler_state"].tolist()).decode())
