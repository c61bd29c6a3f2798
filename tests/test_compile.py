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
    pipe.save_pretrained(tmp_path / "saved", safe_serialization=True)  # the instance attributes are not saved
    reloaded = type(pipe).from_pretrained(tmp_path / "saved")
    assert not hasattr(reloaded.unet.forward, "eager")
    pipe.disable_compile()
    assert not hasattr(pipe.unet.forward, "eager") and "forward" not in vars(pipe.unet)
