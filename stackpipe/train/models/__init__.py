"""The model families: `build_config(family, preset)` then `build_model(config)`.

A family is a package exposing PRESETS (preset name -> TransformerConfig factory),
HF_CLASS, hf_config(config, special_ids) and to_hf_state_dict(state_dict, config).
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType

from stackpipe.train.models.common.config import TransformerConfig

FAMILIES = ("codellama", "starcoder", "starcoder2", "deepseek")


def family_module(name: str) -> ModuleType:
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; choose one of {', '.join(FAMILIES)}")
    # Imported on demand: a run pays only for the family it trains.
    return importlib.import_module(f"stackpipe.train.models.{name}")


def build_config(family: str, preset: str, **overrides) -> TransformerConfig:
    """The preset's config with `overrides` (TransformerConfig fields, e.g. vocab_size from
    the tokenizer) replaced."""
    presets = family_module(family).PRESETS
    if preset not in presets:
        raise ValueError(f"unknown preset {preset!r} of model family {family}; choose one of {', '.join(presets)}")
    fields = {f.name for f in dataclasses.fields(TransformerConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown model setting(s) {', '.join(unknown)}; "
                         f"TransformerConfig has {', '.join(sorted(fields))}")
    return dataclasses.replace(presets[preset](), **overrides)


def build_model(config: TransformerConfig):
    """A `Transformer` with uninitialized weights: call `init_weights()` or load a checkpoint."""
    # Imported here so that listing FAMILIES (the CLI) does not import torch.
    from stackpipe.train.models.common.transformer import Transformer

    return Transformer(config)
