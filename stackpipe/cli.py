"""`stackpipe`: the one command-line entry point; each subcommand wraps a pipeline module."""

from __future__ import annotations

import logging
import sys

from stackpipe.rules import RulesError
from stackpipe.runconfig import RunConfigError

USAGE = """usage: stackpipe COMMAND [options]   (stackpipe COMMAND --help for its options)

commands:
  run CONFIG.yaml   the whole flow (sources -> curate -> dedup -> pack -> shards) as one resumable job
  curate            sources -> decode + language -> quality -> license -> PII -> decontam -> exact dedup
                    (--source commoncrawl: WARC files -> code-related web pages, same outputs)
  web train-classifier   fastText classifier of code-related web pages (seed pages vs crawl)
  dedup             MinHash-LSH near-deduplication at file or repository level
  pack              dependency-ordered repository samples (DeepSeek-Coder Algorithm 1)
  tokenizer train   train a family's byte-level BPE tokenizer on curated documents
  shards            documents -> tokenized, FIM-ready Parquet shards + manifest.json
  export-megatron   shards -> Megatron .bin/.idx
  train             pretrain a Code Llama / StarCoder / StarCoder2 / DeepSeek model on shards
  export-hf         trained checkpoint -> Hugging Face model directory
  report DIR        a run's data card: DIR/report.html with plots
"""


def _pop_source(args: list[str]) -> tuple[str, list[str]]:
    """`--source NAME` / `--source=NAME` taken out of curate's arguments (default: files)."""
    for i, arg in enumerate(args):
        if arg == "--source" and i + 1 < len(args):
            return args[i + 1], args[:i] + args[i + 2:]
        if arg.startswith("--source="):
            return arg.split("=", 1)[1], args[:i] + args[i + 1:]
    return "files", args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Beam logs a warning per run about optional GCP client libraries; not the user's concern.
    logging.getLogger("root").setLevel(logging.ERROR)
    try:
        if command == "run":
            from pipelines import run

            run.run(rest)
            return 0
        if command == "curate":
            source, rest = _pop_source(rest)
            if source == "commoncrawl":
                from pipelines import commoncrawl

                stats = commoncrawl.run(rest)
                return 0 if stats.get("conservation", True) else 1
            if source != "files":
                print(f"stackpipe curate: error: unknown --source {source!r} (files or commoncrawl)", file=sys.stderr)
                return 2
            from pipelines import curate

            stats = curate.run(rest)
            return 0 if stats.get("conservation", True) else 1
        if command == "dedup":
            from pipelines import dedup

            stats = dedup.run(rest)
            return 0 if stats.get("conservation", True) else 1
        if command == "pack":
            from pipelines import pack

            stats = pack.run(rest)
            return 0 if stats.get("conservation", True) else 1
        if command == "tokenizer":
            if rest[:1] != ["train"]:
                print("usage: stackpipe tokenizer train --input DIR --output FILE --family NAME", file=sys.stderr)
                return 2
            from pipelines import tokenizer

            tokenizer.run(rest[1:])
            return 0
        if command == "shards":
            from pipelines import shards

            shards.run(rest)
            return 0
        if command == "export-megatron":
            from stackpipe.tokens import megatron

            megatron.run(rest)
            return 0
        if command == "train":
            from stackpipe.train.cli import train_main

            return train_main(rest)
        if command == "web":
            from stackpipe.web.cli import main as web_main

            return web_main(rest)
        if command == "report":
            from stackpipe.report.cli import main as report_main

            return report_main(rest)
        if command == "export-hf":
            from stackpipe.train.cli import export_main

            return export_main(rest)
    except (RulesError, RunConfigError, ValueError, FileNotFoundError) as error:
        print(f"stackpipe {command}: error: {error}", file=sys.stderr)
        return 2
    print(f"stackpipe: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
