"""Multi-head latent attention (DeepSeek-V2, arXiv 2405.04434 §2.1).

Keys and values are rebuilt per head from one low-rank latent c_kv (kv_lora_rank wide),
the only thing an inference cache has to keep. RoPE cannot pass through that
up-projection, so position lives in a separate qk_rope_head_dim slice: each query head
has its own rotated part, and one rotated key part is shared by all heads. Queries are
optionally low-rank too (q_lora_rank, the 236B model). Parameter names follow Hugging
Face's DeepseekV2Attention so the export is a rename.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stackpipe.train.models.common.config import TransformerConfig
from stackpipe.train.models.common.rope import RotaryEmbedding, apply_rotary
from stackpipe.train.models.common.yarn import yarn_softmax_scale


class MLAttention(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        mla = config.mla
        self.n_heads = config.n_heads
        self.nope_dim, self.rope_dim, self.v_dim = mla.qk_nope_head_dim, mla.qk_rope_head_dim, mla.v_head_dim
        self.kv_lora_rank = mla.kv_lora_rank
        qk_dim = self.nope_dim + self.rope_dim
        self.q_lora = mla.q_lora_rank is not None
        if not self.q_lora:
            self.q_proj = nn.Linear(config.dim, self.n_heads * qk_dim, bias=False)
        else:
            self.q_a_proj = nn.Linear(config.dim, mla.q_lora_rank, bias=config.bias)
            self.q_a_norm = nn.RMSNorm(mla.q_lora_rank, eps=config.norm_eps)
            self.q_b_proj = nn.Linear(mla.q_lora_rank, self.n_heads * qk_dim, bias=False)
        # One projection yields the latent and the shared rope key ("with MQA" in HF).
        self.kv_a_proj = nn.Linear(config.dim, self.kv_lora_rank + self.rope_dim, bias=config.bias)
        self.kv_a_norm = nn.RMSNorm(self.kv_lora_rank, eps=config.norm_eps)
        # Identity: the point where tensor parallelism sums the shared rope key's gradient,
        # which each rank's own query heads only partly produce.
        self.shared_rope_key = nn.Identity()
        self.kv_b_proj = nn.Linear(self.kv_lora_rank, self.n_heads * (self.nope_dim + self.v_dim), bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.v_dim, config.dim, bias=config.bias)

        scaling = config.rope_scaling
        self.rope = RotaryEmbedding(self.rope_dim, config.rope_theta, scaling, config.rope_interleaved)
        self.interleaved = config.rope_interleaved
        self.attention_dropout = config.attention_dropout
        self.softmax_scale = qk_dim**-0.5
        if scaling is not None and scaling.kind == "yarn":
            self.softmax_scale *= yarn_softmax_scale(scaling)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        B, T, _ = x.shape
        if self.q_lora:
            q = self.q_b_proj(self.q_a_norm(self.q_a_proj(x)))
        else:
            q = self.q_proj(x)
        # -1 heads: under tensor parallelism each rank holds H / tp of them.
        q = q.view(B, T, -1, self.nope_dim + self.rope_dim).transpose(1, 2)  # (B, H, T, nope + rope)
        H = q.shape[1]
        q_nope, q_rope = q.split([self.nope_dim, self.rope_dim], dim=-1)

        c_kv, k_rope = self.kv_a_proj(x).split([self.kv_lora_rank, self.rope_dim], dim=-1)  # (B, T, r), (B, T, rope)
        k_rope = self.shared_rope_key(k_rope)
        kv = self.kv_b_proj(self.kv_a_norm(c_kv)).view(B, T, H, -1).transpose(1, 2)  # (B, H, T, nope + v)
        k_nope, v = kv.split([self.nope_dim, self.v_dim], dim=-1)

        cos, sin = self.rope(positions)
        q_rope = apply_rotary(q_rope, cos, sin, self.interleaved)
        k_rope = apply_rotary(k_rope.unsqueeze(1), cos, sin, self.interleaved)  # (B, 1, T, rope)

        q = torch.cat([q_nope, q_rope], dim=-1)  # (B, H, T, nope + rope)
        k = torch.cat([k_nope, k_rope.expand(B, H, T, self.rope_dim)], dim=-1)  # (B, H, T, nope + rope)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None, scale=self.softmax_scale,
            dropout_p=self.attention_dropout if self.training else 0.0,
        )  # (B, H, T, v)
        return self.o_proj(out.transpose(1, 2).reshape(B, T, -1))
