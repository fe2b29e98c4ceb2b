"""DeepSeek-V2 family: MLA, YaRN and DeepSeekMoE against transformers' DeepseekV2ForCausalLM."""

from dataclasses import replace

import pytest
import torch

from stackpipe.train.models.common.moe import MoE
from stackpipe.train.models.common.transformer import Transformer
from stackpipe.train.models.common.yarn import yarn_inv_freq_and_scale
from stackpipe.train.models.deepseek import PRESETS, from_hf_state_dict, hf_config, to_hf_state_dict

transformers = pytest.importorskip("transformers")


def _debug_variant(name: str):
    config = PRESETS["debug"]()
    if name == "236b_like":  # low-rank queries, group-limited routing, routed scaling
        config = replace(
            config,
            mla=replace(config.mla, q_lora_rank=24),
            # top_k > topk_groups, else the limit never changes which experts win
            moe=replace(config.moe, top_k=3, n_groups=4, topk_groups=2, routed_scaling=2.5),
        )
    return config


def _moe(**moe_fields) -> MoE:
    config = PRESETS["debug"]()
    torch.manual_seed(0)
    return MoE(replace(config, moe=replace(config.moe, **moe_fields)))


def _hf_model(config):
    hf_cfg = transformers.DeepseekV2Config(**hf_config(config, {"bos": 1, "eos": 2}))
    hf_cfg._attn_implementation = "eager"
    return transformers.DeepseekV2ForCausalLM(hf_cfg).eval()


@pytest.mark.parametrize("variant", ["debug", "236b_like"])
def test_logits_match_hf_deepseek_v2(variant):
    """Logits equal DeepseekV2ForCausalLM's past YaRN's original context (fp32, eval)."""
    config = _debug_variant(variant)
    torch.manual_seed(0)
    model = Transformer(config)
    model.init_weights()
    with torch.no_grad():  # norms start at 1 and would hide a swapped or missing scale
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.eval()
    hf = _hf_model(config)
    hf.load_state_dict(to_hf_state_dict(model.state_dict(), config), strict=True)

    T = 2 * config.rope_scaling.original_max_position
    ids = torch.randint(0, config.vocab_size, (2, T), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = model(ids), hf(ids).logits
    assert (ours - theirs).abs().max().item() < 1e-4


def test_hf_state_dict_round_trips():
    """from_hf_state_dict inverts to_hf_state_dict."""
    config = _debug_variant("236b_like")
    state = Transformer(config).state_dict()
    back = from_hf_state_dict(to_hf_state_dict(state, config), config)
    assert back.keys() == state.keys()
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_yarn_inv_freq_matches_hf_for_lite():
    """YaRN frequencies and cos/sin factor of the Lite preset equal HF's."""
    config = PRESETS["lite"]()
    hf_cfg = transformers.DeepseekV2Config(**hf_config(config, {"bos": 0, "eos": 1}))
    hf_inv_freq, hf_scale = transformers.modeling_rope_utils.ROPE_INIT_FUNCTIONS["yarn"](hf_cfg)
    inv_freq, scale = yarn_inv_freq_and_scale(config.mla.qk_rope_head_dim, config.rope_theta, config.rope_scaling)
    torch.testing.assert_close(inv_freq, hf_inv_freq, rtol=0, atol=0)
    assert scale == pytest.approx(hf_scale, abs=1e-12)


def test_group_limited_routing_stays_in_kept_groups():
    """Every selected expert lies in one of the topk_groups groups with the highest max score."""
    moe = _moe(top_k=3, n_groups=4, topk_groups=2)
    scores, _, ids = moe.route(torch.randn(256, moe.gate.in_features))
    group_of = ids // (moe.n_experts // moe.n_groups)  # (N, K)
    kept = scores.view(256, 4, -1).amax(-1).topk(2, dim=-1).indices  # (N, 2)
    assert (group_of.unsqueeze(-1) == kept.unsqueeze(1)).any(-1).all()


def test_aux_loss_zero_in_eval_positive_in_training_and_trains_router():
    """The balance loss is 0 in eval; in training it is > 0 and reaches the gate weights."""
    moe = _moe()
    x = torch.randn(2, 16, moe.gate.in_features)
    moe.eval()
    moe(x)
    assert moe.aux_loss.item() == 0.0
    moe.train()
    moe(x)
    assert moe.aux_loss.item() > 0
    moe.aux_loss.backward()
    assert moe.gate.weight.grad.abs().sum().item() > 0


def test_moe_equals_dense_reference():
    """Sorted dispatch equals running every expert on every token, weighted by the gate."""
    moe = _moe(top_k=3, n_groups=4, topk_groups=2, routed_scaling=2.0).eval()
    x = torch.randn(2, 16, moe.gate.in_features)
    flat = x.view(-1, x.shape[-1])
    _, weights, ids = moe.route(flat)
    gate = torch.zeros(flat.shape[0], moe.n_experts).scatter(1, ids, weights)  # (N, E)
    dense = sum(gate[:, e : e + 1] * expert(flat) for e, expert in enumerate(moe.experts))
    expected = dense.view_as(x) + moe.shared_experts(x)
    torch.testing.assert_close(moe(x), expected, rtol=1e-5, atol=1e-6)
