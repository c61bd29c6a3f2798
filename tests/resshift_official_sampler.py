"""ResShift's official 4-step sampler, written out from the fact sheet (``../shared/reference/resshift.md``,
sections 1.5-1.6, 1.9 and 4.4) with its published coefficients, calling a pipeline's networks directly.

The reference that the converted pipeline is tested against (``test_resshift_convert.py``) and timed against
(``benchmarks/resshift_speed.py``): pad the LQ bottom/right to the UNet's lq_size (64), z_y = E(bicubic x4 of
the LQ), x_T = z_y + kappa sqrt(eta_T) noise, then for t = T-1 .. 0: x0 = unet(x_t / sqrt(kappa^2 eta_t + 1), t,
lq), x_{t-1} = c1 x_t + c2 x0 (+ std_t noise for t > 0); finally D(x_0), clamped and cropped. No tiling, no
compilation: the plain eager computation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from test_resshift_scheduler import FOUR_STEP

KAPPA = 2.0
POSTERIOR_STD = [0.19626833, 0.19626833, 0.75968330, 0.97329179]  # exp(0.5 * posterior_log_variance_clipped)


def eager(function):
    """The eager function behind a compiled one (restorers.compile keeps it), so the reference never compiles."""
    return getattr(function, "eager", function)


def official_sample(pipe, lq: torch.Tensor, seed: int, lq_size: int = 64) -> torch.Tensor:
    """LQ (1, 3, h, w) in [-1, 1] -> (1, 3, 4h, 4w) in [0, 1], as the official sampler computes it."""
    height, width = lq.shape[-2:]
    pad_h, pad_w = -height % lq_size, -width % lq_size
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    generator = torch.Generator().manual_seed(seed)
    unet, encode, decode = eager(pipe.unet.forward), eager(pipe.vqvae.encode), eager(pipe.vqvae.decode)
    with torch.no_grad():
        lq = F.pad(lq, (0, pad_w, 0, pad_h), mode=mode)
        z_y = encode(F.interpolate(lq, scale_factor=4, mode="bicubic")).latents
        x = z_y + KAPPA * FOUR_STEP["sqrt_etas"][3] * torch.randn(z_y.shape, generator=generator)
        for i in (3, 2, 1, 0):
            x0 = unet(x / np.sqrt(KAPPA**2 * FOUR_STEP["etas"][i] + 1), torch.tensor([i]), lq=lq).sample
            x = FOUR_STEP["posterior_mean_coef1"][i] * x + FOUR_STEP["posterior_mean_coef2"][i] * x0
            if i:
                x = x + POSTERIOR_STD[i] * torch.randn(x.shape, generator=generator)
        decoded = decode(x).sample.clamp(-1, 1)[..., : 4 * height, : 4 * width]
    return (decoded + 1) / 2
