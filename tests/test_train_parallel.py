"""The trainer's parallelism on gloo ranks in one test process: FSDP2 with unbalanced MoE
routing, gradient accumulation, tensor parallelism."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from stackpipe.train.models import build_config, build_model
from stackpipe.train.models.common.moe import MoE
from stackpipe.train.parallel import World, check_mesh, parallelize, unwrap
from stackpipe.train.tensor_parallel import check_tensor_parallel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, world_size: int, port: int, fn, args) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    # A short timeout: a mismatched collective fails the test instead of hanging it.
    dist.init_process_group("gloo", rank=rank, world_size=world_size, timeout=timedelta(seconds=60))
    try:
        fn(rank, world_size, *args)
    finally:
        dist.destroy_process_group()


def run_ranks(world_size: int, fn, *args) -> None:
    """fn(rank, world_size, *args) on `world_size` gloo ranks; an exception on any rank fails."""
    mp.spawn(_rank_main, args=(world_size, _free_port(), fn, args), nprocs=world_size, join=True)


def _fsdp(model, rank: int, world_size: int):
    """The trainer's FSDP2 wrapping of a meta-device model, materialised from seed 0."""
    world = World(rank=rank, world_size=world_size, device=torch.device("cpu"))
    return parallelize(model, world, mode="fsdp", mixed_bf16=False, compile_blocks=False,
                       activation_checkpointing=False, seed=0)


def _collapse_router(model) -> None:
    """Every token of this rank goes to experts 0 and 1 (top-2) in every MoE layer."""
    for block in model.layers:
        moe = block.feed_forward
        if isinstance(moe, MoE):
            route = moe.route

            def collapsed(x, route=route):
                scores, weights, ids = route(x)
                return scores, weights, torch.arange(ids.shape[1], device=ids.device).expand_as(ids).contiguous()

            moe.route = collapsed


