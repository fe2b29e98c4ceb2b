"""StarCoderBase / StarCoder sizes (arXiv 2305.06161): GPT-2-style blocks with multi-query
attention, learned absolute positions, LayerNorm, tanh-GELU MLP (HF `gelu_pytorch_tanh`),
biases everywhere and a head tied to the input embedding; 8k context.

`debug` trains on a laptop CPU. StarCoderBase-1B doubles as the GPU throughput size.
"""

from __future__ import annotations

from dataclasses import replace

from stackpipe.train.models.common.config import TransformerConfig


def starcoder_15b() -> TransformerConfig:
    """StarCoder / StarCoderBase 15.5B."""
    return TransformerConfig(
        family="starcoder", preset="15b", vocab_size=49152, dim=6144, n_layers=40, n_heads=48, n_kv_heads=1,
        ffn_dim=24576, max_seq_len=8192, norm="layer", norm_eps=1e-5, activation="gelu_tanh", bias=True,
        tie_embeddings=True, positions="learned",
    )


def starcoder_1b() -> TransformerConfig:
    return replace(starcoder_15b(), preset="1b", dim=2048, n_layers=24, n_heads=16, ffn_dim=8192)


def starcoder_3b() -> TransformerConfig:
    return replace(starcoder_15b(), preset="3b", dim=2816, n_layers=36, n_heads=22, ffn_dim=11264)


def starcoder_7b() -> TransformerConfig:
    return replace(starcoder_15b(), preset="7b", dim=4096, n_layers=42, n_heads=32, ffn_dim=16384)


def starcoder_debug() -> TransformerConfig:
    return replace(starcoder_15b(), preset="debug", vocab_size=512, dim=128, n_layers=2, n_heads=4, ffn_dim=512,
                   max_seq_len=256)


PRESETS = {"debug": starcoder_debug, "1b": starcoder_1b, "3b": starcoder_3b, "7b": starcoder_7b,
           "15b": starcoder_15b}
