"""Train the embedded ResShift x4 checkpoints (pixel-unshuffle latent space, CPU-sized Swin-UNet).

    python -m restorers.training.train_resshift --minutes 45 --run-dir runs/resshift-sr_x4 \
        --out assets/checkpoints/resshift-sr_x4
    python -m restorers.training.train_resshift --task realsr_x4 --init-from assets/checkpoints/resshift-sr_x4 \
        --run-dir runs/resshift-realsr_x4 --out assets/checkpoints/resshift-realsr_x4

    python -m restorers.training.train_resshift --task inpaint --init-from assets/checkpoints/resshift-sr_x4 \
        --crop 256 --batch 6 --lpips-weight 2 --run-dir runs/resshift-inpaint --out assets/checkpoints/resshift-inpaint

``--task sr_x4`` pairs are MATLAB-bicubic; ``--task realsr_x4`` pairs come from the Real-ESRGAN second-order
degradation with ResShift's own training parameters (:mod:`restorers.degradations.realesrgan`), drawn from the
sampler's seeded generator; ``--task inpaint`` pairs are the benchmark's own LaMa masks (1-60% holes).

Inpainting is the journal's configuration at CPU size: sf 1, the UNet conditioned on the masked image and the
mask (mask +1/-1; the holes pre-filled by :mod:`restorers.hole_fill` instead of -1, so the chain and the residual
start from a smooth guess) through a two-stage feature extractor (the image is 4x the latent, as with the
official f4 autoencoder), the known pixels pasted back after sampling; the loss is taken on the holes and the
known pixels alike, as the official trainer does. ``--init-from`` an x4 SR folder starts every layer whose
shape agrees (the Swin-UNet trunk) from it; the feature extractor and the first convolution start fresh.

Objective as in ResShift (section 1.8 of the fact sheet): t ~ U{0..T-1}, x_t ~ q(x_t | x_0, y),
MSE between the UNet's x0 prediction and x_0. The run is resumable: the state is saved every
``--save-every`` steps and on exit, and a rerun with the same ``--run-dir`` continues.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from ..resshift.pipeline import HOLE_FILLS, ResShiftPipeline, masked_lq
from ..resshift.scheduler import ResShiftScheduler
from ..degradations.realesrgan import RESSHIFT_REALSR
from ..resshift.unet import ResShiftUNet
from .checkpointing import store_half, strip_source_paths
from .loop import add_training_arguments, earlier_stages, initialise_from, train, perceptual_loss
from .pairs import split_conditions, task_pairs

SCALE = 4
EMBEDDED_UNET_CONFIG = dict(
    image_size=64, in_channels=3 * SCALE ** 2, out_channels=3 * SCALE ** 2, model_channels=64,
    channel_mult=(1, 2, 2), num_res_blocks=(1, 1, 1), attention_resolutions=(16,), num_head_channels=32,
    swin_embed_dim=64, swin_depth=2, window_size=8, mlp_ratio=4.0, lq_size=64, cond_lq=True, lq_residual=SCALE,
)
EMBEDDED_SCHEDULER_CONFIG = dict(num_train_timesteps=4, kappa=2.0, min_noise_level=0.2, etas_end=0.99, power=0.3)


HOLE_FILL = "push_pull"  # the embedded inpainting model's default: its chain starts from a smooth fill, not -1
INPAINT_UNET_CONFIG = {**EMBEDDED_UNET_CONFIG, "lq_size": 4 * EMBEDDED_UNET_CONFIG["image_size"], "cond_mask": True,
                       "residual_sf": 1}


def training_loss(unet: ResShiftUNet, scheduler: ResShiftScheduler, hq: torch.Tensor, lq: torch.Tensor,
                  generator: torch.Generator, perceptual: torch.nn.Module | None = None,
                  perceptual_weight: float = 0.0, hole_fill: str = "constant") -> torch.Tensor:
    """``lq``: the LQ batch, or for inpainting the image with the mask as a fourth channel (1 = hole)."""
    image, mask = split_conditions(lq)
    hq_s, lq_s = hq * 2 - 1, image * 2 - 1
    sf = hq.shape[-1] // image.shape[-1]
    kwargs = {}
    if mask is not None:  # as the pipeline feeds it: the holes filled (or at -1), the mask at +1 / -1 beside it
        lq_s = masked_lq(lq_s, mask, hole_fill)
        kwargs["mask"] = mask * 2 - 1
    x0 = F.pixel_unshuffle(hq_s, SCALE)
    z_y = F.pixel_unshuffle(lq_s if sf == 1 else F.interpolate(lq_s, scale_factor=sf, mode="bicubic"), SCALE)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (hq.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = scheduler.add_noise(x0, noise, t, z_y)
    scale = scheduler.input_scale(t).to(x_t).view(-1, 1, 1, 1)
    pred = unet(x_t / scale, t, lq=lq_s, **kwargs).sample
    loss = F.mse_loss(pred, x0)
    if perceptual is not None and perceptual_weight:  # ResShift's journal loss: + LPIPS(D(x0_pred), HQ)
        image = F.pixel_shuffle(pred, SCALE).clamp(-1, 1)
        if mask is not None:  # judged on what the pipeline returns: the known pixels pasted back
            image = image * mask + hq_s * (1 - mask)
        loss = loss + perceptual_weight * perceptual(image, hq_s).mean()
    return loss


def initialise_trunk(unet: ResShiftUNet, folder: str | Path) -> list[dict]:
    """Every weight of ``folder``'s UNet whose name and shape ``unet`` shares (fine-tuning across tasks)."""
    from safetensors.torch import load_file

    stages = earlier_stages(Path(folder))
    theirs = load_file(Path(folder) / "unet" / "diffusion_pytorch_model.safetensors")
    ours = unet.state_dict()
    shared = {k: v.float() for k, v in theirs.items() if k in ours and ours[k].shape == v.shape}
    unet.load_state_dict(shared, strict=False)
    return stages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_arguments(parser, steps=6000, batch=16, crop=128, lr=3e-4)
    parser.add_argument("--task", default="sr_x4", choices=("sr_x4", "realsr_x4", "inpaint"))
    parser.add_argument("--lpips-weight", type=float, default=0.0,
                        help="add this x LPIPS-Alex of the decoded x0 prediction (ResShift's journal configs use "
                             "LPIPS-VGG with weight 1; VGG is not available offline)")
    parser.add_argument("--hole-fill", default=HOLE_FILL, choices=HOLE_FILLS,
                        help="inpainting: what the LQ's holes hold (push_pull: a smooth first guess; constant: -1, "
                             "the official convention)")
    args = parser.parse_args(argv)
    args.trainer_args = f"--task {args.task}" + (f" --lpips-weight {args.lpips_weight:g}" if args.lpips_weight else "")
    if args.task == "inpaint":
        args.trainer_args += f" --hole-fill {args.hole_fill}"
    perceptual = perceptual_loss(parser, args.lpips_weight)
    inpainting = args.task == "inpaint"
    scale, degrade = task_pairs("inpaint") if inpainting else (SCALE, RESSHIFT_REALSR if args.task == "realsr_x4"
                                                                else None)

    unet = ResShiftUNet(**(INPAINT_UNET_CONFIG if inpainting else EMBEDDED_UNET_CONFIG))
    if not args.init_from:
        stages = []
    else:
        stages = initialise_trunk(unet, args.init_from) if inpainting else initialise_from(unet, args.init_from,
                                                                                            "unet")
    scheduler = ResShiftScheduler(**EMBEDDED_SCHEDULER_CONFIG)

    def loss(model, hq, lq, generator):
        return training_loss(model, scheduler, hq, lq, generator, perceptual, args.lpips_weight,
                             args.hole_fill if inpainting else "constant")

    def export(ema: torch.nn.Module) -> None:
        pipe = ResShiftPipeline(unet=ema, scheduler=scheduler, vqvae=None, sf=scale, latent_factor=SCALE,
                                hole_fill=args.hole_fill if inpainting else "constant")
        pipe.save_pretrained(args.out, safe_serialization=True)
        if inpainting:
            store_half(args.out)  # the assets budget
            strip_source_paths(args.out)

    train(unet, loss, export, args, stages, scale=scale, degrade=degrade)


if __name__ == "__main__":
    main()
