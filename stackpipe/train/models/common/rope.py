"""Rotary position embedding (RoPE, arXiv 2104.09864) with linear and YaRN scaling.

Two layouts of the rotated pairs exist in the released checkpoints, and a model only
matches its weights in its own: Llama and StarCoder2 rotate dimension i with i + hd/2
("half-split", Hugging Face's rotate_half), DeepSeek-V2 rotates neighbours 2i and 2i+1
("interleaved", HF's complex multiply). `RotaryEmbedding` lays cos/sin out to match,
so `apply_rotary` is one multiply-add in either layout.
"""

from __future__ import annotations

import torch
from torch import nn

from stackpipe.train.models.common.config import RopeScaling


class RotaryEmbedding(nn.Module):
    """head_dim: dimensions rotated per head. theta: RoPE base. scaling: None, linear
    (positions divided by `factor`, applied to the frequencies as HF does) or YaRN.
    interleaved: pair layout, see the module docstring."""

    def __init__(self, head_dim: int, theta: float, scaling: RopeScaling | None, interleaved: bool):
        super().__init__()
        self.head_dim, self.theta, self.scaling = head_dim, theta, scaling
        self.interleaved = interleaved
        inv_freq, self.scale = self._inv_freq_and_scale()
        # Not persistent: derived from the config, so checkpoints and HF exports omit it.
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # (hd/2,)

    def _inv_freq_and_scale(self) -> tuple[torch.Tensor, float]:
        scaling, head_dim = self.scaling, self.head_dim
        if scaling is not None and scaling.kind == "yarn":
            from stackpipe.train.models.common.yarn import yarn_inv_freq_and_scale

            return yarn_inv_freq_and_scale(head_dim, self.theta, scaling)
        inv_freq = 1.0 / self.theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        if scaling is not None:  # linear
            inv_freq = inv_freq / scaling.factor
        return inv_freq, 1.0

    @torch.no_grad()
    def reset_inv_freq(self) -> None:
        """Recompute the frequencies in place: a model built on the meta device and then
        materialised with `to_empty` holds uninitialised memory here."""
        inv_freq, _ = self._inv_freq_and_scale()
        self.inv_freq.copy_(inv_freq.to(self.inv_freq.device))

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """positions (B, T) long -> cos, sin, each (B, T, head_dim) float32 in this module's layout."""
        # float32 even under bf16 autocast: positions in the thousands need the mantissa.
        freqs = positions[..., None].float() * self.inv_freq.float()  # (B, T, hd/2)
        if self.interleaved:
            angles = freqs.repeat_interleave(2, dim=-1)  # (B, T, hd): f0 f0 f1 f1 ...
        else:
            angles = torch.cat([freqs, freqs], dim=-1)  # (B, T, hd): f0 f1 ... f0 f1 ...
        return angles.cos() * self.scale, angles.sin() * self.scale


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleaved: bool) -> torch.Tensor:
    """x (B, H, T, hd) rotated by cos/sin (B, T, hd) from a `RotaryEmbedding` of the same
    layout; computed in float32 and returned in x's dtype."""
    xf = x.float()
    if interleaved:
        x1, x2 = xf[..., 0::2], xf[..., 1::2]
        rotated = torch.stack([-x2, x1], dim=-1).flatten(-2)  # (-x1, x0, -x3, x2, ...)
    else:
        x1, x2 = xf.chunk(2, dim=-1)
        rotated = torch.cat([-x2, x1], dim=-1)
    return (xf * cos.unsqueeze(1) + rotated * sin.unsqueeze(1)).type_as(x)
