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

from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.dedup import DropExactDuplicates
from stackpipe.beam.stage_outputs import StageOutputs, write_stage_outputs
from stackpipe.beam.stages import ApplyStage
from stackpipe.beam.submission import check_submission
from stackpipe.beam.write import run_job
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


class CurateFiles(beam.PTransform):
    """Input units -> curated file records: read, decode + language, quality, licence, PII,
    decontamination and exact dedup (DESIGN §1), with the stage's outputs written under
    `output` (stackpipe.beam.stage_outputs). Applied to a pipeline.

    Returns {"documents": kept FileRecords, "stats": the stats.json document}.

    Args:
      units: the planned input units (`stackpipe.sources.plan_inputs`).
      rules: the run's rules.
      output: the stage's output directory.
      shard_bytes: approximate content bytes per output shard.
      materialize: write documents/ (rejected/ and stats.json are always written).
    """

    def __init__(self, units: list[InputUnit], rules: Rules, output: str, *, shard_bytes: int,
                 materialize: bool = True):
        super().__init__()
        self._units = list(units)
        self._rules = rules
        self._spec = StageOutputs(output, tuple(STAGES), rules.pii, shard_bytes, materialize=materialize,
                                  chained=True)

    def expand(self, pbegin):
        rules = self._rules
        units = pbegin | "ListInputs" >> beam.Create(self._units)
        spread = units | "MeasureSpread" >> MeasureShuffle("read", "spread")
        units = units | "Spread" >> beam.Reshuffle()
        read = units | ApplyStage("read", ReadInputs(rules), flat=True, units_total=len(self._units))
        decoded = read["kept"] | ApplyStage("decode", DecodeFiles(rules))
        checked = decoded["kept"] | ApplyStage("quality", CheckQuality(rules))
        licences = read["kept"] | "JoinLicenceFiles" >> JoinLicenceFiles()
        licensed = checked["kept"] | ApplyStage("license", AssignLicense(rules),
                                                side_inputs=(beam.pvalue.AsDict(licences["maps"]),))
        redacted = licensed["kept"] | ApplyStage("pii", RedactPii(rules))
        clean = redacted["kept"] | ApplyStage("decontam", benchmark_decontaminator(rules))
        unique = clean["kept"] | DropExactDuplicates()
        steps = (read, decoded, checked, licensed, redacted, clean, unique)
        stats = write_stage_outputs(unique["kept"], [s["rejected"] for s in steps],
                                    [s["stats"] for s in steps] + [spread, licences["shuffled"]], self._spec,
                                    decontaminated=clean["rejected"])
        return {"documents": unique["kept"], "stats": stats}


def build(pipeline: beam.Pipeline, units: list[InputUnit], rules: Rules, output: str, *,
          shard_bytes: int, materialize: bool = True) -> dict:
    """CurateFiles' steps added at the top of `pipeline` rather than inside one composite:
    Dataflow then lists each stage and writer as a step of the job (tests/test_deploy.py)."""
    return CurateFiles(units, rules, output, shard_bytes=shard_bytes, materialize=materialize).expand(pipeline)


class JoinLicenceFiles(beam.PTransform):
    """Raw files -> {"maps": each repository's licence map by (repo, stated licence),
    "shuffled": the join's shuffle measurements}.

    Built from licence files and keys alone: only licence texts and small keys are
    shuffled, never file contents, so no worker ever holds a whole repository.
    """

    def expand(self, raw_files):
        texts = raw_files | "LicenseFiles" >> beam.FlatMap(license_file_text)
        keys = raw_files | "LicenseKeys" >> beam.Map(license_key)
        distinct = keys | "DistinctKeys" >> beam.Distinct()
        maps = ({"license_files": texts, "stated": distinct}
                | "JoinLicenseFiles" >> beam.CoGroupByKey()
                | "LicenseMaps" >> beam.FlatMap(license_maps))
        shuffled = ((texts | "MeasureTexts" >> MeasureShuffle("license", "join"),
                     distinct | "MeasureKeys" >> MeasureShuffle("license", "join"),
                     keys | "MeasureDistinct" >> MeasureShuffle("license", "distinct_keys"))
                    | "AllShuffles" >> beam.Flatten())
        return {"maps": maps, "shuffled": shuffled}


def licence_maps(raw_files):
    """The licence maps of JoinLicenceFiles, alone."""
    return (raw_files | "JoinLicenceFiles" >> JoinLicenceFiles())["maps"]


OUTPUTS = ("documents/part-*", "rejected/part-*", "stats.json", "decontam_report.json")


def execute(command: str, args, beam_args: list[str], add_flow) -> tuple[dict, float]:
    """`run_job` with curate's outputs and flags; shared by curate's sources (files here,
    WARC in pipelines/commoncrawl.py)."""
    return run_job(command, args.output, OUTPUTS, beam_args, args.workers, add_flow, progress=not args.no_progress)


def run(argv: list[str] | None = None) -> dict:
    """Entry point; returns the stats.json document."""
    args, beam_args = build_parser().parse_known_args(argv)
    rules = load_rules(args.rules)
    check_submission(beam_args, inputs=args.input, outputs=[args.output], rules=rules)
    units = plan_inputs(args.input, rules.sources)
    stats, elapsed = execute("curate", args, beam_args, lambda pipeline: pipeline | CurateFiles(
        units, rules, args.output, shard_bytes=int(args.shard_mb * 1e6)))
    if stats.get("translated_only"):
        return stats
    read = stats["stages"]["read"]
    print(
        f"stackpipe curate: {stats['input_files']:,} files ({read['input_bytes'] / 1e6:,.1f} MB) in "
        f"{elapsed:,.1f} s ({read['input_bytes'] / 1e6 / elapsed:,.1f} MB/s); kept {stats['documents']:,}, "
        f"rejected {stats['rejected']:,}; shuffled {stats.get('shuffled_bytes_total', 0) / 1e6:,.1f} MB; "
        f"conservation {'ok' if stats['conservation'] else 'BROKEN'}; "
        f"output {args.output}",
        file=sys.stderr,
    )
    return stats


if __name__ == "__main__":
    run()