def _moe_step_with_collapsed_router(rank: int, world_size: int, out_dir: str, mode: str) -> None:
    with torch.device("meta"):
        model = build_model(build_config("deepseek", "debug"))
    if rank == 1:
        _collapse_router(model)
    world = World(rank=rank, world_size=world_size, device=torch.device("cpu"))
    model = parallelize(model, world, mode=mode, mixed_bf16=False, compile_blocks=False,
                        activation_checkpointing=False, seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, unwrap(model).config.vocab_size, (2, 17), generator=torch.Generator().manual_seed(rank))
    for _ in range(2):
        aux = unwrap(model).aux_loss
        loss = F.cross_entropy(model(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten()) + aux()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    open(os.path.join(out_dir, f"rank{rank}.done"), "w").close()


@pytest.mark.parametrize("mode", ["fsdp", "ddp"])
def test_moe_with_a_collapsed_router_finishes_on_every_rank(tmp_path, mode):
    """Rank 1 routes every token to experts 0 and 1, so experts 2..7 get no token there:
    backward and optimizer steps still finish on both ranks (FSDP2: no mismatched
    collective; DDP: no unused parameter)."""
    run_ranks(2, _moe_step_with_collapsed_router, str(tmp_path), mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0.done", "rank1.done"]


def _sharded_init_matches_whole(rank: int, world_size: int, family: str) -> None:
    config = build_config(family, "debug")
    whole = build_model(config)
    torch.manual_seed(0)
    whole.init_weights()
    with torch.device("meta"):
        sharded = build_model(config)
    sharded = _fsdp(sharded, rank, world_size)
    for name, param in sharded.named_parameters():
        assert torch.equal(param.full_tensor(), whole.get_parameter(name)), name


def test_meta_init_sharded_by_fsdp_gives_the_single_process_weights():
    """Built on meta, sharded on 2 ranks, then materialised: the weights one process draws
    from the same seed (deepseek: stacked experts, sharded on the expert dimension)."""
    run_ranks(2, _sharded_init_matches_whole, "deepseek")


def _accumulation_equals_one_batch(rank: int, world_size: int) -> None:
    with torch.device("meta"):
        model = build_model(build_config("codellama", "debug"))
    model = _fsdp(model, rank, world_size)
    ids = torch.randint(0, model.config.vocab_size, (4, 33), generator=torch.Generator().manual_seed(rank))

    def loss_of(rows: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(rows[:, :-1]).flatten(0, 1), rows[:, 1:].flatten())

    for micro in range(2):  # the trainer's accumulation: FSDP2 reduce-scatters after each micro step
        (loss_of(ids[2 * micro: 2 * micro + 2]) / 2).backward()
        for name, param in model.named_parameters():
            local = param.grad.to_local()
            assert local.numel() <= -(-param.numel() // world_size), f"{name}: gradient not sharded"
    accumulated = {name: param.grad.full_tensor().clone() for name, param in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    loss_of(ids).backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(accumulated[name], param.grad.full_tensor(), rtol=1e-5, atol=1e-7, msg=name)


def test_fsdp_gradient_accumulation_keeps_gradients_sharded_and_equals_one_batch():
    """Two micro steps of 2 sequences per rank give the gradients of one step of 4, and
    between micro steps each rank holds only its shard of every gradient."""
    run_ranks(2, _accumulation_equals_one_batch)


def _loss_and_grads(model, ids: torch.Tensor) -> tuple[float, dict[str, torch.Tensor]]:
    loss = F.cross_entropy(model(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten()) + unwrap(model).aux_loss()
    loss.backward()
    grads = {n: p.grad.full_tensor() if hasattr(p.grad, "full_tensor") else p.grad for n, p in model.named_parameters()}
    return loss.item(), grads


def _tp_matches_one_process(rank: int, world_size: int, family: str, tp: int) -> None:
    config = build_config(family.removesuffix("_q_lora"), "debug", embedding_dropout=0.0, attention_dropout=0.0,
                          residual_dropout=0.0)
    if family.endswith("_q_lora"):  # the 236B's low-rank queries and group-limited routing
        config = replace(config, mla=replace(config.mla, q_lora_rank=24),
                         moe=replace(config.moe, top_k=3, n_groups=4, topk_groups=2, routed_scaling=2.5))
    ids = torch.randint(0, config.vocab_size, (2, 41), generator=torch.Generator().manual_seed(0))
    expected_loss, expected = _loss_and_grads(_whole(config), ids)
    model = _built(config, World(rank=rank, world_size=world_size, device=torch.device("cpu"), tp=tp))
    attention = model.layers[0].attention
    q_proj = (attention.q_b_proj if hasattr(attention, "q_b_proj") else attention.q_proj).weight
    assert q_proj.to_local().shape[0] == q_proj.shape[0] // tp  # each rank holds its heads only
    loss, grads = _loss_and_grads(model, ids)
    worst = max((grad - expected[name]).abs().max().item() for name, grad in grads.items())
    print(f"{family} tp={tp}: loss diff {abs(loss - expected_loss):.2e}, max grad diff {worst:.2e}")
    assert abs(loss - expected_loss) <= 1e-5
    assert worst <= 1e-5


def _whole(config):
    """The unsplit reference, as one process builds it."""
    model = build_model(config)
    torch.manual_seed(0)
    model.init_weights()
    return model


def _built(config, world: World):
    """The trainer's path: built on meta, parallelized for `world`, materialised from seed 0."""
    with torch.device("meta"):
        model = build_model(config)
    return parallelize(model, world, mode="fsdp", mixed_bf16=False, compile_blocks=False,
                       activation_checkpointing=False, seed=0)


def _fsdp_by_tp_step(rank: int, world_size: int) -> None:
    """dp 2 x tp 2: each dp replica takes half of a batch of 4; after the FSDP2 reduction
    the gradients are those of one process on all 4 sequences; then clip and step."""
    config = build_config("codellama", "debug")
    ids = torch.randint(0, config.vocab_size, (4, 33), generator=torch.Generator().manual_seed(0))
    _, expected = _loss_and_grads(_whole(config), ids)
    world = World(rank=rank, world_size=world_size, device=torch.device("cpu"), tp=2)
    model = _built(config, world)
    assert model.layers[0].feed_forward.up_proj.weight.device_mesh.mesh_dim_names == ("dp", "tp")
    _, grads = _loss_and_grads(model, ids[2 * world.dp_rank: 2 * world.dp_rank + 2])
    worst = max((grad - expected[name]).abs().max().item() for name, grad in grads.items())
    assert worst <= 1e-5, worst
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    assert torch.isfinite(norm.full_tensor())
    optimizer.step()


@pytest.mark.parametrize("family", ["codellama", "starcoder", "starcoder2", "deepseek", "deepseek_q_lora"])
def test_tensor_parallel_on_two_ranks_matches_one_process(family):
    """TP=2 (GQA or StarCoder's single kv head or MLA, SwiGLU or GELU MLP, MoE, biases,
    tied head, learned positions, sliding window) gives the loss and every gradient of the
    unsplit model within 1e-5."""
    run_ranks(2, _tp_matches_one_process, family, 2)


def test_fsdp_by_tensor_parallel_on_a_2d_mesh_of_four_ranks_runs_a_step():
    run_ranks(4, _fsdp_by_tp_step)


@pytest.mark.parametrize("world_size, tp, dp_shard, message", [
    (4, 3, None, "--tp 3 does not divide the world size 4"),
    (4, 2, 3, r"--tp 2 x --dp-shard 3 = 6 ranks, but the world size is 4"),
])
def test_a_mesh_that_does_not_fit_the_world_is_named(world_size, tp, dp_shard, message):
    with pytest.raises(ValueError, match=message):
        check_mesh(world_size, tp, dp_shard)


def test_tensor_parallel_refuses_a_model_it_cannot_split():
    """3 kv heads over 2 ranks; DeepSeek's 2 x 32-wide shared experts over 3 ranks."""
    with pytest.raises(ValueError, match="n_kv_heads=3 is not divisible by 2"):
        check_tensor_parallel(build_config("codellama", "debug", n_heads=6, n_kv_heads=3), 2)
    config = build_config("deepseek", "debug", n_heads=6, ffn_dim=192)
    with pytest.raises(ValueError, match="shared experts' width=64 is not divisible by 3"):
        check_tensor_parallel(config, 3)
