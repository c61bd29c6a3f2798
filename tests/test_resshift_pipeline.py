"""ResShift's UNet layout, and the pipeline's shapes, determinism, padding and save/load round trip."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import VQModel
from PIL import Image

import restorers
from conftest import TINY_UNET, make_tiny_pipeline, random_image
from leaderboard.cost import NFECounter
from restorers.image_io import InvalidImageError
from restorers.resshift.pipeline import ResShiftPipeline
from restorers.resshift.scheduler import ResShiftScheduler
from restorers.resshift.unet import OFFICIAL_X4_CONFIG, ResShiftUNet

FIXTURES = Path(__file__).parent / "fixtures"


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_official_config_matches_the_official_state_dict_key_for_key():
    rows = [line.split("\t") for line in (FIXTURES / "resshift_unet_x4_state_dict.tsv").read_text().splitlines()]
    official = {name: tuple(int(v) for v in shape.strip("()").split(",") if v.strip()) for name, shape, _ in rows}
    with torch.device("meta"):
        unet = ResShiftUNet(**OFFICIAL_X4_CONFIG)
    ours = {name: tuple(t.shape) for name, t in unet.state_dict().items()}
    assert set(ours) - set(official) == set(), "keys the official checkpoint lacks"
    assert set(official) - set(ours) == set(), "official keys we do not have"
    assert {k: v for k, v in ours.items() if official[k] != v} == {}
    assert sum(p.numel() for p in unet.parameters()) == 118_593_583


def test_unet_predicts_a_latent_of_the_input_shape():
    unet = ResShiftUNet(**TINY_UNET).eval()
    x = torch.randn(2, 48, 16, 24)
    lq = torch.randn(2, 3, 16, 24)
    out = unet(x, torch.tensor([3, 1]), lq=lq).sample
    assert out.shape == x.shape
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("size", [(16, 16), (13, 10), (9, 31)])
def test_pipeline_output_is_4x_the_input_for_any_size(tiny_pipeline, size):
    image = random_image(*size)
    out = tiny_pipeline(image=image, num_inference_steps=2, generator=seeded()).images[0]
    assert out.size == (4 * size[0], 4 * size[1]) and out.mode == "RGB"


def test_lq_is_padded_to_the_unets_lq_size_as_the_official_sampler_does():
    """The official sampler pads the LQ bottom/right (reflect) to a multiple of the config's lq_size (64 for the
    released SR models), not just to what the attention windows need: an 80x80 LQ runs at 128x128."""
    torch.manual_seed(0)
    unet = ResShiftUNet(**{**TINY_UNET, "image_size": 64, "lq_size": 64}).eval()
    pipe = ResShiftPipeline(unet=unet, scheduler=ResShiftScheduler(num_train_timesteps=4), sf=4, latent_factor=4)
    pipe.set_progress_bar_config(disable=True)
    assert unet.size_multiple == 8 and pipe.size_requirements().multiple_of == 64
    shapes = []
    hook = unet.register_forward_pre_hook(lambda module, args, kwargs: shapes.append(kwargs["lq"].shape[-2:]),
                                          with_kwargs=True)
    try:
        out = pipe(image=random_image(80, 72), num_inference_steps=1, generator=seeded(), tile_size=0).images[0]
    finally:
        hook.remove()
    assert shapes == [(128, 128)] and out.size == (320, 288)


def test_same_seed_same_output_bit_for_bit_and_seed_matters(tiny_pipeline):
    image = random_image(12, 12, seed=3)
    a = tiny_pipeline(image=image, generator=seeded(7), output_type="np").images
    b = tiny_pipeline(image=image, generator=seeded(7), output_type="np").images
    c = tiny_pipeline(image=image, generator=seeded(8), output_type="np").images
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_one_unet_call_per_step(tiny_pipeline):
    image = random_image(8, 8)
    for steps, expected in [(None, 4), (1, 1), (2, 2), (4, 4)]:
        with NFECounter(tiny_pipeline) as counter:
            tiny_pipeline(image=image, num_inference_steps=steps, generator=seeded())
        assert counter.count == expected
    with pytest.raises(ValueError, match="1 to 4 steps"):
        tiny_pipeline(image=image, num_inference_steps=5)


def test_output_types_and_batches(tiny_pipeline):
    images = [random_image(8, 8, seed=s) for s in range(2)]
    pt = tiny_pipeline(image=images, generator=seeded(), output_type="pt").images
    assert pt.shape == (2, 3, 32, 32) and pt.min() >= 0 and pt.max() <= 1
    arrays = tiny_pipeline(image=images, generator=seeded(), output_type="np", return_dict=False)[0]
    assert arrays.shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="same size"):
        tiny_pipeline(image=[random_image(8, 8), random_image(9, 8)])
    with pytest.raises(ValueError, match="output_type"):
        tiny_pipeline(image=images[0], output_type="jpeg")


def test_save_pretrained_round_trip_gives_identical_output(tiny_pipeline, tmp_path):
    tiny_pipeline.save_pretrained(tmp_path, safe_serialization=True)
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert not list(tmp_path.rglob("*.bin")) and not list(tmp_path.rglob("*.pt*"))
    loaded = ResShiftPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    image = random_image(10, 14, seed=4)
    a = tiny_pipeline(image=image, generator=seeded(2), output_type="np").images
    b = loaded(image=image, generator=seeded(2), output_type="np").images
    assert np.array_equal(a, b)


def test_vq_latent_space_pipeline_runs_and_round_trips(tmp_path):
    torch.manual_seed(0)
    vq = VQModel(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
                 up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(8, 8, 8), layers_per_block=1,
                 latent_channels=3, num_vq_embeddings=16, vq_embed_dim=3, norm_num_groups=4)
    unet = ResShiftUNet(**{**TINY_UNET, "in_channels": 3, "out_channels": 3})
    pipe = ResShiftPipeline(unet=unet, scheduler=ResShiftScheduler(), vqvae=vq, sf=4)
    pipe.set_progress_bar_config(disable=True)
    assert pipe.latent_downscale == 4
    image = random_image(10, 9)
    out = pipe(image=image, generator=seeded(), output_type="np").images
    assert out.shape == (1, 36, 40, 3)
    pipe.save_pretrained(tmp_path)
    again = ResShiftPipeline.from_pretrained(tmp_path)
    again.set_progress_bar_config(disable=True)
    assert np.array_equal(out, again(image=image, generator=seeded(), output_type="np").images)


def test_image_modes_are_converted_and_bad_inputs_rejected(tiny_pipeline):
    for mode in ("RGBA", "L"):
        out = tiny_pipeline(image=random_image(8, 8, mode=mode), num_inference_steps=1, generator=seeded())
        assert out.images[0].size == (32, 32)
    sixteen = Image.fromarray(np.full((8, 8), 40000, dtype=np.uint16))
    assert tiny_pipeline(image=sixteen, num_inference_steps=1).images[0].size == (32, 32)
    with pytest.raises(InvalidImageError, match="at least 8"):
        tiny_pipeline(image=random_image(4, 12))
    with pytest.raises(InvalidImageError, match="not an image this app can read"):
        tiny_pipeline(image=b"\x89PNG\r\n\x1a\n-not-really")
    with pytest.raises(InvalidImageError, match="limit"):
        tiny_pipeline(image=Image.new("RGB", (4097, 4096)))  # one column over MAX_PIXELS (4096 x 4096)
    buffer = io.BytesIO()
    random_image(8, 8).save(buffer, format="PNG")
    assert tiny_pipeline(image=buffer.getvalue(), num_inference_steps=1).images[0].size == (32, 32)


def test_make_tiny_pipeline_is_reproducible():
    a, b = make_tiny_pipeline(seed=1), make_tiny_pipeline(seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.unet.state_dict().values(), b.unet.state_dict().values()))


def test_lq_residual_unet_starts_at_the_lq_latent_and_restores_bicubic():
    """With ``lq_residual`` the untrained UNet predicts z_y, so the 4-step sample is torch-bicubic upsampling."""
    import torch.nn.functional as F

    from conftest import TINY_UNET
    from restorers.resshift.pipeline import ResShiftPipeline
    from restorers.resshift.scheduler import ResShiftScheduler
    from restorers.resshift.unet import ResShiftUNet

    torch.manual_seed(0)
    unet = ResShiftUNet(**TINY_UNET, lq_residual=4).eval()
    pipe = ResShiftPipeline(unet=unet, scheduler=ResShiftScheduler(num_train_timesteps=4), vqvae=None, sf=4,
                            latent_factor=4)
    pipe.set_progress_bar_config(disable=True)
    lq = torch.rand(1, 3, 16, 16) * 2 - 1
    z_y = pipe.lq_latents(lq)
    torch.testing.assert_close(unet(torch.randn_like(z_y), torch.tensor([2]), lq=lq).sample, z_y)
    with torch.no_grad():
        out = pipe.restore_tensor((lq + 1) / 2, 4, torch.Generator().manual_seed(0))  # it takes [0, 1]
    torch.testing.assert_close(out, (F.interpolate(lq, scale_factor=4, mode="bicubic").clamp(-1, 1) + 1) / 2)


@pytest.mark.parametrize("task", ["sr_x4", "inpaint"])
def test_the_embedded_unets_residual_base_is_computed_once_per_restore_not_per_step(task):
    """The pipeline's z_y is the lq_residual UNet's own residual base (same bicubic, same unshuffle), so it is handed
    over instead of being recomputed in every step: the same output bit for bit, with no bicubic upsampling inside
    the UNet's calls."""
    import torch.nn.functional as F

    pipe = restorers.load_pipeline("resshift", task)
    image = random_image(64, 64, seed=3)
    extra = {}
    if task == "inpaint":
        mask = np.zeros((64, 64), dtype=np.uint8)
        mask[8:40, 16:48] = 255
        extra["mask_image"] = Image.fromarray(mask)
    inside, given = [], []
    hook = pipe.unet.register_forward_pre_hook(lambda m, a, kw: given.append(kw.get("lq_latents")), with_kwargs=True)
    original = pipe.unet.lq_latents
    pipe.unet.lq_latents = lambda lq: inside.append(lq) or original(lq)
    try:
        fast = pipe(image=image, generator=seeded(), output_type="pt", **extra).images
        pipe.unet.forward = lambda *args, lq_latents=None, **kwargs: type(pipe.unet).forward(pipe.unet, *args, **kwargs)
        slow = pipe(image=image, generator=seeded(), output_type="pt", **extra).images
    finally:
        hook.remove()
        del pipe.unet.lq_latents, pipe.unet.forward
    assert len(given) == 8 and all(z is not None for z in given[:4]) and len(inside) == 4  # only the slow run's steps
    assert torch.equal(fast, slow)
    z_y = given[0]
    lq = inside[0]
    assert torch.equal(z_y, F.pixel_unshuffle(F.interpolate(lq, scale_factor=4, mode="bicubic") if task == "sr_x4"
                                              else lq, 4))


