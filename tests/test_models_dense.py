"""Dense model families: logit parity with their Hugging Face classes, attention masks, positions."""

from __future__ import annotations

import pytest
import torch
import transformers

from stackpipe.train.models import build_config, build_model, family_module
from stackpipe.train.models.common.attention import Attention, build_attention_mask
from stackpipe.train.models.common.rope import RotaryEmbedding, apply_rotary

DENSE = ("codellama", "starcoder", "starcoder2")
VOCAB = 96


def perturbed_model(family: str, **overrides) -> torch.nn.Module:
    """Debug model, seeded init plus noise on every parameter so biases and norm gains are not trivial."""
    torch.manual_seed(0)
    model = build_model(build_config(family, "debug", vocab_size=VOCAB, **overrides))
    model.init_weights()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return model.eval()


def hf_model(model: torch.nn.Module, **config_overrides) -> torch.nn.Module:
    family = family_module(model.config.family)
    values = {**family.hf_config(model.config, {"bos": 1, "eos": 2}), **config_overrides}
    config = transformers.AutoConfig.for_model(**values)
    hf = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    assert type(hf).__name__ == family.HF_CLASS
    hf.load_state_dict(family.to_hf_state_dict(model.state_dict(), model.config), strict=True)
    return hf.eval()


@torch.no_grad()
@pytest.mark.parametrize("family", DENSE)
def test_logits_match_hugging_face_class(family):
    model = perturbed_model(family)
    input_ids = torch.randint(0, VOCAB, (2, 48))
    ours = model(input_ids)
    theirs = hf_model(model)(input_ids).logits
    assert (ours - theirs).abs().max() <= 1e-4


@torch.no_grad()
def test_starcoder2_sliding_window_applied_as_hugging_face_does():
    """T=48 over a 16-key window: HF's logits depend on the window, and ours match the windowed ones."""
    model = perturbed_model("starcoder2")
    input_ids = torch.randint(0, VOCAB, (1, 48))
    windowed = hf_model(model)(input_ids).logits
    unwindowed = hf_model(model, sliding_window=None)(input_ids).logits
    assert (windowed - unwindowed)[:, 16:].abs().max() > 1e-3
    assert (model(input_ids) - windowed).abs().max() <= 1e-4


@pytest.mark.parametrize("family", DENSE)
def test_hf_state_dict_round_trips(family):
    model = perturbed_model(family)
    module = family_module(family)
    back = module.from_hf_state_dict(module.to_hf_state_dict(model.state_dict(), model.config), model.config)
    original = model.state_dict()
    assert back.keys() == original.keys()
    assert all(torch.equal(back[name], original[name]) for name in original)


@torch.no_grad()
@pytest.mark.parametrize("family", DENSE)
def test_packed_documents_do_not_attend_across_boundary(family):
    """Two documents in one row, positions restarting at the boundary (learned positions
    are indexed by them too), give each document its logits when run alone."""
    model = perturbed_model(family)
    first, second = torch.randint(0, VOCAB, (1, 20)), torch.randint(0, VOCAB, (1, 28))
    packed = torch.cat([first, second], dim=1)
    positions = torch.cat([torch.arange(20), torch.arange(28)])[None]
    document_ids = torch.cat([torch.zeros(20, dtype=torch.long), torch.ones(28, dtype=torch.long)])[None]
    logits = model(packed, positions=positions, document_ids=document_ids)
    assert (logits[:, :20] - model(first)).abs().max() <= 1e-5
    assert (logits[:, 20:] - model(second)).abs().max() <= 1e-5


def test_attention_mask_window_counts_the_query_itself():
    mask = build_attention_mask(None, 6, 3, torch.device("cpu"))
    assert mask.shape == (1, 1, 6, 6)
    assert mask[0, 0, 5].tolist() == [False, False, False, True, True, True]
    assert mask[0, 0, 1].tolist() == [True, True, False, False, False, False]


