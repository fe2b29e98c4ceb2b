"""Stacked routed experts: grouped GEMM against a per-expert reference, no host sync, and
the released per-expert Hugging Face layout imported into the stacked weights."""

from __future__ import annotations

import pytest
import torch

from stackpipe.train.models import build_config, build_model
from stackpipe.train.models.common.experts import GroupedExperts, grouped_mm
from stackpipe.train.models.deepseek import from_hf_state_dict, to_hf_state_dict


def _experts() -> GroupedExperts:
    torch.manual_seed(0)
    experts = GroupedExperts(n_experts=4, dim=16, hidden_dim=32)
    experts.init_weights(std=0.5, n_layers=1)
    return experts


def test_grouped_experts_equal_each_expert_on_its_tokens_with_an_idle_expert():
    """Expert 2 receives no token; every other slot gets its expert's output."""
    experts = _experts()
    x = torch.randn(10, 16)
    ids = torch.tensor([[0, 1], [3, 0], [1, 3]] * 3 + [[0, 3]])  # (10, 2), no 2
    out = experts(x, ids)  # (10, 2, 16)
    expected = torch.stack([torch.stack([experts.expert(int(e), x[n]) for e in ids[n]]) for n in range(10)])
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_an_idle_expert_still_gets_a_zero_gradient():
    """Every expert parameter is in the graph whatever the routing, so FSDP2 reduce-scatters
    the same tensors on every rank."""
    experts = _experts()
    experts(torch.randn(6, 16), torch.zeros(6, 1, dtype=torch.long)).sum().backward()
    for weight in (experts.gate_proj, experts.up_proj, experts.down_proj):
        assert weight.grad is not None
        assert weight.grad[1:].abs().max() == 0 and weight.grad[0].abs().max() > 0


def test_the_moe_forward_makes_no_host_sync(monkeypatch):
    """No .tolist() / .item() / bool() of a tensor in the forward (each is a GPU stall)."""
    model = build_model(build_config("deepseek", "debug"))
    model.init_weights()
    ids = torch.randint(0, model.config.vocab_size, (2, 16))

    def refuse(*_args, **_kwargs):
        raise AssertionError("host sync in the forward")

    for name in ("tolist", "item", "__bool__"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    model(ids)


def test_unaligned_shapes_fall_back_to_the_same_result():
    """Rows of 6 floats (24 bytes) are not 16-byte aligned: the masked fallback agrees."""
    x, w = torch.randn(7, 6), torch.randn(3, 6, 5)
    offsets = torch.tensor([2, 2, 7], dtype=torch.int32)
    expected = torch.cat([x[:2] @ w[0], x[2:7] @ w[2]])
    torch.testing.assert_close(grouped_mm(x, w, offsets), expected)


@pytest.mark.parametrize("layout", ["stacked", "per_expert"])
def test_hf_experts_import_from_either_layout(layout):
    """transformers 5's stacked gate_up_proj/down_proj and the released checkpoints'
    mlp.experts.{e}.*_proj.weight both load into the stacked weights."""
    config = build_config("deepseek", "debug")
    torch.manual_seed(0)
    model = build_model(config)
    model.init_weights()
    state = model.state_dict()
    hf = to_hf_state_dict(state, config)
    if layout == "per_expert":
        for name in [n for n in hf if n.endswith("mlp.experts.gate_up_proj")]:
            prefix = name.removesuffix("gate_up_proj")
            gate_up, down = hf.pop(name), hf.pop(f"{prefix}down_proj")
            for e in range(config.moe.num_routed_experts):
                gate, up = gate_up[e].chunk(2)
                hf.update({f"{prefix}{e}.gate_proj.weight": gate, f"{prefix}{e}.up_proj.weight": up,
                           f"{prefix}{e}.down_proj.weight": down[e]})
    back = from_hf_state_dict(hf, config)
    assert back.keys() == state.keys()
    assert all(torch.equal(back[k], state[k]) for k in state)
