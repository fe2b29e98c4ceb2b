"""Independent evaluation of code kept from web pages (spec: benchmarks/webpages/SPEC.md).

Samples real documentation pages of this machine per generator (mdBook, rustdoc, Sphinx,
Javadoc, Node.js, ...), derives each page's code blocks, prose and boilerplate from the
HTML with this package's own parser, writes the pages into a WARC.gz and runs the
project as a black box: `stackpipe curate --source commoncrawl --no-classifier`. The
output's `documents/` rows are matched to pages by URL (`path`). Figures per generator
and split: pages kept, code blocks recovered whole, code lines verbatim, block order,
hidden lines shown, boilerplate share of output lines, prose recall; each twice: for
`extract` (the extract step alone, on every page: `stackpipe.web.extract.extract_page`,
since curate's rejected rows carry no text) and for `e2e` (curate's kept documents, after
the quality filter and every later stage), so the figures say which step loses code.
The heldout split is for reporting only: never tune on it.

Usage: python benchmarks/eval_web.py [--split dev|heldout|both] [--pages 40] [--seed 0]
           [--generators mdbook,sphinx] [--jobs one|per-generator] [--timeout 900] [--keep DIR]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow.parquet as pq  # noqa: E402

from stackpipe.records import FileRecord, RawFile  # noqa: E402
from stackpipe.rules import load_rules  # noqa: E402
from stackpipe.web.extract import extract_page  # noqa: E402

from benchmarks.webpages import collect  # noqa: E402
from benchmarks.webpages.generators import GENERATORS, UNAVAILABLE  # noqa: E402
from benchmarks.webpages.score import Counts, score_page  # noqa: E402
from benchmarks.webpages.truth import page_truth  # noqa: E402
from benchmarks.webpages.warc import charset_of, write_warc  # noqa: E402

TARGETS = {"blocks_whole": ">= 99%", "lines_verbatim": ">= 99%", "boilerplate": "<= 2%"}
HELDOUT_WARNING = ("WARNING: the heldout split is for reporting only; tuning rules or code on "
                   "its failures makes it a dev set (report the next seed's heldout instead)")


def stackpipe_command() -> list[str]:
    exe = Path(sys.executable).with_name("stackpipe")
    return [str(exe)] if exe.exists() else [shutil.which("stackpipe") or "stackpipe"]


def run_curate(warc: Path, out: Path, timeout: float) -> tuple[float, str | None]:
    """Run the CLI on `warc`; returns (wall seconds, None) or (seconds, why it failed)."""
    cmd = stackpipe_command() + ["curate", "--source", "commoncrawl", "--no-classifier",
                                 "--input", str(warc), "--output", str(out), "--no-progress"]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, f"timed out after {timeout:.0f} s"
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return wall, f"exit {proc.returncode}: " + " | ".join(tail)
    return wall, None


def read_output(out: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Kept content by URL, and the drop reason by URL, from a curate output."""
    kept, dropped = {}, {}
    for part in sorted(out.glob("documents/*.parquet")):
        for row in pq.read_table(part, columns=["path", "content", "meta"]).to_pylist():
            for url in _urls(row):
                kept[url] = row["content"]
    for part in sorted(out.glob("rejected/*.parquet")):
        table = pq.read_table(part)
        cols = [c for c in ("path", "meta", "stage", "reason") if c in table.column_names]
        for row in table.select(cols).to_pylist():
            for url in _urls(row):
                dropped[url] = f"{row.get('stage', '?')}.{row.get('reason', '?')}"
    return kept, dropped


def _urls(row: dict) -> set[str]:
    urls = {row.get("path") or ""}
    try:
        urls.add(json.loads(row.get("meta") or "{}").get("url", ""))
    except json.JSONDecodeError:
        pass
    return urls - {""}


def extract_pages(pages: list[collect.Page]) -> tuple[dict[str, str], dict[str, float]]:
    """The extract step alone on `pages`, as curate's extract stage runs it on a WARC
    response (same Content-Type): text by URL (pages with no text left out) and the CPU
    seconds each page took."""
    rules = load_rules().web
    texts, seconds = {}, {}
    for page in pages:
        body = page.path.read_bytes()
        raw = RawFile(source="commoncrawl", repo="", path=page.url, data=body,
                      meta={"content_type": f"text/html; charset={charset_of(body)}"})
        started = time.process_time()
        record = extract_page(raw, rules)
        seconds[page.url] = time.process_time() - started
        if isinstance(record, FileRecord):
            texts[page.url] = record.content
    return texts, seconds


def pct(num: int, den: int) -> str:
    return f"{100 * num / den:6.2f}%" if den else "    n/a"