def test_attention_mask_keeps_documents_apart():
    document_ids = torch.tensor([[0, 0, 1, 1, 1]])
    mask = build_attention_mask(document_ids, 5, None, torch.device("cpu"))
    assert mask.shape == (1, 1, 5, 5)
    assert mask[0, 0, 3].tolist() == [False, False, True, True, False]


def test_attention_mask_is_none_when_plain_causal():
    assert build_attention_mask(None, 8, None, torch.device("cpu")) is None
    assert build_attention_mask(None, 8, 8, torch.device("cpu")) is None


@pytest.mark.parametrize(("family", "kv_heads"), [("codellama", 2), ("starcoder", 1), ("starcoder2", 2)])
def test_key_value_head_counts(family, kv_heads):
    model = build_model(build_config(family, "debug"))
    attention = model.layers[0].attention
    assert attention.k_proj.out_features == attention.v_proj.out_features == kv_heads * model.config.head_dim
    assert attention.q_proj.out_features == model.config.n_heads * model.config.head_dim


@torch.no_grad()
def test_grouped_attention_same_with_and_without_mask():
    """The masked path (kv heads repeated) equals the causal path (enable_gqa)."""
    torch.manual_seed(0)
    attention = Attention(build_config("codellama", "debug"))
    x = torch.randn(2, 12, attention.q_proj.in_features)
    positions = torch.arange(12).expand(2, 12)
    causal = torch.ones(12, 12, dtype=torch.bool).tril()[None, None]
    assert (attention(x, positions, causal) - attention(x, positions, None)).abs().max() <= 1e-6


def test_interleaved_rope_matches_deepseek_v2():
    from transformers.models.deepseek_v2.modeling_deepseek_v2 import apply_rotary_emb

    torch.manual_seed(0)
    q, k = torch.randn(2, 3, 10, 8), torch.randn(2, 1, 10, 8)
    positions = torch.arange(10).expand(2, 10)
    rope = RotaryEmbedding(8, 10000.0, None, interleaved=True)
    cos, sin = rope(positions)
    freqs = positions[..., None].float() * rope.inv_freq  # (B, T, hd/2)
    q_hf, k_hf = apply_rotary_emb(q, k, torch.polar(torch.ones_like(freqs), freqs))
    assert (apply_rotary(q, cos, sin, interleaved=True) - q_hf).abs().max() <= 1e-6
    assert (apply_rotary(k, cos, sin, interleaved=True) - k_hf).abs().max() <= 1e-6


def test_init_weights_deterministic_under_seed():
    states = []
    for _ in range(2):
        torch.manual_seed(3)
        model = build_model(build_config("starcoder", "debug"))
        model.init_weights()
        states.append(model.state_dict())
    assert all(torch.equal(states[0][name], states[1][name]) for name in states[0])
    assert torch.all(states[0]["layers.0.attention_norm.weight"] == 1)
    assert torch.all(states[0]["layers.0.attention.q_proj.bias"] == 0)


def test_dense_model_aux_loss_is_zero():
    model = build_model(build_config("codellama", "debug"))
    assert model.aux_loss().item() == 0.0


def test_unknown_family_or_preset_named():
    with pytest.raises(ValueError, match="'gpt5'.*codellama"):
        build_config("gpt5", "debug")
    with pytest.raises(ValueError, match="'700b'.*debug"):
        build_config("codellama", "700b")


@torch.no_grad()
def test_linear_rope_scaling_matches_hugging_face():
    """Linear scaling (DeepSeek-Coder V1's long-context recipe) exports as HF's linear rope."""
    from stackpipe.train.models.common.config import RopeScaling

    model = perturbed_model("codellama", rope_scaling=RopeScaling(kind="linear", factor=4.0))
    input_ids = torch.randint(0, VOCAB, (1, 40))
    assert (model(input_ids) - hf_model(model)(input_ids).logits).abs().max() <= 1e-4


@torch.no_grad()
def test_untied_head_exports():
    model = perturbed_model("starcoder2", tie_embeddings=False)
    assert model.output is not None
    input_ids = torch.randint(0, VOCAB, (1, 24))
    assert (model(input_ids) - hf_model(model)(input_ids).logits).abs().max() <= 1e-4
