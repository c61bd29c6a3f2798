"""One module knows every cache folder, and messages that reach a user name files, not where they live."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from restorers import paths


def test_every_cache_folder_follows_restorers_cache(monkeypatch, tmp_path):
    for variable in ("RESTORERS_CHECKPOINTS", "RESTORERS_IR_NETWORKS", "RESTORERS_CORPUS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("RESTORERS_CACHE", str(tmp_path))
    from restorers import lpips_weights
    from restorers.realesrgan import weights
    from restorers.training import corpus

    found = {"weights": paths.weights_folder(), "checkpoints": paths.checkpoint_folder(),
             "ir_networks": paths.ir_network_folder(), "corpus": paths.corpus_folder(),
             "lpips": lpips_weights.cache_dir(), "rrdb": weights.cache_path().parent, "corpus dir": corpus.corpus_dir()}
    assert all(Path(folder).is_relative_to(tmp_path) for folder in found.values()), found
    monkeypatch.setenv("RESTORERS_CHECKPOINTS", str(tmp_path / "elsewhere"))
    assert paths.checkpoint_folder() == tmp_path / "elsewhere"  # a folder's own override wins


def test_hide_paths_keeps_file_names_and_fractions():
    text = "[Errno 13] Permission denied: '/root/.cache/restorers/weights/x.safetensors' (sigma 25/255, x1/4)"
    assert paths.hide_paths(text) == "[Errno 13] Permission denied: 'x.safetensors' (sigma 25/255, x1/4)"
    assert "/" not in paths.hide_paths("no file at /tmp/a/b/model.pth")


def test_a_folder_saved_with_the_old_ir_network_module_path_still_loads(tmp_path):
    """model_index.json files written before the spandrel wrapper moved name restorers.dpir.ir_network."""
    from restorers.nn.spandrel_network import SpandrelNetwork
    from tests.test_dpir_pipeline import small_pipeline
    from tests.test_realesrgan import random_esrgan

    pipe = small_pipeline()
    pipe.set_ir_network(SpandrelNetwork.from_state_dict(random_esrgan()))
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    index["ir_network"] = ["restorers.dpir.ir_network", "SpandrelIRNetwork"]
    (tmp_path / "model_index.json").write_text(json.dumps(index))
    again = type(pipe).from_pretrained(tmp_path)
    x = torch.rand(1, 3, 8, 8)
    assert isinstance(again.ir_network, SpandrelNetwork)
    assert torch.allclose(again.ir_network(x), pipe.ir_network(x), atol=1e-6)
