"""`stackpipe pack`: dependency-ordered repository samples (DeepSeek-Coder Algorithm 1).

Reads DIR/documents/*.parquet of `stackpipe curate` or `dedup` (or Parquet files directly
in DIR) and writes OUTPUT/documents/*.parquet (one row per sample, PACKED_SCHEMA: the
file columns plus `files`, the (path, language, start, end) span of each file's text in
`content`), OUTPUT/rejected/*.parquet (files left out, with stage and reason) and
OUTPUT/stats.json (stage `pack` counts files, `pack_samples` counts samples).
Deterministic: the same input gives byte-identical outputs on any runner and with any
number of workers.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from stackpipe.beam.inputs import ReadDocuments, completed_documents
from stackpipe.beam.pack import SAMPLES_STAGE, PackRepositories
from stackpipe.beam.stage_outputs import StageOutputs, write_stage_outputs
from stackpipe.beam.stages import ApplyStage
from stackpipe.beam.submission import check_submission
from stackpipe.beam.write import run_job
from stackpipe.curation import benchmark_decontaminator
from stackpipe.packing.sample import STAGE
from stackpipe.rules import load_rules

DEFAULT_SHARD_MB = 256
REQUIRED_COLUMNS = ("id", "repo", "path", "language", "content")
OUTPUTS = ("documents", "rejected")


class PackInputError(ValueError):
    """The input directory holds nothing this stage can read."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe pack", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, metavar="DIR", help="output of curate or dedup (or Parquet files)")
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (local or gs://, s3://)")
    parser.add_argument("--rules", default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    parser.add_argument("--max-chars", type=int, default=None,
                        help="split repositories longer than this many characters (default: rules' pack.max_chars)")
    parser.add_argument("--workers", type=int, default=1, help="accepted for scripts; local runs use one worker "
                        "(Beam's multi-process runner drops records: README, Runners)")
    parser.add_argument("--shard-mb", type=float, default=DEFAULT_SHARD_MB,
                        help=f"approximate content megabytes per output shard (default {DEFAULT_SHARD_MB})")
    return parser


def input_pattern(directory: str) -> str:
    """The Parquet files to read; checks the first one has the columns packing needs."""
    pattern = completed_documents(directory)
    if pattern:
        first = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)[0]
        with FileSystems.open(first) as handle:
            names = set(pq.read_schema(handle).names)
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise PackInputError(f"{first} lacks column(s) {', '.join(missing)}; "
                                 f"columns present: {', '.join(sorted(names))}")
        if "files" in names:
            raise PackInputError(f"{first} holds packed samples already (a `files` column): "
                                 "pack reads the file-level output of curate or dedup")
        return pattern
    raise PackInputError(f"input {directory!r} holds no Parquet documents "
                         "(looked for documents/*.parquet and *.parquet)")


class PackFiles(beam.PTransform):
    """File records -> dependency-ordered repository samples (DeepSeek-Coder Algorithm 1),
    decontaminated again as samples, with the stage's outputs written under `output`:
    documents/ (when materialized), rejected/, decontam_report.json and stats.json
    (stage `pack` counts files, `pack_samples` samples).

    Returns {"documents": the samples, "stats": the stats.json document}.

    Args:
      rules: the run's rules (`pack`, `decontam`, `pii`).
      output: the stage's output directory.
      shard_bytes: approximate content bytes per output shard.
      materialize: write documents/ (rejected/ and stats.json are always written).
    """

    def __init__(self, rules, output: str, *, shard_bytes: int, materialize: bool = True):
        super().__init__()
        self._rules = rules
        self._spec = StageOutputs(output, (STAGE, SAMPLES_STAGE, "decontam"), rules.pii, shard_bytes,
                                  materialize=materialize, packed=True)

    def expand(self, records):
        result = records | "PackRepositories" >> PackRepositories(self._rules.pack)
        # Again on the samples: benchmark code split over several files can match only once joined.
        clean = result["kept"] | ApplyStage("decontam", benchmark_decontaminator(self._rules))
        stats = write_stage_outputs(clean["kept"], [result["rejected"], clean["rejected"]],
                                    [result["stats"], clean["stats"]], self._spec, decontaminated=clean["rejected"])
        return {"documents": clean["kept"], "stats": stats}


def run(argv: list[str] | None = None) -> dict:
    """Entry point; returns the stats.json document."""
    args, beam_args = build_parser().parse_known_args(argv)
    rules = load_rules(args.rules)
    check_submission(beam_args, inputs=[args.input], outputs=[args.output])
    if args.max_chars is not None:
        rules = replace(rules, pack=replace(rules.pack, max_chars=args.max_chars))
    pattern = input_pattern(args.input)
    stats, elapsed = run_job("pack", args.output, [f"{kind}/part-*" for kind in OUTPUTS] + ["stats.json",
                                                                                         "decontam_report.json"],
                             beam_args, args.workers, lambda pipeline: pipeline
                             | ReadDocuments(pattern)
                             | PackFiles(rules, args.output, shard_bytes=int(args.shard_mb * 1e6)))
    if stats.get("translated_only"):
        return stats
    files, samples = stats["stages"][STAGE], stats["stages"].get(SAMPLES_STAGE, {"kept": 0})
    print(
        f"stackpipe pack: {files['input']:,} files ({files['input_bytes'] / 1e6:,.1f} MB) in {elapsed:,.1f} s "
        f"({files['input'] / max(elapsed, 1e-9):,.0f} files/s); packed {files['kept']:,} files into "
        f"{samples['kept']:,} samples, left out {sum(files['dropped'].values()):,}; output {args.output}",
        file=sys.stderr,
    )
    return stats


if __name__ == "__main__":
    run()
