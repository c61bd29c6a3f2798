"""Official weights by name, end to end against a real local HTTP server serving random weights in the official
layout: download, convert once, cache, load without the network afterwards; clear sentences when it cannot."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

import restorers
from restorers import official
from restorers.resshift.presets import PRESETS
from restorers.resshift.unet import ResShiftUNet
from tests.test_resshift_convert import random_vq_state, small_bicsr


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def release_server(tmp_path_factory):
    """A folder laid out as ResShift's v2.0 release (bicsr UNet + f4 VQ, official key names), served over HTTP."""
    root = tmp_path_factory.mktemp("release")
    with pytest.MonkeyPatch.context() as patch:  # a narrow bicsr UNet: the official key names, 1/25 the bytes
        patch.setitem(PRESETS, "bicsr", small_bicsr())
        torch.manual_seed(0)
        unet = {f"module.{k}": v for k, v in ResShiftUNet(**PRESETS["bicsr"]["unet"]).state_dict().items()}
        torch.save({"state_dict": unet}, root / "resshift_bicsrx4_s4.pth")
        torch.save({"state_dict": random_vq_state()}, root / "autoencoder_vq_f4.pth")
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
        server.shutdown()
        server.server_close()


def test_official_name_downloads_converts_once_and_loads_offline_after(release_server, tmp_path, monkeypatch):
    root, url = release_server
    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path))
    monkeypatch.setenv("RESTORERS_OFFICIAL_MIRROR", url)
    pipe = restorers.load_pipeline("resshift", "sr_x4", checkpoint="official:bicsr")
    served_unet = ResShiftUNet(**PRESETS["bicsr"]["unet"])
    assert sum(p.numel() for p in pipe.unet.parameters()) == sum(p.numel() for p in served_unet.parameters())
    assert pipe.vqvae is not None
    assert pipe.step_limits() == (4, 4)
    folder = official.folder("resshift", "bicsr")
    record = json.loads((folder / "conversion.json").read_text())
    served = hashlib.sha256((root / "resshift_bicsrx4_s4.pth").read_bytes()).hexdigest()
    assert record["preset"] == "bicsr" and record["sources"]["unet"]["sha256"] == served
    assert not list(tmp_path.rglob("*.part"))  # nothing half-written
    # offline now: the cached folder is used, nothing is fetched again
    monkeypatch.setenv("RESTORERS_OFFICIAL_MIRROR", "http://127.0.0.1:9/")  # the discard port: refuses
    again = restorers.load_pipeline("resshift", "sr_x4", checkpoint="official:bicsr")
    key = next(iter(pipe.unet.state_dict()))
    assert torch.equal(again.unet.state_dict()[key], pipe.unet.state_dict()[key])
    # the demo keeps offering a cached release while offline, and says why the others are missing
    from leaderboard import serving

    serving.official_weights_reachable.cache_clear()
    try:
        keys = [key for _, key in serving.method_choices("sr_x4")]
        assert "resshift@official:bicsr" in keys and "resshift@official:realsr_v3" not in keys
        assert "cannot reach their release host" in serving.official_note("realsr_x4")
        choice = serving.choice_of("resshift@official:bicsr", "sr_x4")
        assert choice.load_checkpoint == "official:bicsr" and "official bicsr" in choice.title
    finally:
        serving.official_weights_reachable.cache_clear()


def test_the_demo_lists_official_releases_when_their_host_answers(release_server, tmp_path, monkeypatch):
    from leaderboard import serving

    _, url = release_server
    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path))
    monkeypatch.setenv("RESTORERS_OFFICIAL_MIRROR", url)
    serving.official_weights_reachable.cache_clear()
    try:
        choices = dict((key, title) for title, key in serving.method_choices("realsr_x4"))
        assert {"resshift@official:realsr_v1", "resshift@official:realsr_v2", "resshift@official:realsr_v3"} <= set(choices)
        assert "downloaded on first use" in choices["resshift@official:realsr_v3"]
        assert "are listed too" in serving.official_note("realsr_x4") and serving.official_note("deblur") == ""
        assert "faceir" in serving.shown_tasks()  # the face tab exists only through the authors' face model
        with pytest.raises(serving.RequestError, match="no official resshift release 'v9'"):
            serving.choice_of("resshift@official:v9", "realsr_x4")
        with pytest.raises(serving.RequestError, match="no official resshift release 'bicsr' for realsr_x4"):
            serving.choice_of("resshift@official:bicsr", "realsr_x4")
    finally:
        serving.official_weights_reachable.cache_clear()


def test_without_a_network_the_message_is_one_sentence_without_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path))
    monkeypatch.setenv("RESTORERS_OFFICIAL_MIRROR", "http://127.0.0.1:9/")
    with pytest.raises(official.OfficialWeightsUnavailable) as caught:
        restorers.load_pipeline("resshift", "realsr_x4", checkpoint="official:realsr_v3")
    message = str(caught.value)
    assert "could not download resshift_realsrx4_s4_v3.pth" in message and str(tmp_path) not in message
    assert not official.is_cached("resshift", "realsr_v3") and not list(tmp_path.rglob("*.part"))


def test_a_missing_release_file_leaves_nothing_behind(release_server, tmp_path, monkeypatch):
    _, url = release_server
    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path))
    monkeypatch.setenv("RESTORERS_OFFICIAL_MIRROR", url)  # serves bicsr only: realsr_v3's UNet is a 404
    with pytest.raises(official.OfficialWeightsUnavailable, match="answered 404"):
        official.ensure("resshift", "realsr_v3")
    assert not official.is_cached("resshift", "realsr_v3") and not list(tmp_path.rglob("*.part"))


def test_names_are_checked_against_the_method_and_task():
    assert set(official.names("resshift", "realsr_x4")) == {"realsr_v1", "realsr_v2", "realsr_v3"}
    assert official.names("resshift", "sr_x4") == ["bicsr"]
    with pytest.raises(official.OfficialWeightsUnavailable, match="no official release named 'v9'"):
        official.release("resshift", "v9")
    with pytest.raises(official.OfficialWeightsUnavailable, match="not a sr_x4 model"):
        official.release("resshift", "realsr_v3", "sr_x4")
    with pytest.raises(official.OfficialWeightsUnavailable, match="Google Drive"):
        restorers.load_pipeline("diffir", "sr_x4", checkpoint="official:realsr")
    assert all(r.url(f).startswith("https://github.com/zsyOAOA/ResShift/releases/download/v2.0/")
               for r in official.RELEASES.values() for f in r.files.values())
