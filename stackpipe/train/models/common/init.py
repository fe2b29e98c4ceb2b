"""Filling parameters that may be sharded (DTensor under FSDP2 / tensor parallelism).

A model built on the meta device is sharded first and materialised after (`to_empty`),
so each rank only ever holds its own shards. Its weights must still be the ones a
single process draws from the same seed: `fill_` draws the whole tensor in the usual
order on every rank and keeps the rank's own piece. That costs one full parameter at a
time (transient) and the RNG work of the whole model on every rank, which a GPU does in
seconds even for 236B; it keeps runs at any world size and mesh shape bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.distributed.tensor import DTensor, distribute_tensor


@torch.no_grad()
def fill_(param: torch.Tensor, fill: Callable[[torch.Tensor], object]) -> None:
    """Apply the in-place initialiser `fill` (e.g. nn.init.normal_) to `param` as if it
    were whole: a DTensor gets its local shard of the full tensor `fill` produced."""
    if not isinstance(param, DTensor):
        fill(param)
        return
    local = param.to_local()
    full = torch.empty(param.shape, dtype=local.dtype, device=local.device)
    fill(full)
    # src_data_rank=None: every rank cuts its own piece of the identical tensor, no communication.
    piece = distribute_tensor(full, param.device_mesh, param.placements, src_data_rank=None).to_local()
    local.copy_(piece)


def local(tensor: torch.Tensor) -> torch.Tensor:
    """A parameter as a plain tensor for code that uses it directly (not through its
    module): a DTensor replicated over a tensor-parallel group gives its local copy,
    whose gradient comes back replicated too."""
    return tensor.to_local() if isinstance(tensor, DTensor) else tensor
