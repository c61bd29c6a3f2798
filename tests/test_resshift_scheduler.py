"""ResShift's schedule and posterior, against the numbers of the fact sheet and Bayes' rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from restorers.resshift.scheduler import ResShiftScheduler, space_timesteps

FOUR_STEP = {  # ../shared/reference/resshift.md, section 1.9 (kappa 2, p 0.3, min noise 0.2, etas_end 0.99)
    "sqrt_etas": [0.1, 0.52009637, 0.76138199, 0.99],
    "etas": [0.01, 0.27050024, 0.57970254, 0.9801],
    "alphas": [0.01, 0.26050024, 0.30920230, 0.40039746],
    "posterior_mean_coef1": [0, 0.03696854, 0.46661903, 0.59147285],
    "posterior_mean_coef2": [1, 0.96303146, 0.53338097, 0.40852715],
    "posterior_variance": [0, 0.03852126, 0.57711871, 0.94729691],
}
FIFTEEN_STEP_SQRT_ETAS = [0.02, 0.11716508, 0.17630456, 0.23362892, 0.29157413, 0.35100928, 0.41235614,
                          0.47585773, 0.54167168, 0.60990993, 0.68065802, 0.75398526, 0.82995066, 0.90860639, 0.99]


def test_four_step_schedule_matches_fact_sheet():
    s = ResShiftScheduler(num_train_timesteps=4, kappa=2.0, min_noise_level=0.2, etas_end=0.99, power=0.3)
    for name, expected in FOUR_STEP.items():
        np.testing.assert_allclose(getattr(s, name), expected, atol=2e-8, err_msg=name)
    np.testing.assert_allclose(np.exp(0.5 * s.posterior_log_variance_clipped),
                               [0.19626833, 0.19626833, 0.75968330, 0.97329179], atol=2e-8)
    divisors = s.input_scale(torch.arange(4)).numpy()
    np.testing.assert_allclose(divisors, [1.0198039, 1.44291405, 1.82176018, 2.21819747], atol=2e-8)
    assert s.init_noise_sigma == pytest.approx(1.98)
    assert s.timesteps.tolist() == [3, 2, 1, 0]


def test_fifteen_step_schedule_and_respacing_match_fact_sheet():
    s = ResShiftScheduler(num_train_timesteps=15, kappa=2.0, min_noise_level=0.04, etas_end=0.99, power=0.3)
    np.testing.assert_allclose(s.train_sqrt_etas, FIFTEEN_STEP_SQRT_ETAS, atol=2e-8)
    assert space_timesteps(15, 5) == [0, 3, 6, 9, 12]  # omits T-1, as the official code does
    s.set_timesteps(5)
    assert s.timesteps.tolist() == [12, 9, 6, 3, 0]
    np.testing.assert_allclose(s.sqrt_etas, [0.02, 0.23363, 0.41236, 0.60991, 0.82995], atol=1e-5)
    assert s.init_noise_sigma == pytest.approx(1.66, abs=1e-2)
    etas_prev = np.append(0.0, s.etas[:-1])
    np.testing.assert_allclose(s.posterior_mean_coef1, etas_prev / s.etas)  # recomputed from the subset


def test_posterior_equals_bayes_rule_on_the_two_gaussians():
    """q(x_{t-1}|x_t, x_0) from q(x_{t-1}|x_0, y) and q(x_t|x_{t-1}, y), written out independently."""
    s = ResShiftScheduler(num_train_timesteps=4)
    kappa = s.config.kappa
    rng = np.random.default_rng(0)
    x0, y, xt = rng.normal(size=(3, 5))
    for i in range(1, 4):
        eta_prev, eta_t = s.etas[i - 1], s.etas[i]
        alpha = eta_t - eta_prev
        e0 = y - x0
        prior_var, prior_mean = kappa ** 2 * eta_prev, x0 + eta_prev * e0  # x_{t-1} | x_0, y
        lik_var = kappa ** 2 * alpha  # x_t | x_{t-1} ~ N(x_{t-1} + alpha e0, lik_var)
        var = 1.0 / (1.0 / prior_var + 1.0 / lik_var)
        mean = var * (prior_mean / prior_var + (xt - alpha * e0) / lik_var)
        ours = s.posterior_mean_coef1[i] * xt + s.posterior_mean_coef2[i] * x0
        np.testing.assert_allclose(ours, mean, rtol=1e-10, atol=1e-12)
        assert s.posterior_variance[i] == pytest.approx(var, rel=1e-10)


def test_step_samples_the_posterior_and_is_deterministic():
    s = ResShiftScheduler(num_train_timesteps=4)
    x_t, x0, y = torch.randn(3, 1, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = s.timesteps[1]  # index 2
    a = s.step(x0, t, x_t, generator=torch.Generator().manual_seed(5), lq_latents=y)
    b = s.step(x0, t, x_t, generator=torch.Generator().manual_seed(5), lq_latents=y)
    assert torch.equal(a.prev_sample, b.prev_sample)
    noise = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    mean = s.posterior_mean_coef1[2] * x_t + s.posterior_mean_coef2[2] * x0
    expected = mean + np.exp(0.5 * s.posterior_log_variance_clipped[2]) * noise
    torch.testing.assert_close(a.prev_sample, expected)
    last = s.step(x0, s.timesteps[-1], x_t, generator=torch.Generator().manual_seed(5), lq_latents=y)
    torch.testing.assert_close(last.prev_sample, x0)  # the last step returns the x0 prediction itself


def test_add_noise_has_the_forward_marginal():
    s = ResShiftScheduler(num_train_timesteps=4)
    n = 200_000
    x0, y = torch.full((n,), 0.3, dtype=torch.float64), torch.full((n,), -0.5, dtype=torch.float64)
    noise = torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    xt = s.add_noise(x0, noise, torch.full((n,), 2), lq_latents=y)
    eta = s.train_etas[2]
    assert xt.mean().item() == pytest.approx(0.3 + eta * (-0.8), abs=0.01)
    assert xt.std().item() == pytest.approx(2.0 * np.sqrt(eta), rel=0.01)


@pytest.mark.parametrize("kind", ["epsilon", "epsilon_scale", "residual"])
def test_other_parameterisations_invert_the_forward_process(kind):
    s = ResShiftScheduler(num_train_timesteps=4, predict_type=kind)
    x0, y, eps = torch.randn(3, 2, 3, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([1])
    xt = s.add_noise(x0, eps, t, lq_latents=y)
    output = {"epsilon": eps, "epsilon_scale": 2.0 * s.train_sqrt_etas[1] * eps, "residual": y - x0}[kind]
    torch.testing.assert_close(s.predict_x0(output, t, xt, lq_latents=y), x0)


def test_bad_step_counts_and_round_trip(tmp_path):
    s = ResShiftScheduler(num_train_timesteps=4)
    for bad in (0, 5, -1):
        with pytest.raises(ValueError):
            s.set_timesteps(bad)
    with pytest.raises(ValueError):
        s.step(torch.zeros(1), 7, torch.zeros(1))
    s.save_pretrained(tmp_path)
    loaded = ResShiftScheduler.from_pretrained(tmp_path)
    public = lambda config: {k: v for k, v in config.items() if not k.startswith("_")}
    assert public(loaded.config) == public(s.config)
    np.testing.assert_array_equal(loaded.train_etas, s.train_etas)
