"""DP-IR: the sampler (schedule, x0 step, the accelerated start of Lemma 3.2) and the Fusion network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from restorers.dpir.scheduler import DPIRScheduler


def iterate_single_steps(s: DPIRScheduler, tau: int, start: int | None = None) -> tuple[float, float, float]:
    """Run the start - tau single reverse steps with x0_hat fixed at x_IR, tracking x = a x_IR + b x_T + noise."""
    start = s.config.num_train_timesteps if start is None else start
    a, b, var = 0.0, 1.0, 0.0
    for t in range(start, tau, -1):
        c = s.xt_coefficient(t)
        a, b = s.gamma(t) + c * a, c * b
        var = c * c * var + (s.variance(t) if t > 1 else 0.0)
    return a, b, var


def test_schedule_matches_the_fact_sheet_numbers():
    s = DPIRScheduler()
    assert s.alphas_cumprod[0] == 1.0
    assert s.alphas_cumprod[5] == pytest.approx(0.999301, abs=1e-6)
    assert s.alphas_cumprod[250] == pytest.approx(0.524085, abs=1e-6)
    assert float(s.sigma_tilde(250)) == pytest.approx(0.95294, abs=1e-5)
    assert 255 * float(s.sigma_tilde(251)) == pytest.approx(244.30, abs=0.01)  # the denoiser's range, 0-based 250
    assert s.alphas_cumprod[1000] == pytest.approx(4.04e-5, rel=1e-2)


@pytest.mark.parametrize("tau,expected", [(5, (0.999650, 4.44e-6, 8.32e-4)), (250, (0.723911, 4.18e-3, 0.47749))])
def test_jump_coefficients_match_the_fact_sheet(tau, expected):
    c_ir, c_t, var = DPIRScheduler().jump_coefficients(tau)
    assert c_ir == pytest.approx(expected[0], abs=1e-6)
    assert c_t == pytest.approx(expected[1], rel=1e-2)
    assert var == pytest.approx(expected[2], rel=1e-3)


@pytest.mark.parametrize("variance_type", ["beta", "posterior"])
@pytest.mark.parametrize("tau", [0, 1, 5, 250, 999])
def test_jump_has_the_distribution_of_the_single_steps(variance_type, tau):
    s = DPIRScheduler(variance_type=variance_type)
    jump = s.jump_coefficients(tau)
    steps = iterate_single_steps(s, tau)
    np.testing.assert_allclose(jump, steps, rtol=1e-6, atol=1e-10)


def test_jump_with_posterior_variance_is_close_to_the_forward_process():
    s = DPIRScheduler(variance_type="posterior")
    c_ir, c_t, var = s.jump_coefficients(250)
    abar = s.alphas_cumprod[250]
    assert c_ir == pytest.approx(np.sqrt(abar), abs=1e-4)
    assert var + c_t ** 2 == pytest.approx(1 - abar, abs=1e-4)


def test_ddpm_step_is_the_posterior_mean_plus_beta_noise():
    s = DPIRScheduler(tau=10)
    x_t, x0 = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randn(2, 3, 4, 4, dtype=torch.float64)
    abar, beta, t = s.alphas_cumprod, s.betas, 7
    mean = (np.sqrt(abar[t - 1]) * beta[t] / (1 - abar[t])) * x0 + (np.sqrt(1 - beta[t]) * (1 - abar[t - 1]) / (1 - abar[t])) * x_t
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    out = s.step(x0, t, x_t, generator=g1).prev_sample
    z = torch.randn(x_t.shape, generator=g2, dtype=torch.float64)
    torch.testing.assert_close(out, mean + np.sqrt(beta[t]) * z)
    last = s.step(x0, 1, x_t, generator=g1).prev_sample  # no noise on the last step
    torch.testing.assert_close(last, s.gamma(1) * x0 + s.xt_coefficient(1) * x_t)
    torch.testing.assert_close(last, x0)  # abar_0 = 1: the last mean is x0 itself


def test_ddim_stride_and_deterministic_update():
    s = DPIRScheduler()
    s.set_timesteps(tau=250, ddim_stride=5)
    assert s.num_inference_steps == 50 and s.timesteps[0] == 250 and s.timesteps[-1] == 5
    s.set_timesteps(50, tau=250)  # the same, asked for by the number of network calls
    assert s.stride == 5 and s.num_inference_steps == 50
    x0 = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    noise = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    abar = s.alphas_cumprod
    x_t = np.sqrt(abar[250]) * x0 + np.sqrt(1 - abar[250]) * noise
    out = s.step(x0, 250, x_t).prev_sample  # eta = 0 and the true x0: lands on the forward marginal's mean path
    torch.testing.assert_close(out, np.sqrt(abar[245]) * x0 + np.sqrt(1 - abar[245]) * noise)
    end = s.step(x0, 5, x_t).prev_sample
    torch.testing.assert_close(end, x0)


def test_ddim_with_eta_one_and_stride_one_is_ddpm_with_posterior_variance():
    ddim = DPIRScheduler(variance_type="posterior", eta=1.0)
    ddim.set_timesteps(tau=20)
    ddim.use_ddim = True  # force the DDIM formula on single steps
    ddpm = DPIRScheduler(variance_type="posterior")
    ddpm.set_timesteps(tau=20)
    x_t, x0 = torch.randn(1, 3, 4, 4, dtype=torch.float64), torch.randn(1, 3, 4, 4, dtype=torch.float64)
    a = ddim.step(x0, 12, x_t, generator=torch.Generator().manual_seed(1)).prev_sample
    b = ddpm.step(x0, 12, x_t, generator=torch.Generator().manual_seed(1)).prev_sample
    torch.testing.assert_close(a, b)


def test_accelerated_start_samples_the_jump():
    s = DPIRScheduler()
    ir = torch.full((4000, 1), 0.5, dtype=torch.float64)
    x = s.accelerated_start(ir, tau=250, generator=torch.Generator().manual_seed(0))
    c_ir, c_t, var = s.jump_coefficients(250)
    assert float(x.mean()) == pytest.approx(c_ir * 0.5, abs=0.03)
    assert float(x.var()) == pytest.approx(var + c_t ** 2, rel=0.06)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="variance_type"):
        DPIRScheduler(variance_type="fixed")
    s = DPIRScheduler()
    with pytest.raises(ValueError, match="tau"):
        s.set_timesteps(tau=0)
    with pytest.raises(ValueError, match="num_inference_steps"):
        s.set_timesteps(300, tau=250)


def test_config_round_trip(tmp_path):
    s = DPIRScheduler(tau=5, variance_type="posterior")
    s.save_pretrained(tmp_path)
    again = DPIRScheduler.from_pretrained(tmp_path)
    assert again.config.tau == 5 and again.config.variance_type == "posterior"
    assert again.jump_coefficients(5) == s.jump_coefficients(5)


# -- the Fusion network (same folder, the one per-task module) -------------------------------------------------
from restorers.dpir.fusion import FusionNet  # noqa: E402


def test_fusion_has_the_papers_parameter_count():
    assert sum(p.numel() for p in FusionNet().parameters()) == 731_267  # "0.73M" (App. I)


def test_fusion_is_a_convex_channel_mix_of_shared_encodings():
    torch.manual_seed(0)
    net = FusionNet(num_features=8, growth=4, time_dim=8).eval()
    ir, den = torch.rand(2, 3, 6, 6), torch.rand(2, 3, 6, 6)
    t = torch.tensor([3, 200])
    w = net.channel_weights(t)
    assert w.shape == (2, 8) and bool(((w > 0) & (w < 1)).all())
    expected = net.decoder(w[:, :, None, None] * net.encoder(den) + (1 - w[:, :, None, None]) * net.encoder(ir))
    torch.testing.assert_close(net(ir, den, t), expected)
    same = net(ir, ir, t)  # equal inputs: the mix is the identity, whatever w is
    torch.testing.assert_close(same, net.decoder(net.encoder(ir)))
    assert net(ir, den, 7).shape == (2, 3, 6, 6)


def test_a_folded_fusion_works_on_pixel_blocks_and_starts_as_the_ir_estimate():
    """fold=4: the net sees 4 x 4 blocks as channels (the LQ's resolution on x4); any size comes back whole."""
    torch.manual_seed(0)
    net = FusionNet(num_features=8, growth=4, time_dim=8, ir_skip=True, fold=4).eval()
    assert net.encoder[0].in_channels == 48 and net.decoder[-1].out_channels == 48
    ir, den = torch.rand(1, 3, 30, 21), torch.rand(1, 3, 30, 21)  # not multiples of 4: padded and cropped
    torch.testing.assert_close(net(ir, den, 5), ir)  # untrained with ir_skip: the IR estimate itself
    with torch.no_grad():
        net.decoder[-1].weight.normal_(std=0.1)
    out = net(ir, den, 5)
    assert out.shape == ir.shape and not torch.allclose(out, ir)
    assert not torch.allclose(net(ir, den, 5), net(ir, torch.rand_like(den), 5))  # the denoiser's view counts


def test_the_folded_layout_is_the_papers_fusion_with_wider_ends():
    from restorers.training.train_fusion import FOLDED_CONFIG

    net = FusionNet(**FOLDED_CONFIG, fold=4)
    # the paper's 0.73 M, with the first and last conv 16x wider for the 4 x 4 blocks
    assert sum(p.numel() for p in net.parameters()) == 731_267 + 2 * 15 * 64 * 9 * 3 + 45



def test_block_pattern_loss_sees_an_error_that_repeats_with_the_fold_not_a_natural_one():
    """The training term that keeps a folded fusion net from painting a 4x4 dither (LPIPS-Alex rewards one): an
    error locked to the block grid costs its full energy, an equally strong error that is not costs ~1/64 of it."""
    from restorers.training.train_fusion import block_pattern_loss

    generator = torch.Generator().manual_seed(0)
    hq = torch.rand(2, 3, 128, 128, generator=generator)
    dither = torch.randn(1, 3, 4, 4, generator=generator).repeat(2, 1, 32, 32) * 0.02
    noise = torch.randn(2, 3, 128, 128, generator=generator) * dither.std()
    locked, natural = (block_pattern_loss(hq + error, hq, 4).item() for error in (dither, noise))
    assert locked == pytest.approx(dither.var(correction=0).item(), rel=0.05)
    assert natural < locked / 30
    assert block_pattern_loss(hq, hq, 4).item() == 0


def test_chroma_error_counts_colour_and_ignores_brightness():
    from restorers.training.train_fusion import chroma_error

    hq = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert chroma_error(hq + 0.1, hq).item() < 1e-12  # a grey shift: brightness only
    blue = torch.tensor([0.0, 0.0, 0.1]).view(1, 3, 1, 1)
    assert chroma_error(hq + blue, hq).item() == pytest.approx((0.05 ** 2 + 0.0081312 ** 2) / 2, rel=1e-4)  # Cb, Cr


def test_the_block_pattern_term_is_refused_for_an_unfolded_fusion_net(capsys):
    from restorers.training.train_fusion import main

    with pytest.raises(SystemExit):
        main(["--pattern-weight", "200", "--run-dir", "unused", "--out", "unused"])
    assert "needs --fold above 1" in capsys.readouterr().err
