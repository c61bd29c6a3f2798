"""DP-IR's denoiser, IR-network loading and pipeline, on small random-weight modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from leaderboard.cost import count_flops, measure_run
from restorers.dpir.conv_denoiser import FoldedConvDenoiser
from restorers.dpir.denoiser import DenoiserNet
from restorers.dpir.denoiser_loading import denoiser_class_of, load_denoiser
from restorers.dpir.fusion import FusionNet
from restorers.nn.spandrel_network import SpandrelNetwork, read_state_dict
from restorers.dpir.pipeline import DPIRPipeline
from restorers.dpir.scheduler import DPIRScheduler
from restorers.regression.network import ResidualSRNet


def small_pipeline(tau: int = 8, sf: int = 4, ir_skip: bool = True, steps: int | None = None) -> DPIRPipeline:
    torch.manual_seed(0)
    pipe = DPIRPipeline(ir_network=ResidualSRNet(channels=8, num_blocks=1, upscale=sf),
                        denoiser=DenoiserNet(channels=8, num_groups=1),
                        fusion=FusionNet(num_features=8, growth=4, time_dim=8, ir_skip=ir_skip),
                        scheduler=DPIRScheduler(tau=tau), sf=sf, num_inference_steps=steps)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def lq_image(size=(12, 10), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def perturbed(net: torch.nn.Module) -> torch.nn.Module:
    """A net whose every weight is random (the conv denoiser starts with a zero last layer, which would hide bugs)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return net


@pytest.mark.parametrize("make", [lambda: DenoiserNet(channels=8, num_groups=1),
                                  lambda: FoldedConvDenoiser(channels=8, num_blocks=1)], ids=["mirnet", "folded-conv"])
def test_denoiser_is_exact_at_zero_noise_and_handles_odd_sizes(make):
    net = perturbed(make()).eval()
    x = torch.rand(2, 3, 13, 7)
    with torch.no_grad():
        assert torch.allclose(net(x, 0.0), x, atol=1e-6)  # c_skip = 1, c_out = 0
        out = net(x, torch.tensor([0.1, 50.0]))
    assert out.shape == x.shape
    # at a huge noise level the preconditioning keeps the estimate in the image range, not at the input's ~300
    with torch.no_grad():
        noisy = 0.5 + 300.0 * torch.randn(1, 3, 16, 16)
        assert (net(noisy, 300.0) - 0.5).abs().max() < 2.0


def test_the_folded_conv_denoiser_works_on_pixel_blocks_and_starts_as_the_preconditioned_skip():
    net = FoldedConvDenoiser(channels=8, num_blocks=1, fold=2).eval()
    x, sigma = torch.rand(1, 3, 24, 16), 0.3
    with torch.no_grad():
        c_skip = 0.25 ** 2 / (sigma ** 2 + 0.25 ** 2)
        assert torch.allclose(net(x, sigma), 0.5 + c_skip * (x - 0.5), atol=1e-6)  # F = 0 before training
        perturbed(net)
        convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        assert [c.in_channels for c in convs] == [16, 8, 8, 8] and convs[-1].out_channels == 12  # (3 + 1) x 2 x 2 in
        # one pixel changed moves only the output near it: four 3x3 convs on 2x2 blocks reach 4 blocks (8 pixels)
        # away, and nothing pools or attends over the whole image
        y = x.clone()
        y[..., 0, 0] += 1.0
        moved = (net(y, sigma) - net(x, sigma)).abs().amax(dim=1)[0]
    assert moved[0, 0] > 0 and moved[10:, :].max() == 0 and moved[:, 10:].max() == 0


