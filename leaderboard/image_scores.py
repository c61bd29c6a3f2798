"""One image's measurement in a sweep, as plain data, and the file of those a sweep keeps until it finishes.

A sweep's row is the mean over its images, so what must survive a kill, or travel between the processes of a
distributed sweep, is each image's own measurement: seconds, NFE, FLOPs, metrics. ``PartialScores`` appends
them as JSON lines beside the results file (one file per process), so a sweep killed at any point (SIGKILL
included) resumes at the first image it had not finished; the files go once every row is written.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .evaluate import Scored


@dataclass
class ImageScore:
    config: str  # which configuration (see ``sweep.config_key``)
    index: int  # the image's position in the benchmark (its seed is seed + index)
    image: str
    lq_size: str  # "WxH"
    nfe: int
    nfe_detail: str
    seconds: float
    countable: bool  # whether torch's counter saw the arithmetic (not for OpenCV's)
    tflops: dict  # tflops / tflops_base / tflops_per_nfe
    metrics: dict = field(default_factory=dict)
    unavailable: dict = field(default_factory=dict)

    @classmethod
    def of(cls, scored: Scored, config: str, index: int, image: str, lq) -> "ImageScore":
        return cls(config, index, image, f"{lq.width}x{lq.height}", scored.nfe, scored.nfe_detail, scored.seconds,
                   scored.flops.countable, scored.flops.tflops, dict(scored.metrics), dict(scored.unavailable))


class PartialScores:
    """Per-image scores of an unfinished sweep writing ``out``; this process appends to its own file."""

    def __init__(self, out: str | os.PathLike, rank: int = 0):
        self.out = Path(out)
        self.path = self.out.with_name(f"{self.out.name}.partial-{rank}.jsonl")

    def files(self) -> list[Path]:
        return sorted(self.out.parent.glob(f"{self.out.name}.partial-*.jsonl"))

    def done(self) -> dict[tuple[str, int], ImageScore]:
        """What any process of an earlier, interrupted run of this sweep finished (a torn last line is ignored)."""
        found = {}
        for file in self.files():
            for line in file.read_text().splitlines():
                try:
                    score = ImageScore(**json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue  # the line a kill cut short
                found[(score.config, score.index)] = score
        return found

    def add(self, score: ImageScore) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = self.path.exists() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")
        with open(self.path, "a") as handle:
            handle.write(("\n" if torn else "") + json.dumps(asdict(score)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def clear(self) -> None:
        for file in self.files():
            file.unlink(missing_ok=True)
