"""The one call contract of :class:`restorers.pipeline.RestorationPipeline`, checked on every method's pipeline.

The base owns input checks, padding, tiling and the sampling loop; these tests hold each method to it: what a
callback returns is used (diffusers' semantics), a missing or unwanted mask is one error class with one sentence,
steps outside the declared limits are refused, padding is cropped back, and every embedded pipeline declares
networks that really are called.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import restorers
from conftest import make_tiny_pipeline, smooth_image
from leaderboard.cost import measure_run
from restorers.image_io import InvalidImageError
from restorers.padding import SizeRequirements, pad_bottom_right
from restorers.pipeline import MASK_IGNORED, MASK_REFUSED, MASK_REQUIRED, RestorationPipeline

EMBEDDED = [(m, t) for m, spec in restorers.registry.METHODS.items() for t in spec.default_checkpoints]


def test_every_method_is_a_restoration_pipeline():
    for method, spec in restorers.registry.METHODS.items():
        assert issubclass(spec.pipeline_class(), RestorationPipeline), method
        for task in spec.tasks:  # a task with its own input (raw bursts) may have its own class
            cls = spec.pipeline_class(task)
            assert issubclass(cls, RestorationPipeline), (method, task)
            assert cls.input_kind == restorers.get_task(task).input_kind, (method, task)


@pytest.mark.parametrize("method, task", EMBEDDED)
def test_declared_nfe_networks_are_the_ones_called(method, task):
    """The declared NFE networks are the ones hooked, and they really run (the ablation without IPR diffusion
    skips the IPR denoiser: 0 calls, counted as such)."""
    pipe = restorers.load_pipeline(method, task)
    image, conditions = restorers.get_task(task).degrade_with_conditions(smooth_image(128, 128))
    steps = 2 if pipe.step_limits() and pipe.step_limits()[0] >= 2 else None
    with measure_run(pipe) as cost:
        pipe(image=image, num_inference_steps=steps, generator=torch.Generator().manual_seed(0), **conditions)
    assert set(cost.by_network) == set(pipe.nfe_networks)
    assert cost.nfe == sum(cost.by_network.values()) >= 1, cost.by_network
    assert all(count >= 1 for name, count in cost.by_network.items() if name != "ipr_denoiser" or method == "diffir")
    assert set(pipe.networks_per_step()) <= set(pipe.nfe_networks)


def test_the_callbacks_returned_latents_are_used():
    """diffusers' contract: the tensors the callback returns replace the loop's (here: zeroing the state changes
    the result), and only the declared tensor inputs may be asked for."""
    pipe = make_tiny_pipeline()
    image = smooth_image(16, 16)
    plain = pipe(image=image, generator=torch.Generator().manual_seed(0), output_type="pt").images
    seen = []

    def zero_latents(p, i, t, tensors):
        seen.append(sorted(tensors))
        return {"latents": torch.zeros_like(tensors["latents"])}

    changed = pipe(image=image, generator=torch.Generator().manual_seed(0), output_type="pt",
                   callback_on_step_end=zero_latents).images
    assert seen == [["latents"]] * 4
    assert not torch.allclose(plain, changed)
    with pytest.raises(ValueError, match="callback_on_step_end_tensor_inputs"):
        pipe(image=image, callback_on_step_end=zero_latents, callback_on_step_end_tensor_inputs=["noise"])


def test_dpir_offers_its_x0_estimate_to_the_callback():
    pipe = restorers.load_pipeline("dpir", "sr_x4")
    names = []
    pipe(image=smooth_image(16, 16), num_inference_steps=2, generator=torch.Generator().manual_seed(0),
         callback_on_step_end=lambda p, i, t, tensors: names.append(sorted(tensors)),
         callback_on_step_end_tensor_inputs=["latents", "pred_original_sample"])
    assert names == [["latents", "pred_original_sample"]] * 2


def test_steps_outside_the_declared_limits_are_refused_in_one_sentence():
    pipe = make_tiny_pipeline()
    assert pipe.step_limits() == (4, 4)
    for bad in (0, 5, 2.5):
        with pytest.raises(ValueError, match="steps"):
            pipe(image=smooth_image(16, 16), num_inference_steps=bad)
    one_shot = restorers.load_pipeline("bicubic", "sr_x4")
    assert one_shot.step_limits() is None  # one-shot: the step count is accepted and ignored
    assert one_shot(image=smooth_image(16, 16), num_inference_steps=99).images[0].size == (64, 64)


@pytest.mark.parametrize("method, task, kind", [("diffir", "inpaint", MASK_REQUIRED), ("identity", "inpaint", MASK_IGNORED),
                                                ("regression", "sr_x4", MASK_REFUSED)])
def test_the_mask_is_checked_by_the_base_with_one_error_class(method, task, kind):
    pipe = restorers.load_pipeline(method, task)
    assert pipe.mask_input() == kind
    image, mask = smooth_image(32, 32), Image.new("L", (32, 32), 0)
    mask.paste(255, (8, 8, 20, 20))
    if kind == MASK_REQUIRED:
        with pytest.raises(InvalidImageError, match="needs a mask"):
            pipe(image=image)
    if kind == MASK_REFUSED:
        with pytest.raises(InvalidImageError, match="takes no mask"):
            pipe(image=image, mask_image=mask)
    else:
        with pytest.raises(InvalidImageError, match="same size"):
            pipe(image=image, mask_image=Image.new("L", (16, 32), 255))
        out = pipe(image=image, mask_image=mask, generator=torch.Generator().manual_seed(0)).images[0]
        known = [(x, y) for x in (0, 31) for y in (0, 31)]  # outside the hole: exactly the input
        assert all(out.getpixel(p) == image.getpixel(p) for p in known)


def test_padding_is_bottom_right_and_cropped_back():
    x = torch.arange(2 * 5 * 7, dtype=torch.float32).reshape(1, 2, 5, 7)
    padded = pad_bottom_right(x, 4)
    assert padded.shape[-2:] == (8, 8) and torch.equal(padded[..., :5, :7], x)
    assert torch.equal(padded[..., 5, :7], x[..., 3, :])  # reflect: row 5 mirrors row 3 (no edge repeat)
    symmetric = pad_bottom_right(x, 4, "symmetric")
    assert torch.equal(symmetric[..., 5, :7], x[..., 4, :])  # symmetric repeats the edge row
    extra = SizeRequirements(extra=3).pad(x)
    assert extra.shape[-2:] == (8, 10)
    tiny = pad_bottom_right(torch.ones(1, 1, 2, 2), 8)  # a mirror cannot cover 6 pixels of 2: replicate
    assert tiny.shape[-2:] == (8, 8) and torch.equal(tiny, torch.ones(1, 1, 8, 8))
    pipe = make_tiny_pipeline()  # its UNet needs a multiple of 16: a 20x12 LQ comes back 80x48
    assert pipe.size_requirements().multiple_of == 16
    assert pipe(image=smooth_image(20, 12), generator=torch.Generator().manual_seed(0)).images[0].size == (80, 48)


def test_a_pipeline_that_declares_no_math_says_so():
    class Empty(RestorationPipeline):
        def __init__(self, sf: int = 1):
            super().__init__()
            self.register_to_config(sf=sf)

    with pytest.raises(TypeError, match="restore_padded"):
        Empty()(image=smooth_image(16, 16))
