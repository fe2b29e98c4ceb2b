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

Loading checks DCP's own index (`.metadata`) and the files it lists before reading, and
reads them one file at a time, so that a damaged file fails with a CheckpointError naming
it instead of a traceback from DCP, pickle or torch.load.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint import CheckpointException, FileSystemReader, LoadPlan, LoadPlanner, Metadata
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from torch.futures import Future
from torch.optim import Optimizer

from stackpipe.train.parallel import World

CHECKPOINTS = "checkpoints"
TRAIN_STATE = "train_state.json"
STEP_DIR = re.compile(r"^step-(\d{8})$")
DCP_METADATA = ".metadata"  # DCP's index: every tensor's file, offset and length


class CheckpointError(ValueError):
    """A checkpoint that cannot be read back: the message names the file at fault and what to do."""


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
    """Restore model (and optimizer) in place from a step directory; returns train_state.

    Raises CheckpointError naming the file when the checkpoint is damaged.
    """
    path = Path(path)
    train_state = read_train_state(path)
    check_checkpoint_files(path)
    if optimizer is None:
        model_state = get_state_dict(model, [])[0]
        _dcp_load({"model": model_state}, path)
        set_state_dict(model, [], model_state_dict=model_state, optim_state_dict={})
    else:
        model_state, optim_state = get_state_dict(model, optimizer)
        state = {"model": model_state, "optim": optim_state}
        _dcp_load(state, path)
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    return train_state


def _damaged(file: Path, problem: str, step_dir: Path) -> CheckpointError:
    return CheckpointError(f"{file}: {problem}; checkpoint {step_dir} is damaged: restore it from a copy, "
                           "or delete that directory to use the run's previous checkpoint")


def _first_line(error: BaseException) -> str:
    """DCP's errors can run to paragraphs; their first line says what failed."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def read_train_state(step_dir: Path) -> dict:
    file = step_dir / TRAIN_STATE
    try:
        state = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _damaged(file, "missing", step_dir) from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise _damaged(file, f"not valid JSON ({error})", step_dir) from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise _damaged(file, 'not an object with an integer "step"', step_dir)
    return state


def check_checkpoint_files(step_dir: Path) -> Metadata:
    """DCP's index of a step directory, after checking that every file it lists is there in full.

    Truncation is found here, before any tensor is read; bytes changed in place are found
    by `_FileNamingReader` while loading.
    """
    index = step_dir / DCP_METADATA
    if not index.is_file():
        raise _damaged(index, "missing (torch.distributed.checkpoint writes it last, so the save did not "
                              "finish or the file was removed)", step_dir)
    try:
        metadata = FileSystemReader(step_dir).read_metadata()
    except Exception as error:  # an unpickler fed garbage raises almost any exception type
        raise _damaged(index, f"unreadable ({_first_line(error)})", step_dir) from None
    if not isinstance(metadata, Metadata) or not isinstance(metadata.storage_data, dict):
        raise _damaged(index, f"not torch.distributed.checkpoint metadata (holds {type(metadata).__name__})", step_dir)
    needed: dict[str, int] = {}  # file -> bytes its listed items span
    for item in metadata.storage_data.values():
        needed[item.relative_path] = max(needed.get(item.relative_path, 0), item.offset + item.length)
    for name, size in sorted(needed.items()):
        file = step_dir / name
        if not file.is_file():
            raise _damaged(file, f"missing ({DCP_METADATA} lists it)", step_dir)
        if file.stat().st_size < size:
            raise _damaged(file, f"truncated: {file.stat().st_size} bytes, {DCP_METADATA} lists data up to "
                                 f"byte {size}", step_dir)
    return metadata


class _FileNamingReader(FileSystemReader):
    """DCP's file reader, reading one file at a time so that a failure can name its file."""

    def read_data(self, plan: LoadPlan, planner: LoadPlanner) -> Future[None]:
        by_file: dict[str, list] = {}
        for item in plan.items:
            by_file.setdefault(self.storage_data[item.storage_index].relative_path, []).append(item)
        step_dir = Path(self.path)
        for name, items in by_file.items():
            try:
                super().read_data(dataclasses.replace(plan, items=items), planner).wait()
            except OSError as error:
                raise _damaged(step_dir / name, f"cannot be read ({_first_line(error)})", step_dir) from None
            except Exception as error:  # torch.load's own text would suggest weights_only=False: not the fix
                raise _damaged(step_dir / name, f"does not hold the tensors {DCP_METADATA} lists "
                                                f"({type(error).__name__} while reading it)", step_dir) from None
        done: Future[None] = Future()
        done.set_result(None)
        return done


def _dcp_load(state: dict, step_dir: Path) -> None:
    try:
        with _single_process_is_intended():
            dcp.load(state, storage_reader=_FileNamingReader(step_dir), no_dist=not _distributed())
    except CheckpointException as error:  # DCP wraps each rank's exception, with its traceback as text
        failures = [failure for failure, _ in error.failures.values()]
        named = next((failure for failure in failures if isinstance(failure, CheckpointError)), None)
        if named is not None:
            raise named from None
        raise CheckpointError(f"{step_dir}: torch.distributed.checkpoint cannot load it into this model "
                              f"({_first_line(failures[0])})") from None
