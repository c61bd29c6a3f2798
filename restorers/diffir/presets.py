"""Every official DiffIR configuration as keyword arguments for our classes, plus the small embedded ones.

The official numbers (dim, blocks, heads, FFN expansion, LayerNorm type, CPEN depth, inputs) come from the
released training options; a test checks that each preset has the official parameter count.
"""

from __future__ import annotations

SR_BODY = dict(dim=64, num_blocks=(13, 1, 1, 1), num_refinement_blocks=13, heads=(1, 2, 4, 8),
               ffn_expansion_factor=2.2, bias=False, layer_norm_type="BiasFree")
INPAINT_BODY = dict(dim=52, num_blocks=(1, 1, 1, 9), num_refinement_blocks=0, heads=(1, 2, 4, 8),
                    ffn_expansion_factor=1.8, bias=False, layer_norm_type="WithBias")


def _sr(scale: int) -> dict:
    unshuffle = {4: 1, 2: 2, 1: 4}[scale]
    return dict(task="sr_x4" if scale == 4 else f"sr_x{scale}",
                dirformer=dict(head="sr", in_channels=3, scale=scale, **SR_BODY),
                cpen=dict(lq_channels=3, lq_unshuffle=unshuffle, n_encoder_res=9))


OFFICIAL_PRESETS: dict[str, dict] = {
    "sr_x4": _sr(4),
    "sr_x2": _sr(2),
    "sr_x1": _sr(1),
    "srgan_x4": _sr(4),  # DiffIR-SRGAN: byte-identical architecture, bicubic-degraded training data
    "deblur": dict(task="deblur", dirformer=dict(head="deblur", in_channels=3, dim=48, num_blocks=(3, 5, 6, 6),
                                                  num_refinement_blocks=4, heads=(1, 2, 4, 8),
                                                  ffn_expansion_factor=2.0, bias=False, layer_norm_type="WithBias"),
                   cpen=dict(lq_channels=3, lq_unshuffle=4, n_encoder_res=5)),
    "inpaint": dict(task="inpaint", dirformer=dict(head="inpaint", in_channels=4, **INPAINT_BODY),
                    cpen=dict(lq_channels=4, lq_unshuffle=4, n_encoder_res=5)),
    "inpaint_big": dict(task="inpaint", dirformer=dict(head="inpaint", in_channels=4,
                                                        **{**INPAINT_BODY, "num_blocks": (1, 1, 1, 20)}),
                        cpen=dict(lq_channels=4, lq_unshuffle=4, n_encoder_res=8)),
}

# Sized for this project's CPU demo (and a Space's 10 MiB plain-git files, stored fp16): 3.5-4.5M parameters in
# the DIRformer, most of them in the IPR modulation layers and the deepest level; same structure as the official.
EMBEDDED_PRESETS: dict[str, dict] = {
    "sr_x4": dict(task="sr_x4", dirformer=dict(head="sr", in_channels=3, scale=4, dim=24, num_blocks=(3, 2, 2, 2),
                                               num_refinement_blocks=2, heads=(1, 2, 4, 8),
                                               ffn_expansion_factor=2.0, layer_norm_type="WithBias"),
                  cpen=dict(lq_channels=3, lq_unshuffle=1, n_encoder_res=2)),
    "deblur": dict(task="deblur", dirformer=dict(head="deblur", in_channels=3, dim=24, num_blocks=(2, 2, 2, 2),
                                                 num_refinement_blocks=2, heads=(1, 2, 4, 8),
                                                 ffn_expansion_factor=2.0, layer_norm_type="WithBias"),
                   cpen=dict(lq_channels=3, lq_unshuffle=4, n_encoder_res=2)),
    "inpaint": dict(task="inpaint", dirformer=dict(head="inpaint", in_channels=4, dim=24, num_blocks=(1, 2, 2, 4),
                                                   num_refinement_blocks=0, heads=(1, 2, 4, 8),
                                                   ffn_expansion_factor=2.0, layer_norm_type="WithBias"),
                    cpen=dict(lq_channels=4, lq_unshuffle=4, n_encoder_res=2)),
}


def stage1_cpen(cpen: dict) -> dict:
    """The CPEN_S1 config of a preset: the same LQ branch plus the x4-unshuffled ground truth."""
    return {**cpen, "gt_unshuffle": 4}
