"""Bottom/right padding to what a network needs, written once for every pipeline and network.

The official samplers of ResShift, DiffIR and Real-ESRGAN all pad only at the bottom and the right, so the top-left
pixel of the output stays the top-left pixel of the input and cropping back is a slice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

PAD_MODES = ("reflect", "symmetric", "replicate")


@dataclass(frozen=True)
class SizeRequirements:
    """What a method needs of its (LQ) input, in the spirit of spandrel's size requirements.

    ``multiple_of``: each side is padded up to a multiple of this; ``extra``: pixels added beyond it (Real-ESRGAN's
    official ``pre_pad``); ``mode``: how the padding is filled; ``minimum``: the smallest side it accepts.
    """

    multiple_of: int = 1
    extra: int = 0
    mode: str = "reflect"
    minimum: int = 8

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        return pad_bottom_right(x, self.multiple_of, self.mode, self.extra)


def pad_bottom_right(x: torch.Tensor, multiple: int = 1, mode: str = "reflect", extra: int = 0) -> torch.Tensor:
    """Pad H and W at the bottom/right by ``extra`` and then up to a multiple of ``multiple``.

    ``reflect`` mirrors without repeating the edge pixel (torch's), ``symmetric`` repeats it (numpy's, as the
    LaMa-based inpainting code does), ``replicate`` copies the edge. A mirror needs the image to be larger than
    the pad; when it is not, the edge is replicated (the only fill that works at any size).
    """
    if mode not in PAD_MODES:
        raise ValueError(f"mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
    height, width = x.shape[-2:]
    pad_h = extra + (-(height + extra)) % multiple
    pad_w = extra + (-(width + extra)) % multiple
    if not pad_h and not pad_w:
        return x
    if mode == "replicate" or pad_h >= height or pad_w >= width:
        return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    if mode == "symmetric":
        x = torch.cat([x, x[..., height - pad_h:, :].flip(-2)], dim=-2) if pad_h else x
        return torch.cat([x, x[..., :, width - pad_w:].flip(-1)], dim=-1) if pad_w else x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
