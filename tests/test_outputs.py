"""Outputs are read only when complete, written by one run at a time, and never replace a
user's own files; temporaries of a killed run never break a reader."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines import curate, dedup
from pipelines import run as run_pipeline
from stackpipe.beam.write import clear_outputs, temporary_sibling
from stackpipe.cli import main as cli_main
from stackpipe.outputs import LOCK_NAME, IncompleteInputError, OutputError, exclusive_output
from stackpipe.report.discover import ReportInputError, discover
from stdlib_corpus import STDLIB, stdlib_records, write_documents

REPO_ROOT = Path(__file__).resolve().parent.parent


def finished_curate_output(root: Path) -> Path:
    return write_documents(root, stdlib_records(20))


def test_dedup_refuses_documents_without_a_completion_record(tmp_path):
    """A killed curate leaves documents/ but no stats.json: dedup must not read part of it."""
    killed = write_documents(tmp_path / "curated", stdlib_records(20), finished=False)
    with pytest.raises(IncompleteInputError, match="no stats.json.*did not finish"):
        dedup.run(["--input", str(killed), "--output", str(tmp_path / "dedup")])


def test_dedup_refuses_documents_its_completion_record_does_not_list(tmp_path):
    """Shards of a second, concurrent or killed run beside a finished one are refused."""
    output = finished_curate_output(tmp_path / "curated")
    shutil.copyfile(output / "documents" / "part-00000-of-00001.parquet",
                    output / "documents" / "part-00000-of-00002.parquet")
    with pytest.raises(IncompleteInputError, match="not listed: part-00000-of-00002.parquet"):
        dedup.input_pattern(str(output))


def test_report_refuses_a_killed_runs_documents(tmp_path):
    write_documents(tmp_path / "run" / "code" / "curated", stdlib_records(5), finished=False)
    with pytest.raises(ReportInputError, match="did not finish"):
        discover(tmp_path / "run")


def test_temporaries_of_a_killed_write_do_not_break_pyarrow_or_datasets(tmp_path):
    import datasets

    output = finished_curate_output(tmp_path / "curated")
    leftover = Path(temporary_sibling(str(output / "documents" / "part-00001-of-00002.parquet")))
    leftover.write_bytes(b"PAR1 half a Parquet file")  # what a kill mid-write leaves
    assert pq.read_table(output / "documents").num_rows == 20
    loaded = datasets.load_dataset("parquet", data_dir=str(output / "documents"), split="train")
    assert loaded.num_rows == 20
    assert dedup.input_pattern(str(output))  # hidden temporaries are no unlisted shard


def test_clear_outputs_removes_temporaries_of_a_killed_run(tmp_path):
    output = finished_curate_output(tmp_path / "curated")
    leftover = Path(temporary_sibling(str(output / "documents" / "part-00000-of-00001.parquet")))
    leftover.write_bytes(b"partial")
    clear_outputs(str(output), ("documents/part-*", "stats.json"))
    assert list((output / "documents").iterdir()) == []


def test_second_run_into_a_locked_output_stops_and_names_the_holder(tmp_path):
    with exclusive_output(str(tmp_path / "out"), "curate"):
        with pytest.raises(OutputError, match=r"being written by another run \(stackpipe curate, pid"):
            with exclusive_output(str(tmp_path / "out"), "dedup"):
                pass
    with exclusive_output(str(tmp_path / "out"), "dedup"):  # released when the first run ends
        pass


def test_two_concurrent_curates_into_one_output_do_not_mix(tmp_path):
    """A second curate started while the first runs is refused; the first's output stays whole."""
    source = tmp_path / "repos" / "email"
    shutil.copytree(STDLIB / "email", source, ignore=shutil.ignore_patterns("__pycache__"))
    output = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "pipelines.curate", "--input", str(tmp_path / "repos"),
                              "--output", str(output), "--no-progress"], cwd=REPO_ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lock = output / LOCK_NAME
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text()) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        with pytest.raises(OutputError, match="being written by another run"):
            curate.run(["--input", str(STDLIB / "json"), "--output", str(output), "--no-progress"])
    finally:
        _, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr.decode()[-2000:]
    stats = json.loads((output / "stats.json").read_text())
    listed = {entry["path"] for entry in stats["outputs"]["documents"]}
    assert listed == {p.name for p in (output / "documents").glob("*.parquet")}
    assert all(row["repo"] == "email" for row in pq.read_table(output / "documents").to_pylist())


def test_output_naming_an_existing_file_is_a_one_line_error(tmp_path, capsys):
    target = tmp_path / "taken.txt"
    target.write_text("mine\n")
    code = cli_main(["curate", "--input", str(STDLIB / "json"), "--output", str(target), "--no-progress"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error and "is an existing file" in error
    assert target.read_text() == "mine\n"


def test_run_does_not_replace_a_users_own_manifest(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "manifest.json").write_text('{"my": "notes"}\n')
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"output": "out", "family": "starcoder", "tokenizer": {"max_mb": 1},
                                      "sources": [{"name": "code", "inputs": [str(STDLIB / "json")]}]}))
    with pytest.raises(OutputError, match="manifest.json exists and was not written by stackpipe"):
        run_pipeline.run([str(config), "--no-progress"])
    assert (output / "manifest.json").read_text() == '{"my": "notes"}\n'