def report(split: str, name: str, step: str, c: Counts, drops: Counter, seconds: float | None) -> None:
    head = f"eval_web {split:7s} {name:11s} {step:7s}"
    figures = [
        ("pages_kept", pct(c.kept, c.pages), f"({c.kept}/{c.pages} pages)", ""),
        ("blocks_whole", pct(c.blocks_whole, c.blocks), f"({c.blocks_whole}/{c.blocks} blocks)", TARGETS["blocks_whole"]),
        ("blocks_whole_pii", pct(c.blocks_whole + c.blocks_pii, c.blocks),
         f"(+{c.blocks_pii} only changed by PII redaction)", ""),
        ("lines_verbatim", pct(c.lines_verbatim, c.lines), f"({c.lines_verbatim}/{c.lines} lines)", TARGETS["lines_verbatim"]),
        ("blocks_in_order", pct(c.ordered, c.blocks_whole), f"({c.ordered}/{c.blocks_whole} whole blocks)", ""),
        ("boilerplate", pct(c.boilerplate_lines, c.output_lines), f"({c.boilerplate_lines}/{c.output_lines} output lines)", TARGETS["boilerplate"]),
        ("prose_recall", pct(c.prose_found, c.prose), f"({c.prose_found}/{c.prose} paragraphs)", ""),
    ]
    if c.hidden_blocks:
        figures.append(("hidden_shown", pct(c.hidden_shown, c.hidden_blocks),
                        f"({c.hidden_shown}/{c.hidden_blocks} blocks with hidden lines)", "0% (copy omits them)"))
    for label, value, detail, target in figures:
        print(f"{head} {label:16s} {value}  {detail:34s}" + (f"  target {target}" if target else ""))
    if drops:
        print(f"{head} {'dropped_by':16s} " + ", ".join(f"{k} {v}" for k, v in drops.most_common()))
    if step == "extract" and seconds:
        print(f"{head} {'mb_s_per_core':16s} {c.html_bytes / 1e6 / seconds:7.1f}  "
              f"({c.html_bytes / 1e6:.2f} MB HTML in {seconds:.2f} CPU s, extract only)")
    elif seconds is not None and c.html_bytes:
        print(f"{head} {'curate_s_per_mb':16s} {seconds / (c.html_bytes / 1e6):7.1f}  "
              f"({seconds:.1f} s wall for {c.html_bytes / 1e6:.2f} MB HTML, Beam start-up included)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "heldout", "both"), default="dev")
    parser.add_argument("--pages", type=int, default=40, help="pages per generator and split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generators", default="", help="comma-separated names (default: all)")
    parser.add_argument("--jobs", choices=("one", "per-generator"), default="one",
                        help="one curate job for every page, or one per generator (isolates a hang)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per curate job")
    parser.add_argument("--keep", type=Path, default=None, help="keep the WARC and outputs here")
    parser.add_argument("--failures", type=int, default=0, help="print up to N missed blocks per generator")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    wanted = [g for g in GENERATORS if not args.generators or g.name in args.generators.split(",")]
    unknown = set(filter(None, args.generators.split(","))) - {g.name for g in GENERATORS}
    if unknown:
        parser.error(f"--generators: unknown {sorted(unknown)}; known: {[g.name for g in GENERATORS]}")
    splits = ("dev", "heldout") if args.split == "both" else (args.split,)
    if "heldout" in splits:
        print(HELDOUT_WARNING)

    started = time.perf_counter()
    pages: dict[str, list[collect.Page]] = {}
    for gen in wanted:
        pages[gen.name] = [p for s in splits for p in collect.sample(gen, s, args.pages, args.seed)]
        if not pages[gen.name]:
            print(f"eval_web {'-':7s} {gen.name:11s} unavailable (no pages under {gen.root})")
    for name, why in UNAVAILABLE.items():
        print(f"eval_web {'-':7s} {name:11s} unavailable ({why})")
    extracted, extract_seconds = extract_pages([p for gen in wanted for p in pages[gen.name]])
    truths = {}
    for gen in wanted:
        for page in pages[gen.name]:
            truths[page.key] = page_truth(page.path.read_text(encoding="utf-8", errors="replace"), gen)
    print(f"eval_web sampled {sum(map(len, pages.values()))} pages, ground truth in "
          f"{time.perf_counter() - started:.1f} s")

    work = args.keep or Path(tempfile.mkdtemp(prefix="eval_web-"))
    work.mkdir(parents=True, exist_ok=True)
    groups = ([(g.name, [g.name]) for g in wanted if pages[g.name]] if args.jobs == "per-generator"
              else [("all", [g.name for g in wanted if pages[g.name]])])
    kept, dropped, failed, seconds = {}, {}, {}, {}
    for job, names in groups:
        job_pages = [p for n in names for p in pages[n]]
        warc = write_warc(work / f"{job}.warc.gz", job_pages)
        out = work / f"out-{job}"
        shutil.rmtree(out, ignore_errors=True)
        wall, why = run_curate(warc, out, args.timeout)
        for n in names:
            seconds[n] = wall if len(names) == 1 else None
        if why:
            print(f"eval_web curate job {job!r} failed: {why}")
            failed.update({n: why for n in names})
            continue
        k, d = read_output(out)
        kept.update(k)
        dropped.update(d)
        mb = sum(p.path.stat().st_size for p in job_pages) / 1e6
        print(f"eval_web curate job {job!r}: {len(job_pages)} pages, {mb:.2f} MB HTML in {wall:.1f} s "
              "(the CLI reports no read-only time, so read vs extract is not split)")

    for split in splits:
        totals = {"extract": Counts(), "e2e": Counts()}
        table = []
        for gen in wanted:
            group = [p for p in pages[gen.name] if p.split == split]
            if not group:
                continue
            ext, ext_drops = Counts(), Counter()
            for page in group:
                if page.url not in extracted:
                    ext_drops["extract.empty_text"] += 1
                ext.add(score_page(truths[page.key], extracted.get(page.url), page.path.stat().st_size))
            report(split, gen.name, "extract", ext, ext_drops, sum(extract_seconds[p.url] for p in group))
            totals["extract"].add(ext)
            if args.failures and split == "dev":
                show_failures("extract", group, truths, extracted, args.failures)
            if gen.name in failed:
                print(f"eval_web {split:7s} {gen.name:11s} not scored: curate {failed[gen.name]}")
                table.append((gen.name, ext, None))
                continue
            counts, drops = Counts(), Counter()
            for page in group:
                output = kept.get(page.url)
                if output is None:
                    drops[dropped.get(page.url, "missing")] += 1
                counts.add(score_page(truths[page.key], output, page.path.stat().st_size))
            report(split, gen.name, "e2e", counts, drops, seconds.get(gen.name))
            if args.failures and split == "dev":
                show_failures("e2e", group, truths, kept, args.failures)
            totals["e2e"].add(counts)
            table.append((gen.name, ext, counts))
        split_seconds = sum(extract_seconds[p.url] for gen in wanted for p in pages[gen.name] if p.split == split)
        for step, total in totals.items():
            report(split, "ALL", step, total, Counter(), split_seconds if step == "extract" else None)
        print_table(split, table + [("ALL", totals["extract"], totals["e2e"])])
    if "heldout" in splits:
        print(HELDOUT_WARNING)
    kept_note = f"WARC and outputs kept in {work}" if args.keep else "pass --keep DIR to keep the WARC and outputs"
    print(f"eval_web total {time.perf_counter() - started:.1f} s; {kept_note}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_table(split: str, rows: list[tuple[str, Counts, Counts | None]]) -> None:
    """One line per generator: the extract step's figures, then end to end's."""
    print(f"eval_web {split} table: generator | extract: blocks_whole lines_verbatim boilerplate prose_recall "
          "| e2e: pages_kept blocks_whole lines_verbatim boilerplate prose_recall")
    for name, ext, e2e in rows:
        line = (f"eval_web {split:7s} {name:11s} | {pct(ext.blocks_whole, ext.blocks)} "
                f"{pct(ext.lines_verbatim, ext.lines)} {pct(ext.boilerplate_lines, ext.output_lines)} "
                f"{pct(ext.prose_found, ext.prose)} |")
        if e2e is not None:
            line += (f" {e2e.kept:3d}/{e2e.pages:<3d} {pct(e2e.blocks_whole, e2e.blocks)} "
                     f"{pct(e2e.lines_verbatim, e2e.lines)} {pct(e2e.boilerplate_lines, e2e.output_lines)} "
                     f"{pct(e2e.prose_found, e2e.prose)}")
        print(line)


def show_failures(step: str, group, truths, kept, limit: int) -> None:
    """Print up to `limit` blocks that were not recovered whole (dev debugging only)."""
    from benchmarks.webpages.score import code_form
    from benchmarks.webpages.text import normalise
    shown = 0
    for page in group:
        output = kept.get(page.url)
        if output is None:
            continue
        out = code_form(output)
        for block in truths[page.key].blocks:
            if code_form(block) not in out and shown < limit:
                shown += 1
                print(f"    {step}: missed block in {page.url}:\n      " + code_form(block)[:300].replace("\n", "\n      "))
        leaked = [line for line in (normalise(x) for x in output.split("\n"))
                  if line in truths[page.key].boilerplate]
        if leaked and shown < limit:
            shown += 1
            print(f"    {step}: boilerplate in {page.url}: {leaked[:8]}")


if __name__ == "__main__":
    sys.exit(main())
