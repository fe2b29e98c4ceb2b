"""Helpers of the Hugging Face adapters: parameter renaming and config.json fields.

A family gives two tables of module paths (the trailing `.weight`/`.bias` is kept):
`top` for modules outside the blocks and `per_layer` for modules inside block i, which
HF nests under `hf_layers.format(i)`.
"""

from __future__ import annotations

import torch

from stackpipe.train.models.common.config import TransformerConfig


def to_hf_names(
    state_dict: dict[str, torch.Tensor], top: dict[str, str], per_layer: dict[str, str], hf_layers: str
) -> dict[str, torch.Tensor]:
    out = {}
    for name, tensor in state_dict.items():
        module, leaf = name.rsplit(".", 1)
        if module.startswith("layers."):
            _, i, inner = module.split(".", 2)
            out[f"{hf_layers.format(i)}{per_layer[inner]}.{leaf}"] = tensor
        else:
            out[f"{top[module]}.{leaf}"] = tensor
    return out


def from_hf_names(
    hf_state_dict: dict[str, torch.Tensor], top: dict[str, str], per_layer: dict[str, str], hf_layers: str
) -> dict[str, torch.Tensor]:
    top_back = {hf: ours for ours, hf in top.items()}
    layer_back = {hf: ours for ours, hf in per_layer.items()}
    prefix = hf_layers.split("{", 1)[0]
    out = {}
    for name, tensor in hf_state_dict.items():
        module, leaf = name.rsplit(".", 1)
        if module.startswith(prefix):
            i, inner = module[len(prefix):].split(".", 1)
            out[f"layers.{i}.{layer_back[inner]}.{leaf}"] = tensor
        else:
            out[f"{top_back[module]}.{leaf}"] = tensor
    return out


def rope_fields(config: TransformerConfig) -> dict:
    """RoPE in the transformers 4 spelling, which transformers 5 still reads (into its
    `rope_parameters`)."""
    scaling = config.rope_scaling
    return {
        "rope_theta": config.rope_theta,
        "rope_scaling": None if scaling is None else {"type": "linear", "factor": scaling.factor},
    }
