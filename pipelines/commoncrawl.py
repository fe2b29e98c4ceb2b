"""`stackpipe curate --source commoncrawl`: WARC files -> code-related web pages, curated.

read (WARC records) -> domain (allow/deny) -> extract (main text, code blocks kept) ->
url_dedup -> classify (fastText, rules/web.yaml's label and threshold) -> quality ->
pii -> decontam -> exact_dedup. Writes what `stackpipe curate` writes, in the same
layout, so `stackpipe dedup`, `pack` and `shards` read it unchanged:
OUTPUT/documents/*.parquet, OUTPUT/rejected/*.parquet (with stage and reason),
OUTPUT/stats.json and OUTPUT/decontam_report.json.

`--model` names the fastText model (local path or URI; `stackpipe web
train-classifier` makes one); `--no-classifier` runs without the classify stage, for a
crawl that is already code-related. One of them is required, so a forgotten model never
lets the whole crawl through. Each WARC file is one unit of work; a file is streamed,
never loaded whole.
"""

from __future__ import annotations

import argparse
import sys

import apache_beam as beam

from pipelines.curate import execute
from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.dedup import DropExactDuplicates
from stackpipe.beam.stage_outputs import StageOutputs, write_stage_outputs
from stackpipe.beam.stages import ApplyStage
from stackpipe.beam.submission import check_submission
from stackpipe.beam.web import DropDuplicateUrls
from stackpipe.curation import CheckQuality, RedactPii, benchmark_decontaminator
from stackpipe.rules import Rules, load_rules
from stackpipe.web.classifier import ClassifyPages, load_model
from stackpipe.web.stages import STAGES, CheckDomains, ExtractPages, ReadWarcs, plan_warcs, web_quality_rules

DEFAULT_SHARD_MB = 256


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe curate --source commoncrawl", description=__doc__.split("\n")[0])
    parser.add_argument("--input", nargs="+", required=True, metavar="URI",
                        help="WARC files (.warc, .warc.gz), directories of them or globs (paths, s3://, gs://, "
                             "https://)")
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (local or gs://, s3://)")
    parser.add_argument("--rules", default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    classifier = parser.add_mutually_exclusive_group(required=True)
    classifier.add_argument("--model", metavar="PATH", help="fastText model of code-related pages (path or URI)")
    classifier.add_argument("--no-classifier", action="store_true", help="keep pages without classifying them")
    parser.add_argument("--workers", type=int, default=1, help="accepted for scripts; local runs use one worker "
                        "(Beam's multi-process runner drops records: README, Runners)")
    parser.add_argument("--shard-mb", type=float, default=DEFAULT_SHARD_MB,
                        help=f"approximate content megabytes per output shard (default {DEFAULT_SHARD_MB})")
    parser.add_argument("--no-progress", action="store_true", help="do not print progress lines")
    return parser


def stage_order(model_path: str | None) -> list[str]:
    return [s for s in STAGES if model_path is not None or s != "classify"]


class CurateWarcs(beam.PTransform):
    """WARC file URIs -> curated code-related web pages: read, domain, extract, url_dedup,
    classify (with a model), quality, PII, decontamination and exact dedup, with the
    stage's outputs written under `output` as `stackpipe curate` writes them. Applied to a
    pipeline.

    Returns {"documents": kept FileRecords, "stats": the stats.json document}.

    Args:
      uris: the WARC files (`stackpipe.web.stages.plan_warcs`).
      rules: the run's rules.
      output: the stage's output directory.
      shard_bytes: approximate content bytes per output shard.
      model_path: the fastText model of code-related pages; None: no classify stage.
      materialize: write documents/ (rejected/ and stats.json are always written).
    """

    def __init__(self, uris: list[str], rules: Rules, output: str, *, shard_bytes: int, model_path: str | None,
                 materialize: bool = True):
        super().__init__()
        if model_path is not None:
            load_model(model_path, rules.web.classifier)  # a wrong path or label fails here, not on a worker
        self._uris, self._rules, self._model_path = list(uris), rules, model_path
        self._spec = StageOutputs(output, tuple(stage_order(model_path)), rules.pii, shard_bytes,
                                  materialize=materialize, chained=True)

    def expand(self, pbegin):
        rules, model_path = self._rules, self._model_path
        files = pbegin | "ListWarcs" >> beam.Create(self._uris)
        spread = files | "MeasureSpread" >> MeasureShuffle("read", "spread")
        files = files | "Spread" >> beam.Reshuffle()
        read = files | ApplyStage("read", ReadWarcs(rules), flat=True, units_total=len(self._uris))
        allowed = read["kept"] | ApplyStage("domain", CheckDomains(rules))
        extracted = allowed["kept"] | ApplyStage("extract", ExtractPages(rules))
        unique_urls = extracted["kept"] | DropDuplicateUrls()
        steps = [read, allowed, extracted, unique_urls]
        if model_path is not None:
            steps.append(unique_urls["kept"] | ApplyStage("classify", ClassifyPages(rules.web.classifier, model_path)))
        checked = steps[-1]["kept"] | ApplyStage("quality", CheckQuality(web_quality_rules(rules)))
        redacted = checked["kept"] | ApplyStage("pii", RedactPii(rules))
        clean = redacted["kept"] | ApplyStage("decontam", benchmark_decontaminator(rules))
        unique = clean["kept"] | DropExactDuplicates()
        steps += [checked, redacted, clean, unique]
        stats = write_stage_outputs(unique["kept"], [s["rejected"] for s in steps],
                                    [s["stats"] for s in steps] + [spread], self._spec,
                                    decontaminated=clean["rejected"])
        return {"documents": unique["kept"], "stats": stats}


def run(argv: list[str] | None = None) -> dict:
    """Entry point; returns the stats.json document."""
    args, beam_args = build_parser().parse_known_args(argv)
    rules = load_rules(args.rules)
    check_submission(beam_args, inputs=args.input, outputs=[args.output], rules=rules)
    uris = plan_warcs(args.input)
    model_path = None if args.no_classifier else args.model
    stats, elapsed = execute("curate --source commoncrawl", args, beam_args, lambda pipeline: pipeline | CurateWarcs(
        uris, rules, args.output, shard_bytes=int(args.shard_mb * 1e6), model_path=model_path))
    if stats.get("translated_only"):
        return stats
    read = stats["stages"]["read"]
    print(
        f"stackpipe curate --source commoncrawl: {len(uris):,} WARC files, {stats['input_files']:,} responses "
        f"({read['input_bytes'] / 1e6:,.1f} MB) in {elapsed:,.1f} s; kept {stats['documents']:,} pages, "
        f"rejected {stats['rejected']:,}; conservation {'ok' if stats['conservation'] else 'BROKEN'}; "
        f"output {args.output}",
        file=sys.stderr,
    )
    return stats


if __name__ == "__main__":
    run()
