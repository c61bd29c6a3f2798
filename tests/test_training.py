"""Offline training data, pair sampling, the loss, and resumable state (no pickle)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import make_tiny_pipeline
from restorers.degradations import matlab_imresize
from restorers.training import data
from restorers.training.checkpointing import load_training_state, save_training_state
from restorers.training.corpus import photos
from restorers.training.loop import lr_at
from restorers.training.pairs import SRPairSampler, photo_pyramid
from restorers.training.train_resshift import training_loss

# pip photos only: the Debian part of the corpus is not fetched in CI
PIP_TRAIN = [p for p in photos() if p.split == "train" and not p.is_debian][:3]


def test_dead_leaves_are_reproducible_and_varied():
    a = data.dead_leaves(64, np.random.default_rng(3))
    b = data.dead_leaves(64, np.random.default_rng(3))
    c = data.dead_leaves(64, np.random.default_rng(4))
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 10


def test_pairs_are_matlab_bicubic_downscales():
    sampler = SRPairSampler(crop=32, scale=4, pool_size=4, seed=0, photos=PIP_TRAIN)
    hq, lq = sampler.batch(3)
    assert hq.shape == (3, 3, 32, 32) and lq.shape == (3, 3, 8, 8)
    hq_uint8 = (hq[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    expected = matlab_imresize(hq_uint8, 0.25)
    assert np.array_equal((lq[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), expected)
    state = sampler.state()
    first = sampler.batch(2)
    sampler.set_state(state)
    assert torch.equal(first[0], sampler.batch(2)[0])  # the data stream resumes exactly


def test_photo_pyramid_halves_down_to_the_crop():
    levels = photo_pyramid(np.zeros((300, 520, 3), np.uint8), 64)
    assert [level.shape[:2] for level in levels] == [(300, 520), (150, 260), (75, 130)]


def test_training_loss_trains_the_tiny_model():
    pipe = make_tiny_pipeline()
    unet = pipe.unet.train()
    sampler = SRPairSampler(crop=32, scale=4, pool_size=4, seed=0, photos=PIP_TRAIN)
    hq, lq = sampler.batch(4)
    optimizer = torch.optim.Adam(unet.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):  # one fixed batch: the loss must fall
        loss = training_loss(unet, pipe.scheduler, hq, lq, torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < 0.7 * losses[0]


def test_learning_rate_schedule():
    assert lr_at(0, 1000, 1e-3, 100) == pytest.approx(1e-5)
    assert lr_at(99, 1000, 1e-3, 100) == pytest.approx(1e-3)
    assert lr_at(1000, 1000, 1e-3, 100) == pytest.approx(1e-4)


def test_training_state_round_trip_and_recovery(tmp_path):
    pipe = make_tiny_pipeline()
    model, ema = pipe.unet, make_tiny_pipeline(seed=1).unet
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(1, 48, 16, 16), torch.tensor([1]), lq=torch.randn(1, 3, 16, 16)).sample.mean().backward()
    optimizer.step()
    save_training_state(tmp_path, model, ema, optimizer, {"step": 7})
    save_training_state(tmp_path, model, ema, optimizer, {"step": 8})
    assert not list(tmp_path.rglob("*.pt")) and not list(tmp_path.rglob("*.bin"))
    fresh, fresh_ema = make_tiny_pipeline(seed=2).unet, make_tiny_pipeline(seed=3).unet
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    assert load_training_state(tmp_path, fresh, fresh_ema, fresh_opt)["step"] == 8
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))
    assert all(torch.equal(a, b) for a, b in zip(fresh_ema.state_dict().values(), ema.state_dict().values()))
    loaded, saved = fresh_opt.state_dict()["state"], optimizer.state_dict()["state"]
    assert loaded.keys() == saved.keys() and len(saved) > 0
    assert all(torch.equal(loaded[i][k], saved[i][k]) for i in saved for k in ("exp_avg", "exp_avg_sq", "step"))
    # a kill between the two renames leaves only state.old: resuming falls back to it
    (tmp_path / "state").rename(tmp_path / "gone")
    assert load_training_state(tmp_path, fresh, fresh_ema, fresh_opt)["step"] == 7
    assert load_training_state(tmp_path / "empty", fresh, fresh_ema, fresh_opt) is None


def test_deblur_pairs_use_the_task_degradation_reproducibly():
    from restorers.training.pairs import task_pairs

    scale, degrade = task_pairs("deblur")
    sampler = SRPairSampler(crop=48, scale=scale, pool_size=4, seed=0, photos=PIP_TRAIN, degrade=degrade)
    state = sampler.state()
    hq, lq = sampler.batch(2)
    assert scale == 1 and hq.shape == lq.shape == (2, 3, 48, 48)
    assert (lq - hq).abs().mean() > 0.005  # blurred and noisy, not the HQ
    sampler.set_state(state)
    assert torch.equal(sampler.batch(2)[1], lq)  # same kernel and noise after a resume


def test_inpainting_and_realsr_pairs_come_from_the_benchmark_degradations():
    from restorers.degradations import RandomHoles
    from restorers.training.pairs import split_conditions, task_pairs

    scale, degrade = task_pairs("inpaint")
    sampler = SRPairSampler(crop=64, scale=scale, pool_size=4, seed=0, photos=PIP_TRAIN, degrade=degrade)
    hq, lq = sampler.batch(4)
    image, mask = split_conditions(lq)
    assert lq.shape == (4, 4, 64, 64) and set(mask.unique().tolist()) <= {0.0, 1.0}
    fractions = mask.mean(dim=(1, 2, 3))
    assert ((fractions >= RandomHoles.min_fraction - 0.01) & (fractions <= RandomHoles.max_fraction + 0.01)).all()
    assert torch.equal(image * mask, torch.zeros_like(image))  # holes black, as the benchmark's LQ
    assert torch.allclose(image * (1 - mask), hq * (1 - mask))

    scale, degrade = task_pairs("realsr_x4")
    sampler = SRPairSampler(crop=128, scale=scale, pool_size=4, seed=0, photos=PIP_TRAIN, degrade=degrade)
    hq, lq = sampler.batch(2)
    assert scale == 4 and lq.shape == (2, 3, 32, 32) and split_conditions(lq)[1] is None


def test_fusion_loss_trains_only_the_fusion_net():
    from restorers.dpir.denoiser import DenoiserNet
    from restorers.dpir.fusion import FusionNet
    from restorers.dpir.scheduler import DPIRScheduler
    from restorers.regression.network import ResidualSRNet
    from restorers.training.train_denoiser import denoising_loss
    from restorers.training.train_fusion import fusion_loss, sample_timesteps

    torch.manual_seed(0)
    ir = ResidualSRNet(channels=8, num_blocks=1).requires_grad_(False)
    denoiser = DenoiserNet(channels=8, num_groups=1)
    fusion = FusionNet(num_features=8, growth=4, time_dim=8, ir_skip=True)
    scheduler = DPIRScheduler()
    hq, lq = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 8, 8)
    generator = torch.Generator().manual_seed(0)
    loss = fusion_loss(fusion, ir(lq), denoiser.requires_grad_(False), scheduler, hq, generator, tau_max=250)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is None for p in denoiser.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in fusion.parameters())
    t = sample_timesteps(1000, torch.Generator().manual_seed(1), 250, 1000)
    assert t.min() >= 1 and t.max() <= 1000 and 0.6 < (t <= 250).float().mean() < 0.9
    denoiser.requires_grad_(True)
    assert torch.isfinite(denoising_loss(denoiser, hq, torch.Generator().manual_seed(0), scheduler))


def test_fusion_loss_start_fraction_feeds_the_samplers_first_state():
    """With start_fraction 1 every sample is at t = tau and built from x_IR, not from x_0 (the HQ)."""
    from restorers.dpir.scheduler import DPIRScheduler
    from restorers.training.train_fusion import fusion_loss

    seen = {}

    def denoiser(rescaled, sigma):
        seen["rescaled"], seen["sigma"] = rescaled, sigma
        return rescaled

    def fusion(ir_estimate, denoised, t):
        seen["t"] = t
        return ir_estimate + 0 * denoised

    scheduler = DPIRScheduler(tau=5)  # so small that x_tau / sqrt(abar) is close to its mean
    hq, ir_estimate = torch.zeros(4, 3, 16, 16), torch.ones(4, 3, 16, 16)
    fusion_loss(fusion, ir_estimate, denoiser, scheduler, hq, torch.Generator().manual_seed(0), tau_max=250,
                start_fraction=1.0)
    assert torch.equal(seen["t"], torch.full((4,), 5))
    assert abs(float(seen["rescaled"].mean()) - 1.0) < 0.05  # around x_IR = 1, far from the HQ's 0
    fusion_loss(fusion, ir_estimate, denoiser, scheduler, hq, torch.Generator().manual_seed(0), tau_max=250)
    assert not torch.equal(seen["t"], torch.full((4,), 5))  # the paper's q(x_t | x_0) at random t


@pytest.mark.parametrize("hole_fill", ["constant", "push_pull"])
def test_resshift_inpainting_loss_trains_and_its_untrained_residual_net_returns_the_masked_input(hole_fill):
    """The inpainting configuration (sf 1, mask beside the image, the x0 a correction of the masked image's
    latent): untrained, the pipeline gives back the input with its holes at -1 (black) or pre-filled (push-pull);
    the loss, fed the LQ the same way, falls on one batch."""
    from restorers.hole_fill import push_pull_fill

    from conftest import TINY_UNET
    from restorers.resshift.pipeline import ResShiftPipeline
    from restorers.resshift.scheduler import ResShiftScheduler
    from restorers.resshift.unet import ResShiftUNet
    from restorers.training.pairs import split_conditions, task_pairs

    torch.manual_seed(0)
    config = {**TINY_UNET, "lq_size": 4 * TINY_UNET["image_size"], "cond_mask": True, "lq_residual": 4,
              "residual_sf": 1}
    unet = ResShiftUNet(**config)
    scheduler = ResShiftScheduler(num_train_timesteps=4)
    scale, degrade = task_pairs("inpaint")
    sampler = SRPairSampler(crop=64, scale=scale, pool_size=4, seed=0, photos=PIP_TRAIN, degrade=degrade)
    hq, lq = sampler.batch(3)
    image, mask = split_conditions(lq)

    pipe = ResShiftPipeline(unet=unet.eval(), scheduler=scheduler, vqvae=None, sf=1, latent_factor=4,
                            hole_fill=hole_fill)
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        raw = pipe.restore_padded(image, None, torch.Generator().manual_seed(0), None, mask=mask)
    assert torch.allclose(raw * (1 - mask), image * (1 - mask), atol=1e-5)  # known pixels: the input
    holes = mask.expand_as(raw) > 0
    if hole_fill == "constant":
        assert raw[holes].abs().max() < 1e-5  # holes: -1 in [-1, 1], black
    else:
        guess = (push_pull_fill(image * 2 - 1, mask) + 1) / 2
        assert torch.allclose(raw[holes], guess[holes], atol=1e-5) and raw[holes].std() > 0.01

    unet.train()
    optimizer = torch.optim.Adam(unet.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):
        loss = training_loss(unet, scheduler, hq, lq, torch.Generator().manual_seed(0), hole_fill=hole_fill)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < 0.7 * losses[0]


def test_an_sr_trunk_starts_the_inpainting_unet(tmp_path):
    import json

    from conftest import TINY_UNET
    from restorers.resshift.unet import ResShiftUNet
    from restorers.training.train_resshift import initialise_trunk

    sr = make_tiny_pipeline(seed=1)
    sr.save_pretrained(tmp_path / "sr")
    (tmp_path / "sr" / "training.json").write_text(json.dumps({"stages": [{"steps": 7, "train_seconds": 1}]}))
    inpaint = ResShiftUNet(**{**TINY_UNET, "lq_size": 4 * TINY_UNET["image_size"], "cond_mask": True})
    fresh_first = inpaint.input_blocks[0][0].weight.clone()
    assert initialise_trunk(inpaint, tmp_path / "sr") == [{"steps": 7, "train_seconds": 1}]
    theirs, ours = sr.unet.state_dict(), inpaint.state_dict()
    shared = [k for k in ours if k in theirs and ours[k].shape == theirs[k].shape]
    assert len(shared) > 0.9 * len(theirs)
    assert all(torch.equal(ours[k], theirs[k]) for k in shared)
    assert torch.equal(inpaint.input_blocks[0][0].weight, fresh_first)  # 4 + 48 input channels: its own
