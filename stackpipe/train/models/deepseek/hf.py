"""Export to (and import from) Hugging Face's DeepseekV2ForCausalLM.

Names are a table rename (`common/hf_names`) except the routed experts: transformers 5
holds them stacked per layer, `mlp.experts.gate_up_proj` (E, 2*I, D), gate rows first,
and `mlp.experts.down_proj` (E, D, I). This is also what its `save_pretrained` writes,
and its loader still accepts the per-expert keys of the released checkpoints.
"""

from __future__ import annotations

import re

import torch

from stackpipe.train.models.common.config import RopeScaling, TransformerConfig
from stackpipe.train.models.common.hf_names import from_hf_names, to_hf_names

HF_CLASS = "DeepseekV2ForCausalLM"

_TOP = {"tok_embeddings": "model.embed_tokens", "norm": "model.norm", "output": "lm_head"}
_PER_LAYER = {
    "attention_norm": "input_layernorm",
    "attention.q_proj": "self_attn.q_proj",
    "attention.q_a_proj": "self_attn.q_a_proj",
    "attention.q_a_norm": "self_attn.q_a_layernorm",
    "attention.q_b_proj": "self_attn.q_b_proj",
    "attention.kv_a_proj": "self_attn.kv_a_proj_with_mqa",
    "attention.kv_a_norm": "self_attn.kv_a_layernorm",
    "attention.kv_b_proj": "self_attn.kv_b_proj",
    "attention.o_proj": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    **{f"feed_forward.{p}": f"mlp.{p}" for p in ("gate_proj", "up_proj", "down_proj", "gate")},
    **{f"feed_forward.shared_experts.{p}": f"mlp.shared_experts.{p}" for p in ("gate_proj", "up_proj", "down_proj")},
}
_LAYERS = "model.layers.{}."
_EXPERT = re.compile(r"layers\.(\d+)\.feed_forward\.experts\.(\d+)\.(gate|up|down)_proj\.weight")
_STACKED = re.compile(r"model\.layers\.(\d+)\.mlp\.experts\.(gate_up_proj|down_proj)")


def _rope_scaling(scaling: RopeScaling | None) -> dict | None:
    if scaling is None:
        return None
    if scaling.kind == "linear":
        return {"type": "linear", "factor": scaling.factor}
    return {
        "type": "yarn", "factor": scaling.factor, "original_max_position_embeddings": scaling.original_max_position,
        "beta_fast": scaling.beta_fast, "beta_slow": scaling.beta_slow,
        "mscale": scaling.mscale, "mscale_all_dim": scaling.mscale_all_dim,
    }


def hf_config(config: TransformerConfig, special_ids: dict[str, int]) -> dict:
    """config.json of the exported model. Written the way DeepSeek's released configs are
    (top-level rope_theta and rope_scaling), which transformers 4 and 5 and DeepSeek's
    remote code all read; scoring_func, aux_loss_alpha and seq_aux are for the latter.
    special_ids: token ids by role; 'bos' and 'eos' are used."""
    mla, moe = config.mla, config.moe
    if moe.norm_topk_prob:
        raise ValueError(
            f"preset {config.preset!r}: moe.norm_topk_prob=True cannot be exported, "
            "transformers' DeepseekV2 ignores it; train with norm_topk_prob=False"
        )
    return {
        "architectures": [HF_CLASS],
        "model_type": "deepseek_v2",
        "torch_dtype": "float32",
        "vocab_size": config.vocab_size,
        "hidden_size": config.dim,
        "intermediate_size": config.ffn_dim,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_heads,
        "hidden_act": "silu",
        "max_position_embeddings": config.max_seq_len,
        "initializer_range": config.init_std,
        "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_theta,
        "rope_scaling": _rope_scaling(config.rope_scaling),
        "attention_bias": config.bias,
        "tie_word_embeddings": config.tie_embeddings,
        "bos_token_id": special_ids.get("bos"),
        "eos_token_id": special_ids.get("eos"),
        "kv_lora_rank": mla.kv_lora_rank,
        "q_lora_rank": mla.q_lora_rank,
        "qk_nope_head_dim": mla.qk_nope_head_dim,
        "qk_rope_head_dim": mla.qk_rope_head_dim,
        "v_head_dim": mla.v_head_dim,
        "first_k_dense_replace": moe.first_k_dense,
        "n_routed_experts": moe.num_routed_experts,
        "n_shared_experts": moe.num_shared_experts,
        "num_experts_per_tok": moe.top_k,
        "moe_intermediate_size": moe.expert_ffn_dim,
        "topk_method": "group_limited_greedy" if moe.n_groups > 1 else "greedy",
        "n_group": moe.n_groups,
        "topk_group": moe.topk_groups,
        "routed_scaling_factor": moe.routed_scaling,
        "norm_topk_prob": moe.norm_topk_prob,
        "scoring_func": "softmax",
        "aux_loss_alpha": moe.aux_loss_alpha,
        "seq_aux": True,
    }


def to_hf_state_dict(state_dict: dict[str, torch.Tensor], config: TransformerConfig) -> dict[str, torch.Tensor]:
    """Our `Transformer` state dict -> DeepseekV2ForCausalLM's (transformers 5 layout)."""
    experts = {}  # (layer, expert) -> {"gate" | "up" | "down": weight}
    rest = {}
    for name, tensor in state_dict.items():
        m = _EXPERT.fullmatch(name)
        if m:
            experts.setdefault((int(m[1]), int(m[2])), {})[m[3]] = tensor
        else:
            rest[name] = tensor
    out = to_hf_names(rest, _TOP, _PER_LAYER, _LAYERS)
    for layer in sorted({layer for layer, _ in experts}):
        per_expert = [experts[layer, e] for e in range(config.moe.num_routed_experts)]
        prefix = f"{_LAYERS.format(layer)}mlp.experts"
        out[f"{prefix}.gate_up_proj"] = torch.stack([torch.cat([w["gate"], w["up"]]) for w in per_expert])  # (E, 2I, D)
        out[f"{prefix}.down_proj"] = torch.stack([w["down"] for w in per_expert])  # (E, D, I)
    return out


def from_hf_state_dict(hf_state_dict: dict[str, torch.Tensor], config: TransformerConfig) -> dict[str, torch.Tensor]:
    """DeepseekV2ForCausalLM's state dict (transformers 5 layout) -> ours."""
    out, rest = {}, {}
    for name, tensor in hf_state_dict.items():
        m = _STACKED.fullmatch(name)
        if m is None:
            rest[name] = tensor
            continue
        prefix = f"layers.{m[1]}.feed_forward.experts"
        for e, w in enumerate(tensor):  # w: (2I, D) or (D, I)
            if m[2] == "gate_up_proj":
                out[f"{prefix}.{e}.gate_proj.weight"], out[f"{prefix}.{e}.up_proj.weight"] = w.chunk(2)
            else:
                out[f"{prefix}.{e}.down_proj.weight"] = w
    return {**from_hf_names(rest, _TOP, _PER_LAYER, _LAYERS), **out}
