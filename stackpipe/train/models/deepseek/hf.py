"""Export to (and import from) Hugging Face's DeepseekV2ForCausalLM.

Names are a table rename (`common/hf_names`) except the routed experts, which we hold
stacked per layer (`feed_forward.experts.{gate,up,down}_proj`, (E, out, in)).
transformers 5 stacks them too, as `mlp.experts.gate_up_proj` (E, 2*I, D), gate rows
first, and `mlp.experts.down_proj` (E, D, I): what its `save_pretrained` writes and what
the export writes. The released checkpoints hold one module per expert
(`mlp.experts.{e}.{gate,up,down}_proj.weight`); the import takes either layout.
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
_EXPERTS = re.compile(r"layers\.(\d+)\.feed_forward\.experts\.(gate|up|down)_proj")
_STACKED = re.compile(r"model\.layers\.(\d+)\.mlp\.experts\.(gate_up_proj|down_proj)")
_PER_EXPERT = re.compile(r"model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight")


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
    experts = {}  # layer -> {"gate" | "up" | "down": (E, out, in)}
    rest = {}
    for name, tensor in state_dict.items():
        m = _EXPERTS.fullmatch(name)
        if m:
            experts.setdefault(int(m[1]), {})[m[2]] = tensor
        else:
            rest[name] = tensor
    out = to_hf_names(rest, _TOP, _PER_LAYER, _LAYERS)
    for layer, w in sorted(experts.items()):
        prefix = f"{_LAYERS.format(layer)}mlp.experts"
        out[f"{prefix}.gate_up_proj"] = torch.cat([w["gate"], w["up"]], dim=1)  # (E, 2I, D)
        out[f"{prefix}.down_proj"] = w["down"]  # (E, D, I)
    return out


def from_hf_state_dict(hf_state_dict: dict[str, torch.Tensor], config: TransformerConfig) -> dict[str, torch.Tensor]:
    """DeepseekV2ForCausalLM's state dict, stacked (transformers 5) or per expert (the
    released checkpoints) -> ours."""
    out, rest = {}, {}
    per_expert = {}  # (layer, projection) -> {expert: (out, in)}
    for name, tensor in hf_state_dict.items():
        stacked, single = _STACKED.fullmatch(name), _PER_EXPERT.fullmatch(name)
        if stacked:
            prefix = f"layers.{stacked[1]}.feed_forward.experts"
            if stacked[2] == "gate_up_proj":
                out[f"{prefix}.gate_proj"], out[f"{prefix}.up_proj"] = tensor.chunk(2, dim=1)
            else:
                out[f"{prefix}.down_proj"] = tensor
        elif single:
            per_expert.setdefault((int(single[1]), single[3]), {})[int(single[2])] = tensor
        else:
            rest[name] = tensor
    for (layer, projection), by_expert in per_expert.items():
        if sorted(by_expert) != list(range(config.moe.num_routed_experts)):
            missing = sorted(set(range(config.moe.num_routed_experts)) - set(by_expert))
            raise ValueError(f"layer {layer} {projection}_proj: experts {missing} missing from the checkpoint")
        out[f"layers.{layer}.feed_forward.experts.{projection}_proj"] = torch.stack(
            [by_expert[e] for e in range(len(by_expert))])  # (E, out, in)
    return {**from_hf_names(rest, _TOP, _PER_LAYER, _LAYERS), **out}
