"""Model configuration shared by the four families (one frozen dataclass, optional parts).

A family is a set of presets of `TransformerConfig` plus a Hugging Face state-dict
adapter; the blocks live once in `models/common/`. Optional parts switch on the
non-dense pieces: `rope_scaling` (linear or YaRN), `mla` (DeepSeek-V2 multi-head latent
attention) and `moe` (shared + routed experts). `None` means off everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class RopeScaling:
    """Context extension of RoPE. linear: positions divided by `factor` (DeepSeek-Coder V1).
    yarn: NTK-by-parts interpolation with attention temperature (arXiv 2309.00071), as
    DeepSeek-V2 uses it (factor 40 from 4096, beta_fast 32, beta_slow 1)."""

    kind: Literal["linear", "yarn"]
    factor: float
    original_max_position: int = 4096
    beta_fast: float = 32.0
    beta_slow: float = 1.0
    mscale: float = 1.0
    mscale_all_dim: float = 0.0


@dataclass(frozen=True, kw_only=True)
class MLAConfig:
    """DeepSeek-V2 multi-head latent attention (arXiv 2405.04434 §2.1)."""

    kv_lora_rank: int
    q_lora_rank: int | None  # None: queries are projected directly (V2-Lite)
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True, kw_only=True)
class MoEConfig:
    """DeepSeekMoE: `first_k_dense` dense layers, then shared + routed experts."""

    num_routed_experts: int
    num_shared_experts: int
    top_k: int
    expert_ffn_dim: int
    first_k_dense: int
    n_groups: int = 1            # group-limited routing (236B: 8 groups, top 3)
    topk_groups: int = 1
    routed_scaling: float = 1.0
    norm_topk_prob: bool = False
    aux_loss_alpha: float = 0.001  # expert-level balance loss weight


@dataclass(frozen=True, kw_only=True)
class TransformerConfig:
    family: Literal["codellama", "starcoder", "starcoder2", "deepseek"]
    preset: str
    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int              # n_heads: MHA, 1: MQA, between: GQA (ignored with mla)
    ffn_dim: int                 # dense MLP width
    max_seq_len: int
    norm: Literal["rms", "layer"]
    norm_eps: float
    activation: Literal["swiglu", "gelu", "gelu_tanh"]
    bias: bool                   # biases on attention and MLP projections
    tie_embeddings: bool
    positions: Literal["rope", "learned"]
    rope_theta: float = 10000.0
    rope_interleaved: bool = False   # HF: half-split for Llama/StarCoder2, interleaved for DeepSeek-V2
    rope_scaling: RopeScaling | None = None
    sliding_window: int | None = None  # keys attended per query, the query itself included (HF)
    mla: MLAConfig | None = None
    moe: MoEConfig | None = None
    init_std: float = 0.02       # HF initializer_range
    # Dropout as GPTBigCode / Starcoder2 apply it (StarCoder trains with 0.1 on all three):
    # on the summed input embeddings, on the attention probabilities, and on each block's
    # attention and MLP output before it joins the residual stream.
    embedding_dropout: float = 0.0
    attention_dropout: float = 0.0
    residual_dropout: float = 0.0

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads
