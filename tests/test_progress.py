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


def test_read_shows_units_of_the_total_and_later_stages_the_read_count(monkeypatch, capsys):
    monkeypatch.setattr(progress, "_INTERVAL_S", 0.0)
    progress._last_line[0] = 0.0
    pipeline = make_pipeline([], 1)
    units = pipeline | beam.Create([3, 4, 5])
    read = units | ApplyStage("read", lambda n: _records(n), flat=True, units_total=3)
    read["kept"] | ApplyStage("quality", lambda r: r)
    with progress.reporting(True):
        pipeline.run().wait_until_finish()
    err = capsys.readouterr().err
    assert "read 12 files" in err and "of 3 units" in err
    assert "quality 12 of 12 read files" in err.splitlines()[-1]


def test_progress_line_of_a_reading_and_a_later_stage():
    read = progress._Tally("read", units_total=40, files=1200, bytes=12_000_000, units=10)
    quality = progress._Tally("quality", units_total=None, files=1000, bytes=10_000_000)
    line = progress.progress_line([read, quality], 10.0)
    assert "read 1,200 files 12.0 MB, 10 of 40 units (120/s, 1.2 MB/s)" in line
    assert "quality 1,000 of 1,200 read files 10.0 MB (100/s, 1.0 MB/s)" in line
