"""Process groups and model wrapping under torchrun: DDP or FSDP2, gloo on CPU, NCCL on GPU.

Run single-process with plain `python -m stackpipe.train` / `stackpipe train`, or with
`torchrun --nproc-per-node N -m stackpipe.train ...` for data parallelism; the ranks
find each other through torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Literal

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.checkpoint import checkpoint


@dataclass(frozen=True, kw_only=True)
class World:
    """This process's place: ranks form a (dp, tp) grid, rank = dp_rank * tp + tp_rank, so
    a tensor-parallel group is `tp` consecutive ranks (one node's fast links)."""

    rank: int
    world_size: int
    device: torch.device
    tp: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def dp_size(self) -> int:
        """Data-parallel replicas (FSDP2 shards): what reads distinct batches."""
        return self.world_size // self.tp

    @property
    def dp_rank(self) -> int:
        return self.rank // self.tp

    @property
    def distributed(self) -> bool:
        return dist.is_available() and dist.is_initialized()


def check_mesh(world_size: int, tp: int, dp_shard: int | None) -> int:
    """The data-parallel size for `--tp tp --dp-shard dp_shard` on `world_size` ranks (None:
    whatever is left); an error names the numbers that do not multiply up."""
    if tp < 1 or (dp_shard is not None and dp_shard < 1):
        raise ValueError(f"--tp {tp} --dp-shard {dp_shard}: both must be positive")
    if dp_shard is None:
        if world_size % tp:
            raise ValueError(f"--tp {tp} does not divide the world size {world_size}; "
                             f"use a --tp that divides {world_size}")
        return world_size // tp
    if tp * dp_shard != world_size:
        raise ValueError(f"--tp {tp} x --dp-shard {dp_shard} = {tp * dp_shard} ranks, but the world size is "
                         f"{world_size}; make their product {world_size}")
    return dp_shard


def init_world(device: str = "auto", tp: int = 1, dp_shard: int | None = None) -> World:
    """Join torchrun's process group when launched by it; else a world of one. tp and
    dp_shard: the mesh, checked against the world size (`check_mesh`)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    check_mesh(world_size, tp, dp_shard)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    target = torch.device(device, local_rank) if device == "cuda" else torch.device(device)
    if device == "cuda":
        torch.cuda.set_device(target)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo", device_id=target if device == "cuda" else None)
    return World(rank=rank, world_size=world_size, device=target, tp=tp)


def close_world(world: World) -> None:
    if world.distributed:
        dist.barrier()
        dist.destroy_process_group()


def enable_activation_checkpointing(model: nn.Module) -> None:
    """Recompute each block's activations in backward instead of keeping them.

    Patching the block's forward (not wrapping the module) keeps parameter names, so
    checkpoints and Hugging Face export see the same names with the option on or off.
    """
    for block in model.layers:
        block.forward = functools.partial(checkpoint, block.forward, use_reentrant=False)


def materialize(model: nn.Module, device: torch.device, seed: int) -> None:
    """Allocate a meta-device model's (possibly sharded) parameters on `device` and fill
    them: `init_weights` right after torch.manual_seed(seed), so the weights depend only on
    the seed, never on the world size or how the model is sharded."""
    model.to_empty(device=device)
    torch.manual_seed(seed)
    model.init_weights()


def parallelize(model: nn.Module, world: World, *, mode: Literal["ddp", "fsdp"], mixed_bf16: bool,
                compile_blocks: bool, activation_checkpointing: bool, seed: int) -> nn.Module:
    """Shard or wrap `model`, built on the meta device, for data parallelism, then
    materialise and initialise it on `world.device` (`materialize`). FSDP2 shards before
    any weight exists, so a rank never holds more than its shards (plus one parameter
    while it is initialised); DDP needs the whole model and gets it first. A world of one
    gets the plain model."""
    if activation_checkpointing:
        enable_activation_checkpointing(model)
    if compile_blocks:
        for block in model.layers:
            block.compile()  # per block: compiles once, reused by every layer of the same shape
    if world.tp > 1:
        return _parallelize_2d(model, world, mode=mode, mixed_bf16=mixed_bf16, seed=seed)
    if not world.distributed or mode == "ddp":
        materialize(model, world.device, seed)
        if not world.distributed:
            return model
        # Every parameter (the routed experts' too, stacked) is used in every step.
        return nn.parallel.DistributedDataParallel(
            model, device_ids=[world.device.index] if world.device.type == "cuda" else None)
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if mixed_bf16 \
        else MixedPrecisionPolicy()
    for block in model.layers:
        fully_shard(block, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    materialize(model, world.device, seed)
    return model


def _fsdp_policy(mixed_bf16: bool):
    from torch.distributed.fsdp import MixedPrecisionPolicy

    return MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if mixed_bf16 \
        else MixedPrecisionPolicy()


def _parallelize_2d(model: nn.Module, world: World, *, mode: str, mixed_bf16: bool, seed: int) -> nn.Module:
    """Tensor parallelism inside groups of `world.tp` ranks, FSDP2 across them (a 2-D
    (dp, tp) DeviceMesh, as torchtitan builds it); FSDP2 is skipped when dp is 1."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    from stackpipe.train.tensor_parallel import apply_tensor_parallel

    if mode != "fsdp":
        raise ValueError(f"--tp {world.tp} needs --parallel fsdp (DDP cannot hold tensor-parallel DTensors)")
    mesh = init_device_mesh(world.device.type, (world.dp_size, world.tp), mesh_dim_names=("dp", "tp"))
    apply_tensor_parallel(model, mesh["tp"])
    if world.dp_size > 1:
        policy = _fsdp_policy(mixed_bf16)
        for block in model.layers:
            fully_shard(block, mesh=mesh["dp"], mp_policy=policy)
        fully_shard(model, mesh=mesh["dp"], mp_policy=policy)
    materialize(model, world.device, seed)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def all_reduce_mean(value: torch.Tensor, world: World) -> torch.Tensor:
    if world.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= world.world_size
    return value
