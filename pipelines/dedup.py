"""`stackpipe dedup`: MinHash-LSH near-deduplication of documents, at file or repository level.

Reads DIR/documents/*.parquet of `stackpipe curate` or `pack` (or Parquet files directly
in DIR) and writes OUTPUT/documents/*.parquet (kept records, same columns as the input),
OUTPUT/rejected/*.parquet (reason `near_duplicate`, `meta.duplicate_of` naming the kept
representative), OUTPUT/clusters/*.parquet (id, cluster_id = its representative, kept,
reason, component_id, for every unit of every connected component of two or more
candidates) and OUTPUT/stats.json. Deterministic:
the same input gives byte-identical outputs on any runner and with any number of workers.
"""

from __future__ import annotations

import argparse
import sys

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.inputs import ReadDocuments, completed_documents
from stackpipe.beam.near_dedup import ClusterNearDuplicates
from stackpipe.beam.stage_outputs import WRITE_STAGE, StageOutputs, write_stage_outputs
from stackpipe.beam.submission import check_submission
from stackpipe.beam.write import WriteRecords, run_job
from stackpipe.dedup.near import LEVELS, STAGE, cluster_row
from stackpipe.records import CLUSTER_SCHEMA
from stackpipe.rules import load_rules

DEFAULT_SHARD_MB = 256
REQUIRED_COLUMNS = ("id", "repo", "path", "content")
OUTPUTS = ("documents", "rejected", "clusters")


class DedupInputError(ValueError):
    """The input directory holds nothing this stage can read."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe dedup", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, metavar="DIR", help="output of curate or pack (or Parquet files)")
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (local or gs://, s3://)")
    parser.add_argument("--level", choices=LEVELS, default="file",
                        help="file: each file is a unit; repo: each repository is one unit, dropped whole")
    verify = parser.add_mutually_exclusive_group()
    verify.add_argument("--verify", dest="verify", action="store_true", default=None,
                        help="check candidate pairs' exact Jaccard (default: rules' verify_file_level at file level, "
                             "off at repo level)")
    verify.add_argument("--no-verify", dest="verify", action="store_false")
    parser.add_argument("--rules", default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    parser.add_argument("--workers", type=int, default=1, help="accepted for scripts; local runs use one worker "
                        "(Beam's multi-process runner drops records: README, Runners)")
    parser.add_argument("--shard-mb", type=float, default=DEFAULT_SHARD_MB,
                        help=f"approximate content megabytes per output shard (default {DEFAULT_SHARD_MB})")
    return parser


def input_pattern(directory: str) -> str:
    pattern = completed_documents(directory)
    if pattern:
        return pattern
    raise DedupInputError(f"input {directory!r} holds no Parquet documents (looked for documents/*.parquet and *.parquet)")


def input_is_packed(pattern: str) -> bool:
    """Checks the first file's columns; True for packed repository samples (a `files` column)."""
    first = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)[0]
    with FileSystems.open(first) as handle:
        names = set(pq.read_schema(handle).names)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise DedupInputError(f"{first} lacks column(s) {', '.join(missing)}; columns present: {', '.join(sorted(names))}")
    return "files" in names


class NearDedup(beam.PTransform):
    """Records -> near-deduplicated records (MinHash-LSH, DESIGN §1), with the stage's
    outputs written under `output`: documents/ (when materialized), rejected/, clusters/
    and stats.json.

    Returns {"documents": kept records, "stats": the stats.json document}.

    Args:
      rules: the run's rules (`dedup` and `pii`).
      output: the stage's output directory.
      level: "file" (each file a unit) or "repo" (each repository one unit, dropped whole).
      verify: check candidate pairs' exact Jaccard before clustering.
      packed: the records are packed repository samples (written with PACKED_SCHEMA).
      shard_bytes: approximate content bytes per output shard.
      materialize: write documents/ (rejected/, clusters/ and stats.json are always written).
    """

    def __init__(self, rules, output: str, *, level: str, verify: bool, packed: bool, shard_bytes: int,
                 materialize: bool = True):
        super().__init__()
        if level not in LEVELS:
            raise ValueError(f"near-dedup level must be one of {', '.join(LEVELS)}, got {level!r}")
        self._rules, self._level, self._verify = rules, level, verify
        self._spec = StageOutputs(output, (STAGE,), rules.pii, shard_bytes, materialize=materialize, packed=packed)

    def expand(self, records):
        result = records | "ClusterNearDuplicates" >> ClusterNearDuplicates(
            self._rules.dedup, level=self._level, verify=self._verify)
        clusters = result["clusters"] | "WriteClusters" >> WriteRecords(
            FileSystems.join(self._spec.directory, "clusters"), CLUSTER_SCHEMA, cluster_row, lambda d: d.unit_id,
            self._spec.shard_bytes, size_of=lambda d: 100)
        measured = result["clusters"] | "MeasureClustersShuffle" >> MeasureShuffle(WRITE_STAGE, "clusters")
        stats = write_stage_outputs(result["kept"], [result["rejected"]], [result["stats"], measured], self._spec,
                                    written={"clusters": clusters})
        return {"documents": result["kept"], "stats": stats}


def run(argv: list[str] | None = None) -> dict:
    """Entry point; returns the stats.json document."""
    args, beam_args = build_parser().parse_known_args(argv)
    rules = load_rules(args.rules)
    check_submission(beam_args, inputs=[args.input], outputs=[args.output])
    pattern = input_pattern(args.input)
    packed = input_is_packed(pattern)
    verify = args.verify if args.verify is not None else (args.level == "file" and rules.dedup.verify_file_level)
    stats, elapsed = run_job("dedup", args.output, [f"{kind}/part-*" for kind in OUTPUTS] + ["stats.json"], beam_args,
                             args.workers, lambda pipeline: pipeline
                             | ReadDocuments(pattern)
                             | NearDedup(rules, args.output, level=args.level, verify=verify, packed=packed,
                                         shard_bytes=int(args.shard_mb * 1e6)))
    if stats.get("translated_only"):
        return stats
    stage = stats["stages"][STAGE]
    print(
        f"stackpipe dedup ({args.level} level, verify {'on' if verify else 'off'}): {stage['input']:,} files "
        f"({stage['input_bytes'] / 1e6:,.1f} MB) in {elapsed:,.1f} s "
        f"({stage['input_bytes'] / 1e6 / max(elapsed, 1e-9):,.1f} MB/s); kept {stage['kept']:,}, "
        f"near duplicates {stage['dropped'].get('near_duplicate', 0):,}; output {args.output}",
        file=sys.stderr,
    )
    return stats


if __name__ == "__main__":
    run()
