"""The training loop: AdamW, warmup + cosine to 10%, clipping, accumulation, bf16 on GPU.

One function, `train(config)`, run by every rank. It reads only shard directories
(DESIGN.md §3): their manifests are checked against the model before the first step.
The loss curve is a pure function of (configs, data, seed): a run resumed from a
checkpoint at the same world size repeats the uninterrupted run's losses exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from stackpipe.train.checkpoint import latest_checkpoint, load_checkpoint_into, save_checkpoint
from stackpipe.train.data import PackedBatches
from stackpipe.train.manifest import DataError, read_manifest, validate_manifests, verify_tokenizer
from stackpipe.train.flops import peak_flops, total_params, training_flops_per_token
from stackpipe.train.models import build_config, build_model
from stackpipe.train.models.common.config import TransformerConfig
from stackpipe.train.parallel import World, all_reduce_mean, close_world, init_world, parallelize, unwrap
from stackpipe.train.tensor_parallel import check_tensor_parallel

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    data: tuple[tuple[str, float], ...]  # (shard directory, blend weight)
    output: str
    family: str
    preset: str
    steps: int                       # length of the schedule
    stop_at: int | None = None       # end this run after that step (job time slots); resume later
    seq_len: int
    micro_batch: int
    grad_accum: int = 1
    lr: float = 3e-4
    min_lr_ratio: float = 0.1        # cosine decays to 10% of the peak (DeepSeek)
    warmup_steps: int = 2000
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int | None = None  # periodic saves, besides the final one
    final_checkpoint: bool = True    # save after this run's last step (--steps or --stop-at)
    parallel: Literal["ddp", "fsdp"] = "fsdp"
    tp: int = 1                      # tensor-parallel group size (consecutive ranks)
    dp_shard: int | None = None      # FSDP2 shards; None: world size / tp
    compile: bool = False
    activation_checkpointing: bool = False
    document_masking: bool = False
    device: str = "auto"
    log_every: int = 10
    peak_tflops: float | None = None  # per device; default from the GPU's name
    model_overrides: dict = field(default_factory=dict)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warmup to `lr`, then cosine decay to `min_lr_ratio * lr` at the last step."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(config.steps - config.warmup_steps, 1)
    progress = min((step - config.warmup_steps) / span, 1.0)
    floor = config.min_lr_ratio
    return config.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def model_config_for(config: TrainConfig, tokenizer_vocab: int) -> TransformerConfig:
    """The preset (with `model_overrides`), keeping its published vocabulary size: Code
    Llama's 32016 rows stay 32016, so released weights and exports keep their shapes. A
    tokenizer larger than that vocabulary is an error; a from-scratch model can be given
    another size with `model_overrides={"vocab_size": N}` (`--vocab-size`)."""
    model_config = build_config(config.family, config.preset, **config.model_overrides)
    if tokenizer_vocab > model_config.vocab_size:
        raise ValueError(f"the shards' tokenizer has {tokenizer_vocab} tokens, more than the {model_config.vocab_size} "
                         f"rows of the {config.family} {config.preset} vocabulary; use a tokenizer of at most "
                         f"{model_config.vocab_size} tokens, or for a model trained from scratch pass --vocab-size "
                         f"{-(-tokenizer_vocab // 64) * 64}")
    if config.seq_len > model_config.max_seq_len:
        raise ValueError(f"--seq-len {config.seq_len} exceeds the {config.family} {config.preset} context "
                         f"of {model_config.max_seq_len} tokens")
    return model_config


def step_seed(seed: int, step: int, rank: int) -> int:
    """The RNG seed of one step on one rank (dropout); distinct across steps and ranks."""
    return (seed * 1_000_003 + step) * 65_537 + rank


def should_checkpoint(done: int, last: int, config: TrainConfig) -> bool:
    """Save after step `done`? One answer per step, so a periodic and the final save never repeat."""
    periodic = bool(config.checkpoint_every) and done % config.checkpoint_every == 0
    return periodic or (done == last and config.final_checkpoint)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices only: biases and norm gains are not shrunk toward zero."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        (decay if parameter.ndim >= 2 else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _no_grad_sync(model: torch.nn.Module, last_micro: bool):
    """DDP: skip the gradient all-reduce on every micro step but the last of a step (its
    gradients are whole on every rank anyway). FSDP2 is left to reduce-scatter after every
    micro step, as torchtitan does: each rank then only ever accumulates its own shard of
    the gradients, where switching the sync off would keep whole unsharded fp32 gradients
    between micro steps (28 GB per rank for a 7B model)."""
    if not last_micro and isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return model.no_sync()
    return contextlib.nullcontext()


def write_run_file(config: TrainConfig, model_config: TransformerConfig, manifest, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    run = {"model": asdict(model_config), "train": asdict(config),
           "tokenizer": {"sha256": manifest.tokenizer_sha256, "vocab_size": manifest.vocab_size,
                         "special_ids": dict(manifest.special_ids), "family": manifest.family}}
    staging = output / f".{RUN_FILE}.tmp"
    staging.write_text(json.dumps(run, indent=2, sort_keys=True, default=list) + "\n")
    os.replace(staging, output / RUN_FILE)  # other ranks may be reading it (check_resumable)
    tokenizer = Path(manifest.path) / "tokenizer.json"
    if tokenizer.is_file():
        shutil.copyfile(tokenizer, output / "tokenizer.json")


def check_resumable(output: Path, model_config: TransformerConfig, manifest) -> None:
    """A run directory resumes only with the same model and tokenizer it was started with."""
    run_file = output / RUN_FILE
    if latest_checkpoint(output) is None or not run_file.is_file():
        return
    previous = json.loads(run_file.read_text())
    if previous["tokenizer"]["sha256"] != manifest.tokenizer_sha256:
        raise DataError(f"{output}: its checkpoints were trained with tokenizer {previous['tokenizer']['sha256'][:12]}, "
                        f"but {manifest.path} uses {manifest.tokenizer_sha256[:12]}; use a new --output")
    current = json.loads(json.dumps(asdict(model_config), default=list))
    defaults = {f.name: f.default for f in fields(TransformerConfig)}
    # A field added since the run started counts as unchanged while it keeps its default.
    changed = sorted(k for k in current if previous["model"].get(k, defaults.get(k)) != current[k])
    if changed:
        raise ValueError(f"{output}: its checkpoints are of another model ({', '.join(changed)} differ); "
                         f"use a new --output or the original --family/--preset")


class Progress:
    """One status line on stderr (rewritten in place on a terminal), one JSON line per log."""

    def __init__(self, output: Path, total_steps: int, enabled: bool):
        self._metrics = (output / METRICS_FILE).open("a") if enabled else None
        self._total, self._enabled = total_steps, enabled
        self._tty = sys.stderr.isatty()

    def log(self, record: dict) -> None:
        if not self._enabled:
            return
        self._metrics.write(json.dumps(record, sort_keys=True) + "\n")
        self._metrics.flush()
        mfu = f" mfu {record['mfu']:.1%}" if record.get("mfu") is not None else ""
        line = (f"step {record['step']}/{self._total} loss {record['loss']:.4f} lr {record['lr']:.2e} "
                f"grad {record['grad_norm']:.2f} {record['tokens_per_s']:,.0f} tok/s{mfu}")
        print(("\r" + line.ljust(100)) if self._tty else line, end="" if self._tty else "\n",
              file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._metrics:
            self._metrics.close()
            if self._tty:
                print(file=sys.stderr)


def train(config: TrainConfig) -> list[dict]:
    """Train; returns the logged metric records of this run (rank 0; empty on others)."""
    world = init_world(config.device, tp=config.tp, dp_shard=config.dp_shard)
    try:
        return _train(config, world)
    finally:
        close_world(world)


def _train(config: TrainConfig, world: World) -> list[dict]:
    output = Path(config.output)
    manifests = [read_manifest(directory) for directory, _ in config.data]
    model_config = model_config_for(config, manifests[0].vocab_size)
    check_tensor_parallel(model_config, world.tp)
    validate_manifests(manifests, vocab_size=model_config.vocab_size, family=config.family)
    for manifest in manifests:
        verify_tokenizer(manifest)
    check_resumable(output, model_config, manifests[0])
    if world.is_main:
        write_run_file(config, model_config, manifests[0], output)

    with torch.device("meta"):  # no weight exists before sharding (parallelize materialises)
        model = build_model(model_config)
    on_gpu = world.device.type == "cuda"
    model = parallelize(model, world, mode=config.parallel, mixed_bf16=on_gpu, compile_blocks=config.compile,
                        activation_checkpointing=config.activation_checkpointing, seed=config.seed)
    optimizer = torch.optim.AdamW(param_groups(model, config.weight_decay), lr=config.lr, betas=config.betas,
                                  eps=1e-8, fused=on_gpu or None)
    batches = PackedBatches(list(config.data), seq_len=config.seq_len, micro_batch=config.micro_batch,
                            rank=world.dp_rank, world_size=world.dp_size, seed=config.seed,
                            document_masking=config.document_masking)
    start = 0
    resume_from = latest_checkpoint(output)
    if resume_from is not None:
        state = load_checkpoint_into(resume_from, model, optimizer)
        start = state["step"]
        batches.load_state_dict(state["data"])

    tokens_per_step = config.seq_len * config.micro_batch * config.grad_accum * world.dp_size
    flops_per_token = training_flops_per_token(model_config, config.seq_len)
    peak = peak_flops(torch.cuda.get_device_name(world.device) if on_gpu else "cpu", config.peak_tflops)
    progress = Progress(output, config.steps, world.is_main)
    if world.is_main and start == 0:
        print(f"stackpipe train: {config.family} {config.preset}, {total_params(model_config) / 1e6:,.1f}M params, "
              f"world {world.world_size} (dp {world.dp_size} x tp {world.tp}), {tokens_per_step:,} tokens/step",
              file=sys.stderr)
    records = []
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if on_gpu else contextlib.nullcontext()
    window_started, window_steps = time.perf_counter(), 0
    last = min(config.steps, config.stop_at or config.steps)
    for step in range(start, last):
        # Dropout masks from (seed, step, dp rank) alone, so a resumed run draws the same ones
        # and the ranks of a tensor-parallel group draw the same masks for their shared activations.
        torch.manual_seed(step_seed(config.seed, step, world.dp_rank))
        lr = learning_rate(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        step_loss = torch.zeros((), device=world.device)
        step_aux = torch.zeros((), device=world.device)
        for micro in range(config.grad_accum):
            batch = next(batches)
            with _no_grad_sync(model, micro == config.grad_accum - 1), autocast:
                logits = model(batch.input_ids.to(world.device), positions=batch.positions.to(world.device),
                               document_ids=None if batch.document_ids is None else batch.document_ids.to(world.device))
                loss = F.cross_entropy(logits.float().flatten(0, 1), batch.labels.to(world.device).flatten())
                aux = unwrap(model).aux_loss()
                ((loss + aux) / config.grad_accum).backward()
            step_loss += loss.detach() / config.grad_accum
            step_aux += aux.detach() / config.grad_accum
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        if hasattr(grad_norm, "full_tensor"):  # FSDP2 returns a DTensor
            grad_norm = grad_norm.full_tensor()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        window_steps += 1
        done = step + 1
        if done % config.log_every == 0 or done == last:
            if on_gpu:
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - window_started
            tokens_per_s = tokens_per_step * window_steps / elapsed
            record = {"step": done, "loss": all_reduce_mean(step_loss, world).item(),
                      "aux_loss": all_reduce_mean(step_aux, world).item(), "lr": lr,
                      "grad_norm": float(grad_norm), "tokens": tokens_per_step * done,
                      "tokens_per_s": tokens_per_s,
                      "mfu": flops_per_token * tokens_per_s / (peak * world.world_size) if peak else None}
            progress.log(record)
            records.append(record)
            window_started, window_steps = time.perf_counter(), 0
        if should_checkpoint(done, last, config):
            save_checkpoint(output, done, model, optimizer, {"data": batches.state_dict()}, world)
    progress.close()
    return records if world.is_main else []
