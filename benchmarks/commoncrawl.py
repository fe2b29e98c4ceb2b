"""CommonCrawl source throughput on one core: read (FastWARC and warcio), read + extract,
read + extract + classify.

The corpus is built from this machine (stackpipe.web.samples): pydoc pages and source
listings of the standard library's Python files, licence texts of the installed
distributions and IDLE's NEWS, written as one CommonCrawl-style WARC.gz (warcinfo, then
a request and a response per page); `--html GLOB...` puts real HTML files in the WARC
instead (e.g. the Rust book rustup installs; the classifier's truth is then "has a
<pre>"). A classifier is trained on a quarter of the pages first (not timed). Each
figure is the best of `--repeat` passes in this process, timed in CPU seconds of the
process (so per core, and steady on a machine busy with other work): records/s counts
response records, MB/s the WARC file's bytes (compressed, as CommonCrawl ships them) and
the HTML bytes read.

    python benchmarks/commoncrawl.py [--pages N] [--repeat R] [--html GLOB...]
"""

from __future__ import annotations

import argparse
import glob
import sysconfig
import tempfile
import time
from pathlib import Path

from stackpipe.records import FileRecord, RawFile
from stackpipe.rules import load_rules
from stackpipe.web import samples
from stackpipe.web.classifier import ClassifyPages, Page, train
from stackpipe.web.extract import extract_page
from stackpipe.web.warc import read_warc


def corpus(pages: int) -> list[samples.SamplePage]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources = sorted(p for p in stdlib.rglob("*.py") if "test" not in p.relative_to(stdlib).parts[0]
                     and "site-packages" not in p.parts)
    others = samples.license_pages() + samples.news_pages()
    code = samples.pydoc_pages() + samples.source_pages(paths=sources, max_lines=200)
    # the rest of the longer files, 200 lines a page
    code += [page for start in range(200, 2000, 200)
             for page in samples.source_pages(paths=sources, max_lines=200, start=start)]
    return (code[: pages - min(len(others), pages // 3)] + others)[:pages]


def html_corpus(patterns: list[str], pages: int) -> list[samples.SamplePage]:
    files = sorted({path for pattern in patterns for path in glob.glob(pattern)})[:pages]
    return [samples.SamplePage(f"https://docs.example-site.org/{Path(path).name}", html, "<pre" in html)
            for path in files for html in [Path(path).read_text(encoding="utf-8", errors="replace")]]


def timed(fn, repeat: int) -> tuple[float, tuple]:
    best, result = float("inf"), ()
    for _ in range(repeat):
        started = time.process_time()
        result = fn()
        best = min(best, time.process_time() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--html", nargs="+", default=None, metavar="GLOB", help="HTML files to use as pages")
    args = parser.parse_args()
    rules = load_rules()
    pages = html_corpus(args.html, args.pages) if args.html else corpus(args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        warc = samples.write_warc(Path(tmp) / "bench.warc.gz", pages)
        warc_mb = warc.stat().st_size / 1e6
        seeds = [p for i, p in enumerate(pages) if i % 4 == 0]
        extracted = [(p, extract_page(RawFile(source="commoncrawl", repo="", path=p.url, data=p.html.encode(),
                                              meta={"content_type": "text/html"}), rules.web)) for p in seeds]
        texts = [(p, r) for p, r in extracted if isinstance(r, FileRecord)]
        model = Path(tmp) / "code.bin"
        train([Page(p.url, "", r.content) for p, r in texts if p.code],
              [Page(p.url, "", r.content) for p, r in texts if not p.code], rules.web.classifier, str(model))
        classify = ClassifyPages(rules.web.classifier, str(model))
        classify.setup()

        def read_only(engine: str = "fastwarc"):
            found = [r for r in read_warc(str(warc), rules.web, engine=engine)]
            return len(found), sum(len(r.data) for r in found if isinstance(r, RawFile))

        def read_extract(with_classifier: bool = False):
            count = kept = 0
            for raw in read_warc(str(warc), rules.web):
                count += 1
                if isinstance(raw, RawFile):
                    record = extract_page(raw, rules.web)
                    if with_classifier and isinstance(record, FileRecord):
                        kept += isinstance(classify(record), FileRecord)
            return count, kept

        seconds, (records, html_bytes) = timed(read_only, args.repeat)
        html_mb = html_bytes / 1e6
        print(f"corpus: {records:,} pages, {html_mb:,.1f} MB HTML, {warc_mb:,.1f} MB WARC.gz")
        print(f"read (fastwarc): {records / seconds:,.0f} records/s, {warc_mb / seconds:,.1f} MB/s WARC.gz, "
              f"{html_mb / seconds:,.1f} MB/s HTML per core")
        seconds, _ = timed(lambda: read_only("warcio"), args.repeat)
        print(f"read (warcio): {records / seconds:,.0f} records/s, {warc_mb / seconds:,.1f} MB/s WARC.gz, "
              f"{html_mb / seconds:,.1f} MB/s HTML per core")
        seconds, _ = timed(read_extract, args.repeat)
        print(f"read+extract: {records / seconds:,.0f} records/s, {warc_mb / seconds:,.1f} MB/s WARC.gz, "
              f"{html_mb / seconds:,.1f} MB/s HTML per core")
        seconds, (_, kept) = timed(lambda: read_extract(True), args.repeat)
        print(f"read+extract+classify: {records / seconds:,.0f} records/s, {warc_mb / seconds:,.1f} MB/s WARC.gz, "
              f"{html_mb / seconds:,.1f} MB/s HTML per core ({kept:,} pages classified code-related)")


if __name__ == "__main__":
    main()
