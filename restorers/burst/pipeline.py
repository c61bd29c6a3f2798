"""Burst JDD-SR pipelines: the burst network alone (the task's one-shot ``regression`` row) and DP-IR on it.

Both take a :class:`~restorers.burst.raw_burst.RawBurst` as ``image`` (its frames become the channels of the
batch) and return sRGB at 4x a frame's size. A burst is restored in one piece: the frames are small (a 512x512
mosaic at most), and tiles would have to keep the Bayer phase and see the same motion.
"""

from __future__ import annotations

import math

from ..dpir.pipeline import DPIRPipeline
from ..padding import SizeRequirements
from ..regression.pipeline import RegressionPipeline
from .merge_network import MergeBurstNet

DEFAULT_FRAMES = 14  # the task's burst length: the input FLOP counts assume it when no burst is given


class BurstPipeline(RegressionPipeline):
    """The burst network (:class:`~restorers.burst.merge_network.MergeBurstNet`), one call: NFE 1."""

    input_kind, input_channels = "raw_burst", DEFAULT_FRAMES
    max_untiled_pixels = math.inf

    def __init__(self, network: MergeBurstNet, sf: int = 4):
        super().__init__(network=network, sf=sf)

    def size_requirements(self) -> SizeRequirements:
        return SizeRequirements(multiple_of=2, minimum=16)  # mirrored padding keeps the RGGB phase


class BurstDPIRPipeline(DPIRPipeline):
    """DP-IR with the burst network as its frozen IR module (the paper uses BSRT-Small there): the same
    task-agnostic denoiser and scheduler as every other task, a fusion net trained for this pair, tau = 5."""

    input_kind, input_channels = "raw_burst", DEFAULT_FRAMES
    max_untiled_pixels = math.inf

    def size_requirements(self) -> SizeRequirements:
        return SizeRequirements(multiple_of=2, minimum=16)
