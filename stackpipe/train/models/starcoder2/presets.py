"""StarCoder2 sizes (arXiv 2402.19173): grouped-query attention with RoPE and a 4096-key
sliding window, LayerNorm, tanh-GELU MLP, biases, 16k context.

3b/7b/15b are the released shapes (theta and initializer_range as in their config.json
files: 0.018042 for 3B and 7B, 0.01275 for 15B). `1b` is a
from-scratch size for throughput and MFU runs; `debug` trains on a laptop CPU and has a
16-key window so short test sequences exercise it.
"""

from __future__ import annotations

from dataclasses import replace

from stackpipe.train.models.common.config import TransformerConfig


def starcoder2_3b() -> TransformerConfig:
    return TransformerConfig(
        family="starcoder2", preset="3b", vocab_size=49152, dim=3072, n_layers=30, n_heads=24, n_kv_heads=2,
        ffn_dim=12288, max_seq_len=16384, norm="layer", norm_eps=1e-5, activation="gelu_tanh", bias=True,
        tie_embeddings=True, positions="rope", rope_theta=999999.4420358813, sliding_window=4096,
        init_std=0.018042,
    )


def starcoder2_7b() -> TransformerConfig:
    return replace(starcoder2_3b(), preset="7b", dim=4608, n_layers=32, n_heads=36, n_kv_heads=4, ffn_dim=18432,
                   rope_theta=1e6)


def starcoder2_15b() -> TransformerConfig:
    """15.96B parameters with its own output head, as the released checkpoint's count (16B)
    implies (unverified against its config.json); 3b and 7b tie it (3.03B, 7.17B)."""
    return replace(starcoder2_3b(), preset="15b", dim=6144, n_layers=40, n_heads=48, n_kv_heads=4, ffn_dim=24576,
                   rope_theta=1e5, tie_embeddings=False, init_std=0.01275)


def starcoder2_1b() -> TransformerConfig:
    """1.3B parameters, head_dim 128."""
    return replace(starcoder2_3b(), preset="1b", dim=2048, n_layers=24, n_heads=16, n_kv_heads=2, ffn_dim=8192,
                   max_seq_len=4096, rope_theta=1e6, init_std=0.02)


def starcoder2_debug() -> TransformerConfig:
    return replace(starcoder2_3b(), preset="debug", vocab_size=1024, dim=128, n_layers=2, n_heads=4, n_kv_heads=2,
                   ffn_dim=512, max_seq_len=256, rope_theta=1e4, sliding_window=16, init_std=0.02)


PRESETS = {"debug": starcoder2_debug, "1b": starcoder2_1b, "3b": starcoder2_3b, "7b": starcoder2_7b,
           "15b": starcoder2_15b}
