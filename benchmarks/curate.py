"""Curate throughput per core on this machine's Python installation, against datatrove.

Corpus: the standard library and the installed distributions (python-env://), written
once to JSONL so both systems read the same bytes. Figures, one per line:

- stackpipe's file-level stages in-process on one core (read JSONL, decode + charset,
  language, every quality check, exact-dedup key), MB/s;
- datatrove (JsonlReader + a LambdaFilter applying the StarCoder max/mean line length and
  alphanumeric-fraction rules the way bigcode-dataset writes them), one task, MB/s;
- their ratio;
- `stackpipe curate` end to end on Beam's in-process runner, one worker (adds the
  shuffle for exact dedup and the Parquet writes), MB/s;
- the bytes each of its grouping steps shuffled (stats.json's `shuffled_bytes`: the
  licence join, exact dedup, the writers' grouping into shards, ...), one line each.

Usage: python benchmarks/curate.py [--limit-mb 200] [--skip-beam]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from stackpipe.dedup.exact import dedup_key
from stackpipe.ingest import decode_and_detect
from stackpipe.languages import LanguageDetector
from stackpipe.quality import check_quality
from stackpipe.records import Drop, FileRecord, RawFile
from stackpipe.rules import load_rules
from stackpipe.sources import InputUnit, read_unit

from corpus import collect_corpus  # benchmarks/corpus.py, beside this script

FILES_PER_JSONL = 2000

def write_jsonl(files: list[RawFile], directory: Path) -> int:
    """Write the corpus as JSONL shards with The Stack v2 column names; returns content bytes."""
    total = 0
    for start in range(0, len(files), FILES_PER_JSONL):
        with open(directory / f"corpus-{start // FILES_PER_JSONL:04d}.jsonl", "w", encoding="utf-8") as out:
            for raw in files[start:start + FILES_PER_JSONL]:
                text = raw.data.decode("utf-8", errors="replace")
                total += len(text.encode("utf-8"))
                out.write(json.dumps({"id": raw.id, "repo_name": raw.repo, "path": raw.path, "content": text}) + "\n")
    return total


def run_stackpipe_core(directory: Path, rules) -> float:
    detector = LanguageDetector(rules.languages)
    started = time.process_time()
    for path in sorted(directory.glob("*.jsonl")):
        for item in read_unit(InputUnit(kind="jsonl", uri=str(path), source="stack"), rules.sources):
            if not isinstance(item, RawFile):
                continue
            record = decode_and_detect(item, rules.sources, rules.languages, detector)
            if isinstance(record, FileRecord) and not isinstance(check_quality(record, rules.quality), Drop):
                dedup_key(record)
    return time.process_time() - started


def bigcode_filter(document) -> bool:
    """StarCoder's line-length and alphanumeric rules as bigcode-dataset writes them."""
    lines = document.text.splitlines() or [""]
    lengths = [len(line) for line in lines]
    if max(lengths) > 1000 or sum(lengths) / len(lengths) > 100:
        return False
    text = document.text
    return bool(text) and sum(c.isalnum() for c in text) / len(text) >= 0.25


def run_datatrove(directory: Path, work: Path) -> float:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import LambdaFilter
    from datatrove.pipeline.readers import JsonlReader

    executor = LocalPipelineExecutor(
        pipeline=[JsonlReader(str(directory), text_key="content", id_key="id", glob_pattern="*.jsonl"),
                  LambdaFilter(bigcode_filter)],
        tasks=1, workers=1, logging_dir=str(work / "datatrove-logs"), skip_completed=False,
    )
    started = time.process_time()
    executor.run()
    return time.process_time() - started


def run_beam(directory: Path, output: Path) -> tuple[float, dict]:
    """Seconds of `stackpipe curate` end to end, and the stats.json it wrote."""
    from pipelines import curate

    started = time.perf_counter()
    stats = curate.run(["--input", str(directory / "*.jsonl"), "--output", str(output), "--no-progress"])
    return time.perf_counter() - started, stats


def shuffle_lines(stats: dict, size_mb: float) -> list[str]:
    """One line per grouping step: the bytes it shuffled (stats.json's shuffled_bytes)."""
    lines = [f"bytes shuffled, {stage}/{step}: {size / 1e6:,.2f} MB ({size / 1e6 / size_mb:,.1%} of the input)"
             for stage, steps in stats.get("shuffled_bytes", {}).items() for step, size in steps.items()]
    total = stats.get("shuffled_bytes_total", 0)
    return lines + [f"bytes shuffled, total: {total / 1e6:,.2f} MB ({total / 1e6 / size_mb:,.2f}x the input)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit-mb", type=float, default=200.0, help="corpus size cap in MB")
    parser.add_argument("--skip-beam", action="store_true", help="skip the end-to-end Beam figure")
    args = parser.parse_args()
    rules = load_rules()
    files = collect_corpus(int(args.limit_mb * 1e6), rules)
    with tempfile.TemporaryDirectory(prefix="stackpipe-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        corpus.mkdir()
        size_mb = write_jsonl(files, corpus) / 1e6
        print(f"corpus: {len(files):,} files, {size_mb:,.1f} MB from python-env:// ({sys.prefix})")
        ours = size_mb / run_stackpipe_core(corpus, rules)
        print(f"stackpipe file-level stages, in-process, 1 core: {ours:,.1f} MB/s per core")
        peer = size_mb / run_datatrove(corpus, work)
        print(f"datatrove JsonlReader + LambdaFilter (line length, alphanumeric), 1 core: {peer:,.1f} MB/s per core")
        print(f"ratio stackpipe / datatrove: {ours / peer:,.2f}x")
        if not args.skip_beam:
            seconds, stats = run_beam(corpus, work / "curated")
            print(f"stackpipe curate on Beam FnApiRunner end to end, 1 worker (wall clock): "
                  f"{size_mb / seconds:,.1f} MB/s")
            for line in shuffle_lines(stats, size_mb):
                print(line)


if __name__ == "__main__":
    main()
