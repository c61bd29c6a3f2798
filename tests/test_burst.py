"""Burst JDD-SR: the synthetic camera, the burst degradation, the raw-frame layout and the burst pipelines."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import restorers
from conftest import smooth_image
from leaderboard.cost import count_flops, measure_run
from restorers.baselines.burst_naive import NaiveBurstPipeline
from restorers.burst.camera import bilinear_demosaic, mosaic, pack, process, srgb_to_linear, unprocess
from restorers.burst.alignment import global_motion, in_hq_pixels
from restorers.burst.kernel_merge import kernel_merge
from restorers.burst.merge_network import MergeBurstNet
from restorers.burst.pipeline import BurstDPIRPipeline, BurstPipeline
from restorers.burst.raw_burst import RawBurst
from restorers.degradations.synthetic_burst import SyntheticBurst, noise_levels
from restorers.dpir.denoiser import DenoiserNet
from restorers.dpir.fusion import FusionNet
from restorers.dpir.scheduler import DPIRScheduler
from restorers.image_io import InvalidImageError
from restorers.paths import EXAMPLES

TASK = restorers.get_task("burst_jddsr")


def tiny_network(seed: int = 0) -> MergeBurstNet:
    torch.manual_seed(seed)
    return MergeBurstNet(channels=8, num_blocks=1).eval()


def photo_burst(name: str, size: int = 256, seed: int = 0):
    """A burst of the centre of an example photo, its frames (N, h, w) and true HQ motions (N, 2, 3)."""
    photo = Image.open(EXAMPLES / name).convert("RGB")
    left, top = (photo.width - size) // 2, (photo.height - size) // 2
    hq = np.asarray(photo.crop((left, top, left + size, top + size)))
    frames, matrices = SyntheticBurst().frames_and_motion(hq, np.random.default_rng(seed))
    return hq, np.round(frames * 65535.0) / 65535.0, np.stack(matrices)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def test_the_camera_round_trip_returns_the_srgb_colours():
    rng = np.random.default_rng(0)
    srgb = rng.uniform(0.2, 0.8, size=(6, 6, 3)) * np.array([0.45, 0.9, 0.55])  # in the camera's range
    camera = unprocess(srgb)
    assert camera.min() >= 0 and camera.max() <= 1
    back = process(torch.from_numpy(camera).permute(2, 0, 1)[None].float())[0].permute(1, 2, 0).numpy()
    assert np.abs(back - srgb).max() < 1e-4
    grey = process(torch.full((1, 3, 1, 1), 0.2) / torch.tensor([2.0, 1.0, 1.6]).view(1, 3, 1, 1))
    assert torch.allclose(grey, grey[:, :1].expand_as(grey), atol=1e-5)  # a white-balanced grey stays grey
    assert np.isclose(srgb_to_linear(np.array(0.5)), 0.21404, atol=1e-5)


def test_rggb_layout_and_packing():
    rgb = np.zeros((4, 4, 3))
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 1.0, 2.0, 3.0
    raw = mosaic(rgb)
    assert raw[0, 0] == 1 and raw[0, 1] == 2 and raw[1, 0] == 2 and raw[1, 1] == 3
    packed = pack(torch.from_numpy(raw))
    assert packed.shape == (4, 2, 2) and packed[:, 0, 0].tolist() == [1, 2, 2, 3]


def test_bilinear_demosaic_keeps_a_flat_colour_everywhere_including_the_borders():
    rgb = np.ones((6, 8, 3)) * np.array([0.2, 0.5, 0.7])
    raw = torch.from_numpy(mosaic(rgb)).float()[None, None]
    out = bilinear_demosaic(raw)[0].permute(1, 2, 0).numpy()
    assert np.abs(out - rgb).max() < 1e-6


def test_the_burst_is_seeded_shaped_and_moves_every_frame_but_the_first():
    hq = np.asarray(smooth_image(64, 48, seed=1))
    degradation = SyntheticBurst(num_frames=5)
    one = degradation.frames(hq, np.random.default_rng(3))
    assert one.shape == (5, 12, 16) and one.dtype == np.float32
    assert np.array_equal(one, degradation.frames(hq, np.random.default_rng(3)))
    assert not np.array_equal(one, degradation.frames(hq, np.random.default_rng(4)))
    still = SyntheticBurst(num_frames=5, max_translation=0.0, max_rotation=0.0).frames(hq, np.random.default_rng(3))
    moved = np.abs(one - still).mean(axis=(1, 2))  # the same noise draws: only the motion differs
    assert moved[0] == 0 and (moved[1:] > 1e-3).all()
    lq, conditions = degradation.degrade(hq, np.random.default_rng(3))
    assert lq.shape == (12, 16, 5) and lq.dtype == np.uint16 and conditions == {}
    with pytest.raises(ValueError, match="multiples of 8"):
        degradation.frames(hq[:44], np.random.default_rng(0))


def test_noise_levels_stay_in_brooks_ranges():
    rng = np.random.default_rng(0)
    shots, reads = zip(*(noise_levels(rng) for _ in range(2000)))
    assert 1e-4 <= min(shots) and max(shots) <= 1.2e-2
    # log(read) = 2.18 log(shot) + 1.2 + N(0, 0.26): the residual has that spread
    residual = np.log(reads) - 2.18 * np.log(shots) - 1.2
    assert abs(residual.mean()) < 0.03 and abs(residual.std() - 0.26) < 0.02


def test_the_task_degrades_an_image_into_a_raw_burst():
    hq = smooth_image(70, 66, seed=2)
    lq, conditions = TASK.degrade_with_conditions(hq)
    assert isinstance(lq, RawBurst) and lq.num_frames == 14 and lq.size == (16, 16) and conditions == {}
    assert TASK.modcrop(hq).size == (64, 64)
    again, _ = TASK.degrade_with_conditions(hq)
    assert np.array_equal(lq.frames, again.frames)  # seeded by the pixels: the app and the benchmark agree
    assert lq.frame_preview().size == (16, 16)


def test_raw_frames_round_trip_through_16_bit_pngs(tmp_path):
    burst, _ = TASK.degrade_with_conditions(smooth_image(64, 64, seed=3))
    paths = burst.save_pngs(tmp_path)
    assert Image.open(paths[0]).mode.startswith("I;16")
    again = RawBurst.from_files(paths)
    assert np.array_equal(again.frames, burst.frames)
    assert np.array_equal(RawBurst.from_files([p.read_bytes() for p in paths]).frames, burst.frames)


def test_bad_raw_uploads_get_one_sentence_each(tmp_path):
    burst, _ = TASK.degrade_with_conditions(smooth_image(64, 64, seed=3))
    paths = burst.save_pngs(tmp_path / "good")
    with pytest.raises(InvalidImageError, match="at least 2 raw frames"):
        RawBurst.from_files(paths[:1])
    rgb = tmp_path / "rgb.png"
    smooth_image(16, 16).save(rgb)
    with pytest.raises(InvalidImageError, match="frame 2 is a RGB image; raw frames are 16-bit"):
        RawBurst.from_files([paths[0], rgb])
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((20, 20), np.uint16)).save(small)
    with pytest.raises(InvalidImageError, match="frame 2 is 20x20 but frame 1 is 16x16"):
        RawBurst.from_files([paths[0], small])
    odd = tmp_path / "odd.png"
    Image.fromarray(np.zeros((21, 21), np.uint16)).save(odd)
    with pytest.raises(InvalidImageError, match="even width and height"):
        RawBurst.from_files([odd, odd])
    broken = tmp_path / "broken.png"
    broken.write_bytes(paths[0].read_bytes()[:60])
    with pytest.raises(InvalidImageError):
        RawBurst.from_files([paths[0], broken])


def test_the_naive_baseline_is_the_first_frame_alone_with_counted_flops():
    burst, _ = TASK.degrade_with_conditions(smooth_image(64, 64, seed=4))
    pipe = NaiveBurstPipeline(sf=4)
    with measure_run(pipe) as cost:
        out = pipe(image=burst, output_type="np").images[0]
    assert out.shape == (64, 64, 3) and cost.nfe == 0
    changed = RawBurst(np.concatenate([burst.frames[:1], np.zeros_like(burst.frames[1:])]))
    assert np.array_equal(out, pipe(image=changed, output_type="np").images[0])
    assert count_flops(pipe, 16, 16).total > 0


@pytest.mark.parametrize("name", ["hq_astronaut.png", "hq_spiff.png"])
def test_opencv_finds_each_frames_hand_shake_to_a_fraction_of_a_pixel(name):
    """The merge stands on this estimate: at the centre of the photo, every frame's estimated displacement is
    within half an HQ pixel of the true one (hand-shake moves frames by up to 24 HQ pixels)."""
    hq, frames, truth = photo_burst(name)
    warps = global_motion(frames)
    assert warps.shape == (14, 2, 3) and np.array_equal(warps[0], np.eye(2, 3))
    centre = np.array([127.5, 127.5, 1.0])
    errors = [np.linalg.norm(in_hq_pixels(w) @ centre - m @ centre) for w, m in zip(warps[1:], truth[1:])]
    shakes = [np.linalg.norm(m @ centre - centre[:2]) for m in truth[1:]]
    assert max(errors) < 0.5 and np.mean(errors) < 0.25, errors
    assert np.mean(shakes) > 5  # the frames did move


def test_the_kernel_merge_recovers_what_one_frame_cannot_and_keeps_a_flat_colour():
    """14 aligned frames merged onto the x4 grid beat the reference frame alone, and beat the same merge with the
    motion ignored; a flat colour comes back flat wherever samples land."""
    hq, frames, truth = photo_burst("hq_astronaut.png")
    target = torch.from_numpy(unprocess(hq / 255.0)).permute(2, 0, 1).float()[None]  # linear camera RGB
    tensor = torch.from_numpy(frames).float()[None]
    naive = torch.nn.functional.interpolate(bilinear_demosaic(tensor[:, :1]), scale_factor=4, mode="bilinear",
                                            align_corners=False)
    aligned, weight = kernel_merge(tensor, torch.from_numpy(global_motion(frames))[None].float(), naive)
    still, _ = kernel_merge(tensor, torch.eye(2, 3).expand(1, 14, 2, 3), naive)
    inner = (..., slice(24, -24), slice(24, -24))  # the shake's mirrored borders are scored by no one
    score = {name: psnr(image[inner].numpy(), target[inner].numpy())
             for name, image in (("aligned", aligned), ("still", still), ("naive", naive))}
    assert score["aligned"] > score["naive"] + 2 and score["aligned"] > score["still"] + 2, score
    covered = (weight[inner] > 0.05).float().mean(dim=(0, 2, 3))  # per colour: where some sample landed near
    assert covered[1] > 0.99 and covered.min() > 0.9, covered  # green is twice as dense as red and blue
    flat = torch.full((1, 5, 16, 16), 0.3)
    merged, weight = kernel_merge(flat, torch.eye(2, 3).expand(1, 5, 2, 3), torch.zeros(1, 3, 64, 64))
    landed = weight > 0.5
    assert landed.any(dim=(2, 3)).all() and torch.allclose(merged[landed], torch.tensor(0.3), atol=2e-3)


def test_the_untrained_burst_network_is_the_merge_and_any_frame_count_works():
    network = tiny_network()
    _, frames, _ = photo_burst("hq_astronaut.png", size=128)
    tensor = torch.from_numpy(frames).float()[None]
    with torch.no_grad():
        out = network(tensor)
        assert torch.allclose(out, network.merge(tensor)[0], atol=1e-6)  # the tail starts at zero
        torch.nn.init.normal_(network.tail.weight, std=0.1)
        fewer = network(tensor[:, :3])
        odd = network(tensor[:, :, :30, :30])  # mirrored to an even mosaic, cut back
    assert out.shape == fewer.shape == (1, 3, 128, 128) and odd.shape == (1, 3, 120, 120)
    with torch.device("meta"):  # FLOP counting: the identity motion stands in for OpenCV's estimate
        assert network(torch.zeros(1, 14, 32, 32)).shape == (1, 3, 128, 128)


def test_burst_pipelines_count_nfe_and_flops_per_frame_and_round_trip(tmp_path):
    burst, _ = TASK.degrade_with_conditions(smooth_image(64, 64, seed=5))
    regression = BurstPipeline(network=tiny_network(), sf=4)
    regression.set_progress_bar_config(disable=True)
    with measure_run(regression) as cost:
        out = regression(image=burst, output_type="np").images[0]
    assert out.shape == (64, 64, 3) and cost.nfe == 1
    # the CNN's FLOPs; the merge's scatter-adds are arithmetic the counter does not see (as any elementwise op)
    assert count_flops(regression, 16, 16).total > 0
    regression.save_pretrained(tmp_path / "regression", safe_serialization=True)
    loaded = restorers.load_pipeline("regression", "burst_jddsr", checkpoint=str(tmp_path / "regression"))
    assert isinstance(loaded, BurstPipeline)
    assert np.array_equal(loaded(image=burst, output_type="np").images[0], out)

    torch.manual_seed(0)
    dpir = BurstDPIRPipeline(ir_network=tiny_network(), denoiser=DenoiserNet(channels=8, num_groups=1).eval(),
                             fusion=FusionNet(num_features=8, growth=4, time_dim=8).eval(),
                             scheduler=DPIRScheduler(tau=5), sf=4)
    dpir.set_progress_bar_config(disable=True)
    with measure_run(dpir) as cost:
        result = dpir(image=burst, num_inference_steps=2, generator=torch.Generator().manual_seed(0),
                      output_type="np").images[0]
    assert result.shape == (64, 64, 3) and cost.nfe == 3  # the burst network + 2 denoise-and-fuse steps
    dpir.save_pretrained(tmp_path / "dpir", safe_serialization=True)
    again = restorers.load_pipeline("dpir", "burst_jddsr", checkpoint=str(tmp_path / "dpir"))
    assert isinstance(again, BurstDPIRPipeline) and again.start_step() == 5
    same = again(image=burst, num_inference_steps=2, generator=torch.Generator().manual_seed(0),
                 output_type="np").images[0]
    assert np.allclose(same, result, atol=1e-6)


def test_an_rgb_pipeline_refuses_a_burst_and_a_burst_pipeline_an_image():
    burst, _ = TASK.degrade_with_conditions(smooth_image(64, 64, seed=6))
    with pytest.raises(InvalidImageError, match="restores raw bursts"):
        BurstPipeline(network=tiny_network(), sf=4)(image=smooth_image(16, 16))
    with pytest.raises(InvalidImageError, match="not a raw burst"):
        restorers.load_pipeline("bicubic", "sr_x4")(image=burst)


def test_the_burst_tau_sweep_has_no_conventional_sampler_it_cannot_run():
    """The ``ddpm`` method serves image tasks only, so the burst grid runs DP-IR's starts, the IR network and the
    naive baseline, and never asks for a 1000-step sampler it would refuse."""
    from leaderboard.tau_sweep import grid_jobs

    jobs = grid_jobs("burst_jddsr")
    methods = {method for method, _, _ in jobs}
    assert methods == {"dpir", "regression", "burst_naive"}
    assert ("dpir", 5, 5) in jobs and ("dpir", 1, 5) in jobs  # DDPM from tau = 5 and the default one DDIM step
