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
    assert page_faults_of_a_large_tensor() < 1000  # without it: one fault per 4 KiB page, about 24,000


def test_loading_a_pipeline_applies_it_and_the_environment_can_refuse_it():
    probe = ("import restorers, resource, torch\n"
             "restorers.load_pipeline('bicubic', 'sr_x4')\n"
             f"torch.ones({LARGE})\n"
             "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
             f"torch.ones({LARGE})\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n")
    faults = {}
    for setting in ("1", "0"):
        env = {**os.environ, "RESTORERS_KEEP_HEAP": setting}
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        faults[setting] = int(out.stdout.strip().splitlines()[-1])
    assert faults["1"] < 1000 < faults["0"]
