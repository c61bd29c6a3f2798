"""Opt-in compiled inference (restorers.compile): same results, hooks and saving unaffected, eager fallbacks."""

from __future__ import annotations

import torch
from conftest import make_tiny_pipeline, random_image

from restorers import compile as compile_module


def test_only_no_grad_cpu_calls_outside_dispatch_modes_use_the_compiled_function(monkeypatch):
    calls = []

    def fake_compile(function, dynamic=None):
        def compiled(*args, **kwargs):
            calls.append("compiled")
            return function(*args, **kwargs)
        return compiled

    monkeypatch.setattr(torch, "compile", fake_compile)
    def double(x):
        return x * 2

    run = compile_module.compile_for_cpu_inference(double)
    x = torch.ones(1, 3)
    with torch.no_grad():
        run(x)
    assert calls == ["compiled"]
    run(x)  # autograd on: training must not see the compiled graph
    with torch.no_grad():
        run(torch.ones(1, 3, device="meta"))  # the meta device (cost counting)
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False):  # FLOP counting on the CPU
            run(x)
    assert calls == ["compiled"]
    assert run.eager is double


def test_a_compiled_pipeline_equals_the_eager_one_and_still_counts_its_calls(tmp_path):
    pipe = make_tiny_pipeline()
    image = random_image(20, 20)
    eager = pipe(image=image, generator=torch.Generator().manual_seed(3), output_type="np").images[0]
    calls = []
    handle = pipe.unet.register_forward_hook(lambda *_: calls.append(1))
    pipe.enable_compile()
    assert hasattr(pipe.unet.forward, "eager")
    fast = pipe(image=image, generator=torch.Generator().manual_seed(3), output_type="np").images[0]
    handle.remove()
    assert len(calls) == 4  # NFE is still measured by hooks on the module
    assert abs(fast - eager).max() < 1e-5
    # the demo's Stop checks (new hooks for every visitor's run) must not make Dynamo compile the network again
    from torch._dynamo.utils import counters

    from leaderboard import serving

    frames = counters["frames"]["total"]
    for session in ("first visitor", "second visitor"):
        with serving.stop_hooks(pipe, session):
            pipe(image=image, generator=torch.Generator().manual_seed(3), output_type="np")
    assert counters["frames"]["total"] == frames
    pipe.save_pretrained(tmp_path / "saved", safe_serialization=True)  # the instance attributes are not saved
    reloaded = type(pipe).from_pretrained(tmp_path / "saved")
    assert not hasattr(reloaded.unet.forward, "eager")
    pipe.disable_compile()
    assert not hasattr(pipe.unet.forward, "eager") and "forward" not in vars(pipe.unet)


def record_compiled_shapes(monkeypatch) -> list:
    """``torch.compile`` replaced by a pass-through that records the first input's shape of every compiled call."""
    shapes = []

    def fake_compile(function, dynamic=None):
        def compiled(*args, **kwargs):
            shapes.append(tuple(args[0].shape))
            return function(*args, **kwargs)
        return compiled

    monkeypatch.setattr(torch, "compile", fake_compile)
    return shapes


def test_tiles_only_compiles_the_tile_windows_and_runs_other_sizes_eagerly(monkeypatch, tmp_path):
    """The demo's setting: one fixed tile shape is compiled, an untiled photo of any size never triggers a compile;
    the compiled code finds its on-disk cache under the project's cache folder."""
    shapes = record_compiled_shapes(monkeypatch)
    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path))
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    pipe = make_tiny_pipeline().enable_compile(tiles_only=True)
    import os

    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "inductor")
    pipe(image=random_image(20, 20), generator=torch.Generator().manual_seed(0))
    pipe(image=random_image(28, 24), generator=torch.Generator().manual_seed(0))
    assert shapes == []  # untiled: eager, whatever the size
    # the estimate's question: will this size compile first? (tiled by default above 256x256 LQ pixels)
    assert pipe.compile_pending(300, 300) and not pipe.compile_pending(200, 200)
    before = compile_module.first_call_seconds()
    pipe(image=random_image(40, 24), generator=torch.Generator().manual_seed(0), tile_size=16, tile_overlap=4)
    assert len(shapes) >= 3 * 4 * 2 and len(set(shapes)) == 1  # every window, one shape
    assert compile_module.first_call_seconds() > before and not pipe.compile_pending(300, 300)
    pipe.disable_compile().enable_compile()
    pipe(image=random_image(20, 20), generator=torch.Generator().manual_seed(0))
    assert len(shapes) > 3 * 4 * 2  # without tiles_only every call is compiled


def test_a_compiler_failure_falls_back_to_eager_for_good(monkeypatch):
    """A graph the compiler cannot handle must not fail a restore: that call and every later one run eagerly."""
    attempts = []

    def failing_compile(function, dynamic=None):
        def compiled(*args, **kwargs):
            attempts.append(1)
            raise RuntimeError("backend compiler failed")
        return compiled

    monkeypatch.setattr(torch, "compile", failing_compile)
    run = compile_module.compile_for_cpu_inference(lambda x: x + 1)
    with torch.no_grad():
        assert torch.equal(run(torch.zeros(2)), torch.ones(2))
        assert torch.equal(run(torch.ones(2)), torch.full((2,), 2.0))
    assert attempts == [1] and "backend compiler failed" in str(run.compile_error())
    with torch.no_grad(), __import__("pytest").raises(TypeError):
        compile_module.compile_for_cpu_inference(lambda x: x + 1)("not a tensor")  # the input's own error


def test_compile_tile_now_compiles_the_tile_shape_once_and_then_nothing(monkeypatch):
    """A server's start-up compile: tile-shaped windows through the compiled code, so a visitor's first large
    photo finds it compiled (the Restore button stops saying it compiles first)."""
    shapes = record_compiled_shapes(monkeypatch)
    pipe = make_tiny_pipeline()
    pipe.default_tile, pipe.default_overlap, pipe.max_untiled_pixels = 16, 4, 16 * 16  # small tiles: a fast test
    pipe.enable_compile(tiles_only=True)
    assert pipe.compile_pending(64, 64)
    assert pipe.compile_tile_now() > 0
    assert shapes and len(set(shapes)) == 1 and not pipe.compile_pending(64, 64)
    count = len(shapes)
    assert pipe.compile_tile_now() == 0.0 and len(shapes) == count  # nothing pending: nothing runs
    assert make_tiny_pipeline().compile_tile_now() == 0.0  # not compiled at all: nothing to do