def test_a_saved_denoiser_loads_as_its_own_class(tmp_path):
    for index, net in enumerate([FoldedConvDenoiser(channels=8, num_blocks=1), DenoiserNet(channels=8, num_groups=1)]):
        perturbed(net).save_pretrained(tmp_path / str(index))
        loaded = load_denoiser(tmp_path / str(index))
        assert type(loaded) is type(net) and denoiser_class_of(tmp_path / str(index)) is type(net)
        x = torch.rand(1, 3, 8, 8)
        with torch.no_grad():
            assert torch.allclose(loaded(x, 0.2), net.eval()(x, 0.2), atol=1e-6)
    FusionNet(num_features=8, growth=4, time_dim=8).save_pretrained(tmp_path / "fusion")
    with pytest.raises(ValueError, match="holds no DP-IR denoiser"):
        load_denoiser(tmp_path / "fusion")


@pytest.mark.parametrize("steps, expected_nfe", [(None, 9), (8, 9), (4, 5), (1, 2)])
def test_nfe_counted_by_hooks_is_steps_plus_the_ir_pass(steps, expected_nfe):
    pipe = small_pipeline(tau=8)
    with measure_run(pipe) as cost:
        out = pipe(lq_image(), num_inference_steps=steps, generator=torch.Generator().manual_seed(0), output_type="np")
    assert out.images.shape == (1, 40, 48, 3)
    assert cost.nfe == expected_nfe


def test_sampler_equals_a_direct_computation():
    """The pipeline's loop, written out by hand from the paper's equations (DDPM, sigma_t^2 = beta_t)."""
    pipe = small_pipeline(tau=3, ir_skip=False)
    lq = torch.rand(1, 3, 8, 8)
    latents = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        out = pipe.restore_tensor(lq, generator=torch.Generator().manual_seed(5), latents=latents)
        s = DPIRScheduler()
        g = torch.Generator().manual_seed(5)
        x_ir = pipe.ir_network(lq).clamp(0, 1)
        c_ir, c_t, var = s.jump_coefficients(3)
        x = c_ir * x_ir + c_t * latents + var ** 0.5 * torch.randn(x_ir.shape, generator=g)
        abar = s.alphas_cumprod
        for t in (3, 2, 1):
            sigma = ((1 - abar[t]) / abar[t]) ** 0.5
            x0 = pipe.fusion(x_ir, pipe.denoiser(x / abar[t] ** 0.5, sigma), t).clamp(0, 1)
            mean = (abar[t - 1] ** 0.5 * s.betas[t] / (1 - abar[t])) * x0 \
                + (s.alphas[t] ** 0.5 * (1 - abar[t - 1]) / (1 - abar[t])) * x
            x = mean + (s.betas[t] ** 0.5 * torch.randn(x.shape, generator=g) if t > 1 else 0.0)
    assert torch.allclose(out, x.clamp(0, 1), atol=1e-5)


def test_untrained_skip_fusion_with_tiny_tau_returns_the_ir_estimate():
    pipe = small_pipeline(tau=1)
    lq = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        out = pipe.restore_tensor(lq, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(out, pipe.ir_network(lq).clamp(0, 1), atol=1e-6)


def test_conventional_sampling_from_t_starts_from_the_latents():
    pipe = small_pipeline(tau=8)
    pipe.scheduler.register_to_config(tau=1000)
    with measure_run(pipe) as cost:
        pipe(lq_image(), num_inference_steps=5, generator=torch.Generator().manual_seed(0))
    assert cost.nfe == 6 and pipe.scheduler.use_ddim and pipe.scheduler.timesteps[0] == 1000


def test_same_seed_same_output_and_latents_are_checked():
    pipe = small_pipeline()
    a = pipe(lq_image(), generator=torch.Generator().manual_seed(3), output_type="np").images
    b = pipe(lq_image(), generator=torch.Generator().manual_seed(3), output_type="np").images
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="latents must have shape"):
        pipe(lq_image(), latents=torch.zeros(1, 3, 8, 8))


def test_flops_split_ir_pass_as_base_and_steps_as_per_nfe():
    pipe = small_pipeline(tau=4)
    report = count_flops(pipe, 8, 8)
    assert report.nfe == 4  # the per-step calls; the IR pass is in the base
    one_ir = count_flops_of(pipe.ir_network, torch.empty(1, 3, 8, 8))
    assert report.base == pytest.approx(one_ir)
    assert report.total == pytest.approx(one_ir + 4 * report.per_nfe)


