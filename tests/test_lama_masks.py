"""LaMa's evaluation mask generators (thin / medium / thick at 256 px, boxes mixed in), seeded and bounded."""

from __future__ import annotations

import numpy as np
import pytest

from restorers.degradations.lama_masks import (KINDS, BoxConfig, StrokeConfig, bounded_lama_mask, box_mask, lama_mask,
                                                stroke_mask)


def test_each_kind_is_reproducible_from_its_seed_and_differs_across_seeds():
    for kind in KINDS:
        first = lama_mask(np.random.default_rng(3), 256, 256, kind)
        assert np.array_equal(first, lama_mask(np.random.default_rng(3), 256, 256, kind))
        assert not np.array_equal(first, lama_mask(np.random.default_rng(4), 256, 256, kind))
        assert first.dtype == np.uint8 and set(np.unique(first)) <= {0, 1}


def test_the_kinds_cover_the_papers_hole_regimes():
    """Over many draws, every bin the benchmark reports (small < 20%, medium, large > 40%) is reachable."""
    rng = np.random.default_rng(0)
    fractions = {kind: np.array([lama_mask(rng, 256, 256, kind).mean() for _ in range(150)]) for kind in KINDS}
    every = np.concatenate(list(fractions.values()))
    assert (every < 0.2).mean() > 0.2 and ((every >= 0.2) & (every <= 0.4)).mean() > 0.2 and (every > 0.4).mean() > 0.05
    assert fractions["thick"].mean() > fractions["medium"].mean()  # wider brushes, bigger boxes


def test_strokes_are_as_wide_as_configured_and_scale_with_the_image():
    one = StrokeConfig(1, 1, 1, 1, max_angle=1)  # one stroke, widths 5 px, segments 10 px (at 256 px)
    small = stroke_mask(np.random.default_rng(0), 256, 256, one)
    large = stroke_mask(np.random.default_rng(0), 512, 512, one)
    assert 0 < small.sum() and large.sum() == pytest.approx(4 * small.sum(), rel=0.35)


def test_boxes_stay_inside_the_margin():
    config = BoxConfig(margin=10, min_box=30, max_box=150, max_boxes=3)
    for seed in range(20):
        mask = box_mask(np.random.default_rng(seed), 256, 256, config)
        assert mask.any() and not mask[:10].any() and not mask[:, :10].any()
        assert not mask[-10:].any() and not mask[:, -10:].any()


def test_bounded_masks_respect_their_range_or_say_why_not():
    for seed in range(10):
        mask = bounded_lama_mask(np.random.default_rng(seed), 128, 96, 0.4, 0.6)
        assert 0.4 <= mask.mean() <= 0.6
    with pytest.raises(ValueError, match="covered"):
        bounded_lama_mask(np.random.default_rng(0), 64, 64, 0.95, 1.0, kinds=("medium",), attempts=5)
    with pytest.raises(ValueError, match="min_fraction"):
        bounded_lama_mask(np.random.default_rng(0), 64, 64, 0.5, 0.2)
