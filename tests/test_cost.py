"""NFE by hooks and FLOPs by FlopCounterMode: measured, and consistent with independent counts."""

from __future__ import annotations

import pytest
import torch
from conftest import random_image
from PIL import Image
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import restorers
from leaderboard.cost import NFECounter, count_flops, measure_run, parameter_count


@pytest.mark.parametrize("steps", [1, 3, 4])
def test_measure_run_counts_unet_calls(tiny_pipeline, steps):
    with measure_run(tiny_pipeline) as cost:
        tiny_pipeline(image=random_image(8, 8), num_inference_steps=steps)
    assert cost.nfe == steps and cost.seconds > 0


def test_counter_detaches_its_hooks(tiny_pipeline):
    with NFECounter(tiny_pipeline) as counter:
        pass
    tiny_pipeline(image=random_image(8, 8), num_inference_steps=2)
    assert counter.count == 0


def test_flops_split_into_per_nfe_and_base(tiny_pipeline):
    report = count_flops(tiny_pipeline, 16, 16, num_inference_steps=3)
    assert report.nfe == 3
    # one UNet call on real tensors, counted independently of the pipeline machinery
    unet = tiny_pipeline.unet
    x, lq = torch.randn(1, 48, 16, 16), torch.randn(1, 3, 16, 16)
    with FlopCounterMode(display=False) as counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        unet(x, torch.tensor([1]), lq=lq)
    assert report.per_nfe == counter.get_total_flops() > 0
    assert report.total == pytest.approx(report.base + 3 * report.per_nfe)
    assert report.base >= 0


def test_flops_scale_with_pixels_and_steps(tiny_pipeline):
    small = count_flops(tiny_pipeline, 16, 16, 2)
    large = count_flops(tiny_pipeline, 32, 32, 2)
    assert large.per_nfe == pytest.approx(4 * small.per_nfe, rel=0.15)
    assert count_flops(tiny_pipeline, 16, 16, 4).total == pytest.approx(2 * small.total, rel=1e-9)


def test_flop_counting_runs_on_meta_and_leaves_weights_alone(tiny_pipeline):
    before = {k: v.clone() for k, v in tiny_pipeline.unet.state_dict().items()}
    count_flops(tiny_pipeline, 512, 512, 1)  # would be slow with real tensors; free on meta
    assert all(torch.equal(before[k], v) for k, v in tiny_pipeline.unet.state_dict().items())
    assert next(tiny_pipeline.unet.parameters()).device.type == "cpu"


def test_a_tiled_input_is_counted_tile_by_tile(tiny_pipeline):
    """300x300 LQ = 4 tiles of 256x256 (starts 0 and 44 per axis): 4x the FLOPs and NFE of one tile, as when it
    runs (the measured NFE of the real run agrees)."""
    one = count_flops(tiny_pipeline, 256, 256, 2)
    tiled = count_flops(tiny_pipeline, 300, 300, 2)
    assert tiled.nfe == 4 * one.nfe == 8
    assert tiled.total == pytest.approx(4 * one.total, rel=1e-12)
    assert tiled.per_nfe == pytest.approx(one.per_nfe, rel=1e-12)
    with measure_run(tiny_pipeline) as cost:
        tiny_pipeline(image=Image.new("RGB", (300, 300)), num_inference_steps=2)
    assert cost.nfe == tiled.nfe