def tiny_inpainting_pipeline() -> ResShiftPipeline:
    """sf 1 with a 4x pixel-unshuffle latent: the UNet's LQ branch (image + mask, 4 channels) downsamples 4x."""
    torch.manual_seed(0)
    unet = ResShiftUNet(**{**TINY_UNET, "lq_size": 64, "image_size": 16, "cond_mask": True}).eval()
    pipe = ResShiftPipeline(unet=unet, scheduler=ResShiftScheduler(num_train_timesteps=4), sf=1, latent_factor=4)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_inpainting_checkpoint_takes_a_mask_and_keeps_the_known_pixels(tmp_path):
    pipe = tiny_inpainting_pipeline()
    image = random_image(40, 24, seed=2)
    mask = np.zeros((24, 40), dtype=np.uint8)
    mask[5:15, 10:30] = 255
    seen = []
    hook = pipe.unet.register_forward_pre_hook(lambda m, a, kw: seen.append((kw["lq"].clone(), kw["mask"].clone())),
                                               with_kwargs=True)
    try:
        with NFECounter(pipe) as counter:
            out = pipe(image=image, mask_image=Image.fromarray(mask), generator=seeded(), output_type="np").images[0]
    finally:
        hook.remove()
    assert counter.count == 4 and out.shape == (24, 40, 3)
    known = mask == 0
    np.testing.assert_allclose(out[known], np.asarray(image, dtype=np.float32)[known] / 255, atol=1e-6)
    assert np.abs(out[~known] - np.asarray(image, dtype=np.float32)[~known] / 255).mean() > 0.01
    lq, unet_mask = seen[0]
    assert lq.shape[-2:] == (64, 64) and unet_mask.shape[-2:] == (64, 64)  # padded to lq_size, both of them
    assert torch.all(lq[0, :, 5:15, 10:30] == -1) and torch.all(unet_mask[0, 0, 5:15, 10:30] == 1)
    assert torch.all(unet_mask[0, 0, :5] == -1)
    with pytest.raises(InvalidImageError, match="needs a mask"):
        pipe(image=image)
    with pytest.raises(InvalidImageError, match="does not inpaint"):
        make_tiny_pipeline()(image=image, mask_image=Image.fromarray(mask))
    pipe.save_pretrained(tmp_path / "inpaint", safe_serialization=True)
    (tmp_path / "inpaint" / "conversion.json").write_text('{"task": "inpaint"}')
    loaded = restorers.load_pipeline("resshift", "inpaint", checkpoint=str(tmp_path / "inpaint"))
    again = loaded(image=image, mask_image=Image.fromarray(mask), generator=seeded(), output_type="np").images[0]
    same_layout = pipe.use_channels_last()  # as load_pipeline keeps it: bit-equal only in the same layout
    expected = same_layout(image=image, mask_image=Image.fromarray(mask), generator=seeded(), output_type="np").images[0]
    np.testing.assert_array_equal(again, expected)


