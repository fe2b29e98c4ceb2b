"""The trainer end to end on real code shards: learning, resume, data parallelism, export."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from stackpipe.train import load_checkpoint
from stackpipe.train.checkpoint import CheckpointError
from stackpipe.train.data import PackedBatches
from stackpipe.train.manifest import DataError
from stackpipe.train.models import build_model
from stackpipe.train.export import export_hf
from stackpipe.train.train import METRICS_FILE, TrainConfig, learning_rate, train

FAMILIES = ("codellama", "starcoder", "starcoder2", "deepseek")
LEARN_STEPS = 300
REPO = Path(__file__).resolve().parents[1]


def debug_config(shards: Path, output: Path, family: str, **changes) -> TrainConfig:
    base = TrainConfig(data=((str(shards), 1.0),), output=str(output), family=family, preset="debug",
                       steps=LEARN_STEPS, seq_len=128, micro_batch=8, lr=1e-3, warmup_steps=30, seed=0,
                       log_every=1, device="cpu")
    return replace(base, **changes)


def losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / METRICS_FILE).read_text().splitlines()]


@pytest.fixture(scope="module")
def trained(training_shards, tmp_path_factory):
    """family -> run directory of a short CPU run of its debug model, with a final checkpoint."""
    runs: dict[str, Path] = {}

    def run_for(family: str) -> Path:
        if family not in runs:
            output = tmp_path_factory.mktemp(f"run-{family}")
            train(debug_config(training_shards(family), output, family))
            runs[family] = output
        return runs[family]

    return run_for


@pytest.mark.parametrize("family", FAMILIES)
def test_debug_model_learns_real_code(trained, training_shards, family):
    """On 16 sequences drawn in another order (mostly unseen), loss falls from ln(vocab) at
    random init to far below it after 300 steps."""
    run = trained(family)
    model = load_checkpoint(run)
    untrained = build_model(model.config)
    untrained.init_weights()
    batch = next(PackedBatches([(str(training_shards(family)), 1.0)], seq_len=128, micro_batch=16, rank=0,
                               world_size=1, seed=1, document_masking=False))
    with torch.no_grad():
        before, after = (F.cross_entropy(m(batch.input_ids).flatten(0, 1), batch.labels.flatten()).item()
                         for m in (untrained, model))
    print(family, before, after, losses(run)[0], sum(losses(run)[-20:]) / 20)
    assert before > 6.5  # ~ln(1024) = 6.93
    assert after < 0.8 * before, (before, after)  # measured: 0.63-0.77 of it


@pytest.mark.parametrize("family", FAMILIES)
def test_export_hf_loads_in_transformers_with_the_same_logits(trained, family, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = trained(family)
    exported = export_hf(run, tmp_path / "hf")
    ours = load_checkpoint(run)
    theirs = AutoModelForCausalLM.from_pretrained(exported, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(exported)
    ids = torch.tensor([tokenizer.encode("def add(a, b):\n    return a + b\n" * 4)])
    with torch.no_grad():
        difference = (ours(ids) - theirs(ids).logits).abs().max().item()
    assert difference < 1e-4


def test_resumed_run_repeats_the_uninterrupted_loss_curve(training_shards, tmp_path):
    shards = training_shards("codellama")
    whole = debug_config(shards, tmp_path / "whole", "codellama", steps=12, warmup_steps=4)
    train(whole)
    first_half = replace(whole, output=str(tmp_path / "resumed"), checkpoint_every=6)
    train(replace(first_half, stop_at=6))  # ends at step 6 with a checkpoint, as if killed after it
    train(first_half)  # the same command again resumes from step 6
    assert losses(tmp_path / "resumed") == losses(tmp_path / "whole")


def torchrun(nproc: int, *args: str) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                    "-m", "stackpipe.train", *args], check=True, env=env, cwd=REPO, timeout=600)


def cli_args(shards: Path, output: Path, *, steps: int, micro_batch: int, extra: tuple[str, ...] = ()) -> list[str]:
    return ["--data", str(shards), "--output", str(output), "--family", "starcoder2", "--preset", "debug",
            "--steps", str(steps), "--seq-len", "128", "--micro-batch", str(micro_batch), "--lr", "3e-3",
            "--warmup-steps", "4", "--log-every", "1", "--device", "cpu", "--parallel", "fsdp", *extra]


def test_fsdp_on_two_ranks_matches_one_rank(training_shards, tmp_path):
    """Same global batch (2 x 4 sequences vs 1 x 8): the loss curves agree within float noise."""
    shards = training_shards("starcoder2")
    from stackpipe.train.cli import train_main

    train_main(cli_args(shards, tmp_path / "one", steps=8, micro_batch=8))
    torchrun(2, *cli_args(shards, tmp_path / "two", steps=8, micro_batch=4))
    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(one) == len(two) == 8
    assert max(abs(a - b) for a, b in zip(one, two)) < 1e-4  # measured 5e-7


def test_fsdp_gradient_accumulation_repeats_the_one_micro_step_curve(training_shards, tmp_path):
    """2 ranks x 2 micro steps x 2 sequences against 2 ranks x 1 x 4: the same global batch
    gives the same losses and gradient norms (FSDP2 reduce-scatters every micro step)."""
    shards = training_shards("starcoder2")
    torchrun(2, *cli_args(shards, tmp_path / "accum", steps=3, micro_batch=2, extra=("--grad-accum", "2")))
    torchrun(2, *cli_args(shards, tmp_path / "whole", steps=3, micro_batch=4))
    records = [[json.loads(line) for line in (tmp_path / run / METRICS_FILE).read_text().splitlines()]
               for run in ("accum", "whole")]
    assert len(records[0]) == len(records[1]) == 3
    for accum, whole in zip(*records):
        assert accum["loss"] == pytest.approx(whole["loss"], abs=1e-5)
        assert accum["grad_norm"] == pytest.approx(whole["grad_norm"], rel=1e-4)


def test_tensor_parallel_run_repeats_the_one_process_curve_and_its_checkpoint_loads(training_shards, tmp_path):
    """--tp 2 on 2 ranks (one data-parallel replica) against one process: the same losses,
    and its DCP checkpoint of tensor-parallel DTensors loads into a plain model."""
    shards = training_shards("starcoder2")
    from stackpipe.train.cli import train_main

    train_main(cli_args(shards, tmp_path / "one", steps=4, micro_batch=4))
    torchrun(2, *cli_args(shards, tmp_path / "tp", steps=4, micro_batch=4, extra=("--tp", "2")))
    one, tp = losses(tmp_path / "one"), losses(tmp_path / "tp")
    assert len(tp) == 4
    assert max(abs(a - b) for a, b in zip(one, tp)) < 1e-5
    ids = torch.randint(0, 1024, (1, 32))
    with torch.no_grad():
        assert (load_checkpoint(tmp_path / "tp")(ids) - load_checkpoint(tmp_path / "one")(ids)).abs().max() < 1e-4


def test_resume_on_a_different_world_size(training_shards, tmp_path):
    """A checkpoint of one rank resumes on two FSDP ranks and continues the same curve."""
    shards = training_shards("starcoder2")
    from stackpipe.train.cli import train_main

    train_main(cli_args(shards, tmp_path / "whole", steps=10, micro_batch=8))
    train_main(cli_args(shards, tmp_path / "moved", steps=10, micro_batch=8,
                        extra=("--checkpoint-every", "5", "--stop-at", "5")))
    torchrun(2, *cli_args(shards, tmp_path / "moved", steps=10, micro_batch=4, extra=("--checkpoint-every", "5")))
    whole, moved = losses(tmp_path / "whole"), losses(tmp_path / "moved")
    assert len(moved) == 10
    assert max(abs(a - b) for a, b in zip(whole, moved)) < 1e-4  # measured 5e-7


def test_shards_of_another_family_are_refused_before_training(training_shards, tmp_path):
    config = debug_config(training_shards("starcoder"), tmp_path / "run", "codellama", steps=1)
    with pytest.raises(DataError, match="starcoder"):
        train(config)
    assert not (tmp_path / "run" / METRICS_FILE).exists()


def stackpipe(*args: str) -> int:
    """The `stackpipe` command in process: 2 and a one-line error on stderr for a user's mistake."""
    from stackpipe.cli import main

    return main(list(args))


