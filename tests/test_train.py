"""The trainer end to end on real code shards: learning, resume, data parallelism, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from stackpipe.train import load_checkpoint
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
            train(debug_config(training_shards(family), output, family, checkpoint_every=LEARN_STEPS))
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


def test_learning_rate_warms_up_then_decays_to_ten_percent():
    config = TrainConfig(data=(("x", 1.0),), output="x", family="codellama", preset="debug", steps=100,
                         seq_len=8, micro_batch=1, lr=1.0, warmup_steps=10)
    assert learning_rate(0, config) == pytest.approx(0.1)
    assert learning_rate(9, config) == pytest.approx(1.0)
    assert learning_rate(100, config) == pytest.approx(0.1)
    assert learning_rate(55, config) == pytest.approx(0.55)
