"""Deterministic, atomic Parquet and stats.json writers.

Rows are assigned to shards by their stable id, sorted within a shard and written to a
temporary name that is renamed into place, so the same input gives byte-identical files
on every runner and a rerun after a failure simply replaces what it finds. The number of
shards follows from the total bytes, which is itself a deterministic function of the input.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import time
import uuid
from typing import Callable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from stackpipe.beam.progress import reporting
from stackpipe.beam.options import is_local, make_pipeline, run_to_completion, translated_only
from stackpipe.beam.stages import element_bytes
from stackpipe.outputs import check_owned_manifest, exclusive_output
from stackpipe.records import REJECTED_SCHEMA, Rejected, content_hash, rejected_to_row, without_content
from stackpipe.stats import stats_document

ROW_GROUP_ROWS = 4096  # small row groups let later stages split a shard across workers


def shard_name(index: int, count: int) -> str:
    return f"part-{index:05d}-of-{count:05d}.parquet"


def shard_of(record_id: str, count: int) -> int:
    """Stable shard index of a record id (a hex digest; other ids are hashed first)."""
    try:
        return int(record_id[:12], 16) % count
    except ValueError:  # ids from tables written by other tools
        return int(hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:12], 16) % count


def clear_outputs(output: str, patterns) -> None:
    """Remove an earlier run's outputs (`patterns` under `output`) and the temporaries a
    killed run left beside them, so a rerun that writes fewer shards leaves no stale part."""
    folders = {FileSystems.split(FileSystems.join(output, pattern))[0] for pattern in patterns}
    globs = [FileSystems.join(output, p) for p in patterns] + [FileSystems.join(f, ".*.tmp-*") for f in sorted(folders)]
    stale = [m.path for pattern in globs for r in FileSystems.match([pattern]) for m in r.metadata_list]
    if stale:
        FileSystems.delete(stale)


def temporary_sibling(path: str) -> str:
    """A hidden name beside `path`: readers of the folder (pyarrow datasets, Hugging Face
    `datasets`, Spark) skip names starting with '.', so a killed write never breaks them."""
    folder, name = FileSystems.split(path)
    return FileSystems.join(folder, f".{name}.tmp-{uuid.uuid4().hex}")


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Write to a temporary sibling, then rename over `path` (local, gs://, s3://...)."""
    temporary = temporary_sibling(path)
    with FileSystems.create(temporary) as handle:
        handle.write(data)
    FileSystems.rename([temporary], [path])


def parquet_bytes(rows: list[dict], schema: pa.Schema) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(
        pa.Table.from_pylist(rows, schema=schema), buffer, compression="zstd", row_group_size=ROW_GROUP_ROWS
    )
    return buffer.getvalue()


class _WriteShard(beam.DoFn):
    def __init__(self, directory: str, schema: pa.Schema, to_row: Callable, sort_key: Callable):
        self._directory = directory
        self._schema = schema
        self._to_row = to_row
        self._sort_key = sort_key

    def process(self, keyed, count: int):
        index, elements = keyed
        rows = sorted((self._to_row(e) for e in elements if e is not None), key=self._sort_key)
        data = parquet_bytes(rows, self._schema)
        path = FileSystems.join(self._directory, shard_name(index, count))
        write_bytes_atomically(path, data)
        yield {"path": shard_name(index, count), "rows": len(rows), "bytes": len(data),
               "sha256": hashlib.sha256(data).hexdigest()}


class WriteRecords(beam.PTransform):
    """Write records to `directory/part-NNNNN-of-MMMMM.parquet`; outputs one dict per shard.

    Args:
      directory: output folder (any Beam filesystem path).
      schema: the Arrow schema of the rows.
      to_row: element -> dict of schema columns.
      id_of: element -> its stable hex id (decides the shard).
      target_shard_bytes: approximate content bytes per shard.
      size_of: element -> its bytes toward `target_shard_bytes`.
    """

    def __init__(self, directory: str, schema: pa.Schema, to_row: Callable, id_of: Callable,
                 target_shard_bytes: int, size_of: Callable = element_bytes):
        super().__init__()
        if target_shard_bytes <= 0:
            raise ValueError(f"target_shard_bytes must be positive, got {target_shard_bytes}")
        self._directory = directory
        self._schema = schema
        self._to_row = to_row
        self._id_of = id_of
        self._target = target_shard_bytes
        self._size_of = size_of

    def expand(self, pcoll):
        target = self._target
        id_of = self._id_of
        count = (
            pcoll
            | "MeasureBytes" >> beam.Map(self._size_of)
            | "SumBytes" >> beam.CombineGlobally(sum)
            | "CountShards" >> beam.Map(lambda total: max(1, math.ceil(total / target)))
        )
        count_view = beam.pvalue.AsSingleton(count)
        keyed = pcoll | "AssignShard" >> beam.Map(lambda e, n: (shard_of(id_of(e), n), e), n=count_view)
        # Every shard index exists even when no row lands in it, so readers see a complete set.
        placeholders = count | "EveryShard" >> beam.FlatMap(lambda n: [(i, None) for i in range(n)])
        return (
            (keyed, placeholders)
            | "Together" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(
                _WriteShard(self._directory, self._schema, self._to_row, _row_sort_key), count=count_view
            )
        )


class _RedactRejected(beam.DoFn):
    """A rejection with its content passed through PII redaction (the presidio engine is
    built once per worker)."""

    def __init__(self, pii_rules):
        self._rules = dataclasses.replace(pii_rules, mode="redact")  # drop mode still redacts what it keeps
        self._redactor = None

    def setup(self):
        from stackpipe.pii import PiiRedactor

        self._redactor = PiiRedactor(self._rules)

    def process(self, rejected: Rejected):
        record = rejected.record
        if record.content:
            content, _ = self._redactor.redact(record.content)
            record = dataclasses.replace(record, content=content, content_hash=content_hash(content))
        yield dataclasses.replace(rejected, record=record)


