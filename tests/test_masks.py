"""Inpainting masks (random strokes and boxes, user uploads) and the inpainting task built on them."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

import restorers
from restorers.degradations.lama_masks import bounded_lama_mask
from restorers.degradations.masks import apply_mask, box_mask, free_form_mask, load_mask, random_mask


def draw(kind: str, seed: int, height: int = 96, width: int = 128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return box_mask(rng, height, width) if kind == "box" else free_form_mask(rng, height, width, kind)


def hq_image(seed: int = 0, height: int = 64, width: int = 80) -> Image.Image:
    # values 1..255: no pixel is black before masking, so black pixels after it are exactly the holes
    return Image.fromarray(np.random.default_rng(seed).integers(1, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("kind", ["thick", "thin", "box"])
def test_masks_are_binary_uint8_and_reproducible_from_the_seed(kind):
    a, b, c = draw(kind, 3), draw(kind, 3), draw(kind, 4)
    assert a.dtype == np.uint8 and a.shape == (96, 128) and set(np.unique(a)) <= {0, 1}
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len({draw(kind, s).tobytes() for s in range(20)}) == 20  # every seed gives its own mask


@pytest.mark.parametrize("kind", ["thick", "thin", "box"])
def test_hole_fraction_stays_in_bounds_for_every_kind(kind):
    for size in ((256, 256), (48, 200)):
        fractions = [random_mask(np.random.default_rng(s), *size, kinds=(kind,)).mean() for s in range(50)]
        assert min(fractions) >= 0.05 and max(fractions) <= 0.5, (kind, size, min(fractions), max(fractions))
        assert len(set(fractions)) > 10  # the bounds come from redraws, not from one fixed fallback


def is_one_rectangle(mask: np.ndarray) -> bool:
    ys, xs = np.nonzero(mask)
    return mask.sum() == (np.ptp(ys) + 1) * (np.ptp(xs) + 1)


def test_random_mask_uses_every_kind_and_holds_tight_bounds():
    masks = [random_mask(np.random.default_rng(s), 64, 64) for s in range(60)]
    assert 0 < sum(map(is_one_rectangle, masks)) < len(masks)  # some single boxes, some strokes
    tight = [random_mask(np.random.default_rng(s), 40, 40, min_fraction=0.30, max_fraction=0.32) for s in range(20)]
    assert all(0.30 <= m.mean() <= 0.32 for m in tight)
    with pytest.raises(ValueError, match="whole number of pixels"):
        random_mask(np.random.default_rng(0), 4, 4, min_fraction=0.3, max_fraction=0.31)
    with pytest.raises(ValueError, match="kinds"):
        random_mask(np.random.default_rng(0), 32, 32, kinds=("circle",))


def test_thin_strokes_cover_less_than_thick_ones():
    thick = np.mean([draw("thick", s, 256, 256).mean() for s in range(50)])
    thin = np.mean([draw("thin", s, 256, 256).mean() for s in range(50)])
    assert thin < 0.8 * thick, (thin, thick)


@pytest.mark.parametrize("kind", ["thick", "thin", "box"])
def test_holes_fall_anywhere_in_the_image(kind):
    coverage = np.mean([draw(kind, s, 64, 64) for s in range(200)], axis=0)
    quadrants = [coverage[:32, :32], coverage[:32, 32:], coverage[32:, :32], coverage[32:, 32:]]
    assert all(q.mean() > 0.04 for q in quadrants), [q.mean() for q in quadrants]
    assert coverage[0].max() > 0 and coverage[-1].max() > 0 and coverage[:, 0].max() > 0 and coverage[:, -1].max() > 0


def test_apply_mask_zeroes_exactly_the_holes():
    image = np.random.default_rng(1).integers(1, 256, (96, 128, 3), dtype=np.uint8)
    mask = draw("thick", 5)
    out = apply_mask(image, mask)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.array_equal(out == 0, np.repeat(mask[..., None] == 1, 3, axis=2))
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert np.array_equal(out, image * (1 - mask[..., None]))  # the DiffIR / LaMa convention
    with pytest.raises(ValueError, match="mask"):
        apply_mask(image, mask[:-1])


def test_load_mask_binarises_at_127_in_any_mode():
    values = np.array([[0, 127, 128, 255]], dtype=np.uint8)
    assert np.array_equal(load_mask(Image.fromarray(values), (4, 1)), [[0, 0, 1, 1]])
    rgba = Image.fromarray(np.stack([values] * 3 + [np.zeros_like(values)], axis=-1), mode="RGBA")
    assert np.array_equal(load_mask(rgba, (4, 1)), [[0, 0, 1, 1]])
    bilevel = Image.fromarray(values > 127).convert("1")
    out = load_mask(bilevel, (4, 1))
    assert out.dtype == np.uint8 and np.array_equal(out, [[0, 0, 1, 1]])


def test_load_mask_rejects_a_wrong_size_and_an_empty_mask():
    with pytest.raises(ValueError, match=r"30x20.*40x20"):
        load_mask(Image.new("L", (30, 20), 255), (40, 20))
    with pytest.raises(ValueError, match="marks no pixel to fill"):
        load_mask(Image.new("L", (40, 20), 127), (40, 20))


def test_inpaint_task_is_registered_with_its_conventions():
    task = restorers.get_task("inpaint")
    assert task.title == "Inpainting" and task.conditions == ("mask_image",) and task.needs_mask
    assert (task.scale, task.crop_border, task.default_method, task.defaults) == (1, 0, "diffir", {"hq_crop": 256})
    assert "inpaint" in restorers.list_tasks()


def test_inpaint_lq_is_black_exactly_on_the_returned_mask():
    task = restorers.get_task("inpaint")
    hq = hq_image()
    lq, conditions = task.degrade_with_conditions(hq)
    mask_image = conditions["mask_image"]
    assert set(conditions) == {"mask_image"} and mask_image.mode == "L" and mask_image.size == hq.size
    mask = np.asarray(mask_image)
    assert set(np.unique(mask)) == {0, 255} and 0.01 <= (mask == 255).mean() <= 0.6
    black = np.all(np.asarray(lq) == 0, axis=2)
    assert np.array_equal(black, mask == 255)  # holes black, and (HQ has no black pixel) nothing else
    assert np.array_equal(np.asarray(lq)[mask == 0], np.asarray(hq)[mask == 0])


def test_inpaint_is_reproducible_from_the_pixels_alone():
    task = restorers.get_task("inpaint")
    hq = hq_image()
    lq, cond = task.degrade_with_conditions(hq)
    assert np.array_equal(np.asarray(task.degrade(hq)), np.asarray(lq))
    assert np.array_equal(np.asarray(task.make_mask(hq)), np.asarray(cond["mask_image"]))
    # a copy of the pixels (a different object) gets the same mask; other pixels get another
    assert np.array_equal(np.asarray(task.make_mask(Image.fromarray(np.asarray(hq).copy()))),
                          np.asarray(cond["mask_image"]))
    assert not np.array_equal(np.asarray(task.make_mask(hq_image(1))), np.asarray(cond["mask_image"]))


def test_inpaint_mask_seed_follows_the_deblur_convention():
    """Seed = first 8 bytes of sha256(pixels), or one torch.randint draw: any tool can rebuild the benchmark's masks."""
    task = restorers.get_task("inpaint")
    hq = hq_image(2)
    pixel_seed = int.from_bytes(hashlib.sha256(np.asarray(hq).tobytes()).digest()[:8], "little")
    drawn_seed = int(torch.randint(0, 2 ** 62, (1,), generator=torch.Generator().manual_seed(5)))
    for generator, seed in ((None, pixel_seed), (torch.Generator().manual_seed(5), drawn_seed)):
        expected = bounded_lama_mask(np.random.default_rng(seed), 64, 80)
        assert np.array_equal(np.asarray(task.make_mask(hq, generator)), expected * 255)


def test_inpaint_is_reproducible_from_a_generator_seed_consumed_once():
    task = restorers.get_task("inpaint")
    hq = hq_image()
    lq1, cond1 = task.degrade_with_conditions(hq, torch.Generator().manual_seed(1))
    lq2, cond2 = task.degrade_with_conditions(hq, torch.Generator().manual_seed(1))
    lq3, cond3 = task.degrade_with_conditions(hq, torch.Generator().manual_seed(2))
    assert np.array_equal(np.asarray(lq1), np.asarray(lq2))
    assert np.array_equal(np.asarray(cond1["mask_image"]), np.asarray(cond2["mask_image"]))
    assert not np.array_equal(np.asarray(cond1["mask_image"]), np.asarray(cond3["mask_image"]))
    # the separate calls agree with the joint one for the same generator state
    assert np.array_equal(np.asarray(task.degrade(hq, torch.Generator().manual_seed(1))), np.asarray(lq1))
    assert np.array_equal(np.asarray(task.make_mask(hq, torch.Generator().manual_seed(1))),
                          np.asarray(cond1["mask_image"]))
    # one draw per call: afterwards the generator is where one torch.randint would leave it
    used, reference = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    task.degrade_with_conditions(hq, used)
    torch.randint(0, 2 ** 62, (1,), generator=reference)
    assert torch.equal(used.get_state(), reference.get_state())
    black = np.all(np.asarray(lq3) == 0, axis=2)
    assert np.array_equal(black, np.asarray(cond3["mask_image"]) == 255)


def test_other_tasks_have_no_conditions():
    deblur = restorers.get_task("deblur")
    assert deblur.conditions == () and not deblur.needs_mask
    hq = hq_image()
    with pytest.raises(ValueError, match="no mask"):
        deblur.make_mask(hq)
    lq, cond = deblur.degrade_with_conditions(hq, torch.Generator().manual_seed(3))
    assert cond == {} and np.array_equal(np.asarray(lq),
                                         np.asarray(deblur.degrade(hq, torch.Generator().manual_seed(3))))


def test_the_hole_bins_are_variants_of_the_task_reported_apart():
    task = restorers.get_task("inpaint")
    hq = hq_image(3)
    for name, (low, high) in {"holes<20%": (0.01, 0.2), "holes20-40%": (0.2, 0.4), "holes>40%": (0.4, 0.6)}.items():
        mask = np.asarray(task.variant(name).make_mask(hq)) == 255
        assert low <= mask.mean() <= high, (name, mask.mean())
    assert task.variant(None) is task
    with pytest.raises(ValueError, match="no variant"):
        task.variant("holes>90%")
