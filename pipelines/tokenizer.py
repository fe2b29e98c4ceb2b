"""`stackpipe tokenizer train`: a byte-level BPE for a family, trained on curated documents.

Reads DIR/documents/*.parquet (or Parquet files directly in DIR) in file order, up to
`--max-mb` of text, and writes a Hugging Face `tokenizer.json` with the family's special
tokens at the lowest ids. It loads in `tokenizers.Tokenizer.from_file` and in
`transformers.PreTrainedTokenizerFast(tokenizer_file=...)`.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Iterator

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipelines.shards import input_pattern
from stackpipe.beam.write import write_bytes_atomically
from stackpipe.rules import load_rules
from stackpipe.tokens.tokenizer import bind_family, train_byte_level_bpe

DEFAULT_MAX_MB = 512


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe tokenizer train", description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, metavar="DIR", help="output of stackpipe curate (or Parquet files)")
    parser.add_argument("--output", required=True, metavar="FILE", help="tokenizer.json to write")
    parser.add_argument("--family", required=True, help="starcoder, starcoder2, codellama or deepseek (rules/fim.yaml)")
    parser.add_argument("--vocab-size", type=int, default=None, help="default: the family's (StarCoder 49152)")
    parser.add_argument("--min-frequency", type=int, default=2, help="least count of a pair to merge (default 2)")
    parser.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB,
                        help=f"train on at most this many megabytes of text (default {DEFAULT_MAX_MB})")
    parser.add_argument("--rules", default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    return parser


def training_texts(pattern: str, max_bytes: int) -> Iterator[str]:
    """Document contents in sorted file order until `max_bytes` of UTF-8 text."""
    used = 0
    for path in sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list):
        with FileSystems.open(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(columns=["content"], batch_size=1024):
                for text in batch.column(0).to_pylist():
                    if not text:
                        continue
                    yield text
                    used += len(text.encode("utf-8"))
                    if used >= max_bytes:
                        return


def run(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    rules = load_rules(args.rules)
    family = rules.fim.family(args.family)
    vocab_size = args.vocab_size or family.vocab_size
    started = time.monotonic()
    texts = list(training_texts(input_pattern(args.input), int(args.max_mb * 1e6)))
    tokenizer = train_byte_level_bpe(texts, family, vocab_size, min_frequency=args.min_frequency, length=len(texts))
    serialized = tokenizer.to_str(pretty=True)
    bound = bind_family(serialized, args.family, family, source=args.output)  # the result must serve its family
    write_bytes_atomically(args.output, serialized.encode("utf-8"))
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"stackpipe tokenizer train: {args.family} vocab {bound.vocab_size:,} from {len(texts):,} documents "
          f"({megabytes:,.1f} MB) in {time.monotonic() - started:,.1f} s -> {args.output}", file=sys.stderr)
    return bound.manifest_entry()


if __name__ == "__main__":
    run()
