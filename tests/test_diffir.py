"""DiffIR: official layouts and sizes, the IPR chain's numbers, the pipeline's accounting, conversion, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_file
import torch
from diffusers import DDPMScheduler
from PIL import Image

import restorers
from leaderboard.cost import measure_run
from restorers.diffir.convert import CheckpointMismatch, build_pipeline, convert, generator_state_dict
from restorers.diffir.cpen import CPEN
from restorers.diffir.dirformer import DIRformer
from restorers.diffir.ipr_denoiser import IPRDenoiser
from restorers.diffir.pipeline import DiffIRPipeline
from restorers.diffir.presets import EMBEDDED_PRESETS, OFFICIAL_PRESETS, stage1_cpen
from restorers.diffir.scheduler import DiffIRScheduler
from restorers.image_io import InvalidImageError

LISTINGS = {"sr_x4": "diffir_S2_state_dict_realsr_x4.tsv", "deblur": "diffir_S2_state_dict_deblur.tsv",
            "inpaint": "diffir_S2_state_dict_inpainting.tsv"}


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def listing(preset: str) -> dict[str, tuple]:
    path = shared_file("reference", LISTINGS[preset])  # the official key listings: needs ../shared
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    return {key: tuple(int(n) for n in shape.strip("()").split(",") if n.strip()) for key, shape in rows}


# -- networks ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset, s1, dirformer, cpen", [
    ("sr_x4", 24_801_478, 23_459_142, 1_314_688), ("sr_x2", 24_811_846, None, None),
    ("sr_x1", 24_853_318, None, None), ("deblur", 26_742_206, 25_669_374, 1_045_184),
    ("inpaint", 26_232_746, 25_150_698, 1_054_400), ("inpaint_big", 49_313_194, 48_009_578, 1_275_968)])
def test_every_official_preset_has_the_official_parameter_count(preset, s1, dirformer, cpen):
    config = OFFICIAL_PRESETS[preset]
    g, c2, c1 = DIRformer(**config["dirformer"]), CPEN(**config["cpen"]), CPEN(**stage1_cpen(config["cpen"]))
    assert count(g) + count(c1) == s1
    assert count(IPRDenoiser()) == 197_376
    if dirformer is not None:
        assert (count(g), count(c2)) == (dirformer, cpen)


@pytest.mark.parametrize("preset", ["sr_x4", "deblur", "inpaint"])
def test_state_dict_keys_and_shapes_equal_the_official_listing(preset):
    official = {k: v for k, v in listing(preset).items() if not k.startswith("diffusion.")}
    config = OFFICIAL_PRESETS[preset]
    ours = {}
    for prefix, module in (("G.", DIRformer(**config["dirformer"])), ("condition.", CPEN(**config["cpen"])),
                           ("denoise.", IPRDenoiser())):
        ours.update({prefix + k: tuple(v.shape) for k, v in module.state_dict().items()})
    assert ours == official


def test_sr_head_scales_and_adds_the_nearest_upsampled_input():
    net = DIRformer(head="sr", scale=4, dim=8, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1)
    torch.nn.init.zeros_(net.tail[1].weight)
    torch.nn.init.zeros_(net.tail[1].bias)
    lq = torch.rand(1, 3, 16, 24)
    out = net(lq, torch.randn(1, 256))
    assert out.shape == (1, 3, 64, 96)
    torch.testing.assert_close(out, lq.repeat_interleave(4, -2).repeat_interleave(4, -1))


def test_the_ipr_vector_steers_every_block():
    net = DIRformer(head="deblur", dim=8, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1)
    x = torch.rand(1, 3, 16, 16)
    assert not torch.allclose(net(x, torch.randn(1, 256)), net(x, torch.randn(1, 256)))
    with pytest.raises(ValueError, match="head"):
        DIRformer(head="denoise")


def literal_block(block, x: torch.Tensor, ipr: torch.Tensor) -> torch.Tensor:
    """One dynamic transformer block as the paper and Restormer write it, on B x C x H x W maps: LayerNorm with
    its affine, then x * gamma + beta, 1x1 and depthwise convolutions, attention on L2-normalised q and k."""
    def layer_norm(norm, x):
        mu = x.mean(1, keepdim=True) if norm.with_bias else 0.0
        out = (x - mu) / torch.sqrt(x.var(1, keepdim=True, unbiased=False) + 1e-5) * norm.body.weight[:, None, None]
        return out + norm.body.bias[:, None, None] if norm.with_bias else out

    def modulate(x, kernel):
        gamma, beta = kernel(ipr)[:, :, None, None].chunk(2, dim=1)
        return x * gamma + beta

    b, c, h, w = x.shape
    attn, ffn = block.attn, block.ffn
    q, k, v = attn.qkv_dwconv(attn.qkv(modulate(layer_norm(block.norm1, x), attn.kernel))).chunk(3, dim=1)
    q, k, v = (y.reshape(b, attn.num_heads, c // attn.num_heads, h * w) for y in (q, k, v))
    q, k = torch.nn.functional.normalize(q, dim=-1), torch.nn.functional.normalize(k, dim=-1)
    attention = ((q @ k.transpose(-2, -1)) * attn.temperature).softmax(dim=-1)
    x = x + attn.project_out((attention @ v).reshape(b, c, h, w))
    x1, x2 = ffn.dwconv(ffn.project_in(modulate(layer_norm(block.norm2, x), ffn.kernel))).chunk(2, dim=1)
    return x + ffn.project_out(torch.nn.functional.gelu(x1) * x2)


@pytest.mark.parametrize("layer_norm_type", ["WithBias", "BiasFree"])
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("channels_last", [False, True])
def test_blocks_on_pixel_rows_compute_the_papers_block(layer_norm_type, batch, channels_last):
    """The blocks run on pixel rows with the LayerNorm's affine merged into the modulation and q, k never
    normalised in place (dirformer.py); the literal computation gives the same numbers, for one and several
    heads, one image (the fused layer_norm path) and a batch (per-image scales), either memory layout."""
    torch.manual_seed(0)
    net = DIRformer(head="deblur", dim=8, num_blocks=(1, 1, 1, 1), num_refinement_blocks=0, heads=(1, 2, 4, 8),
                    layer_norm_type=layer_norm_type, bias=True).double()  # float64: the math, not the rounding
    with torch.no_grad():
        for parameter in net.parameters():  # away from the initial ones and zeros, so a dropped term shows
            parameter.add_(0.3 * torch.randn_like(parameter))
    ipr = torch.randn(batch, 256, dtype=torch.float64)
    for block, channels in ((net.encoder_level1[0], 8), (net.encoder_level2[0], 16), (net.latent[0], 64)):
        x = torch.randn(batch, channels, 12, 10, dtype=torch.float64)
        if channels_last:
            block, x = block.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            torch.testing.assert_close(block(x, ipr), literal_block(block, x, ipr), rtol=1e-9, atol=1e-9)


# -- scheduler --------------------------------------------------------------------------------------------
def test_schedule_numbers_equal_the_official_ones():
    s = DiffIRScheduler()
    torch.testing.assert_close(s.betas, torch.tensor([0.1, 0.294286, 0.590952, 0.99], dtype=torch.float64),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(s.alphas_cumprod, torch.tensor([0.9, 0.635143, 0.259804, 0.002598],
                                                              dtype=torch.float64), atol=1e-6, rtol=0)
    coefs = np.array([s.coefficients(t) for t in (0, 1, 2, 3)])
    np.testing.assert_allclose(coefs[:, 0], [1.0, 0.765187, 0.636270, 0.505927], atol=1e-6)
    np.testing.assert_allclose(coefs[:, 1], [0.0, 0.230246, 0.315256, 0.074212], atol=1e-6)
    # the same betas as diffusers' scaled_linear schedule
    ddpm = DDPMScheduler(num_train_timesteps=4, beta_schedule="scaled_linear", beta_start=0.1, beta_end=0.99)
    torch.testing.assert_close(s.alphas_cumprod.float(), ddpm.alphas_cumprod, atol=1e-6, rtol=0)


def test_steps_are_the_noise_free_posterior_mean():
    s = DiffIRScheduler()
    z0, zt = torch.randn(2, 256), torch.randn(2, 256)
    out = s.step(z0, 2, zt).prev_sample
    torch.testing.assert_close(out, 0.636270 * z0 + 0.315256 * zt, atol=1e-5, rtol=0)
    assert torch.equal(s.step(z0, 2, zt).prev_sample, out)  # deterministic: no noise drawn
    # diffusers' DDPM at t = 0 (where it adds no noise) gives the same prev sample
    ddpm = DDPMScheduler(num_train_timesteps=4, beta_schedule="scaled_linear", beta_start=0.1, beta_end=0.99,
                         prediction_type="sample", clip_sample=False)
    ddpm.set_timesteps(4)
    torch.testing.assert_close(ddpm.step(z0, 0, zt).prev_sample, s.step(z0, 0, zt).prev_sample)


@pytest.mark.parametrize("steps, kept", [(1, [3]), (2, [3, 0]), (3, [3, 2, 0]), (4, [3, 2, 1, 0])])
def test_fewer_steps_respace_the_chain_consistently(steps, kept):
    s = DiffIRScheduler()
    s.set_timesteps(steps)
    assert s.timesteps.tolist() == kept
    x0 = torch.randn(3, 256)
    for t in kept:  # a perfect z0 prediction maps sqrt(abar_t) x0 to sqrt(abar_prev) x0 at every kept step
        prev = s.previous_timestep(t)
        abar_prev = float(s.alphas_cumprod[prev]) if prev >= 0 else 1.0
        out = s.step(x0, t, float(s.alphas_cumprod[t]) ** 0.5 * x0).prev_sample
        torch.testing.assert_close(out, abar_prev ** 0.5 * x0, atol=1e-6, rtol=0)


def test_more_steps_than_the_chain_are_refused():
    with pytest.raises(ValueError, match="1..4"):
        DiffIRScheduler().set_timesteps(5)


# -- pipeline ---------------------------------------------------------------------------------------------
def tiny_pipeline(task: str) -> DiffIRPipeline:
    torch.manual_seed(0)
    head = {"sr_x4": "sr", "deblur": "deblur", "inpaint": "inpaint"}[task]
    channels = 4 if head == "inpaint" else 3
    dirformer = DIRformer(head=head, in_channels=channels, scale=4 if head == "sr" else 1, dim=8,
                          num_blocks=(1, 1, 1, 1), num_refinement_blocks=1)
    cpen = CPEN(lq_channels=channels, lq_unshuffle=1 if head == "sr" else 4, n_encoder_res=1)
    pipe = DiffIRPipeline(dirformer, cpen, IPRDenoiser(), DiffIRScheduler(), sf=4 if head == "sr" else 1)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_nfe_is_counted_per_network_four_ipr_steps_and_one_dirformer_pass():
    pipe = tiny_pipeline("deblur")
    for steps, expected in ((None, (4, 1)), (2, (2, 1))):
        with measure_run(pipe) as cost:
            pipe(photo(24, 20), num_inference_steps=steps, generator=torch.Generator().manual_seed(0))
        assert cost.by_network == {"ipr_denoiser": expected[0], "dirformer": expected[1]}
        assert cost.nfe == sum(expected)
    with measure_run(pipe) as cost:
        pipe(photo(24, 20), use_diffusion=False)
    assert cost.by_network == {"ipr_denoiser": 0, "dirformer": 1}


def test_initial_ipr_noise_is_the_latents_argument():
    pipe = tiny_pipeline("sr_x4")
    image = photo(13, 10)
    latents = torch.randn(1, 256, generator=torch.Generator().manual_seed(3))
    a = pipe(image, latents=latents, output_type="np").images
    b = pipe(image, latents=latents.clone(), output_type="np").images
    c = pipe(image, latents=torch.randn(1, 256), output_type="np").images
    assert a.shape == (1, 40, 52, 3)  # odd sizes are padded for the network and cropped back
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError, match="shape"):
        pipe(image, latents=torch.randn(1, 128))


def test_inpainting_keeps_known_pixels_and_needs_a_mask_of_the_same_size():
    pipe = tiny_pipeline("inpaint")
    image = photo(32, 24)
    mask = Image.new("L", (32, 24), 0)
    mask.paste(255, (4, 4, 20, 14))
    out = np.asarray(pipe(image, mask_image=mask, generator=torch.Generator().manual_seed(0)).images[0])
    known = np.asarray(mask) == 0
    np.testing.assert_array_equal(out[known], np.asarray(image)[known])
    with pytest.raises(InvalidImageError, match="needs a mask"):
        pipe(image)
    with pytest.raises(InvalidImageError, match="same size"):
        pipe(image, mask_image=Image.new("L", (16, 16), 255))
    with pytest.raises(InvalidImageError, match="no pixel"):
        pipe(image, mask_image=Image.new("L", (32, 24), 0))


def test_stage1_oracle_needs_the_ground_truth():
    pipe = tiny_pipeline("deblur")
    pipe.register_modules(cpen=CPEN(lq_channels=3, lq_unshuffle=4, gt_unshuffle=4, n_encoder_res=1))
    hq = photo(24, 16, seed=1)
    with pytest.raises(InvalidImageError, match="ground truth"):
        pipe(photo(24, 16))
    with measure_run(pipe) as cost:
        out = pipe(photo(24, 16), ground_truth=hq).images[0]
    assert out.size == (24, 16) and cost.by_network["ipr_denoiser"] == 0


def test_save_pretrained_round_trip(tmp_path):
    pipe = tiny_pipeline("sr_x4")
    pipe.save_pretrained(tmp_path)
    again = DiffIRPipeline.from_pretrained(tmp_path)
    again.set_progress_bar_config(disable=True)
    for name in ("dirformer", "cpen", "ipr_denoiser"):  # the same weights, bit for bit
        for (key, value), (_, loaded) in zip(getattr(pipe, name).state_dict().items(),
                                             getattr(again, name).state_dict().items()):
            assert torch.equal(value, loaded), (name, key)
    latents = torch.randn(1, 256)
    # the same output up to fp32 rounding: oneDNN may pick another kernel for freshly loaded weights (one ulp)
    np.testing.assert_allclose(pipe(photo(8, 8), latents=latents, output_type="np").images,
                               again(photo(8, 8), latents=latents, output_type="np").images, rtol=0, atol=1e-6)


def test_embedded_presets_stay_under_a_space_file_limit_in_fp16():
    for preset in EMBEDDED_PRESETS.values():
        assert 2 * count(DIRformer(**preset["dirformer"])) < 10 * 2 ** 20


# -- conversion -------------------------------------------------------------------------------------------
def official_state_dict(preset: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors laid out exactly as the official S2 checkpoint (duplicates and buffers included)."""
    generator = torch.Generator().manual_seed(seed)
    state = {key: torch.randn(shape, generator=generator) * 0.05 for key, shape in listing(preset).items()}
    for key in list(state):  # the duplicates are the same tensors in the official file
        if key.startswith("diffusion.condition."):
            state[key] = state["condition." + key[len("diffusion.condition."):]]
        elif key.startswith("diffusion.model."):
            state[key] = state["denoise." + key[len("diffusion.model."):]]
    return state


