"""diffusers' ``VQModel`` with a resnet count per resolution level, for ResShift's face f8 autoencoder.

ldm's ``VQModelTorch`` takes ``num_res_blocks`` per level (the face model ``ffhq512_vq_f8_dim8_face.pth``:
[1, 2, 3, 4] in the encoder, one more per level in the decoder); diffusers' ``VQModel`` takes one
``layers_per_block`` for every level. This subclass builds the standard VQModel, then rebuilds each encoder
down block and decoder up block with its own count, with exactly the arguments diffusers' ``Encoder`` and
``Decoder`` use, so the module names (and the checkpoint conversion) stay those of a ``VQModel``.
"""

from __future__ import annotations

from diffusers import ModelMixin, VQModel  # noqa: F401 - diffusers' from_pretrained looks for ModelMixin here
from diffusers.configuration_utils import register_to_config
from diffusers.models.unets.unet_2d_blocks import get_down_block, get_up_block


class PerLevelVQModel(VQModel):
    @register_to_config
    def __init__(self, in_channels: int = 3, out_channels: int = 3,
                 down_block_types: tuple[str, ...] = ("DownEncoderBlock2D",),
                 up_block_types: tuple[str, ...] = ("UpDecoderBlock2D",), block_out_channels: tuple[int, ...] = (64,),
                 layers_per_block: int = 1, act_fn: str = "silu", latent_channels: int = 3, sample_size: int = 32,
                 num_vq_embeddings: int = 256, norm_num_groups: int = 32, vq_embed_dim: int | None = None,
                 scaling_factor: float = 0.18215, norm_type: str = "group", mid_block_add_attention: bool = True,
                 lookup_from_codebook: bool = False, force_upcast: bool = False,
                 layers_per_level: tuple[int, ...] = (1,)):
        super().__init__(in_channels=in_channels, out_channels=out_channels, down_block_types=down_block_types,
                         up_block_types=up_block_types, block_out_channels=block_out_channels,
                         layers_per_block=layers_per_block, act_fn=act_fn, latent_channels=latent_channels,
                         sample_size=sample_size, num_vq_embeddings=num_vq_embeddings,
                         norm_num_groups=norm_num_groups, vq_embed_dim=vq_embed_dim, scaling_factor=scaling_factor,
                         norm_type=norm_type, mid_block_add_attention=mid_block_add_attention,
                         lookup_from_codebook=lookup_from_codebook, force_upcast=force_upcast)
        levels = len(block_out_channels)
        if len(layers_per_level) != levels:
            raise ValueError(f"layers_per_level needs one count per level ({levels}), got {layers_per_level}")
        for i, block_type in enumerate(down_block_types):
            self.encoder.down_blocks[i] = get_down_block(
                block_type, num_layers=layers_per_level[i],
                in_channels=block_out_channels[max(i - 1, 0)], out_channels=block_out_channels[i],
                add_downsample=i < levels - 1, resnet_eps=1e-6, downsample_padding=0, resnet_act_fn=act_fn,
                resnet_groups=norm_num_groups, attention_head_dim=block_out_channels[i], temb_channels=None)
        reversed_channels = list(reversed(block_out_channels))
        temb_channels = latent_channels if norm_type == "spatial" else None
        for i, block_type in enumerate(up_block_types):
            previous = reversed_channels[max(i - 1, 0)]
            self.decoder.up_blocks[i] = get_up_block(
                block_type, num_layers=layers_per_level[levels - 1 - i] + 1, in_channels=previous,
                out_channels=reversed_channels[i], prev_output_channel=previous, add_upsample=i < levels - 1,
                resnet_eps=1e-6, resnet_act_fn=act_fn, resnet_groups=norm_num_groups,
                attention_head_dim=reversed_channels[i], temb_channels=temb_channels,
                resnet_time_scale_shift=norm_type)
