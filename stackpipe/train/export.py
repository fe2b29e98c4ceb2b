"""Trained checkpoints back out: `load_checkpoint` for Python, `export_hf` for transformers.

`export_hf` writes a directory that `transformers.AutoModelForCausalLM.from_pretrained`
loads as the family's own class (LlamaForCausalLM, GPTBigCodeForCausalLM,
Starcoder2ForCausalLM, DeepseekV2ForCausalLM): config.json, model.safetensors,
generation_config.json and the tokenizer (tokenizer.json plus tokenizer_config.json
naming its special tokens, so `AutoTokenizer` loads it).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from stackpipe.train.checkpoint import CheckpointError, load_checkpoint_into, resolve_checkpoint
from stackpipe.train.models import build_model, family_module
from stackpipe.train.models.common.config import MLAConfig, MoEConfig, RopeScaling, TransformerConfig

RUN_FILE = "run.json"
_NESTED = {"rope_scaling": RopeScaling, "mla": MLAConfig, "moe": MoEConfig}


def config_from_dict(values: dict) -> TransformerConfig:
    fields = {key: (_NESTED[key](**value) if key in _NESTED and value is not None else value)
              for key, value in values.items()}
    return TransformerConfig(**fields)


def _run_directory(step_dir: Path) -> Path:
    """checkpoints/step-N sits two levels below the run directory."""
    return step_dir.parent.parent


def read_run(step_dir: Path) -> dict:
    run_file = _run_directory(step_dir) / RUN_FILE
    if not run_file.is_file():
        raise FileNotFoundError(f"{run_file}: missing; a checkpoint must sit in a run directory of stackpipe train")
    try:
        return json.loads(run_file.read_text(encoding="utf-8"))
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise CheckpointError(f"{run_file}: not valid JSON ({error}); it holds the model config the checkpoints "
                              "need: restore it from a copy") from None


def load_checkpoint(path: str | os.PathLike) -> torch.nn.Module:
    """The model of a checkpoint (a run directory's latest, or a step directory), in eval mode.

    Call it as `model(input_ids) -> logits`; `model.config` is its TransformerConfig.
    A damaged checkpoint raises CheckpointError naming the file at fault.
    """
    step_dir = resolve_checkpoint(path)
    config = config_from_dict(read_run(step_dir)["model"])
    model = build_model(config)
    load_checkpoint_into(step_dir, model, optimizer=None)
    model.eval()
    return model


def _tokenizer_config(special_ids: dict[str, int], tokenizer_json: dict) -> dict:
    by_id = {token["id"]: token["content"] for token in tokenizer_json.get("added_tokens", [])}
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False}
    for role in ("bos", "eos"):
        if role in special_ids and special_ids[role] in by_id:
            config[f"{role}_token"] = by_id[special_ids[role]]
    if "fim_pad" in special_ids and special_ids["fim_pad"] in by_id:
        config["pad_token"] = by_id[special_ids["fim_pad"]]
    return config


def export_hf(checkpoint: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Write the checkpoint as a Hugging Face model directory; returns its path."""
    step_dir = resolve_checkpoint(checkpoint)
    run = read_run(step_dir)
    model = load_checkpoint(step_dir)
    family = family_module(model.config.family)
    special_ids = run["tokenizer"]["special_ids"]
    hf_config = family.hf_config(model.config, special_ids)
    tensors = family.to_hf_state_dict(model.state_dict(), model.config)
    # safetensors refuses tensors that share storage (tied embeddings): store contiguous copies
    tensors = {name: tensor.detach().clone().contiguous() for name, tensor in tensors.items()}

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    save_file(tensors, str(staging / "model.safetensors"), metadata={"format": "pt"})
    (staging / "config.json").write_text(json.dumps(hf_config, indent=2, sort_keys=True) + "\n")
    generation = {key: hf_config[key] for key in ("bos_token_id", "eos_token_id") if hf_config.get(key) is not None}
    (staging / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    tokenizer = _run_directory(step_dir) / "tokenizer.json"
    if tokenizer.is_file():
        shutil.copyfile(tokenizer, staging / "tokenizer.json")
        tokenizer_config = _tokenizer_config(special_ids, json.loads(tokenizer.read_text()))
        (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    if output.exists():
        shutil.rmtree(output)
    os.replace(staging, output)
    return output
