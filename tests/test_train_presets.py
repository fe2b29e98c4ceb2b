"""Presets against the released Hugging Face config.json values, and the vocabulary rule."""

from __future__ import annotations

import pytest
import torch

from stackpipe.train.flops import total_params
from stackpipe.train.models import build_config, build_model, family_module
from stackpipe.train.train import TrainConfig, model_config_for


@pytest.mark.parametrize("preset, activation", [("15b", "gelu"), ("7b", "gelu"), ("3b", "gelu_tanh"),
                                                ("1b", "gelu_tanh")])
def test_starcoder_activation_is_the_released_one(preset, activation):
    """bigcode/starcoder(base) and -7b: `gelu`; starcoderbase-1b/-3b: `gelu_pytorch_tanh`."""
    config = build_config("starcoder", preset)
    assert config.activation == activation
    hf_act = family_module("starcoder").hf_config(config, {})["activation_function"]
    assert hf_act == {"gelu": "gelu", "gelu_tanh": "gelu_pytorch_tanh"}[activation]


@pytest.mark.parametrize("preset", ["1b", "3b", "7b", "15b"])
def test_starcoder_exports_its_dropout_of_0_1(preset):
    hf = family_module("starcoder").hf_config(build_config("starcoder", preset), {})
    assert (hf["attn_pdrop"], hf["resid_pdrop"], hf["embd_pdrop"]) == (0.1, 0.1, 0.1)


def test_dropout_is_applied_in_training_and_not_in_eval():
    model = build_model(build_config("starcoder", "debug"))
    model.init_weights()
    ids = torch.randint(0, 1024, (2, 16))
    model.train()
    assert not torch.equal(model(ids), model(ids))
    model.eval()
    assert torch.equal(model(ids), model(ids))


@pytest.mark.parametrize("preset, std", [("3b", 0.018042), ("7b", 0.018042), ("15b", 0.01275)])
def test_starcoder2_initializer_range_is_the_released_one(preset, std):
    config = build_config("starcoder2", preset)
    assert config.init_std == std
    assert family_module("starcoder2").hf_config(config, {})["initializer_range"] == std


def test_deepseek_236b_balance_loss_weight_is_the_released_one():
    assert build_config("deepseek", "236b").moe.aux_loss_alpha == 0.001


def test_codellama_70b_has_the_released_shape():
    """codellama/CodeLlama-70b-hf: 8192 hidden, 80 layers, 64 heads, 8 kv heads, 28672 ffn,
    vocab 32016, 69.0B parameters."""
    config = build_config("codellama", "70b")
    shape = (config.dim, config.n_layers, config.n_heads, config.n_kv_heads, config.ffn_dim, config.vocab_size)
    assert shape == (8192, 80, 64, 8, 28672, 32016)
    assert config.rope_theta == 1e6 and config.max_seq_len == 16384
    assert total_params(config) == pytest.approx(68.98e9, rel=1e-3)


def _train_config(**changes) -> TrainConfig:
    return TrainConfig(data=(("x", 1.0),), output="x", family="codellama", preset="7b", steps=1, seq_len=8,
                       micro_batch=1, **changes)


@pytest.mark.parametrize("tokenizer_vocab", [32016, 32000, 1024])
def test_vocabulary_keeps_the_published_size_when_the_tokenizer_fits(tokenizer_vocab):
    """32016 stays 32016 (it used to be rounded up to 32064)."""
    assert model_config_for(_train_config(), tokenizer_vocab).vocab_size == 32016


def test_a_tokenizer_larger_than_the_published_vocabulary_is_an_error():
    with pytest.raises(ValueError, match=r"32017 tokens, more than the 32016 rows of the codellama 7b .*"
                                         r"--vocab-size 32064"):
        model_config_for(_train_config(), 32017)


def test_vocab_size_override_gives_a_scratch_model_another_size():
    config = model_config_for(_train_config(model_overrides={"vocab_size": 32064}), 32017)
    assert config.vocab_size == 32064
