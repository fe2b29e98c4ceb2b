"""Checkpoints with torch.distributed.checkpoint (DCP): sharded, resharding on load.

Layout of a run directory:

    run.json                      model and training configs, tokenizer facts (rank 0, once)
    tokenizer.json                copy of the shards' tokenizer (for export)
    metrics.jsonl                 one line per logged step
    checkpoints/step-00000100/    DCP files of {"model", "optim"} plus train_state.json

Each rank writes its own shards of the model and optimizer state; DCP stores them by
parameter name and global shape, so a checkpoint written by N ranks (DDP or FSDP2)
loads on M ranks. A step directory is written under a temporary name and renamed by
rank 0 once every rank has finished, so a crash mid-save never leaves a directory that
looks complete. `train_state.json` holds the step and the data loader's position, which
does not depend on the world size.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from torch.optim import Optimizer

from stackpipe.train.parallel import World

CHECKPOINTS = "checkpoints"
TRAIN_STATE = "train_state.json"
STEP_DIR = re.compile(r"^step-(\d{8})$")


def step_directory(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"step-{step:08d}"


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete step directory of a run, or None."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return None
    steps = sorted(p for p in root.iterdir() if STEP_DIR.match(p.name) and (p / TRAIN_STATE).is_file())
    return steps[-1] if steps else None


def resolve_checkpoint(path: str | Path) -> Path:
    """A step directory, or a run directory (its latest checkpoint)."""
    path = Path(path)
    if (path / TRAIN_STATE).is_file():
        return path
    latest = latest_checkpoint(path)
    if latest is None:
        raise FileNotFoundError(f"{path}: no checkpoint here (expected {CHECKPOINTS}/step-NNNNNNNN/{TRAIN_STATE})")
    return latest


@contextlib.contextmanager
def _single_process_is_intended():
    """DCP warns on every call without a process group; a world of one is a supported case."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled", category=UserWarning)
        yield


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def save_checkpoint(run_dir: str | Path, step: int, model: nn.Module, optimizer: Optimizer,
                    train_state: dict, world: World) -> Path:
    final = step_directory(run_dir, step)
    staging = final.with_name(final.name + ".tmp")
    if world.is_main:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    _barrier(world)
    model_state, optim_state = get_state_dict(model, optimizer)
    with _single_process_is_intended():
        dcp.save({"model": model_state, "optim": optim_state}, checkpoint_id=str(staging), no_dist=not world.distributed)
    _barrier(world)
    if world.is_main:
        (staging / TRAIN_STATE).write_text(json.dumps(dict(train_state, step=step), indent=2, sort_keys=True))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
    _barrier(world)
    return final


def load_checkpoint_into(path: str | Path, model: nn.Module, optimizer: Optimizer | None) -> dict:
    """Restore model (and optimizer) in place from a step directory; returns train_state."""
    path = Path(path)
    if optimizer is None:
        model_state = get_state_dict(model, [])[0]
        with _single_process_is_intended():
            dcp.load({"model": model_state}, checkpoint_id=str(path), no_dist=not _distributed())
        set_state_dict(model, [], model_state_dict=model_state, optim_state_dict={})
    else:
        model_state, optim_state = get_state_dict(model, optimizer)
        state = {"model": model_state, "optim": optim_state}
        with _single_process_is_intended():
            dcp.load(state, checkpoint_id=str(path), no_dist=not _distributed())
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    return json.loads((path / TRAIN_STATE).read_text())
