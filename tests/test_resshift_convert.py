"""Official ResShift checkpoints -> save_pretrained folders: key layouts, the VQ renaming, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_file
import torch
from PIL import Image

import restorers
from restorers.resshift.convert import CheckpointMismatch, build_pipeline, convert, ldm_vq_to_diffusers
from restorers.resshift.presets import PRESETS
from restorers.resshift.unet import ResShiftUNet



def listing(name: str) -> dict[str, tuple]:
    path = shared_file("reference", name)  # the official key listings: needs ../shared
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    return {r[0]: tuple(int(n) for n in r[1].strip("()").split(",") if n.strip()) for r in rows}


def test_unet_presets_have_the_official_keys_and_parameter_counts():
    official = listing("resshift_unet_x4_state_dict.tsv")
    with torch.device("meta"):  # shapes only: no 118 M random draws
        unet = ResShiftUNet(**PRESETS["realsr_v3"]["unet"])
        assert {k: tuple(v.shape) for k, v in unet.state_dict().items()} == official
        counts = {name: sum(p.numel() for p in ResShiftUNet(**PRESETS[name]["unet"]).parameters())
                  for name in ("bicsr", "inpaint_imagenet", "faceir")}
    assert counts == {"bicsr": 118_593_583, "inpaint_imagenet": 118_714_399, "faceir": 118_931_604}


def random_vq_state(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=generator) * 0.02 for k, shape in
            listing("resshift_vq_f4_state_dict.tsv").items()}


def test_the_vq_renaming_covers_diffusers_vqmodel_exactly():
    ldm = random_vq_state()
    mapped = ldm_vq_to_diffusers({**ldm, "loss.discriminator.main.0.weight": torch.zeros(1)}, levels=3)
    assert {k: tuple(v.shape) for k, v in mapped.items()} == listing("diffusers_VQModel_f4_state_dict.tsv")
    # decoder levels are reversed; the mid attention's 1x1 convolutions become linear weights
    assert torch.equal(mapped["decoder.up_blocks.0.resnets.2.conv1.weight"], ldm["decoder.up.2.block.2.conv1.weight"])
    assert torch.equal(mapped["decoder.up_blocks.0.upsamplers.0.conv.weight"], ldm["decoder.up.2.upsample.conv.weight"])
    assert torch.equal(mapped["encoder.mid_block.attentions.0.to_q.weight"], ldm["encoder.mid.attn_1.q.weight"][:, :, 0, 0])
    assert torch.equal(mapped["decoder.conv_norm_out.weight"], ldm["decoder.norm_out.weight"])


def small_bicsr() -> dict:
    """The bicsr preset with its UNet narrowed (same modules and key names, 1/25 of the weights), for tests of
    the conversion path; the full-size layout is checked against the official listing above."""
    unet = {**PRESETS["bicsr"]["unet"], "model_channels": 32, "swin_embed_dim": 32}
    return {**PRESETS["bicsr"], "unet": unet}


def test_a_converted_official_pair_loads_and_restores(tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS, "bicsr", small_bicsr())
    torch.manual_seed(0)
    unet_state = {f"module.{k}": v for k, v in ResShiftUNet(**PRESETS["bicsr"]["unet"]).state_dict().items()}
    torch.save({"state_dict": unet_state}, tmp_path / "resshift_bicsrx4_s4.pth")
    vq_state = random_vq_state()
    torch.save({"state_dict": vq_state}, tmp_path / "autoencoder_vq_f4.pth")
    convert(tmp_path / "resshift_bicsrx4_s4.pth", "bicsr", tmp_path / "converted", tmp_path / "autoencoder_vq_f4.pth")
    assert json.loads((tmp_path / "converted" / "conversion.json").read_text())["task"] == "sr_x4"
    pipe = restorers.load_pipeline("resshift", "sr_x4", checkpoint=str(tmp_path / "converted"))
    for key, value in pipe.unet.state_dict().items():  # every tensor landed where it should
        assert torch.equal(value, unet_state[f"module.{key}"]), key
    assert torch.equal(pipe.vqvae.quantize.embedding.weight, vq_state["quantize.embedding.weight"])
    assert pipe.vqvae is not None and pipe.latent_downscale == 4 and pipe.scheduler.config.num_train_timesteps == 4
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    out = pipe(image=image, generator=torch.Generator().manual_seed(0), output_type="np").images[0]
    assert out.shape == (64, 64, 3)
    np.testing.assert_allclose(out, official_sampler(pipe, image, seed=0), atol=2e-5)


def official_sampler(pipe, image: Image.Image, seed: int) -> np.ndarray:
    """The official 4-step sampler (tests/resshift_official_sampler.py) on a PIL image, as an HWC array."""
    from resshift_official_sampler import official_sample

    lq = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    return official_sample(pipe, lq, seed, lq_size=pipe.unet.config.lq_size)[0].permute(1, 2, 0).numpy()


def test_presets_name_the_task_their_model_was_trained_for():
    """The real-world models belong to the Real-world SR tab, the bicubic one to x4 SR (conversion.json's task)."""
    assert {name: preset["task"] for name, preset in PRESETS.items()} == {
        "realsr_v1": "realsr_x4", "realsr_v2": "realsr_x4", "realsr_v3": "realsr_x4", "bicsr": "sr_x4",
        "inpaint_imagenet": "inpaint", "inpaint_face": "inpaint", "faceir": "faceir"}


def test_mismatched_or_unsupported_checkpoints_are_refused_with_reasons():
    unet_state = ResShiftUNet(**PRESETS["bicsr"]["unet"]).state_dict()
    with pytest.raises(CheckpointMismatch, match=r"missing keys: .*feature_extractor"):
        build_pipeline("inpaint_imagenet", unet_state, random_vq_state())
    with pytest.raises(CheckpointMismatch, match="pass --vae"):
        build_pipeline("bicsr", unet_state, None)
    with pytest.raises(CheckpointMismatch, match=r"autoencoder checkpoint does not fit: missing keys: .*"
                                                 r"unexpected keys: .*shapes differ: encoder\.conv_in"):
        build_pipeline("faceir", ResShiftUNet(**PRESETS["faceir"]["unet"]).state_dict(), random_vq_state())


def test_the_face_f8_autoencoder_converts_into_a_per_level_vqmodel(tmp_path):
    """ffhq512_vq_f8_dim8_face.pth: resnets per level [1, 2, 3, 4] (decoder [2, 3, 4, 5]), 77,009,115 parameters."""
    from restorers.resshift.convert import load_strict
    from restorers.resshift.presets import VQ_F8_FACE
    from restorers.resshift.vq import PerLevelVQModel

    generator = torch.Generator().manual_seed(1)
    ldm = {k: torch.randn(shape, generator=generator) * 0.02
           for k, shape in listing("resshift_vq_f8_face512_state_dict.tsv").items()}
    vq = PerLevelVQModel(**VQ_F8_FACE)
    assert sum(p.numel() for p in vq.parameters()) == 77_009_115
    assert [len(b.resnets) for b in vq.encoder.down_blocks] == [1, 2, 3, 4]
    assert [len(b.resnets) for b in vq.decoder.up_blocks] == [5, 4, 3, 2]
    load_strict(vq, ldm_vq_to_diffusers(ldm, levels=4), "face autoencoder")
    state = vq.state_dict()
    assert torch.equal(state["decoder.up_blocks.0.resnets.4.conv2.weight"], ldm["decoder.up.3.block.4.conv2.weight"])
    assert torch.equal(state["encoder.down_blocks.2.resnets.2.norm1.bias"], ldm["encoder.down.2.block.2.norm1.bias"])
    image = vq.eval().decode(torch.randn(1, 8, 4, 4, generator=generator)).sample
    assert image.shape == (1, 3, 32, 32) and torch.isfinite(image).all()
    vq.save_pretrained(tmp_path / "vq")
    again = PerLevelVQModel.from_pretrained(tmp_path / "vq")
    assert again.config.layers_per_level == [1, 2, 3, 4]
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in state.items())
