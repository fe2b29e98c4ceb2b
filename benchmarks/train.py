"""Training throughput on CPU: stackpipe's models against Hugging Face transformers.

For each family, the same architecture (the `debug` preset, or --preset), the same
weights (converted with the family's state-dict adapter) and the same batch of real
tokens are trained for a few steps (forward, backward, AdamW) by both implementations in
this process, alternating, and the best step time of each is kept. One line per figure:
tokens/s of stackpipe, tokens/s of transformers (SDPA attention), and their ratio
(target >= 1.3). Threads are pinned (--threads, default 1) so figures are per core.

With --mesh-memory it instead trains one step of --families' first family on 4 gloo
ranks for each mesh (dp 4 x tp 1, dp 2 x tp 2) and prints, per mesh, the
largest rank's bytes of parameters + gradients + AdamW state and its peak RSS.

Usage: python benchmarks/train.py [--families codellama,starcoder,starcoder2,deepseek]
       [--preset debug] [--batch 8] [--seq-len 512] [--steps 6] [--threads 1] [--mesh-memory]
"""

from __future__ import annotations

import argparse
import sysconfig
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from stackpipe.train.models import FAMILIES, build_config, build_model, family_module


def real_tokens(batch: int, seq_len: int, vocab: int) -> torch.Tensor:
    """Bytes of stdlib modules as token ids (a vocabulary-agnostic stand-in for real text)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    data = b"".join(p.read_bytes() for p in sorted(stdlib.glob("*.py"))[:40])
    need = batch * (seq_len + 1)
    ids = torch.tensor(list(data[:need]), dtype=torch.long) % vocab
    return ids.view(batch, seq_len + 1)


def hf_model(family: str, config, state_dict):
    from transformers import AutoConfig, AutoModelForCausalLM

    module = family_module(family)
    hf_config = dict(module.hf_config(config, {}))
    model_type = hf_config.pop("model_type")
    hf_config.pop("architectures", None)
    auto_config = AutoConfig.for_model(model_type, **hf_config)
    model = AutoModelForCausalLM.from_config(auto_config, attn_implementation="sdpa", dtype=torch.float32)
    model.load_state_dict(module.to_hf_state_dict(state_dict, config), strict=False)
    return model


def step_time(forward, model, tokens: torch.Tensor, steps: int) -> float:
    """Least time of one training step over `steps` steps (after one warm-up step)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    inputs, labels = tokens[:, :-1], tokens[:, 1:]
    best = float("inf")
    for index in range(steps + 1):
        started = time.perf_counter()
        logits = forward(model, inputs)
        loss = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if index:
            best = min(best, time.perf_counter() - started)
    return best


def ours_forward(model, inputs):
    return model(inputs)


def hf_forward(model, inputs):
    return model(input_ids=inputs, use_cache=False).logits


def _local_bytes(tensor: torch.Tensor) -> int:
    local = tensor.to_local() if hasattr(tensor, "to_local") else tensor
    return local.numel() * local.element_size()


def _mesh_rank(rank: int, world_size: int, port: int, family: str, preset: str, tp: int, batch: int,
               seq_len: int, results) -> None:
    import os
    import resource

    import torch.distributed as dist

    from stackpipe.train.parallel import World, parallelize

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    config = build_config(family, preset, max_seq_len=max(seq_len, 512))
    with torch.device("meta"):
        model = build_model(config)
    world = World(rank=rank, world_size=world_size, device=torch.device("cpu"), tp=tp)
    model = parallelize(model, world, mode="fsdp", mixed_bf16=False, compile_blocks=False,
                        activation_checkpointing=False, seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = real_tokens(batch, seq_len, config.vocab_size)
    loss = F.cross_entropy(model(tokens[:, :-1]).flatten(0, 1), tokens[:, 1:].flatten())
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    state = sum(_local_bytes(p) + _local_bytes(p.grad) for p in model.parameters())
    state += sum(_local_bytes(v) for s in optimizer.state.values() for v in s.values() if v.dim())
    results[rank] = (state, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    dist.destroy_process_group()


def mesh_memory(family: str, preset: str, batch: int, seq_len: int) -> None:
    import socket

    import torch.multiprocessing as mp

    for tp in (1, 2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        results = mp.Manager().dict()
        mp.spawn(_mesh_rank, args=(4, port, family, preset, tp, batch, seq_len, results), nprocs=4, join=True)
        state, rss = (max(values) for values in zip(*results.values()))
        print(f"{family} {preset} 4 gloo ranks dp {4 // tp} x tp {tp}: largest rank holds "
              f"{state / 2**20:,.1f} MiB of params+grads+AdamW state, peak RSS {rss / 2**20:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--preset", default="debug")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mesh-memory", action="store_true",
                        help="per-rank memory of FSDP x TP meshes on 4 gloo ranks instead of throughput")
    args = parser.parse_args()
    if args.mesh_memory:
        mesh_memory(args.families.split(",")[0], args.preset, args.batch, args.seq_len)
        return
    torch.set_num_threads(args.threads)
    tokens_per_step = args.batch * args.seq_len
    for family in args.families.split(","):
        config = build_config(family, args.preset, max_seq_len=max(args.seq_len, 512))
        torch.manual_seed(0)
        ours = build_model(config)
        ours.init_weights()
        ours.train()
        theirs = hf_model(family, config, ours.state_dict())
        theirs.train()
        tokens = real_tokens(args.batch, args.seq_len, config.vocab_size)
        ours_s = min(step_time(ours_forward, ours, tokens, args.steps) for _ in range(2))
        theirs_s = min(step_time(hf_forward, theirs, tokens, args.steps) for _ in range(2))
        print(f"{family} {args.preset} stackpipe: {tokens_per_step / ours_s:,.0f} tokens/s "
              f"({args.threads} thread(s), batch {args.batch} x {args.seq_len})")
        print(f"{family} {args.preset} transformers ({type(theirs).__name__}, sdpa): {tokens_per_step / theirs_s:,.0f} tokens/s")
        print(f"{family} {args.preset} ratio stackpipe / transformers: {theirs_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