def test_a_tile_shape_is_counted_once_per_pipeline(tiny_pipeline, monkeypatch):
    """A second large photo of another size whose tiles have the shape of the first's is not traced again (the
    demo counts every upload for its estimate), and gets the same figures as a count from scratch; another step
    count or a new tile shape is counted afresh."""
    import leaderboard.cost as cost

    first = count_flops(tiny_pipeline, 300, 300, 2)
    traced = []
    counting = cost._count_one
    monkeypatch.setattr(cost, "_count_one", lambda *a: traced.append(a[1]) or counting(*a))
    second = count_flops(tiny_pipeline, 310, 290, 2)  # four 256x256 tiles again
    assert traced == [] and (second.total, second.nfe) == (first.total, first.nfe)
    cost._TILE_COUNTS.clear()
    fresh = count_flops(tiny_pipeline, 310, 290, 2)
    assert traced == [(1, 3, 256, 256)] and (fresh.total, fresh.per_nfe, fresh.nfe) == (
        second.total, second.per_nfe, second.nfe)
    assert count_flops(tiny_pipeline, 310, 290, 3).nfe == 12 and traced[-1] == (1, 3, 256, 256) and len(traced) == 2
    count_flops(tiny_pipeline, 100, 90, 2)
    assert traced[-1] == (1, 3, 100, 90)  # height 100, width 90: a shape of its own


def test_bicubic_is_counted_not_declared():
    """No network (NFE 0), but its arithmetic runs in torch, so its FLOPs are counted: each output pixel of a pass
    sums its kernel's taps (x4 upscaling: 4 taps), 2 FLOPs per tap, rows then columns."""
    pipe = restorers.load_pipeline("bicubic", "sr_x4")
    report = count_flops(pipe, 16, 16)
    taps = 4
    rows = 2 * taps * (64 * 16) * 3  # first pass: 64 x 16 outputs per channel
    columns = 2 * taps * (64 * 64) * 3
    assert report.nfe == 0 and report.total == pytest.approx(rows + columns, rel=0.3) and report.total > 0
    with measure_run(pipe) as cost:
        pipe(image=random_image(8, 8))
    assert cost.nfe == 0 and parameter_count(pipe) == 0


def test_parameter_count(tiny_pipeline):
    assert parameter_count(tiny_pipeline) == sum(p.numel() for p in tiny_pipeline.unet.parameters())


def test_speed_benchmark_prints_measured_rows(tiny_checkpoint, capsys):
    from leaderboard import speed

    assert speed.main(["--methods", "resshift,bicubic", "--sizes", "16", "--nfe", "2", "--repeats", "1",
                       "--checkpoint", tiny_checkpoint]) == 0
    lines = capsys.readouterr().out.splitlines()
    resshift = next(line.split() for line in lines if line.startswith("resshift"))
    bicubic = next(line.split() for line in lines if line.startswith("bicubic"))
    assert resshift[1:4] == ["16x16", "2", "2"] and float(resshift[4]) > 0
    assert bicubic[3] == "0" and float(bicubic[4]) == 0


def test_flop_cache_is_per_pipeline_object_and_forgets_freed_ones():
    """The app evicts pipelines from its cache; a freed pipeline's counts must not be served to a new one (an
    ``id()`` key can be reused by the next object)."""
    import gc

    from conftest import TINY_UNET, make_tiny_pipeline

    from leaderboard.evaluate import _FLOP_CACHE, cached_flops
    from restorers.resshift.pipeline import ResShiftPipeline
    from restorers.resshift.scheduler import ResShiftScheduler
    from restorers.resshift.unet import ResShiftUNet

    first = make_tiny_pipeline()
    small = cached_flops(first, (16, 16), 2)
    assert cached_flops(first, (16, 16), 2) is small  # counted once
    del first
    gc.collect()
    wider = ResShiftPipeline(unet=ResShiftUNet(**{**TINY_UNET, "model_channels": 32}),
                             scheduler=ResShiftScheduler(num_train_timesteps=4), sf=4, latent_factor=4)
    entries = len(_FLOP_CACHE)
    report = cached_flops(wider, (16, 16), 2)
    assert len(_FLOP_CACHE) == entries + 1
    assert report.total == count_flops(wider, 16, 16, 2).total > small.total
    del wider
    gc.collect()
    assert len(_FLOP_CACHE) == entries