def test_a_run_without_checkpoint_every_keeps_its_final_model(training_shards, tmp_path):
    """The README's `stackpipe train` then `stackpipe export-hf`, with no --checkpoint-every."""
    run = tmp_path / "run"
    assert stackpipe("train", *cli_args(training_shards("starcoder2"), run, steps=2, micro_batch=2)) == 0
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step-00000002"]
    assert stackpipe("export-hf", str(run), str(tmp_path / "hf")) == 0
    assert (tmp_path / "hf" / "model.safetensors").is_file()


def test_periodic_and_final_saves_are_written_once_and_the_final_one_can_be_left_out(
        training_shards, tmp_path, monkeypatch):
    import stackpipe.train.train as train_module

    saved: list[int] = []
    monkeypatch.setattr(train_module, "save_checkpoint", lambda _output, step, *_args: saved.append(step))
    shards = training_shards("starcoder2")
    every_two = ("--checkpoint-every", "2")
    assert stackpipe("train", *cli_args(shards, tmp_path / "a", steps=4, micro_batch=2, extra=every_two)) == 0
    assert saved == [2, 4]  # step 4 is periodic and final: one save
    saved.clear()
    no_final = (*every_two, "--no-final-checkpoint")
    assert stackpipe("train", *cli_args(shards, tmp_path / "b", steps=3, micro_batch=2, extra=no_final)) == 0
    assert saved == [2]


