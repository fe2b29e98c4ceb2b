"""The two normalizations the families use: RMSNorm (Code Llama, DeepSeek) and LayerNorm
with bias (StarCoder, StarCoder2), as their Hugging Face classes build them."""

from __future__ import annotations

from torch import nn

from stackpipe.train.models.common.config import TransformerConfig


def build_norm(config: TransformerConfig, dim: int) -> nn.RMSNorm | nn.LayerNorm:
    if config.norm == "rms":
        return nn.RMSNorm(dim, eps=config.norm_eps)
    return nn.LayerNorm(dim, eps=config.norm_eps)