@pytest.mark.parametrize("method", ["resshift", "diffir", "dpir"])
def test_a_repeated_step_call_counts_what_tracing_it_again_counts(method, tiny_pipeline, monkeypatch):
    """Counting a step network once per call signature (every sampler step alike) gives the same FLOPs, per-NFE
    split and NFE as tracing every call."""
    from leaderboard import cost

    pipe = tiny_pipeline if method == "resshift" else restorers.load_pipeline(method, "sr_x4")
    once = count_flops(pipe, 64, 48, 3)
    calls = iter(range(10**6))
    monkeypatch.setattr(cost, "call_signature", lambda *_: next(calls))  # never the same: every call traced
    traced = count_flops(pipe, 64, 48, 3)
    assert (once.total, once.per_nfe, once.base, once.nfe) == (traced.total, traced.per_nfe, traced.base, traced.nfe)
    assert once.nfe >= 3 and once.per_nfe > 0


def test_an_estimate_extrapolates_other_step_counts_from_one_count(tiny_pipeline, monkeypatch):
    """A time estimate for 4 steps reuses a cached 2-step count of the same size (base + 4 step calls), and says
    exactly what a count of 4 steps would; a size never counted is counted."""
    from leaderboard import evaluate

    pipe = make_tiny_copy(tiny_pipeline)
    evaluate.cached_flops(pipe, (24, 16), 2)
    counted = []
    monkeypatch.setattr(evaluate, "count_flops", lambda *a: counted.append(a) or count_flops(*a))
    estimate = evaluate.estimated_flops(pipe, (24, 16), 4)
    assert not counted
    exact = count_flops(pipe, 16, 24, 4)
    assert (estimate.total, estimate.per_nfe, estimate.base, estimate.nfe) == pytest.approx(
        (exact.total, exact.per_nfe, exact.base, exact.nfe))
    evaluate.estimated_flops(pipe, (32, 16), 4)
    assert len(counted) == 1


def make_tiny_copy(pipe):
    """A pipeline object of its own (the FLOP cache is per object), sharing the tiny networks."""
    return type(pipe)(unet=pipe.unet, scheduler=pipe.scheduler, vqvae=None, sf=4, latent_factor=4)


def test_counting_flops_installs_no_process_wide_module_hooks(tiny_pipeline, monkeypatch):
    """Global module hooks made Dynamo recompile a compiled network running in another thread meanwhile (a
    visitor's restore while the page counted FLOPs for its estimate); the totals stay FlopCounterMode's."""
    import torch.nn.modules.module as module_state
    from torch.utils.module_tracker import ModuleTracker

    from leaderboard.cost import totals_only_flop_counter

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 1))
    x = torch.rand(1, 3, 16, 16)
    with FlopCounterMode(display=False) as reference:
        net(x)
    with totals_only_flop_counter() as counter:
        assert not module_state._global_forward_hooks and not module_state._global_forward_pre_hooks
        net(x)
    assert counter.get_total_flops() == reference.get_total_flops() > 0
    entered = []
    original = ModuleTracker.__enter__
    monkeypatch.setattr(ModuleTracker, "__enter__", lambda self: entered.append(1) or original(self))
    count_flops(tiny_pipeline, 24, 20, None)  # a size no other test counted (the counts are cached)
    assert entered == []


def test_throughput_parts_time_and_count_each_declared_network(tiny_pipeline):
    """benchmarks/throughput.py --parts: each network's FLOPs are the ones the leaderboard counts, and the
    pipeline's methods are its own again afterwards."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "throughput.py"
    spec = importlib.util.spec_from_file_location("throughput", path)
    throughput = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(throughput)
    image = random_image(16, 16)
    seconds, flops, total = throughput.network_parts(
        tiny_pipeline, lambda: tiny_pipeline(image=image, num_inference_steps=3))
    report = count_flops(tiny_pipeline, 16, 16, num_inference_steps=3)
    assert tiny_pipeline.vqvae is None  # pixel space: the UNet is the only network
    assert set(seconds) == {"unet"} and set(flops) == set(seconds)
    # (attention counts a little differently on real tensors than on the meta device the leaderboard uses)
    assert flops["unet"] == pytest.approx(3 * report.per_nfe, rel=0.01) and flops["unet"] <= report.total
    assert 0 < seconds["unet"] <= total
    assert "forward" not in vars(tiny_pipeline.unet)