class WriteRejected(beam.PTransform):
    """Write rejections to `directory/part-*.parquet` (REJECTED_SCHEMA) without any content
    that has not been through PII redaction: by default metadata only (id, repo, path,
    stage, reason, detail in meta, size and content hash); with the PII rules'
    `rejected_content: redacted`, the content redacted. Outputs one dict per shard.

    Args:
      directory: output folder (any Beam filesystem path).
      pii_rules: the run's `stackpipe.rules.PiiRules`.
      target_shard_bytes: approximate bytes per shard (of what is written).
    """

    def __init__(self, directory: str, pii_rules, target_shard_bytes: int):
        super().__init__()
        self._directory = directory
        self._pii_rules = pii_rules
        self._target = target_shard_bytes

    def expand(self, rejected):
        if self._pii_rules.rejected_content == "redacted":
            safe = rejected | "RedactContent" >> beam.ParDo(_RedactRejected(self._pii_rules))
        else:
            safe = rejected | "DropContent" >> beam.Map(without_content)
        return safe | "WriteShards" >> WriteRecords(self._directory, REJECTED_SCHEMA, rejected_to_row,
                                                    lambda r: r.record.id, self._target)


def _row_sort_key(row: dict) -> tuple:
    return (row["id"], row.get("stage", ""), row.get("reason", ""), row.get("content_hash", ""), row.get("path", ""))


def _sum_pairs(pairs):
    files = size = 0
    for f, s in pairs:
        files += f
        size += s
    return files, size


class WriteStats(beam.PTransform):
    """Sum stage counts and write `stats.json` atomically, after every output shard exists.

    Args:
      path: where stats.json goes.
      stage_order: stage names in flow order.
      languages: PCollection of kept records' (language, (1, bytes)).
      outputs: {"documents": PCollection of shard dicts, ...} — waited on and listed.
      chained: each stage is fed exactly what the previous one kept (checked).
    """

    def __init__(self, path: str, stage_order: list[str], languages, outputs: dict, *, chained: bool = False):
        super().__init__()
        self._chained = chained
        self._path = path
        self._order = stage_order
        self._languages = languages
        self._outputs = outputs

    def expand(self, stats):
        summed = stats | "SumCounts" >> beam.CombinePerKey(_sum_pairs) | "CollectCounts" >> beam.combiners.ToList()
        languages = (
            self._languages
            | "SumLanguages" >> beam.CombinePerKey(_sum_pairs)
            | "CollectLanguages" >> beam.combiners.ToList()
        )
        side = {kind: beam.pvalue.AsList(files) for kind, files in self._outputs.items()}
        path, order, chained = self._path, self._order, self._chained

        def write(counts, languages, **outputs):
            document = stats_document(counts, order, languages, {k: list(v) for k, v in outputs.items()},
                                      chained=chained)
            write_bytes_atomically(path, (json.dumps(document, indent=2, sort_keys=False) + "\n").encode())
            return document

        return summed | "WriteStatsJson" >> beam.Map(write, beam.pvalue.AsSingleton(languages), **side)


class _DecontamReportFn(beam.CombineFn):
    """Rejected records -> the merged DecontamReport of those the decontam stage made."""

    def create_accumulator(self):
        from stackpipe.decontam import DecontamReport

        return DecontamReport()

    def add_input(self, report, rejected):
        return report.add_rejected(rejected)

    def merge_accumulators(self, reports):
        from stackpipe.decontam import DecontamReport

        return DecontamReport.merged(list(reports))

    def extract_output(self, report):
        return report.dumps()


class WriteDecontamReport(beam.PTransform):
    """`decontam_report.json` (hits per benchmark and problem), written atomically."""

    def __init__(self, path: str):
        super().__init__()
        self._path = path

    def expand(self, rejected):
        path = self._path
        return (rejected
                | "TallyHits" >> beam.CombineGlobally(_DecontamReportFn())
                | "WriteReport" >> beam.Map(lambda text: write_bytes_atomically(path, text.encode("utf-8"))))


def refuse_foreign_manifest(path: str, format_prefix: str) -> None:
    """Stop before a run replaces a `manifest.json` it did not write (a user's own)."""
    text = None
    if FileSystems.exists(path):
        with FileSystems.open(path) as handle:
            text = handle.read().decode("utf-8", errors="replace")
    check_owned_manifest(path, text, expected_prefix=format_prefix)


def run_job(command: str, output: str, outputs, beam_args: list[str], workers: int, add_flow, *,
            progress: bool = True, document: str = "stats.json") -> tuple[dict, float]:
    """Run one job into `output` as its only writer: take the output's lock, clear an
    earlier run's `outputs` (patterns), build a pipeline, let `add_flow(pipeline)` add the
    flow, run it, with progress lines when it runs here. Returns (the completion document
    it wrote last, or the translated-only marker; seconds)."""
    with exclusive_output(output, command):
        clear_outputs(output, outputs)
        started = time.monotonic()
        pipeline = make_pipeline(beam_args, workers)
        add_flow(pipeline)
        with reporting(progress and is_local(pipeline.options)):
            return run_and_read(pipeline, command, output, document), time.monotonic() - started


def run_and_read(pipeline, command: str, output: str, document: str = "stats.json") -> dict:
    """Run the job and return the JSON document it wrote last (stats.json, manifest.json);
    for a job that was only translated or submitted (Dataflow --dry_run, a template), the
    `translated_only` marker instead: there is nothing here to read back."""
    if not run_to_completion(pipeline):
        return translated_only(command, output)
    with FileSystems.open(FileSystems.join(output, document)) as handle:
        return json.load(handle)
