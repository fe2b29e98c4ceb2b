"""`stackpipe shards`: documents (or packed repository samples) -> tokenized, FIM-ready Parquet shards.

Reads DIR/documents/*.parquet of `stackpipe curate`, `dedup` or `pack` (or Parquet files
directly in DIR), tokenizes with the family's tokenizer, applies FIM as `rules/fim.yaml`
says, appends end-of-text and writes OUTPUT/part-*.parquet, OUTPUT/manifest.json and a
copy of the tokenizer as OUTPUT/tokenizer.json. Deterministic for a given input, tokenizer
and seed, on any runner and with any number of workers.
"""

from __future__ import annotations

import argparse
import sys

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.parquetio import ReadFromParquetBatched

from stackpipe.beam.inputs import completed_documents
from stackpipe.beam.shards import RecordsToTables, TokenizeRecords, WriteShards
from stackpipe.beam.submission import check_submission
from stackpipe.beam.write import refuse_foreign_manifest, run_job
from stackpipe.outputs import SHARD_MANIFEST_PREFIX
from stackpipe.rules import load_rules
from stackpipe.tokens.manifest import MANIFEST_NAME, fim_settings
from stackpipe.tokens.samples import SampleSettings
from stackpipe.tokens.tokenizer import FamilyTokenizer, bind_family

DEFAULT_SHARD_MB = 256
REQUIRED_COLUMNS = ("id", "content")
OPTIONAL_COLUMNS = ("repo", "path", "language", "source", "stars", "files")


class ShardInputError(ValueError):
    """The input directory holds nothing this stage can read."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe shards", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, metavar="DIR", help="output of curate/dedup/pack (or Parquet files)")
    parser.add_argument("--output", required=True, metavar="DIR", help="shard directory to write")
    parser.add_argument("--tokenizer", required=True, metavar="FILE", help="tokenizer.json (trained or your own)")
    parser.add_argument("--family", required=True, help="starcoder, starcoder2, codellama or deepseek (rules/fim.yaml)")
    parser.add_argument("--seq-len", type=int, default=None, metavar="N",
                        help="longest row in tokens; longer documents are split (default: the family's context)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the FIM and metadata draws (default 0)")
    parser.add_argument("--no-fim", action="store_true", help="plain next-token rows, no FIM")
    parser.add_argument("--rules", default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    parser.add_argument("--workers", type=int, default=1, help="accepted for scripts; local runs use one worker "
                        "(Beam's multi-process runner drops records: README, Runners)")
    parser.add_argument("--shard-mb", type=float, default=DEFAULT_SHARD_MB,
                        help=f"approximate token megabytes (4 bytes a token) per shard (default {DEFAULT_SHARD_MB})")
    return parser


def input_pattern(directory: str) -> str:
    """DIR/documents/*.parquet of a finished job, else DIR/*.parquet."""
    pattern = completed_documents(directory)
    if pattern:
        return pattern
    raise ShardInputError(f"input {directory!r} holds no Parquet documents (looked for documents/*.parquet and *.parquet)")


def input_columns(pattern: str) -> list[str]:
    """Columns to read, checked against the first file's schema."""
    first = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)[0]
    with FileSystems.open(first) as handle:
        names = set(pq.read_schema(handle).names)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ShardInputError(f"{first} lacks column(s) {', '.join(missing)}; columns present: {', '.join(sorted(names))}")
    return list(REQUIRED_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in names]


def load_bound_tokenizer(path: str, family_name: str, rules) -> FamilyTokenizer:
    family = rules.fim.family(family_name)
    try:
        with FileSystems.open(path) as handle:
            text = handle.read().decode("utf-8")
    except (OSError, IOError) as error:
        raise FileNotFoundError(f"tokenizer {path!r} cannot be read: {error}") from None
    return bind_family(text, family_name, family, source=path)


class TokenizeShards(beam.PTransform):
    """Documents -> tokenized, FIM-ready Parquet shards under `output`, then its
    manifest.json (written last) and a copy of the tokenizer.

    Applied to pyarrow Tables of documents (ReadFromParquetBatched), or with
    `from_records` to records (files or packed samples) of an earlier stage of the same
    job. Returns the manifest (one element).

    Args:
      bound: the family-bound tokenizer.
      settings: FIM, seed and row length settings.
      output: the shard directory.
      family_name: the model family, for the manifest.
      input_uri: what the documents were read from, for the manifest.
      shard_bytes: approximate token bytes (4 a token) per shard.
      from_records: the input is records, not Tables.
    """

    def __init__(self, bound: FamilyTokenizer, settings: SampleSettings, output: str, *, family_name: str,
                 input_uri: str, shard_bytes: int, from_records: bool = False):
        super().__init__()
        if shard_bytes <= 0:
            raise ValueError(f"shard_bytes must be positive, got {shard_bytes} (for {output})")
        self._bound, self._settings, self._output = bound, settings, output
        self._fields = {"family_name": family_name, "fim": fim_settings(settings.family, settings.fim),
                        "seed": settings.seed, "max_tokens": settings.max_tokens, "input_uri": input_uri}
        self._shard_bytes = shard_bytes
        self._from_records = from_records

    def expand(self, documents):
        tables = documents | "ToTables" >> RecordsToTables() if self._from_records else documents
        tokenized = tables | "TokenizeRecords" >> TokenizeRecords(self._bound, self._settings)
        return tokenized | "WriteShards" >> WriteShards(self._output, self._bound, self._fields, self._shard_bytes)


def run(argv: list[str] | None = None) -> dict:
    """Entry point; returns the manifest."""
    args, beam_args = build_parser().parse_known_args(argv)
    rules = load_rules(args.rules)
    check_submission(beam_args, inputs=[args.input], outputs=[args.output])
    family = rules.fim.family(args.family)
    bound = load_bound_tokenizer(args.tokenizer, args.family, rules)
    settings = SampleSettings(family=family, special_ids=bound.special_ids, seed=args.seed, fim=not args.no_fim,
                              max_tokens=args.seq_len or family.context_length)
    pattern = input_pattern(args.input)
    columns = input_columns(pattern)
    refuse_foreign_manifest(FileSystems.join(args.output, MANIFEST_NAME), SHARD_MANIFEST_PREFIX)
    manifest, elapsed = run_job("shards", args.output, ("part-*", MANIFEST_NAME, "tokenizer.json"), beam_args,
                                args.workers, lambda pipeline: pipeline
                                | "ReadDocuments" >> ReadFromParquetBatched(pattern, columns=columns)
                                | TokenizeShards(bound, settings, args.output, family_name=args.family,
                                                 input_uri=args.input, shard_bytes=int(args.shard_mb * 1e6)),
                                document=MANIFEST_NAME)
    if manifest.get("translated_only"):
        return manifest
    totals = manifest["totals"]
    print(
        f"stackpipe shards: {totals['input_documents']:,} documents -> {totals['rows']:,} rows, "
        f"{totals['tokens']:,} tokens in {len(manifest['shards'])} shard(s), {elapsed:,.1f} s "
        f"({totals['tokens'] / max(elapsed, 1e-9):,.0f} tokens/s); FIM psm {totals['fim']['psm']:,} "
        f"spm {totals['fim']['spm']:,} none {totals['fim']['none']:,}; output {args.output}",
        file=sys.stderr,
    )
    return manifest


if __name__ == "__main__":
    run()
