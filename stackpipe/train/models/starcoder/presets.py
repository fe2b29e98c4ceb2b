"""StarCoderBase / StarCoder sizes (arXiv 2305.06161): GPT-2-style blocks with multi-query
attention, learned absolute positions, LayerNorm, a GELU MLP, biases everywhere, a head
tied to the input embedding, 8k context and dropout 0.1 (attention, residual, embedding).

Values follow the released config.json files (GPTBigCodeConfig): StarCoder(Base) 15.5B and
StarCoderBase-7B use the exact GELU (`activation_function: gelu`), the 1B and 3B its tanh
approximation (`gelu_pytorch_tanh`); every size sets attn_pdrop = resid_pdrop =
embd_pdrop = 0.1.

`debug` trains on a laptop CPU. StarCoderBase-1B doubles as the GPU throughput size.
"""

from __future__ import annotations

from dataclasses import replace

from stackpipe.train.models.common.config import TransformerConfig


def starcoder_15b() -> TransformerConfig:
    """StarCoder / StarCoderBase 15.5B."""
    return TransformerConfig(
        family="starcoder", preset="15b", vocab_size=49152, dim=6144, n_layers=40, n_heads=48, n_kv_heads=1,
        ffn_dim=24576, max_seq_len=8192, norm="layer", norm_eps=1e-5, activation="gelu", bias=True,
        tie_embeddings=True, positions="learned", embedding_dropout=0.1, attention_dropout=0.1, residual_dropout=0.1,
    )


def starcoder_1b() -> TransformerConfig:
    return replace(starcoder_15b(), preset="1b", dim=2048, n_layers=24, n_heads=16, ffn_dim=8192,
                   activation="gelu_tanh")


def starcoder_3b() -> TransformerConfig:
    return replace(starcoder_15b(), preset="3b", dim=2816, n_layers=36, n_heads=22, ffn_dim=11264,
                   activation="gelu_tanh")


def starcoder_7b() -> TransformerConfig:
    return replace(starcoder_15b(), preset="7b", dim=4096, n_layers=42, n_heads=32, ffn_dim=16384)


def starcoder_debug() -> TransformerConfig:
    return replace(starcoder_15b(), preset="debug", vocab_size=1024, dim=128, n_layers=2, n_heads=4, ffn_dim=512,
                   max_seq_len=256)


PRESETS = {"debug": starcoder_debug, "1b": starcoder_1b, "3b": starcoder_3b, "7b": starcoder_7b,
           "15b": starcoder_15b}