def test_embedded_resshift_inpainting_fills_the_holes_and_keeps_the_known_pixels():
    """The embedded model (push-pull pre-fill, 4 steps): known pixels come back exactly, and on a held-out photo
    with large holes its LPIPS is below both the black holes' and its own smooth first guess's (it adds texture, so
    it is judged perceptually, not by MSE)."""
    import numpy as np

    from leaderboard.metrics import compute_metric
    from restorers.hole_fill import push_pull_fill
    from restorers.image_io import pil_to_tensor
    from tests.golden import HELDOUT

    pipe = restorers.load_pipeline("resshift", "inpaint")
    assert pipe.config.hole_fill == "push_pull" and pipe.mask_input() == "required"
    hq = Image.open(sorted(HELDOUT.glob("*.png"))[10]).convert("RGB").crop((0, 0, 256, 256))
    lq, conditions = restorers.get_task("inpaint").variant("holes>40%").degrade_with_conditions(hq)
    out = pipe(image=lq, generator=torch.Generator().manual_seed(0), **conditions).images[0]
    hole = (pil_to_tensor(conditions["mask_image"].convert("RGB"))[:, :1] > 0.5).float()
    given = pil_to_tensor(lq)
    assert torch.allclose(pil_to_tensor(out) * (1 - hole), given * (1 - hole), atol=1 / 255)
    guess = push_pull_fill(given, hole)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    guess = Image.fromarray((guess * 255).round().astype(np.uint8))
    ours, smooth, black = (compute_metric("lpips", image, hq) for image in (out, guess, lq))
    assert ours < smooth < black, (ours, smooth, black)


def test_an_unknown_hole_fill_is_refused(tiny_pipeline):
    with pytest.raises(ValueError, match="hole_fill must be one of constant, push_pull"):
        ResShiftPipeline(unet=tiny_pipeline.unet, scheduler=tiny_pipeline.scheduler, hole_fill="telea")


def test_window_mask_cache_survives_a_meta_device_build():
    """Cost counting builds networks on the meta device; the cached shifted-window mask must stay a real tensor."""
    from restorers.nn.swin import shifted_window_mask

    shifted_window_mask.cache_clear()
    with torch.device("meta"):
        ResShiftUNet(**TINY_UNET)
    unet = ResShiftUNet(**TINY_UNET).eval()
    assert all(b.device.type == "cpu" for b in unet.buffers())
    assert shifted_window_mask(16, 16, 4, 2).device.type == "cpu"
