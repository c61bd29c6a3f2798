"""Shifted-window attention layers as ResShift's UNet uses them, on B x C x H x W maps.

Differences from textbook Swin, kept on purpose so official weights behave identically
(see ``shared/reference/resshift.md`` section 2.4):

* norms are GroupNorm on the channel map and the MLP is two 1x1 convolutions;
* the layer has no outer residual: 1x1 "patch embed", the blocks, 1x1 "patch unembed";
* the shifted-window mask reproduces the official ``calculate_mask`` quirk: only windows in the
  last row of windows are masked, and there tokens are split by their *column* inside the window.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import normalization


def relative_position_index(window: int) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return relative[..., 0] * (2 * window - 1) + relative[..., 1]


@lru_cache(maxsize=32)
def shifted_window_mask(height: int, width: int, window: int, shift: int) -> torch.Tensor:
    """(num_windows, window^2, window^2) additive mask: -100 between tokens of different regions.

    Token (row a, col b) of the window in window-row ``wh`` gets region ``f(wh * window + b)`` with
    f(g) = 0 below ``height - window``, 1 below ``height - shift``, else 2 (the official quirk).
    """
    rows, cols = height // window, width // window
    # explicitly on the CPU: the result is cached, and a first call inside a meta-device context (cost counting
    # builds networks there) must not leave a data-less tensor in the cache for every later real network
    g = torch.arange(rows, device="cpu")[:, None] * window + torch.arange(window, device="cpu")[None, :]  # (wh, b)
    region = (g >= height - window).long() + (g >= height - shift).long()
    labels = region[:, None, None, :].expand(rows, cols, window, window).reshape(rows * cols, window * window)
    differs = labels[:, :, None] != labels[:, None, :]
    return differs.float() * -100.0


class WindowAttention(nn.Module):
    def __init__(self, dim: int, window: int, num_heads: int):
        super().__init__()
        self.window, self.num_heads = window, num_heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """tokens: (batch * windows, window^2, dim); mask: (windows, window^2, window^2) or None."""
        b_, n, c = tokens.shape
        q, k, v = self.qkv(tokens).reshape(b_, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(n, n, -1).permute(2, 0, 1).to(q.dtype)  # heads, n, n
        if mask is not None:
            windows = mask.shape[0]
            bias = (bias[None] + mask[:, None].to(q.dtype)).repeat(b_ // windows, 1, 1, 1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).reshape(b_, n, c))


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim: int, input_resolution: int, num_heads: int, window: int, shift: int,
                 mlp_ratio: float = 4.0, norm_groups: int = 32):
        super().__init__()
        if input_resolution <= window:  # the whole map fits one window: no shift
            window, shift = input_resolution, 0
        self.window, self.shift = window, shift
        self.norm1 = normalization(dim, norm_groups)
        self.attn = WindowAttention(dim, window, num_heads)
        self.norm2 = normalization(dim, norm_groups)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential()
        self.mlp.add_module("fc1", nn.Conv2d(dim, hidden, 1))
        self.mlp.add_module("act", nn.GELU())
        self.mlp.add_module("fc2", nn.Conv2d(hidden, dim, 1))
        if shift > 0:  # stored for state-dict parity only; forward recomputes it for the actual size
            self.register_buffer("attn_mask", shifted_window_mask(input_resolution, input_resolution, window, shift).clone())
        else:
            self.attn_mask = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        ws, s = self.window, self.shift
        if h % ws or w % ws:
            raise ValueError(f"feature map {h}x{w} is not a multiple of the {ws}-pixel attention window")
        y = self.norm1(x).permute(0, 2, 3, 1)
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = y.reshape(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        # traced (torch.export, torch.compile): built in the graph, neither taken from nor left in the cache
        masks = shifted_window_mask.__wrapped__ if torch.compiler.is_compiling() else shifted_window_mask
        mask = masks(h, w, ws, s).to(x.device) if s else None
        y = self.attn(y, mask)
        y = y.reshape(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + y.permute(0, 3, 1, 2)
        return x + self.mlp(self.norm2(x))


class _Conv1x1(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class SwinLayer(nn.Module):
    """1x1 projection to ``embed_dim``, ``depth`` blocks alternating shift 0 / window//2, and back."""

    def __init__(self, in_channels: int, embed_dim: int, input_resolution: int, depth: int, num_heads: int,
                 window: int, mlp_ratio: float = 4.0, norm_groups: int = 32):
        super().__init__()
        self.patch_embed = _Conv1x1(in_channels, embed_dim)
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(embed_dim, input_resolution, num_heads, window, 0 if i % 2 == 0 else window // 2,
                                 mlp_ratio, norm_groups)
            for i in range(depth))
        self.patch_unembed = _Conv1x1(embed_dim, in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        for block in self.blocks:
            x = block(x)
        return self.patch_unembed(x)

    @property
    def window(self) -> int:
        return self.blocks[0].window
