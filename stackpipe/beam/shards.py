"""Beam edge of the shard stage: tokenize record batches, write shards and the manifest."""

from __future__ import annotations

from typing import Iterator

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.write import WriteRecords, write_bytes_atomically
from stackpipe.records import SHARD_SCHEMA, packed_record_to_row
from stackpipe.tokens.manifest import (
    MANIFEST_NAME,
    manifest_bytes,
    manifest_document,
    merge_tallies,
    row_tally,
    source_tally,
)
from stackpipe.tokens.samples import SampleSettings, ShardSource, SourceProblem, check_spans, tokenize_sources
from stackpipe.tokens.tokenizer import FamilyTokenizer

TALLY = "tally"
ENCODE_BATCH = 256  # documents per encode_batch call: enough to keep the encoder's threads busy


class _TokenizeTables(beam.DoFn):
    """pyarrow Tables of records -> TokenRow (main output) and tallies (TALLY)."""

    def __init__(self, bound: FamilyTokenizer, settings: SampleSettings):
        self._bound = bound
        self._settings = settings
        self._encoder = None
        self._rows = Metrics.counter("shards", "rows")
        self._tokens = Metrics.counter("shards", "tokens")

    def setup(self) -> None:
        self._encoder = self._bound.encoder()  # once per worker, not per element

    def process(self, table: pa.Table) -> Iterator:
        records = table.to_pylist()
        for start in range(0, len(records), ENCODE_BATCH):
            sources = []
            for record in records[start:start + ENCODE_BATCH]:
                source = ShardSource.from_row(record)
                problem = _problem(source)
                if problem:
                    yield beam.pvalue.TaggedOutput(TALLY, source_tally(problem))
                else:
                    sources.append(source)
                    yield beam.pvalue.TaggedOutput(TALLY, source_tally("tokenized"))
            for row in tokenize_sources(sources, self._settings, self._encoder):
                self._rows.inc()
                self._tokens.inc(len(row.tokens))
                yield row


def _problem(source: ShardSource) -> str | None:
    if not source.content:
        return "empty"
    try:
        check_spans(source)
    except SourceProblem as problem:
        return problem.reason
    return None


class TokenizeRecords(beam.PTransform):
    """Tables of document or packed records -> {"rows": TokenRows, "tally": tally dicts}."""

    def __init__(self, bound: FamilyTokenizer, settings: SampleSettings):
        super().__init__()
        self._bound = bound
        self._settings = settings

    def expand(self, tables):
        results = tables | "Tokenize" >> beam.ParDo(_TokenizeTables(self._bound, self._settings)).with_outputs(
            TALLY, main="rows")
        return {"rows": results.rows, "tally": results[TALLY]}


class WriteShards(beam.PTransform):
    """Write TokenRows as Parquet shards plus `manifest.json` and a copy of the tokenizer.

    The manifest is written last, after every shard exists: its presence means the
    directory is complete.
    """

    def __init__(self, output: str, bound: FamilyTokenizer, manifest_fields: dict, target_shard_bytes: int):
        super().__init__()
        self._output = output
        self._bound = bound
        self._fields = manifest_fields
        self._target = target_shard_bytes

    def expand(self, inputs):
        rows, source_tallies = inputs["rows"], inputs["tally"]
        # the grouping into shards moves every row: its bytes go to the `shuffle` Beam counter
        rows | "MeasureShardShuffle" >> MeasureShuffle("shards", "rows")
        shards = rows | "WriteShardFiles" >> WriteRecords(
            self._output, SHARD_SCHEMA, lambda row: row.to_row(), lambda row: row.id, self._target,
            size_of=lambda row: 4 * len(row.tokens))
        tally = (
            (rows | "TallyRows" >> beam.Map(row_tally), source_tallies)
            | "AllTallies" >> beam.Flatten()
            | "SumTallies" >> beam.CombineGlobally(merge_tallies)
        )
        output, bound, fields = self._output, self._bound, self._fields

        def write(total: dict, shard_list: list) -> dict:
            write_bytes_atomically(FileSystems.join(output, "tokenizer.json"), bound.tokenizer_json.encode("utf-8"))
            manifest = manifest_document(tokenizer=bound.manifest_entry(), tally=total, shards=shard_list, **fields)
            write_bytes_atomically(FileSystems.join(output, MANIFEST_NAME), manifest_bytes(manifest))
            return manifest

        return tally | "WriteManifest" >> beam.Map(write, beam.pvalue.AsList(shards))


class RecordsToTables(beam.PTransform):
    """Records (files or packed samples) -> pyarrow Tables, the input TokenizeRecords reads,
    so a whole run can tokenize its dedup/pack output without a round trip through Parquet."""

    def __init__(self, batch_size: int = ENCODE_BATCH * 4):
        super().__init__()
        self._batch_size = batch_size

    def expand(self, records):
        return (
            records
            | "ToRows" >> beam.Map(packed_record_to_row)
            | "Batch" >> beam.BatchElements(min_batch_size=self._batch_size, max_batch_size=self._batch_size)
            | "ToTable" >> beam.Map(_rows_to_table)
        )


def _rows_to_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows)
