"""Progress lines: every stage reports while a local job runs, and only then."""

import apache_beam as beam

from stackpipe.beam import progress
from stackpipe.beam.options import make_pipeline
from stackpipe.beam.stages import ApplyStage
from stackpipe.records import FileRecord


def _records(n: int) -> list[FileRecord]:
    return [FileRecord(id=f"{i:064x}", repo="r", path=f"f{i}.py", language="Python", content="x = 1\n",
                       size_bytes=6, source="test")
            for i in range(n)]


def _run_two_stages(monkeypatch, enabled: bool, capsys) -> str:
    monkeypatch.setattr(progress, "_INTERVAL_S", 0.0)
    progress._last_line[0] = 0.0
    pipeline = make_pipeline([], 1)
    first = pipeline | beam.Create(_records(20)) | ApplyStage("first", lambda r: r)
    first["kept"] | ApplyStage("second", lambda r: r)
    with progress.reporting(enabled):
        pipeline.run().wait_until_finish()
    return capsys.readouterr().err


def test_each_stage_reports_its_files_while_a_local_job_runs(monkeypatch, capsys):
    err = _run_two_stages(monkeypatch, True, capsys)
    assert "first 20 files" in err and "second 20 files" in err


def test_no_progress_lines_unless_reporting(monkeypatch, capsys):
    assert "files" not in _run_two_stages(monkeypatch, False, capsys)
    assert not progress.is_reporting()