def direct_restoration(state: dict, preset: str, lq: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
    """The official S2 inference written out with the official coefficients, not through the pipeline."""
    config = OFFICIAL_PRESETS[preset]
    g, c, d = DIRformer(**config["dirformer"]), CPEN(**config["cpen"]), IPRDenoiser()
    for prefix, module in (("G.", g), ("condition.", c), ("denoise.", d)):
        module.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    coef1, coef2 = [0.0, 0.765187, 0.636270, 0.505927], [0.0, 0.230246, 0.315256, 0.074212]
    with torch.no_grad():
        cond, z = c(lq), latents
        for t in (3, 2, 1, 0):
            z0 = d(z, t, cond)
            z = z0 if t == 0 else coef1[t] * z0 + coef2[t] * z
        return g(lq, z).clamp(0, 1)


def test_converted_basicsr_checkpoint_equals_the_direct_computation(tmp_path):
    state = official_state_dict("deblur")
    path = tmp_path / "DiffIRS2.pth"
    torch.save({"params_ema": state, "params": {}}, path)
    convert(path, "deblur", tmp_path / "converted")
    pipe = restorers.load_pipeline("diffir", "deblur", checkpoint=str(tmp_path / "converted"))
    for prefix, module in (("G.", pipe.dirformer), ("condition.", pipe.cpen), ("denoise.", pipe.ipr_denoiser)):
        for key, value in module.state_dict().items():  # every tensor landed where it should
            assert torch.equal(value, state[prefix + key]), prefix + key
    lq, latents = torch.rand(1, 3, 32, 32), torch.randn(1, 256)
    with torch.no_grad():
        ours = pipe.restore_tensor(lq, latents=latents)
    torch.testing.assert_close(ours, direct_restoration(state, "deblur", lq, latents), atol=2e-4, rtol=0)
    assert json.loads((tmp_path / "converted" / "conversion.json").read_text())["preset"] == "deblur"


def test_lightning_inpainting_checkpoint_is_read_from_the_generator_prefix():
    state = official_state_dict("inpaint")
    raw = {"state_dict": {**{"generator." + k: v for k, v in state.items()},
                          "generatorS1.G.patch_embed.proj.weight": torch.zeros(1),
                          "discriminator.model0.0.weight": torch.zeros(1)}}
    pipe = build_pipeline("inpaint", generator_state_dict(raw))
    assert torch.equal(pipe.dirformer.output.weight, state["G.output.weight"])


def test_a_checkpoint_that_does_not_fit_is_refused_with_the_keys_named():
    state = official_state_dict("deblur")
    del state["G.output.weight"]
    state["G.extra.weight"] = torch.zeros(2)
    with pytest.raises(CheckpointMismatch, match=r"missing keys: G\.output\.weight.*unexpected keys: G\.extra\.weight"):
        build_pipeline("deblur", state)
    with pytest.raises(CheckpointMismatch, match="shapes differ"):
        build_pipeline("inpaint", official_state_dict("deblur"))


# -- training ---------------------------------------------------------------------------------------------
def test_two_stage_training_runs_resumes_and_exports(tmp_path):
    from restorers.training import train_diffir
    from restorers.training.data import package_image

    pack = tmp_path / "pack"
    pack.mkdir()
    entries = []
    for index, name in enumerate(("astronaut", "coffee")):
        Image.fromarray(package_image(name)).save(pack / f"{index}.jpg", quality=95)
        entries.append({"file": f"{index}.jpg", "photo_id": f"scikit-image/{name}"})
    (pack / "manifest.json").write_text(json.dumps(entries))
    args = ["--task", "deblur", "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "out"), "--steps1", "2",
            "--steps2", "2", "--batch", "2", "--crop", "32", "--photo-pack", str(pack), "--save-every", "1"]
    record = train_diffir.main(args)
    assert (record["steps_stage1"], record["steps_stage2"]) == (2, 2)
    assert "resumed" not in (tmp_path / "run" / "train.log").read_text()
    train_diffir.main(args)  # a rerun resumes from the saved state (both stages already done) and re-exports
    assert "resumed: stage 3" in (tmp_path / "run" / "train.log").read_text()
    pipe = DiffIRPipeline.from_pretrained(tmp_path / "out")
    oracle = DiffIRPipeline.from_pretrained(tmp_path / "out-stage1")
    assert not pipe.cpen.is_stage1 and oracle.cpen.is_stage1
    from safetensors import safe_open
    with safe_open(str(tmp_path / "out" / "dirformer" / "diffusion_pytorch_model.safetensors"), "pt") as f:
        assert f.get_tensor(next(iter(f.keys()))).dtype == torch.float16  # stored half, computed in fp32
    assert pipe.dirformer.dtype == torch.float32
