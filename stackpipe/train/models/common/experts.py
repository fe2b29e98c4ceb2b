"""Routed experts held as stacked weights and run as one grouped matrix multiply.

Each projection is one parameter of shape (n_experts, out, in), nn.Linear's layout per
expert, so every expert's weights take part in every forward and backward whatever the
routing: FSDP2 then reduce-scatters the same tensors on every rank even when an expert
receives no token on one of them (the collective mismatch of per-expert modules). Tokens
are sorted by expert and multiplied group by group by `torch._grouped_mm` with device-side
offsets, so the forward never waits on the host for the per-expert counts.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributed.tensor import DTensor

from stackpipe.train.models.common.init import fill_, local


def _aligned(*tensors: torch.Tensor) -> bool:
    """`torch._grouped_mm` needs every row stride to be a multiple of 16 bytes."""
    return all(t.shape[-1] * t.element_size() % 16 == 0 for t in tensors)


def grouped_mm(x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """x (M, K) rows sorted by group, w (G, K, N), offsets (G,) int32 cumulative row counts
    -> (M, N), rows offsets[g-1]:offsets[g] multiplied by w[g].

    Shapes `_grouped_mm` cannot take (rows not 16-byte aligned) fall back to multiplying
    every row by every group's weight and keeping its own: G times the FLOPs, still without
    a host sync; no preset needs it."""
    if hasattr(torch, "_grouped_mm") and _aligned(x, w.transpose(-2, -1)) and _aligned(w):
        out = torch._grouped_mm(x, w, offs=offsets)
        if out.requires_grad:
            # Its backward rejects broadcast (stride 0) gradients such as those of a sum.
            out.register_hook(torch.Tensor.contiguous)
        return out
    row = torch.arange(x.shape[0], device=x.device)
    group = torch.searchsorted(offsets, row, right=True)  # (M,)
    every = torch.einsum("mk,gkn->mgn", x, w)  # (M, G, N)
    return every.gather(1, group.view(-1, 1, 1).expand(-1, 1, w.shape[-1])).squeeze(1)


class GroupedExperts(nn.Module):
    """`n_experts` SwiGLU MLPs dim -> hidden_dim -> dim without biases (DeepSeekMoE's
    routed experts). Parameters: gate_proj and up_proj (E, hidden, dim), down_proj
    (E, dim, hidden); expert e is nn.Linear weights gate_proj[e], up_proj[e], down_proj[e]."""

    def __init__(self, n_experts: int, dim: int, hidden_dim: int):
        super().__init__()
        self.n_experts = n_experts
        self.gate_proj = nn.Parameter(torch.empty(n_experts, hidden_dim, dim))
        self.up_proj = nn.Parameter(torch.empty(n_experts, hidden_dim, dim))
        self.down_proj = nn.Parameter(torch.empty(n_experts, dim, hidden_dim))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """nn.Linear's default init per expert, so a bare module computes finite values
        (the model's own init is `init_weights`)."""
        for e in range(self.n_experts):
            for weight in (self.gate_proj, self.up_proj, self.down_proj):
                nn.init.kaiming_uniform_(weight[e], a=math.sqrt(5))

    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """x (N, D), ids (N, K) expert of each token's K slots -> (N, K, D), each slot's
        expert output."""
        N, K = ids.shape
        flat_ids = ids.reshape(-1)  # (N*K,)
        order = flat_ids.argsort(stable=True)
        # scatter_add, not bincount: bincount sizes its output from the data (a host sync on GPU).
        counts = torch.zeros(self.n_experts, dtype=torch.int32, device=ids.device).scatter_add_(
            0, flat_ids, torch.ones_like(flat_ids, dtype=torch.int32))
        offsets = counts.cumsum(0, dtype=torch.int32)  # (E,)
        dtype = torch.get_autocast_dtype(x.device.type) if torch.is_autocast_enabled(x.device.type) else x.dtype
        with torch.autocast(device_type=x.device.type, enabled=False):
            xs = x[order // K].to(dtype)  # (N*K, D), grouped by expert
            gate, up, down = (local(w).to(dtype).transpose(-2, -1)
                              for w in (self.gate_proj, self.up_proj, self.down_proj))
            hidden = F.silu(grouped_mm(xs, gate, offsets)) * grouped_mm(xs, up, offsets)  # (N*K, I)
            out = grouped_mm(hidden, down, offsets)  # (N*K, D)
        # Un-sort with a gather (not index_add): the sum over slots stays deterministic.
        inverse = torch.empty_like(order).scatter_(0, order, torch.arange(order.numel(), device=order.device))
        return out[inverse].view(N, K, -1)

    def expert(self, e: int, x: torch.Tensor) -> torch.Tensor:
        """Expert e alone on x (..., D), as a dense reference."""
        return F.linear(F.silu(F.linear(x, self.gate_proj[e])) * F.linear(x, self.up_proj[e]), self.down_proj[e])

    def __len__(self) -> int:
        return self.n_experts

    def __iter__(self):
        """Each expert as a function x (..., D) -> (..., D) (references and tests)."""
        return iter([lambda x, e=e: self.expert(e, x) for e in range(self.n_experts)])

    @torch.no_grad()
    def init_weights(self, std: float, n_layers: int) -> None:
        """Normal(0, std), down_proj std / sqrt(2 * n_layers) as the dense MLP's; expert by
        expert in gate, up, down order, which draws what per-expert nn.Linear modules did."""
        stds = {"gate": std, "up": std, "down": std / math.sqrt(2 * n_layers)}
        if not isinstance(self.gate_proj, DTensor):
            for e in range(self.n_experts):
                for projection in ("gate", "up", "down"):
                    nn.init.normal_(getattr(self, f"{projection}_proj")[e], std=stds[projection])
            return
        # Sharded: draw the three whole tensors in the same interleaved order, then keep our
        # pieces (transiently three whole projections of this layer on the device).
        full = {p: torch.empty(getattr(self, f"{p}_proj").shape, device=self.gate_proj.to_local().device)
                for p in stds}
        for e in range(self.n_experts):
            for projection in ("gate", "up", "down"):
                nn.init.normal_(full[projection][e], std=stds[projection])
        for projection, tensor in full.items():
            fill_(getattr(self, f"{projection}_proj"), lambda out, tensor=tensor: out.copy_(tensor))
