"""Code Llama sizes (arXiv 2308.12950): Llama 2 with RoPE theta 1e6 for 16k context.

7b/13b/34b/70b are the released shapes (34B and 70B: GQA with 8 kv heads; 34B's
vocabulary of 32000 lacks the infilling sentinels, 70B's is 32016 as in its config.json).
`1b` is a from-scratch size for throughput and MFU runs on one GPU; `debug` trains on a
laptop CPU and uses GQA so the parity test covers it.
"""

from __future__ import annotations

from dataclasses import replace

from stackpipe.train.models.common.config import TransformerConfig


def codellama_7b() -> TransformerConfig:
    return TransformerConfig(
        family="codellama", preset="7b", vocab_size=32016, dim=4096, n_layers=32, n_heads=32, n_kv_heads=32,
        ffn_dim=11008, max_seq_len=16384, norm="rms", norm_eps=1e-5, activation="swiglu", bias=False,
        tie_embeddings=False, positions="rope", rope_theta=1e6,
    )


def codellama_13b() -> TransformerConfig:
    return replace(codellama_7b(), preset="13b", dim=5120, n_layers=40, n_heads=40, n_kv_heads=40, ffn_dim=13824)


def codellama_34b() -> TransformerConfig:
    return replace(codellama_7b(), preset="34b", vocab_size=32000, dim=8192, n_layers=48, n_heads=64, n_kv_heads=8,
                   ffn_dim=22016)


def codellama_70b() -> TransformerConfig:
    return replace(codellama_7b(), preset="70b", dim=8192, n_layers=80, n_heads=64, n_kv_heads=8, ffn_dim=28672)


def codellama_1b() -> TransformerConfig:
    """1.14B parameters; head_dim 128 as in the released sizes (the flash kernels' best case)."""
    return replace(codellama_7b(), preset="1b", dim=2048, n_layers=20, n_heads=16, n_kv_heads=16, ffn_dim=5504,
                   max_seq_len=4096)


def codellama_debug() -> TransformerConfig:
    return replace(codellama_7b(), preset="debug", vocab_size=1024, dim=128, n_layers=2, n_heads=4, n_kv_heads=2,
                   ffn_dim=256, max_seq_len=256)


PRESETS = {"debug": codellama_debug, "1b": codellama_1b, "7b": codellama_7b, "13b": codellama_13b,
           "34b": codellama_34b, "70b": codellama_70b}
