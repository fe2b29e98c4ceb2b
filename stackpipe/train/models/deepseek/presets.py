"""DeepSeek-Coder-V2 sizes: MLA attention, one dense layer, then DeepSeekMoE layers.

`lite` and `236b` are the released models (arXiv 2406.11931, configs of
deepseek-ai/DeepSeek-Coder-V2-Lite-Base and DeepSeek-Coder-V2-Base), context already
extended with YaRN (factor 40 from 4096). `1b` is a from-scratch pre-training size with
the Lite's shape scaled down and no YaRN yet (DeepSeek extends context in a later stage).
"""

from __future__ import annotations

from dataclasses import replace

from stackpipe.train.models.common.config import MLAConfig, MoEConfig, RopeScaling, TransformerConfig

# DeepSeek-V2 sets mscale == mscale_all_dim, which moves the whole YaRN temperature
# into the softmax scale and leaves cos/sin unscaled.
_YARN_40X = RopeScaling(
    kind="yarn", factor=40.0, original_max_position=4096, beta_fast=32.0, beta_slow=1.0,
    mscale=0.707, mscale_all_dim=0.707,
)


def deepseek_lite() -> TransformerConfig:
    """DeepSeek-Coder-V2-Lite: 15.7B parameters, 2.7B active per token (2.2B without
    embedding and head)."""
    return TransformerConfig(
        family="deepseek", preset="lite", vocab_size=102400, dim=2048, n_layers=27,
        n_heads=16, n_kv_heads=16, ffn_dim=10944, max_seq_len=163840,
        norm="rms", norm_eps=1e-6, activation="swiglu", bias=False, tie_embeddings=False,
        positions="rope", rope_theta=10000.0, rope_interleaved=True, rope_scaling=_YARN_40X,
        mla=MLAConfig(kv_lora_rank=512, q_lora_rank=None, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128),
        moe=MoEConfig(
            num_routed_experts=64, num_shared_experts=2, top_k=6, expert_ffn_dim=1408, first_k_dense=1,
            aux_loss_alpha=0.001,
        ),
        init_std=0.006,  # DeepSeek-V2 paper §3.1.2
    )


def deepseek_236b() -> TransformerConfig:
    """DeepSeek-Coder-V2: 236B parameters, 21B active; low-rank queries and routing
    limited to 3 of 8 expert groups."""
    return replace(
        deepseek_lite(), preset="236b", dim=5120, n_layers=60, n_heads=128, n_kv_heads=128, ffn_dim=12288,
        mla=MLAConfig(kv_lora_rank=512, q_lora_rank=1536, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128),
        moe=MoEConfig(
            num_routed_experts=160, num_shared_experts=2, top_k=6, expert_ffn_dim=1536, first_k_dense=1,
            n_groups=8, topk_groups=3, routed_scaling=16.0, aux_loss_alpha=0.001,
        ),
    )


def deepseek_1b() -> TransformerConfig:
    """1.05B parameters, 0.39B active (0.18B without embedding and head)."""
    return replace(
        deepseek_lite(), preset="1b", dim=1024, n_layers=16, n_heads=8, n_kv_heads=8, ffn_dim=4096,
        max_seq_len=4096, rope_scaling=None,
        mla=MLAConfig(kv_lora_rank=256, q_lora_rank=None, qk_nope_head_dim=64, qk_rope_head_dim=32, v_head_dim=64),
        moe=MoEConfig(num_routed_experts=32, num_shared_experts=2, top_k=4, expert_ffn_dim=512, first_k_dense=1),
        init_std=0.02,
    )


def deepseek_debug() -> TransformerConfig:
    """Trains on a laptop CPU. YaRN starts past 32 positions so short test sequences use it;
    mscale differs from mscale_all_dim so both YaRN temperature paths run."""
    return replace(
        deepseek_lite(), preset="debug", vocab_size=1024, dim=64, n_layers=3, n_heads=4, n_kv_heads=4,
        ffn_dim=192, max_seq_len=128,
        rope_scaling=RopeScaling(kind="yarn", factor=4.0, original_max_position=32, mscale=1.0, mscale_all_dim=0.707),
        mla=MLAConfig(kv_lora_rank=32, q_lora_rank=None, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16),
        moe=MoEConfig(num_routed_experts=8, num_shared_experts=2, top_k=2, expert_ffn_dim=32, first_k_dense=1),
        init_std=0.02,
    )


PRESETS = {"debug": deepseek_debug, "1b": deepseek_1b, "lite": deepseek_lite, "236b": deepseek_236b}
