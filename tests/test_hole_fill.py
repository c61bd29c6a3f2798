"""The push-pull first guess for holes: known pixels kept, holes filled from their surroundings, no data-dependent
control flow (so FLOP counting on the meta device sees it)."""

from __future__ import annotations

import torch

from restorers.hole_fill import push_pull_fill


def test_known_pixels_stay_and_holes_take_the_colour_around_them():
    image = torch.zeros(1, 3, 37, 50)
    image[:, 0] = 0.8  # a flat red field ...
    image[:, :, :, 25:] = torch.tensor([0.1, 0.2, 0.9]).view(1, 3, 1, 1)  # ... beside a flat blue one
    hole = torch.zeros(1, 1, 37, 50)
    hole[..., 10:27, 3:12] = 1  # inside the red half
    hole[..., 10:27, 38:47] = 1  # inside the blue half
    noisy = image * (1 - hole) + torch.rand_like(image) * hole  # what the holes held must not matter
    out = push_pull_fill(noisy, hole)
    assert torch.equal(out * (1 - hole), image * (1 - hole))
    red, blue = image[0, :, 0, 0], image[0, :, 0, -1]
    for x, own, other in ((7, red, blue), (42, blue, red)):  # nearer its own side's colour than the other's
        got = out[0, :, 18, x]
        assert (got - own).norm() < 0.25 * (got - other).norm(), (x, got)


def test_a_hole_with_two_sides_blends_them_and_odd_sizes_work():
    image = torch.cat([torch.zeros(1, 1, 9, 20), torch.ones(1, 1, 9, 21)], dim=3)
    hole = torch.zeros(1, 1, 9, 41)
    hole[..., 14:27] = 1
    out = push_pull_fill(image, hole)
    row = out[0, 0, 4, 14:27]
    assert row.min() > 0.0 and row.max() < 1.0  # between the two sides
    assert (row[1:] >= row[:-1] - 1e-6).all()  # rising from the dark side to the bright side


def test_it_runs_on_the_meta_device_and_on_an_image_without_known_pixels():
    with torch.device("meta"):
        assert push_pull_fill(torch.empty(2, 3, 65, 33), torch.empty(2, 1, 65, 33)).shape == (2, 3, 65, 33)
    out = push_pull_fill(torch.rand(1, 3, 8, 8), torch.ones(1, 1, 8, 8))
    assert torch.isfinite(out).all()
