"""Shard-stage throughput per core against the raw Hugging Face encoder, on the same text.

Corpus: files of this machine's Python installation that curate keeps (python-env://).
A StarCoder-family byte-level BPE (vocabulary 49152 unless --vocab-size) is trained on the
first part of it. The tokenizer's thread pool is pinned to one thread (RAYON_NUM_THREADS=1),
so every figure is per core. Figures, one per line:

- raw `Tokenizer.encode_batch` over the documents, MB/s;
- raw `Tokenizer.encode_batch_fast` (same ids, no offsets), MB/s, and whether its ids are
  identical to encode_batch's on the whole corpus;
- the shard stage in-process (FIM draws, metadata, encoding, splitting, Arrow rows), MB/s
  and tokens/s;
- the stage's ratio to raw encode_batch (target >= 0.9), and to encode_batch_fast;
- `stackpipe shards` on Beam's in-process runner end to end (read Parquet, tokenize,
  shuffle into shards, write, manifest), MB/s wall clock.

Usage: python benchmarks/shards.py [--limit-mb 40] [--vocab-size 49152] [--skip-beam]
"""

from __future__ import annotations

import os

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # before tokenizers starts its pool

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from corpus import curated_documents  # noqa: E402  (benchmarks/corpus.py)
from stackpipe.records import FILE_SCHEMA, SHARD_SCHEMA, record_to_row  # noqa: E402
from stackpipe.rules import load_rules  # noqa: E402
from stackpipe.tokens.samples import SampleSettings, ShardSource, tokenize_sources  # noqa: E402
from stackpipe.tokens.tokenizer import bind_family, train_byte_level_bpe  # noqa: E402

BATCH = 256


REPEATS = 3  # best of: this machine's timings are noisy (shared cores)


def timed(fn, repeats: int = 1) -> tuple[float, object]:
    """Least wall time of `repeats` runs, and the result of the last."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def raw_encode(tokenizer, texts: list[str], method: str) -> list[list[int]]:
    encode = getattr(tokenizer, method)
    ids = []
    for start in range(0, len(texts), BATCH):
        ids += [e.ids for e in encode(texts[start:start + BATCH], add_special_tokens=False)]
    return ids


def shard_stage(sources: list[ShardSource], settings: SampleSettings, encoder) -> int:
    """The stage's per-batch work as its DoFn does it, plus building the Arrow rows."""
    tokens = 0
    for start in range(0, len(sources), BATCH):
        rows = tokenize_sources(sources[start:start + BATCH], settings, encoder)
        table = pa.Table.from_pylist([r.to_row() for r in rows], schema=SHARD_SCHEMA)
        tokens += sum(table.column("num_tokens").to_pylist())
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit-mb", type=float, default=40.0, help="corpus size cap in MB")
    parser.add_argument("--train-mb", type=float, default=10.0, help="MB of the corpus to train the tokenizer on")
    parser.add_argument("--vocab-size", type=int, default=49152)
    parser.add_argument("--skip-beam", action="store_true", help="skip the end-to-end Beam figure")
    args = parser.parse_args()
    rules = load_rules()
    family = rules.fim.family("starcoder")
    documents = curated_documents(int(args.limit_mb * 1e6), rules)
    texts = [d.content for d in documents]
    size_mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"corpus: {len(texts):,} curated documents, {size_mb:,.1f} MB from python-env:// ({sys.prefix})")

    train_texts, used = [], 0
    for text in texts:
        if used >= args.train_mb * 1e6:
            break
        train_texts.append(text)
        used += len(text.encode("utf-8"))
    seconds, trained = timed(lambda: train_byte_level_bpe(train_texts, family, args.vocab_size))
    print(f"tokenizer: byte-level BPE, vocab {args.vocab_size:,}, trained on {used / 1e6:,.1f} MB in {seconds:,.1f} s")
    bound = bind_family(trained.to_str(), "starcoder", family, source="benchmark")
    tokenizer = bound.tokenizer()
    encoder = bound.encoder()

    raw_seconds, raw_ids = timed(lambda: raw_encode(tokenizer, texts, "encode_batch"), REPEATS)
    raw = size_mb / raw_seconds
    print(f"raw encode_batch, 1 thread: {raw:,.2f} MB/s")
    fast_seconds, fast_ids = timed(lambda: raw_encode(tokenizer, texts, "encode_batch_fast"), REPEATS)
    print(f"raw encode_batch_fast, 1 thread: {size_mb / fast_seconds:,.2f} MB/s "
          f"(speed-up {raw_seconds / fast_seconds:,.2f}x; ids identical on the corpus: {fast_ids == raw_ids})")

    settings = SampleSettings(family=family, special_ids=bound.special_ids, seed=0, max_tokens=family.context_length)
    sources = [ShardSource(id=d.id, repo=d.repo, path=d.path, language=d.language, source=d.source,
                           content=d.content, stars=d.stars) for d in documents]
    stage_seconds, tokens = timed(lambda: shard_stage(sources, settings, encoder), REPEATS)
    stage = size_mb / stage_seconds
    print(f"shard stage in-process, 1 core: {stage:,.2f} MB/s, {tokens / stage_seconds:,.0f} tokens/s")
    print(f"ratio shard stage / raw encode_batch: {stage / raw:,.2f}")
    print(f"ratio shard stage / raw encode_batch_fast: {stage / (size_mb / fast_seconds):,.2f}")

    if not args.skip_beam:
        from pipelines import shards

        with tempfile.TemporaryDirectory(prefix="stackpipe-bench-") as tmp:
            work = Path(tmp)
            (work / "documents").mkdir()
            pq.write_table(pa.Table.from_pylist([record_to_row(d) for d in documents], schema=FILE_SCHEMA),
                           work / "documents" / "part-00000-of-00001.parquet", row_group_size=4096)
            (work / "tokenizer.json").write_text(bound.tokenizer_json, encoding="utf-8")
            beam_seconds, _ = timed(lambda: shards.run(
                ["--input", str(work), "--output", str(work / "shards"), "--tokenizer", str(work / "tokenizer.json"),
                 "--family", "starcoder"]))
            print(f"stackpipe shards on Beam FnApiRunner end to end, 1 worker (wall clock): "
                  f"{size_mb / beam_seconds:,.2f} MB/s")


if __name__ == "__main__":
    main()
