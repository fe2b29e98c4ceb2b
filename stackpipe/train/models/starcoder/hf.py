"""StarCoder <-> Hugging Face GPTBigCodeForCausalLM: config.json and the parameter mapping.

GPTBigCode fuses the query, key and value projections into one `c_attn`. With multi-query
attention its rows are [q (D) | k (hd) | v (hd)]; with one kv head per query head
(`multi_query: false`) they are grouped per head as [q_h | k_h | v_h] for h = 0..H-1.
Grouped-query attention has no GPTBigCode form.
"""

from __future__ import annotations

import torch

from stackpipe.train.models.common.config import TransformerConfig
from stackpipe.train.models.common.hf_names import from_hf_names, to_hf_names

HF_CLASS = "GPTBigCodeForCausalLM"

_TOP = {"tok_embeddings": "transformer.wte", "pos_embeddings": "transformer.wpe", "norm": "transformer.ln_f",
        "output": "lm_head"}
_PER_LAYER = {
    "attention_norm": "ln_1",
    "attention.c_attn": "attn.c_attn",  # fused by `to_hf_state_dict` before renaming
    "attention.o_proj": "attn.c_proj",
    "ffn_norm": "ln_2",
    "feed_forward.up_proj": "mlp.c_fc",
    "feed_forward.down_proj": "mlp.c_proj",
}
_LAYERS = "transformer.h.{}."


def _check_heads(config: TransformerConfig) -> None:
    if config.n_kv_heads not in (1, config.n_heads):
        raise ValueError(f"starcoder {config.preset}: n_kv_heads={config.n_kv_heads}; GPTBigCode has only "
                         f"multi-query (1) or multi-head ({config.n_heads}) attention")


def hf_config(config: TransformerConfig, special_ids: dict[str, int]) -> dict:
    _check_heads(config)
    return {
        "model_type": "gpt_bigcode",
        "architectures": [HF_CLASS],
        "torch_dtype": "float32",
        "vocab_size": config.vocab_size,
        "n_embd": config.dim,
        "n_inner": config.ffn_dim,
        "n_layer": config.n_layers,
        "n_head": config.n_heads,
        "multi_query": config.n_kv_heads == 1,
        "n_positions": config.max_seq_len,
        "activation_function": "gelu_pytorch_tanh" if config.activation == "gelu_tanh" else "gelu",
        "layer_norm_epsilon": config.norm_eps,
        "scale_attn_weights": True,
        "tie_word_embeddings": config.tie_embeddings,
        "initializer_range": config.init_std,
        "resid_pdrop": config.residual_dropout,
        "embd_pdrop": config.embedding_dropout,
        "attn_pdrop": config.attention_dropout,
        "bos_token_id": special_ids.get("bos"),
        "eos_token_id": special_ids.get("eos"),
    }


def _fuse(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, config: TransformerConfig) -> torch.Tensor:
    """q (H*hd, ...), k and v (KV*hd, ...) -> c_attn rows (weight or bias alike)."""
    if config.n_kv_heads == 1:
        return torch.cat([q, k, v])
    per_head = [t.unflatten(0, (config.n_heads, config.head_dim)) for t in (q, k, v)]  # (H, hd, ...)
    return torch.stack(per_head, dim=1).flatten(0, 2)  # (H * 3 * hd, ...)


def _split(c_attn: torch.Tensor, config: TransformerConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if config.n_kv_heads == 1:
        return c_attn.split([config.dim, config.head_dim, config.head_dim])
    grouped = c_attn.unflatten(0, (config.n_heads, 3, config.head_dim))  # (H, 3, hd, ...)
    return tuple(grouped[:, i].flatten(0, 1) for i in range(3))


def to_hf_state_dict(state_dict: dict[str, torch.Tensor], config: TransformerConfig) -> dict[str, torch.Tensor]:
    _check_heads(config)
    fused = dict(state_dict)
    for i in range(config.n_layers):
        prefix = f"layers.{i}.attention."
        for leaf in ("weight", "bias"):
            q, k, v = (fused.pop(f"{prefix}{p}_proj.{leaf}") for p in "qkv")
            fused[f"{prefix}c_attn.{leaf}"] = _fuse(q, k, v, config)
    hf = to_hf_names(fused, _TOP, _PER_LAYER, _LAYERS)
    if config.tie_embeddings:
        hf["lm_head.weight"] = hf["transformer.wte.weight"]
    return hf


def from_hf_state_dict(hf_state_dict: dict[str, torch.Tensor], config: TransformerConfig) -> dict[str, torch.Tensor]:
    if config.tie_embeddings:
        hf_state_dict = {k: v for k, v in hf_state_dict.items() if k != "lm_head.weight"}
    state_dict = from_hf_names(hf_state_dict, _TOP, _PER_LAYER, _LAYERS)
    for i in range(config.n_layers):
        prefix = f"layers.{i}.attention."
        for leaf in ("weight", "bias"):
            q, k, v = _split(state_dict.pop(f"{prefix}c_attn.{leaf}"), config)
            state_dict.update({f"{prefix}q_proj.{leaf}": q, f"{prefix}k_proj.{leaf}": k, f"{prefix}v_proj.{leaf}": v})
    return state_dict
