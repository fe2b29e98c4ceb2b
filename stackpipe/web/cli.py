"""`stackpipe web train-classifier`: a fastText model of code-related pages from seed pages.

Positives are seed pages known to be code-related; negatives are pages sampled from the
crawl (DeepSeekMath drew them at random from CommonCrawl). Either may be WARC files
(read and extracted exactly as the pipeline does), HTML files (.html, .htm, extracted
the same way) or text files (.txt, used as they are), given as files, directories or
globs. `--rounds N` (default: rules/web.yaml's `classifier.recall.rounds`) runs
DeepSeekMath's iterative recall over `--pool` (default: the negatives): each round
rescans the pool with the last model and retrains with what it recalled.
`--holdout F` keeps a fraction of the seeds and negatives out of training and prints
the held-out precision and recall.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

from stackpipe.records import FileRecord, RawFile
from stackpipe.rules import Rules, load_rules
from stackpipe.sources.storage import open_raw
from stackpipe.web.classifier import Page, evaluate, train_rounds
from stackpipe.web.extract import extract_page
from stackpipe.web.stages import expand_files
from stackpipe.web.warc import is_warc_name, read_warc

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
TEXT_SUFFIXES = (".txt",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe web train-classifier", description=__doc__.split("\n")[0])
    parser.add_argument("--positives", nargs="+", required=True, metavar="URI",
                        help="seed pages: WARC, HTML or text files, directories or globs")
    parser.add_argument("--negatives", nargs="+", required=True, metavar="URI",
                        help="pages sampled from the crawl (same kinds)")
    parser.add_argument("--pool", nargs="+", default=None, metavar="URI",
                        help="crawl pages that recall rounds rescore (default: the negatives)")
    parser.add_argument("--output", required=True, metavar="FILE", help="where the fastText model (.bin) goes")
    parser.add_argument("--rules", default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    parser.add_argument("--rounds", type=int, default=None, help="recall rounds (default: rules' recall.rounds)")
    parser.add_argument("--holdout", type=float, default=0.0,
                        help="fraction of pages held out of training to report precision/recall (default 0)")
    return parser


def load_pages(uris: list[str], rules: Rules) -> list[Page]:
    """Pages of WARC, HTML and text files, sorted by id; WARC records the pipeline would
    reject (non-HTML, corrupt) and pages with no text are left out."""
    pages: dict[str, Page] = {}
    for uri in _files(uris):
        name = uri.lower()
        if is_warc_name(name):
            for item in read_warc(uri, rules.web):
                if isinstance(item, RawFile):
                    _add(pages, extract_page(item, rules.web))
            continue
        with open_raw(uri) as handle:
            data = handle.read()
        if name.endswith(TEXT_SUFFIXES):
            text = data.decode("utf-8", errors="replace").strip()
            if text:
                pages[uri] = Page(uri, "", text)
            continue
        raw = RawFile(source="file", repo="", path=uri, data=data, meta={"content_type": "text/html"})
        _add(pages, extract_page(raw, rules.web))
    return [pages[key] for key in sorted(pages)]


def _add(pages: dict[str, Page], result) -> None:
    if isinstance(result, FileRecord):
        pages[result.path] = Page(result.path, result.repo, result.content)


def _files(uris: list[str]) -> list[str]:
    return expand_files(uris, lambda name: is_warc_name(name) or name.lower().endswith(HTML_SUFFIXES + TEXT_SUFFIXES),
                        "WARC, HTML or text files")


def held_out(page: Page, fraction: float) -> bool:
    """A stable split: the same page is always on the same side."""
    digest = int(hashlib.sha256(page.id.encode("utf-8")).hexdigest()[:8], 16)
    return digest / 0xFFFFFFFF < fraction


def train_classifier_main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.holdout < 1.0:
        raise ValueError(f"--holdout must be within [0, 1), got {args.holdout}")
    rules = load_rules(args.rules)
    classifier = rules.web.classifier
    positives = load_pages(args.positives, rules)
    negatives = load_pages(args.negatives, rules)
    pool = load_pages(args.pool, rules) if args.pool else negatives
    test_pos = [p for p in positives if held_out(p, args.holdout)]
    test_neg = [p for p in negatives if held_out(p, args.holdout)]
    test_ids = {p.id for p in test_pos + test_neg}
    model, reports = train_rounds(
        [p for p in positives if p.id not in test_ids], [p for p in negatives if p.id not in test_ids],
        [p for p in pool if p.id not in test_ids], classifier, args.output, args.rounds)
    for report in reports:
        print(f"stackpipe web train-classifier: round {report.round}: {report.positives:,} positives, "
              f"{report.negatives:,} negatives (recalled {report.recalled:,} pages, "
              f"{len(report.code_domains):,} code domains)", file=sys.stderr)
    if test_pos and test_neg:
        result = evaluate(model, test_pos, test_neg, classifier)
        print(f"stackpipe web train-classifier: held out {len(test_pos):,} positives and {len(test_neg):,} "
              f"negatives: precision {result.precision:.3f}, recall {result.recall:.3f} at threshold "
              f"{classifier.threshold}", file=sys.stderr)
    size = os.path.getsize(args.output)
    print(f"stackpipe web train-classifier: model {Path(args.output)} ({size / 1e6:,.1f} MB), label "
          f"{classifier.label}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`stackpipe web SUBCOMMAND ...`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["train-classifier"]:
        print("usage: stackpipe web train-classifier --positives URI... --negatives URI... --output FILE "
              "[--pool URI...] [--rounds N] [--holdout F] [--rules DIR]", file=sys.stderr)
        return 2
    return train_classifier_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
