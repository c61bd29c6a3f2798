"""restorers/heap.py: a freed feature map's pages stay with the process, so the next one costs no page faults."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import torch

from restorers.heap import keep_freed_memory

LARGE = 96 * 2 ** 20 // 4  # floats in a 96 MiB feature map: above glibc's largest mmap threshold (32 MiB)


def page_faults_of_a_large_tensor() -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(LARGE)  # written to the end, then freed at once
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_a_second_large_tensor_reuses_the_first_ones_pages():
    assert keep_freed_memory()  # glibc Linux, where this project's CI and Spaces run
    page_faults_of_a_large_tensor()  # the heap grows once
    # the fewest of three: one CI run saw a reuse fault every page once (cause not found; see issue 18's note)
    assert min(page_faults_of_a_large_tensor() for _ in range(3)) < 1000  # without it: ~24,000 each time


def test_loading_a_pipeline_applies_it_and_the_environment_can_refuse_it():
    probe = ("import restorers, resource, torch\n"
             "restorers.load_pipeline('bicubic', 'sr_x4')\n"
             f"torch.ones({LARGE})\n"
             "faults = []\n"
             "for _ in range(3):\n"
             "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
             f"    torch.ones({LARGE})\n"
             "    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
             "print(min(faults))\n")
    faults = {}
    for setting in ("1", "0"):
        env = {**os.environ, "RESTORERS_KEEP_HEAP": setting}
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        faults[setting] = int(out.stdout.strip().splitlines()[-1])
    assert faults["1"] < 1000 < faults["0"]
