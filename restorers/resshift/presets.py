"""The published ResShift models as configurations of our classes (facts: the official YAML configs).

Every x4 model shares one UNet (118.6 M parameters) and the f4 VQ autoencoder; they differ in the chain
(15 steps with min_noise_level 0.04 for v1/v2, 4 steps with 0.2 for the journal models) and in training data.
"""

from __future__ import annotations

from .unet import OFFICIAL_X4_CONFIG

# diffusers VQModel equivalent of the official autoencoder_vq_f4 (ldm VQModelTorch, ch 128, ch_mult [1, 2, 4])
VQ_F4 = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
             up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(128, 256, 512), layers_per_block=2,
             act_fn="silu", latent_channels=3, sample_size=256, num_vq_embeddings=8192, vq_embed_dim=3,
             norm_num_groups=32, norm_type="group", mid_block_add_attention=True, lookup_from_codebook=False,
             force_upcast=False, scaling_factor=1.0)

# the face autoencoder ffhq512_vq_f8_dim8_face.pth (ch 64, ch_mult [1, 2, 4, 8], num_res_blocks [1, 2, 3, 4]):
# per-level resnet counts, so a PerLevelVQModel (restorers/resshift/vq.py) rather than a plain VQModel
VQ_F8_FACE = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                  up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(64, 128, 256, 512),
                  layers_per_block=1, layers_per_level=(1, 2, 3, 4), act_fn="silu", latent_channels=8,
                  sample_size=512, num_vq_embeddings=4096, vq_embed_dim=8, norm_num_groups=32, norm_type="group",
                  mid_block_add_attention=True, lookup_from_codebook=False, force_upcast=False, scaling_factor=1.0)

CHAIN_15 = dict(num_train_timesteps=15, kappa=2.0, min_noise_level=0.04, etas_end=0.99, power=0.3)
CHAIN_4 = dict(num_train_timesteps=4, kappa=2.0, min_noise_level=0.2, etas_end=0.99, power=0.3)
INPAINT_UNET = {**OFFICIAL_X4_CONFIG, "lq_size": 256, "cond_mask": True}

PRESETS: dict[str, dict] = {
    "realsr_v1": dict(task="realsr_x4", unet=OFFICIAL_X4_CONFIG, scheduler=CHAIN_15, vqvae=VQ_F4, sf=4,
                      note="NeurIPS 2023 real-world x4 model, 15 steps (resshift_realsrx4_s15_v1.pth)"),
    "realsr_v2": dict(task="realsr_x4", unet=OFFICIAL_X4_CONFIG, scheduler=CHAIN_15, vqvae=VQ_F4, sf=4,
                      note="real-world x4, 15 steps, longer training (resshift_realsrx4_s15_v2.pth)"),
    "realsr_v3": dict(task="realsr_x4", unet=OFFICIAL_X4_CONFIG, scheduler=CHAIN_4, vqvae=VQ_F4, sf=4,
                      note="journal real-world x4 model, 4 steps (resshift_realsrx4_s4_v3.pth)"),
    "bicsr": dict(task="sr_x4", unet=OFFICIAL_X4_CONFIG, scheduler=CHAIN_4, vqvae=VQ_F4, sf=4,
                  note="journal bicubic x4 model, 4 steps (resshift_bicsrx4_s4.pth)"),
    "inpaint_imagenet": dict(task="inpaint", unet=INPAINT_UNET, scheduler=CHAIN_4, vqvae=VQ_F4, sf=1,
                             note="journal ImageNet inpainting, 4 steps (resshift_inpainting_imagenet_s4.pth)"),
    "inpaint_face": dict(task="inpaint", unet=INPAINT_UNET, scheduler=CHAIN_4, vqvae=VQ_F4, sf=1,
                         note="journal face inpainting, 4 steps (with celeba256_vq_f4_dim3_face.pth)"),
    "faceir": dict(task="faceir", unet={**OFFICIAL_X4_CONFIG, "in_channels": 8, "out_channels": 8, "lq_size": 512},
                   scheduler=CHAIN_4, vqvae=VQ_F8_FACE, sf=1,
                   note="journal blind face restoration on aligned 512x512 faces, 4 steps (resshift_faceir_s4.pth "
                        "with ffhq512_vq_f8_dim8_face.pth); the Face restoration tab"),
}
