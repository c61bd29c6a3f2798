"""Shared fixtures: a tiny randomly initialised ResShift pipeline (fast on any CPU) and small images."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# the demo compiles ResShift's tile shape by default (a minute of both cores); tests compile only where they ask
os.environ["RESTORERS_DEMO_COMPILE"] = "0"

from restorers.resshift.pipeline import ResShiftPipeline  # noqa: E402
from restorers.resshift.scheduler import ResShiftScheduler  # noqa: E402
from restorers.resshift.unet import ResShiftUNet  # noqa: E402

TINY_UNET = dict(image_size=16, in_channels=48, out_channels=48, model_channels=16, channel_mult=(1, 2),
                 num_res_blocks=(1, 1), attention_resolutions=(8,), num_head_channels=8, swin_embed_dim=16,
                 swin_depth=2, window_size=4, lq_size=16, norm_groups=8)


def make_tiny_pipeline(seed: int = 0) -> ResShiftPipeline:
    torch.manual_seed(seed)
    unet = ResShiftUNet(**TINY_UNET).eval()
    pipe = ResShiftPipeline(unet=unet, scheduler=ResShiftScheduler(num_train_timesteps=4), vqvae=None, sf=4,
                            latent_factor=4)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def tiny_pipeline() -> ResShiftPipeline:
    return make_tiny_pipeline()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_pipeline) -> str:
    folder = tmp_path_factory.mktemp("tiny_ckpt")
    tiny_pipeline.save_pretrained(folder, safe_serialization=True)
    return str(folder)


def random_image(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    array = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
    return Image.fromarray(array[..., 0] if channels == 1 else array, mode)


def smooth_image(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth colourful image (a sum of low-frequency waves): SR metrics behave sensibly on it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(1, 4, size=3)
        channels.append(0.5 + 0.4 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    return Image.fromarray(np.round(np.stack(channels, -1) * 255).astype(np.uint8))


ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"  # the project's shared folder (reference fact sheets, LPIPS examples): CI has it


def shared_file(*parts: str) -> Path:
    """A file of ``../shared`` that a test needs: missing, the test fails with this sentence (it never skips)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"this test needs ../shared/{'/'.join(parts)} (the project's shared folder beside the "
                    "checkout, as CI has it)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The app started as a user starts it (``python app.py``) on a free port; shared by the app and browser tests."""
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "w") as handle:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=handle,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"app exited with {process.returncode}:\n{log.read_text()}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail(f"app did not answer on {url}:\n{log.read_text()}")
                time.sleep(1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
