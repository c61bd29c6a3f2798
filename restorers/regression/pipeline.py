"""The regression baseline as a pipeline: one network call (1 NFE), no noise, no steps.

It is the "one-shot" row that every diffusion method must beat on the leaderboard, and the IR network
that DP-IR builds on. The same call signature as the diffusion pipelines keeps the app and the sweep
method-agnostic; ``num_inference_steps`` and ``generator`` are accepted and ignored.
"""

from __future__ import annotations

import torch

from ..pipeline import RestorationPipeline
from .network import ResidualSRNet


class RegressionPipeline(RestorationPipeline):
    nfe_networks = ("network",)  # one call per image: NFE 1

    def __init__(self, network: ResidualSRNet, sf: int = 4):
        super().__init__()
        self.register_modules(network=network)
        self.register_to_config(sf=sf)

    def restore_padded(self, lq: torch.Tensor, num_inference_steps, generator, callback_on_step_end) -> torch.Tensor:
        return self.network(lq)