@pytest.mark.parametrize("damage", ["edited", "missing"])
def test_a_tokenizer_json_unlike_the_manifest_is_refused_before_training(training_shards, tmp_path, capsys, damage):
    shards = tmp_path / "shards"
    shutil.copytree(training_shards("starcoder2"), shards)
    recorded = json.loads((shards / "manifest.json").read_text())["tokenizer"]["sha256"]
    tokenizer = shards / "tokenizer.json"
    if damage == "edited":
        tokenizer.write_bytes(tokenizer.read_bytes() + b"\n")  # still a valid tokenizer, but not the shards' one
    else:
        tokenizer.unlink()
    assert stackpipe("train", *cli_args(shards, tmp_path / "run", steps=1, micro_batch=2)) == 2
    error = capsys.readouterr().err
    assert f"{tokenizer} " in error and recorded in error
    if damage == "edited":
        assert hashlib.sha256(tokenizer.read_bytes()).hexdigest() in error
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def one_step_run(training_shards, tmp_path_factory):
    """A run directory whose only checkpoint is step 1 (copied by each test that damages it)."""
    run = tmp_path_factory.mktemp("one-step") / "run"
    train(debug_config(training_shards("starcoder2"), run, "starcoder2", steps=1, micro_batch=2, checkpoint_every=1))
    return run


def _truncate(file: Path) -> None:
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def _overwrite(file: Path) -> None:
    file.write_bytes(bytes(range(256)) * (file.stat().st_size // 256) + b"x" * (file.stat().st_size % 256))


@pytest.mark.parametrize("name, damage", [
    ("__0_0.distcp", _truncate), ("__0_0.distcp", _overwrite), (".metadata", Path.unlink),
    (".metadata", _overwrite), ("train_state.json", _truncate)])
def test_a_damaged_checkpoint_file_is_named_on_load_export_and_resume(one_step_run, training_shards, tmp_path,
                                                                      capsys, name, damage):
    run = tmp_path / "run"
    shutil.copytree(one_step_run, run)
    file = run / "checkpoints" / "step-00000001" / name
    damage(file)
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(file))}: .* damaged"):
        load_checkpoint(run)
    assert stackpipe("export-hf", str(run), str(tmp_path / "hf")) == 2
    assert f"error: {file}: " in capsys.readouterr().err
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(file))}: "):
        train(debug_config(training_shards("starcoder2"), run, "starcoder2", steps=2, micro_batch=2))


def test_learning_rate_warms_up_then_decays_to_ten_percent():
    config = TrainConfig(data=(("x", 1.0),), output="x", family="codellama", preset="debug", steps=100,
                         seq_len=8, micro_batch=1, lr=1.0, warmup_steps=10)
    assert learning_rate(0, config) == pytest.approx(0.1)
    assert learning_rate(9, config) == pytest.approx(1.0)
    assert learning_rate(100, config) == pytest.approx(0.1)
    assert learning_rate(55, config) == pytest.approx(0.55)
