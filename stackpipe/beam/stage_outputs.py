"""What every document stage writes, written one way: curate (files and WARCs), near-dedup
and packing all end in the same outputs.

DIR/documents/*.parquet (the kept records, when the stage is materialized),
DIR/rejected/*.parquet (every stage's rejections, content-free or redacted),
DIR/decontam_report.json (when the stage decontaminates) and DIR/stats.json (per stage
counts, per language counts of the kept records, the bytes each grouping step shuffled,
and the shard lists of every output), written last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.write import WriteDecontamReport, WriteRecords, WriteRejected, WriteStats
from stackpipe.records import FILE_SCHEMA, PACKED_SCHEMA, packed_record_to_row, record_to_row, without_content
from stackpipe.rules import PiiRules

WRITE_STAGE = "write"  # the stage name of the writers' shuffles in stats.json's shuffled_bytes


@dataclass(frozen=True)
class StageOutputs:
    """Where and how a stage's outputs are written.

    directory: the stage's output folder (any Beam filesystem path).
    stage_order: the stage names of stats.json, in flow order.
    pii_rules: the run's PII rules (rejected rows keep only redacted content, if any).
    shard_bytes: approximate content bytes per output shard.
    materialize: write documents/ (off: a later stage of the same job reads them in memory).
    packed: the documents are packed repository samples (PACKED_SCHEMA).
    chained: each stage is fed exactly what the one before kept (stats.json checks it).
    """

    directory: str
    stage_order: tuple[str, ...]
    pii_rules: PiiRules
    shard_bytes: int
    materialize: bool = True
    packed: bool = False
    chained: bool = False

    def __post_init__(self) -> None:
        if self.shard_bytes <= 0:
            raise ValueError(f"shard_bytes must be positive, got {self.shard_bytes} (for {self.directory})")


def _rejected_view(pii_rules: PiiRules):
    """What WriteRejected shuffles of a rejection: without content unless it keeps it redacted."""
    return None if pii_rules.rejected_content == "redacted" else without_content


def write_stage_outputs(documents, rejected: Sequence, stats: Sequence, spec: StageOutputs, *,
                        decontaminated=None, written: dict | None = None):
    """Write a stage's outputs; returns the stats.json document (one element).

    The writers are applied in the caller's scope (inside a job's composite, or at the top
    of a pipeline, where Dataflow lists them as WriteDocuments, WriteRejected, WriteStats).

    Args:
      documents: the kept records.
      rejected: the stages' rejection PCollections.
      stats: the stages' count PCollections (including their shuffles' measurements).
      spec: where and how to write.
      decontaminated: the decontam stage's rejections, for decontam_report.json.
      written: other outputs already written ({"clusters": shard dicts}), which stats.json
        waits for and lists.
    """
    outputs = dict(written or {})
    shuffles = []
    if spec.materialize:
        schema, to_row = (PACKED_SCHEMA, packed_record_to_row) if spec.packed else (FILE_SCHEMA, record_to_row)
        outputs["documents"] = documents | "WriteDocuments" >> WriteRecords(
            FileSystems.join(spec.directory, "documents"), schema, to_row, lambda r: r.id, spec.shard_bytes)
        shuffles.append(documents | "MeasureDocumentsShuffle" >> MeasureShuffle(WRITE_STAGE, "documents"))
    every_rejection = tuple(rejected) | "AllRejected" >> beam.Flatten()
    outputs["rejected"] = every_rejection | "WriteRejected" >> WriteRejected(
        FileSystems.join(spec.directory, "rejected"), spec.pii_rules, spec.shard_bytes)
    shuffles.append(every_rejection | "MeasureRejectedShuffle" >> MeasureShuffle(
        WRITE_STAGE, "rejected", view=_rejected_view(spec.pii_rules)))
    if decontaminated is not None:
        decontaminated | "DecontamReport" >> WriteDecontamReport(
            FileSystems.join(spec.directory, "decontam_report.json"))
    languages = documents | "ByLanguage" >> beam.Map(lambda r: (r.language, (1, r.size_bytes)))
    return (
        tuple(stats) + tuple(shuffles)
        | "AllStats" >> beam.Flatten()
        | "WriteStats" >> WriteStats(FileSystems.join(spec.directory, "stats.json"), list(spec.stage_order),
                                     languages, outputs, chained=spec.chained)
    )
