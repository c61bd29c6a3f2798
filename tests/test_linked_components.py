"""Embedded checkpoints name the networks they share with another embedded folder instead of copying them."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

import restorers
from restorers.linked_components import LINKS, link_duplicates, linked_components
from restorers.registry import CHECKPOINTS
from tests.test_dpir_pipeline import lq_image, small_pipeline


def test_no_weights_file_is_shipped_twice():
    seen = {}
    for file in sorted(CHECKPOINTS.rglob("*.safetensors")):
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        assert digest not in seen, f"{file.relative_to(CHECKPOINTS)} repeats {seen[digest]}: link it instead"
        seen[digest] = file.relative_to(CHECKPOINTS)


def test_every_embedded_link_resolves_to_a_shipped_network():
    linked = [folder for folder in CHECKPOINTS.iterdir() if (folder / LINKS).is_file()]
    assert {f.name for f in linked} >= {"dpir-sr_x4", "dpir-deblur", "dpir-realsr_x4"}
    for folder in linked:
        for name, module in linked_components(folder).items():
            assert sum(p.numel() for p in module.parameters()) > 0, (folder.name, name)


def test_linking_a_copy_changes_neither_the_output_nor_what_save_pretrained_writes(tmp_path):
    pipe = small_pipeline(tau=4)
    library = tmp_path / "library"
    pipe.denoiser.save_pretrained(library / "denoiser-alone")
    pipe.save_pretrained(library / "pipeline")
    folder = library / "pipeline"
    before = restorers.load_pipeline("dpir", "sr_x4", checkpoint=str(folder))
    expected = before(lq_image(), generator=torch.Generator().manual_seed(3), output_type="np").images

    assert link_duplicates(folder, library) == {"denoiser": "../denoiser-alone"}
    assert not (folder / "denoiser").exists()
    assert (folder / "ir_network").is_dir() and (folder / "fusion").is_dir()  # nothing else matches
    after = restorers.load_pipeline("dpir", "sr_x4", checkpoint=str(folder))
    got = after(lq_image(), generator=torch.Generator().manual_seed(3), output_type="np").images
    np.testing.assert_array_equal(got, expected)

    after.save_pretrained(tmp_path / "whole")  # a loaded pipeline saves a self-contained folder again
    assert (tmp_path / "whole" / "denoiser" / "diffusion_pytorch_model.safetensors").is_file()
    assert not (tmp_path / "whole" / LINKS).exists()


def test_a_missing_linked_network_is_one_sentence(tmp_path):
    pipe = small_pipeline(tau=4)
    pipe.denoiser.save_pretrained(tmp_path / "denoiser-alone")
    pipe.save_pretrained(tmp_path / "pipeline")
    link_duplicates(tmp_path / "pipeline", tmp_path)
    shutil.rmtree(tmp_path / "denoiser-alone")
    with pytest.raises(FileNotFoundError, match="takes its denoiser from denoiser-alone, which is missing") as err:
        restorers.load_pipeline("dpir", "sr_x4", checkpoint=str(tmp_path / "pipeline"))
    assert str(tmp_path) not in str(err.value)


def test_a_link_to_something_that_is_not_a_component_is_refused(tmp_path):
    pipe = small_pipeline(tau=4)
    pipe.save_pretrained(tmp_path / "pipeline")
    (tmp_path / "pipeline" / LINKS).write_text(json.dumps({"vae": "../pipeline/denoiser"}))
    with pytest.raises(ValueError, match="not a component"):
        linked_components(tmp_path / "pipeline")


def linked_folder(tmp_path):
    """A small DP-IR pipeline saved into a library beside its denoiser, and linked to it."""
    pipe = small_pipeline(tau=4)
    library = tmp_path / "library"
    pipe.denoiser.save_pretrained(library / "denoiser-alone")
    pipe.save_pretrained(library / "pipeline")
    link_duplicates(library / "pipeline", library)
    return pipe, library, library / "pipeline"


def test_re_exporting_into_a_linked_folder_leaves_no_copy_behind(tmp_path):
    """save_pretrained over a linked folder writes every part again; linking afterwards must remove the copy."""
    pipe, library, folder = linked_folder(tmp_path)
    pipe.save_pretrained(folder)  # the re-export: a full denoiser copy next to the links file
    assert (folder / "denoiser").is_dir()
    assert link_duplicates(folder, library) == {"denoiser": "../denoiser-alone"}
    assert not (folder / "denoiser").exists()


def test_a_link_whose_network_was_retrained_is_dropped_for_the_new_copy(tmp_path):
    pipe, library, folder = linked_folder(tmp_path)
    with torch.no_grad():
        next(pipe.denoiser.parameters()).add_(0.5)  # a different denoiser now
    pipe.save_pretrained(folder)
    assert link_duplicates(folder, library) == {}
    assert (folder / "denoiser" / "diffusion_pytorch_model.safetensors").is_file()
    assert not (folder / LINKS).exists()
    reloaded = restorers.load_pipeline("dpir", "sr_x4", checkpoint=str(folder))
    torch.testing.assert_close(next(reloaded.denoiser.parameters()), next(pipe.denoiser.parameters()))


def test_a_float32_copy_of_a_float16_network_is_linked_and_loads_the_same_numbers(tmp_path):
    """The embedded regression networks are stored in float16; a DP-IR export writes its IR network in float32.
    Same values: one network, so it is linked, and the linked pipeline restores exactly as the full folder."""
    pipe = small_pipeline(tau=4)
    with torch.no_grad():
        for parameter in pipe.ir_network.parameters():
            parameter.copy_(parameter.half().float())  # values a float16 file holds exactly
    library = tmp_path / "library"
    pipe.ir_network.to(torch.float16).save_pretrained(library / "ir-alone")
    pipe.ir_network.to(torch.float32)
    pipe.save_pretrained(library / "pipeline")
    folder = library / "pipeline"
    before = restorers.load_pipeline("dpir", "sr_x4", checkpoint=str(folder))
    expected = before(lq_image(), generator=torch.Generator().manual_seed(3), output_type="np").images
    assert link_duplicates(folder, library) == {"ir_network": "../ir-alone"}
    after = restorers.load_pipeline("dpir", "sr_x4", checkpoint=str(folder))
    assert after.ir_network.dtype == torch.float32
    got = after(lq_image(), generator=torch.Generator().manual_seed(3), output_type="np").images
    np.testing.assert_array_equal(got, expected)

    with torch.no_grad():  # one value changed: a different network, not linked
        next(pipe.ir_network.parameters()).view(-1)[0] += 1e-4
    pipe.save_pretrained(folder)
    assert "ir_network" not in link_duplicates(folder, library)
