"""Tensor parallelism (Megatron-LM, arXiv 1909.08053) with PyTorch's DTensor styles.

Within a block, the query/key/value and gate/up projections are split by output rows
(`ColwiseParallel`: each rank holds whole heads, and whole slices of the MLP's hidden
width) and the output and down projections by input columns (`RowwiseParallel`, whose
output is summed across the group): one all-reduce per sub-layer forward and one per
backward. Attention reshapes with -1 heads, so each rank runs its local heads.

A single kv head (StarCoder's multi-query attention) cannot be split: every rank keeps
the whole key/value projection (`Replicated(partial_grad=True)`) and, since each rank's
query heads use it, the gradient that comes back is that rank's share, summed over the
group. DeepSeek's MLA splits its query and key/value up-projections by heads and keeps the
low-rank down-projections whole; its shared rope key gets the same summed gradient. In
MoE layers the shared experts are split like a dense MLP while the router and the routed
experts are replicated (expert parallelism is the way to split those; not yet built).

Everything else (embeddings, learned positions, norms, the LM head, tied or not) is
replicated across the group as DTensors (`Replicated`): every parameter then lives on the
same device mesh, which FSDP2 on the outer `dp` dimension and gradient clipping need.
Their gradients are equal on every rank of the group because the blocks' all-reduces
leave the residual stream and its gradient replicated.

Limits, checked by `check_tensor_parallel`: heads, MLP and shared-expert widths divisible
by the group size, kv heads too (or exactly one); no sequence parallelism yet.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.tensor import DTensor, Partial, Replicate, distribute_module
from torch.distributed.tensor.parallel import ColwiseParallel, ParallelStyle, RowwiseParallel, parallelize_module

from stackpipe.train.models.common.config import TransformerConfig
from stackpipe.train.models.common.mla import MLAttention
from stackpipe.train.models.common.moe import MoE


class Replicated(ParallelStyle):
    """Parameters replicated over the mesh as DTensors; tensors in and out stay plain
    (the inputs are the same on every rank of the group).

    partial_grad: the output's gradient is each rank's share (a shared key/value head used
    by the rank's own query heads): it is declared Partial, so DTensor sums it over the
    group before it reaches the input and the weights."""

    def __init__(self, *, partial_grad: bool = False):
        super().__init__()
        self.partial_grad = partial_grad

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        def to_dtensor(_module, inputs, mesh):
            return tuple(DTensor.from_local(t, mesh, [Replicate()], run_check=False)
                         if isinstance(t, torch.Tensor) and not isinstance(t, DTensor) else t for t in inputs)

        def to_local(_module, output, _mesh):
            if not isinstance(output, DTensor):
                return output
            return output.to_local(grad_placements=[Partial()] if self.partial_grad else None)

        return distribute_module(module, device_mesh, input_fn=to_dtensor, output_fn=to_local)


def check_tensor_parallel(config: TransformerConfig, tp: int) -> None:
    """Refuse, naming the setting, a model that `--tp tp` cannot split."""
    if tp == 1:
        return
    where = f"--tp {tp} with {config.family} {config.preset}"
    widths = [("n_heads", config.n_heads), ("ffn_dim", config.ffn_dim)]
    if config.mla is None and config.n_kv_heads != 1:  # one kv head is kept whole
        widths.append(("n_kv_heads", config.n_kv_heads))
    if config.moe is not None:
        widths.append(("shared experts' width", config.moe.num_shared_experts * config.moe.expert_ffn_dim))
    for name, value in widths:
        if value % tp:
            raise ValueError(f"{where}: {name}={value} is not divisible by {tp}; choose a --tp that divides it")


def _mlp_plan(prefix: str, mlp: nn.Module) -> dict[str, ParallelStyle]:
    plan = {f"{prefix}.{name}": ColwiseParallel() for name in ("gate_proj", "up_proj")
            if getattr(mlp, name, None) is not None}
    plan[f"{prefix}.down_proj"] = RowwiseParallel()
    return plan


def _attention_plan(attention: nn.Module, n_kv_heads: int) -> dict[str, ParallelStyle]:
    if isinstance(attention, MLAttention):
        # Query and key/value up-projections by heads; the low-rank down-projections and
        # their norms are shared by all heads, so replicated.
        plan = {"attention.kv_a_proj": Replicated(), "attention.kv_a_norm": Replicated(),
                "attention.kv_b_proj": ColwiseParallel(), "attention.shared_rope_key": Replicated(partial_grad=True)}
        if attention.q_lora:
            plan.update({"attention.q_a_proj": Replicated(), "attention.q_a_norm": Replicated(),
                         "attention.q_b_proj": ColwiseParallel()})
        else:
            plan["attention.q_proj"] = ColwiseParallel()
    else:
        kv = Replicated(partial_grad=True) if n_kv_heads == 1 else ColwiseParallel()
        plan = {"attention.q_proj": ColwiseParallel(), "attention.k_proj": kv, "attention.v_proj": kv}
    plan["attention.o_proj"] = RowwiseParallel()
    return plan


def apply_tensor_parallel(model: nn.Module, tp_mesh: DeviceMesh) -> None:
    """Split `model`'s blocks over `tp_mesh` and replicate the rest (see the module docstring)."""
    check_tensor_parallel(model.config, tp_mesh.size())
    for block in model.layers:
        plan = _attention_plan(block.attention, model.config.n_kv_heads)
        plan["attention_norm"] = plan["ffn_norm"] = Replicated()
        if isinstance(block.feed_forward, MoE):
            # Shared experts split like a dense MLP; the router and the routed experts are
            # replicated (the MoE code reads their weights directly, as local tensors).
            plan.update(_mlp_plan("feed_forward.shared_experts", block.feed_forward.shared_experts))
            distribute_module(block.feed_forward.gate, tp_mesh)
            distribute_module(block.feed_forward.experts, tp_mesh)
        else:
            plan.update(_mlp_plan("feed_forward", block.feed_forward))
        parallelize_module(block, tp_mesh, plan)
    top = {"tok_embeddings": Replicated(), "norm": Replicated()}
    if model.pos_embeddings is not None:
        top["pos_embeddings"] = Replicated()
    if model.output is not None:
        top["output"] = Replicated()
    parallelize_module(model, tp_mesh, top)
