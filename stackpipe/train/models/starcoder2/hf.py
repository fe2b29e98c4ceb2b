"""StarCoder2 <-> Hugging Face Starcoder2ForCausalLM: config.json and a parameter rename."""

from __future__ import annotations

import torch

from stackpipe.train.models.common.config import TransformerConfig
from stackpipe.train.models.common.hf_names import from_hf_names, rope_fields, to_hf_names

HF_CLASS = "Starcoder2ForCausalLM"

_TOP = {"tok_embeddings": "model.embed_tokens", "norm": "model.norm", "output": "lm_head"}
_PER_LAYER = {
    "attention_norm": "input_layernorm",
    "attention.q_proj": "self_attn.q_proj",
    "attention.k_proj": "self_attn.k_proj",
    "attention.v_proj": "self_attn.v_proj",
    "attention.o_proj": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "feed_forward.up_proj": "mlp.c_fc",
    "feed_forward.down_proj": "mlp.c_proj",
}
_LAYERS = "model.layers.{}."


def hf_config(config: TransformerConfig, special_ids: dict[str, int]) -> dict:
    return {
        "model_type": "starcoder2",
        "architectures": [HF_CLASS],
        "torch_dtype": "float32",
        "vocab_size": config.vocab_size,
        "hidden_size": config.dim,
        "intermediate_size": config.ffn_dim,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_kv_heads,
        "hidden_act": "gelu_pytorch_tanh" if config.activation == "gelu_tanh" else "gelu",
        "max_position_embeddings": config.max_seq_len,
        "norm_epsilon": config.norm_eps,
        **rope_fields(config),
        "sliding_window": config.sliding_window,
        "use_bias": config.bias,
        "tie_word_embeddings": config.tie_embeddings,
        "initializer_range": config.init_std,
        "attention_dropout": config.attention_dropout,
        "residual_dropout": config.residual_dropout,
        "embedding_dropout": config.embedding_dropout,
        "bos_token_id": special_ids.get("bos"),
        "eos_token_id": special_ids.get("eos"),
    }


def to_hf_state_dict(state_dict: dict[str, torch.Tensor], config: TransformerConfig) -> dict[str, torch.Tensor]:
    hf = to_hf_names(state_dict, _TOP, _PER_LAYER, _LAYERS)
    if config.tie_embeddings:
        hf["lm_head.weight"] = hf["model.embed_tokens.weight"]
    return hf


def from_hf_state_dict(hf_state_dict: dict[str, torch.Tensor], config: TransformerConfig) -> dict[str, torch.Tensor]:
    if config.tie_embeddings:
        hf_state_dict = {k: v for k, v in hf_state_dict.items() if k != "lm_head.weight"}
    return from_hf_names(hf_state_dict, _TOP, _PER_LAYER, _LAYERS)
