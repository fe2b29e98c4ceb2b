"""`stackpipe curate`: sources -> decode + language -> quality -> license -> PII -> decontam -> exact dedup.

Writes OUTPUT/documents/*.parquet, OUTPUT/rejected/*.parquet (with stage and reason),
OUTPUT/stats.json (per stage: input, kept, dropped by reason, bytes) and
OUTPUT/decontam_report.json (benchmark hits per benchmark and problem). Runs in-process by
default; every Beam option is passed through, so the same command runs on Dataflow,
Spark or Flink.
"""

from __future__ import annotations

import argparse
import sys

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from stackpipe.beam.dedup import DropExactDuplicates
from stackpipe.beam.stages import ApplyStage
from stackpipe.beam.write import WriteDecontamReport, WriteRecords, WriteRejected, WriteStats, run_job
from stackpipe.curation import (
    STAGES,
    AssignLicense,
    CheckQuality,
    DecodeFiles,
    ReadInputs,
    RedactPii,
    benchmark_decontaminator,
    license_file_text,
    license_key,
    license_maps,
)
from stackpipe.records import FILE_SCHEMA, record_to_row
from stackpipe.rules import Rules, load_rules
from stackpipe.sources import InputUnit, plan_inputs

DEFAULT_SHARD_MB = 256


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe curate", description=__doc__.split("\n")[0])
    parser.add_argument("--input", nargs="+", required=True, metavar="URI",
                        help="repository dirs, archives, Parquet/JSONL tables (paths, globs, s3://, gs://, "
                             "https://) or python-env:// for this machine's Python installation")
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (local or gs://, s3://)")
    parser.add_argument("--rules", default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    parser.add_argument("--workers", type=int, default=1, help="accepted for scripts; local runs use one worker "
                        "(Beam's multi-process runner drops records: README, Runners)")
    parser.add_argument("--shard-mb", type=float, default=DEFAULT_SHARD_MB,
                        help=f"approximate content megabytes per output shard (default {DEFAULT_SHARD_MB})")
    parser.add_argument("--no-progress", action="store_true", help="do not print progress lines")
    return parser


def build(pipeline: beam.Pipeline, units: list[InputUnit], rules: Rules, output: str, *,
          shard_bytes: int, materialize: bool = True) -> dict:
    """Add the curate flow to `pipeline` (or a PBegin inside a composite).

    Returns {"documents": kept FileRecords, "stats": the stats.json document}. With
    `materialize` off, documents/ is not written (rejected/ and stats.json always are).
    """
    units_pc = pipeline | "ListInputs" >> beam.Create(units) | "Spread" >> beam.Reshuffle()
    read = units_pc | ApplyStage("read", ReadInputs(rules), flat=True)
    decoded = read["kept"] | ApplyStage("decode", DecodeFiles(rules))
    checked = decoded["kept"] | ApplyStage("quality", CheckQuality(rules))
    licensed = checked["kept"] | ApplyStage("license", AssignLicense(rules),
                                            side_inputs=(beam.pvalue.AsDict(licence_maps(read["kept"])),))
    redacted = licensed["kept"] | ApplyStage("pii", RedactPii(rules))
    clean = redacted["kept"] | ApplyStage("decontam", benchmark_decontaminator(rules))
    unique = clean["kept"] | DropExactDuplicates()
    clean["rejected"] | "DecontamReport" >> WriteDecontamReport(FileSystems.join(output, "decontam_report.json"))

    outputs = {}
    if materialize:
        outputs["documents"] = unique["kept"] | "WriteDocuments" >> WriteRecords(
            FileSystems.join(output, "documents"), FILE_SCHEMA, record_to_row, lambda r: r.id, shard_bytes)
    outputs["rejected"] = (
        (read["rejected"], decoded["rejected"], checked["rejected"], licensed["rejected"], redacted["rejected"],
         clean["rejected"], unique["rejected"])
        | "AllRejected" >> beam.Flatten()
        | "WriteRejected" >> WriteRejected(FileSystems.join(output, "rejected"), rules.pii, shard_bytes)
    )
    languages = unique["kept"] | "ByLanguage" >> beam.Map(lambda r: (r.language, (1, r.size_bytes)))
    stats = (
        (read["stats"], decoded["stats"], checked["stats"], licensed["stats"], redacted["stats"], clean["stats"],
         unique["stats"])
        | "AllStats" >> beam.Flatten()
        | WriteStats(FileSystems.join(output, "stats.json"), list(STAGES), languages, outputs, chained=True)
    )
    return {"documents": unique["kept"], "stats": stats}


def licence_maps(raw_files):
    """Each repository's licence map, by (repo, stated licence), from its licence files and
    keys alone: only licence texts and small keys are shuffled, never file contents, so no
    worker ever holds a whole repository."""
    return (
        {"license_files": raw_files | "LicenseFiles" >> beam.FlatMap(license_file_text),
         "stated": raw_files | "LicenseKeys" >> beam.Map(license_key) | "DistinctKeys" >> beam.Distinct()}
        | "JoinLicenseFiles" >> beam.CoGroupByKey()
        | "LicenseMaps" >> beam.FlatMap(license_maps)
    )


OUTPUTS = ("documents/part-*", "rejected/part-*", "stats.json", "decontam_report.json")


def execute(command: str, args, beam_args: list[str], add_flow) -> tuple[dict, float]:
    """`run_job` with curate's outputs and flags; shared by curate's sources (files here,
    WARC in pipelines/commoncrawl.py)."""
    return run_job(command, args.output, OUTPUTS, beam_args, args.workers, add_flow, progress=not args.no_progress)


def run(argv: list[str] | None = None) -> dict:
    """Entry point; returns the stats.json document."""
    args, beam_args = build_parser().parse_known_args(argv)
    rules = load_rules(args.rules)
    units = plan_inputs(args.input, rules.sources)
    stats, elapsed = execute("curate", args, beam_args, lambda pipeline: build(
        pipeline, units, rules, args.output, shard_bytes=int(args.shard_mb * 1e6)))
    if stats.get("translated_only"):
        return stats
    read = stats["stages"]["read"]
    print(
        f"stackpipe curate: {stats['input_files']:,} files ({read['input_bytes'] / 1e6:,.1f} MB) in "
        f"{elapsed:,.1f} s ({read['input_bytes'] / 1e6 / elapsed:,.1f} MB/s); kept {stats['documents']:,}, "
        f"rejected {stats['rejected']:,}; conservation {'ok' if stats['conservation'] else 'BROKEN'}; "
        f"output {args.output}",
        file=sys.stderr,
    )
    return stats


if __name__ == "__main__":
    run()