def count_flops_of(module, x):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops()


def test_save_and_load_round_trip(tmp_path):
    pipe = small_pipeline(steps=2)
    pipe.save_pretrained(tmp_path, safe_serialization=True)
    again = DPIRPipeline.from_pretrained(tmp_path)
    again.set_progress_bar_config(disable=True)
    a = pipe(lq_image(), generator=torch.Generator().manual_seed(1), output_type="np").images
    b = again(lq_image(), generator=torch.Generator().manual_seed(1), output_type="np").images
    assert np.array_equal(a, b) and again.config.num_inference_steps == 2


def spandrel_state_dicts():
    from spandrel.architectures.ESRGAN import ESRGAN
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(0)
    esrgan = ESRGAN(num_filters=8, num_blocks=1, scale=4)
    swinir = SwinIR(img_size=16, embed_dim=12, depths=[1], num_heads=[2], window_size=4, upscale=4,
                    upsampler="pixelshuffle", mlp_ratio=2.0)
    return {"ESRGAN": esrgan.state_dict(), "SwinIR": swinir.state_dict()}


@pytest.mark.parametrize("architecture", ["ESRGAN", "SwinIR"])
@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_third_party_ir_network_through_spandrel(tmp_path, architecture, suffix):
    import restorers

    state = spandrel_state_dicts()[architecture]
    path = tmp_path / f"ir{suffix}"
    if suffix == ".pth":
        torch.save(state, path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    network = SpandrelNetwork.from_file(path)
    assert network.config.architecture == architecture and network.config.scale == 4
    pipe = small_pipeline(tau=4)
    pipe.set_ir_network(network)
    with measure_run(pipe) as cost:
        out = pipe(lq_image((16, 16)), generator=torch.Generator().manual_seed(0), output_type="np").images
    assert out.shape == (1, 64, 64, 3) and cost.nfe == 5
    assert count_flops(pipe, 16, 16).base > 0  # the spandrel network is counted on the meta device too
    # it survives save_pretrained / from_pretrained (rebuilt by spandrel from the saved keys)
    pipe.save_pretrained(tmp_path / "saved", safe_serialization=True)
    again = DPIRPipeline.from_pretrained(tmp_path / "saved")
    assert isinstance(again.ir_network, SpandrelNetwork)
    with torch.no_grad():
        x = torch.rand(1, 3, 16, 16)
        assert torch.allclose(again.ir_network(x), network(x), atol=1e-6)
    if architecture == "ESRGAN":  # and through the public entry point, on the embedded checkpoint if present
        loaded = restorers.load_pipeline("dpir", "sr_x4", ir_network=str(path))  # the embedded checkpoint ships
        assert isinstance(loaded.ir_network, SpandrelNetwork)


def test_ir_network_files_are_checked(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_state_dict(tmp_path / "missing.pth")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="expected a .safetensors"):
        read_state_dict(tmp_path / "notes.txt")
    (tmp_path / "bad.pth").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="weights_only"):
        read_state_dict(tmp_path / "bad.pth")

    class Evil:
        def __reduce__(self):
            return (print, ("code ran",))

    torch.save({"x": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="not a plain torch state dict"):
        read_state_dict(tmp_path / "evil.pth")
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, tmp_path / "unknown.pth")
    with pytest.raises(ValueError, match="spandrel does not recognise"):
        SpandrelNetwork.from_file(tmp_path / "unknown.pth")


def test_ir_network_with_the_wrong_scale_is_refused(tmp_path):
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.save(ESRGAN(num_filters=8, num_blocks=1, scale=2).state_dict(), tmp_path / "x2.pth")
    pipe = small_pipeline()
    with pytest.raises(ValueError, match="upscales x2"):
        pipe.set_ir_network(SpandrelNetwork.from_file(tmp_path / "x2.pth"))
