"""The position-wise MLP: SwiGLU (Code Llama, DeepSeek, arXiv 2002.05202) or a plain GELU
MLP (StarCoder: exact GELU or its tanh approximation, as the checkpoint was trained)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FeedForward(nn.Module):
    """dim -> hidden_dim -> dim. activation: 'swiglu' | 'gelu' | 'gelu_tanh'; bias: on
    every projection. SwiGLU: down(silu(gate(x)) * up(x)); GELU: down(gelu(up(x)))."""

    def __init__(self, dim: int, hidden_dim: int, activation: str, bias: bool):
        super().__init__()
        self.activation = activation
        self.gate_proj = nn.Linear(dim, hidden_dim, bias=bias) if activation == "swiglu" else None
        self.up_proj = nn.Linear(dim, hidden_dim, bias=bias)
        self.down_proj = nn.Linear(hidden_dim, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.up_proj(x)  # (..., hidden)
        if self.activation == "swiglu":
            hidden = F.silu(self.gate_proj(x)) * up
        else:
            hidden = F.gelu(up, approximate="tanh" if self.activation == "gelu_tanh" else "none")
        return self.down_proj(hidden)
