"""The Beam edge: the generic stage DoFn, its counters, and the deterministic writer."""

import json

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from stackpipe.beam.stages import ApplyStage
from stackpipe.beam.write import WriteRecords, WriteStats
from stackpipe.records import FILE_SCHEMA, FileRecord, Rejected, content_hash, record_to_row, record_id


def make(path, content):
    return FileRecord(id=record_id("github", "o/r", path), repo="o/r", path=path, language="Python",
                      content=content, size_bytes=len(content), source="github",
                      content_hash=content_hash(content))


def drop_long(record):
    return Rejected(record=record, stage="length", reason="too_long") if len(record.content) > 5 else record


def counter(result, name):
    found = result.metrics().query(MetricsFilter().with_namespace("length").with_name(name))["counters"]
    return sum(c.committed for c in found)


def test_stage_routes_drops_and_counts_them():
    records = [make("a.py", "x=1"), make("b.py", "x = 100000"), make("c.py", "y=2")]
    pipeline = BeamTestPipeline(runner=FnApiRunner())
    outputs = pipeline | beam.Create(records) | ApplyStage("length", drop_long)
    assert_that(outputs["kept"] | "KeptPaths" >> beam.Map(lambda r: r.path), equal_to(["a.py", "c.py"]),
                label="kept")
    assert_that(outputs["rejected"] | "Reasons" >> beam.Map(lambda r: r.reason), equal_to(["too_long"]),
                label="rejected")
    result = pipeline.run()
    result.wait_until_finish()
    assert counter(result, "input") == 3
    assert counter(result, "kept") == 2
    assert counter(result, "dropped.too_long") == 1


class BatchedDropLong:
    """A stage with `apply_many`, recording the batch sizes it was given."""

    calls: list[int] = []

    def __call__(self, record):
        raise AssertionError("a stage with apply_many gets batches")

    def apply_many(self, records):
        BatchedDropLong.calls.append(len(records))
        return [drop_long(r) for r in records]


def test_batched_stage_routes_and_counts_as_the_per_element_stage():
    records = [make(f"{i}.py", "x" * (i % 9)) for i in range(40)]
    pipeline = BeamTestPipeline(runner=FnApiRunner())
    outputs = pipeline | beam.Create(records) | ApplyStage("length", BatchedDropLong())
    assert_that(outputs["kept"] | "KeptPaths" >> beam.Map(lambda r: r.path),
                equal_to([r.path for r in records if len(r.content) <= 5]), label="kept")
    assert_that(outputs["rejected"] | "Paths" >> beam.Map(lambda r: r.record.path),
                equal_to([r.path for r in records if len(r.content) > 5]), label="rejected")
    result = pipeline.run()
    result.wait_until_finish()
    assert counter(result, "input") == 40
    assert counter(result, "kept") + counter(result, "dropped.too_long") == 40
    assert sum(BatchedDropLong.calls) == 40 and max(BatchedDropLong.calls) > 1


def test_stage_name_must_be_snake_case():
    import pytest

    with pytest.raises(ValueError, match="snake_case"):
        ApplyStage("Quality Check", drop_long)


def write(records, directory, shard_bytes):
    with BeamTestPipeline(runner=FnApiRunner()) as pipeline:
        files = (pipeline | beam.Create(records)
                 | WriteRecords(str(directory), FILE_SCHEMA, record_to_row, lambda r: r.id, shard_bytes))
        stats = pipeline | "NoStats" >> beam.Create([(("length", "input", ""), (len(records), 0)),
                                                     (("length", "kept", ""), (len(records), 0))])
        languages = pipeline | "NoLanguages" >> beam.Create([])
        stats | WriteStats(str(directory / "stats.json"), ["length"], languages, {"documents": files})


def test_writer_output_is_byte_identical_whatever_the_input_order(tmp_path):
    records = [make(f"{i}.py", f"print({i})\n" * (i + 1)) for i in range(60)]
    write(records, tmp_path / "a", 200)
    write(list(reversed(records)), tmp_path / "b", 200)
    names = sorted(p.name for p in (tmp_path / "a").glob("*.parquet"))
    assert len(names) > 1
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_writer_rows_are_sorted_and_complete(tmp_path):
    records = [make(f"{i}.py", "x = 1\n") for i in range(25)]
    write(records, tmp_path, 50)
    table = pq.read_table(sorted(map(str, tmp_path.glob("*.parquet"))), schema=FILE_SCHEMA)
    assert sorted(table.column("path").to_pylist()) == sorted(r.path for r in records)
    for shard in tmp_path.glob("*.parquet"):
        ids = pq.read_table(shard).column("id").to_pylist()
        assert ids == sorted(ids)


def test_empty_input_still_writes_one_loadable_shard_and_stats(tmp_path):
    write([], tmp_path, 100)
    assert pq.read_table(tmp_path / "part-00000-of-00001.parquet").num_rows == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["outputs"]["documents"][0]["rows"] == 0
    assert not list(tmp_path.glob("*.tmp-*"))
