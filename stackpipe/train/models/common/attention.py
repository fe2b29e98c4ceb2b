"""Causal self-attention with n_kv_heads key/value heads: MHA (n_kv_heads == n_heads),
GQA (arXiv 2305.13245, Code Llama 34B, StarCoder2) and MQA (n_kv_heads == 1,
arXiv 1911.02150, StarCoder), with RoPE or none (learned positions live in the
embedding), a sliding window (StarCoder2) and document masking of packed rows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stackpipe.train.models.common.config import TransformerConfig
from stackpipe.train.models.common.rope import RotaryEmbedding, apply_rotary


def build_attention_mask(
    document_ids: torch.Tensor | None, seq_len: int, sliding_window: int | None, device: torch.device
) -> torch.Tensor | None:
    """Bool (B or 1, 1, T, T), True where query i may attend key j: j <= i, same document
    when `document_ids` (B, T) is given, and i - j < sliding_window (a window of W keys
    counts the query itself, as Hugging Face's StarCoder2). None when plain causal
    attention is enough, so SDPA can take its `is_causal` (flash) path."""
    window = sliding_window if sliding_window is not None and sliding_window < seq_len else None
    if document_ids is None and window is None:
        return None
    i = torch.arange(seq_len, device=device)[:, None]
    j = torch.arange(seq_len, device=device)[None, :]
    mask = j <= i  # (T, T)
    if window is not None:
        mask = mask & (i - j < window)
    mask = mask[None, None]  # (1, 1, T, T)
    if document_ids is not None:
        mask = mask & (document_ids[:, None, :, None] == document_ids[:, None, None, :])  # (B, 1, T, T)
    return mask


class Attention(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, config.head_dim
        self.q_proj = nn.Linear(config.dim, self.n_heads * self.head_dim, bias=config.bias)
        self.k_proj = nn.Linear(config.dim, self.n_kv_heads * self.head_dim, bias=config.bias)
        self.v_proj = nn.Linear(config.dim, self.n_kv_heads * self.head_dim, bias=config.bias)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, config.dim, bias=config.bias)
        self.interleaved = config.rope_interleaved
        self.attention_dropout = config.attention_dropout
        self.rope = (
            RotaryEmbedding(self.head_dim, config.rope_theta, config.rope_scaling, config.rope_interleaved)
            if config.positions == "rope" else None
        )

    def forward(self, x: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x (B, T, D), positions (B, T) long, mask from `build_attention_mask` -> (B, T, D)."""
        B, T, _ = x.shape
        # -1 heads: under tensor parallelism each rank holds H / tp query and KV / tp kv heads.
        q = self.q_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)  # (B, KV, T, hd)
        v = self.v_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)  # (B, KV, T, hd)
        if self.rope is not None:
            cos, sin = self.rope(positions)
            q, k = apply_rotary(q, cos, sin, self.interleaved), apply_rotary(k, cos, sin, self.interleaved)
        grouped = k.shape[1] != q.shape[1]  # local head counts (tensor parallelism)
        if grouped and mask is not None:
            # The flash kernel shares kv heads itself (enable_gqa) but takes no mask; the
            # kernels that do take one need the kv heads repeated up front.
            repeat = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(repeat, dim=1), v.repeat_interleave(repeat, dim=1)  # (B, H, T, hd)
            grouped = False
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None, enable_gqa=grouped,
            dropout_p=self.attention_dropout if self.training else 0.0,
        )  # (B, H, T, hd)
        return self.o_proj(out.transpose(1, 2).reshape(B, T, -1))
