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
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return dist.is_available() and dist.is_initialized()


def init_world(device: str = "auto") -> World:
    """Join torchrun's process group when launched by it; else a world of one."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    target = torch.device(device, local_rank) if device == "cuda" else torch.device(device)
    if device == "cuda":
        torch.cuda.set_device(target)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo", device_id=target if device == "cuda" else None)
    return World(rank=rank, world_size=world_size, device=target)


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


def parallelize(model: nn.Module, world: World, *, mode: Literal["ddp", "fsdp"], mixed_bf16: bool,
                compile_blocks: bool, activation_checkpointing: bool) -> nn.Module:
    """Wrap `model` for data parallelism; a world of one gets the plain model."""
    if activation_checkpointing:
        enable_activation_checkpointing(model)
    if compile_blocks:
        for block in model.layers:
            block.compile()  # per block: compiles once, reused by every layer of the same shape
    if not world.distributed:
        return model
    if mode == "ddp":
        # routed experts that receive no token in a step get no gradient; DDP must not wait for them
        has_experts = getattr(model.config, "moe", None) is not None
        return nn.parallel.DistributedDataParallel(
            model, device_ids=[world.device.index] if world.device.type == "cuda" else None,
            find_unused_parameters=has_experts)
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if mixed_bf16 \
        else MixedPrecisionPolicy()
    for block in model.layers:
        fully_shard(block, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def all_reduce_mean(value: torch.Tensor, world: World) -> torch.Tensor:
    if world.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= world.world_size
    return value
