"""`stackpipe report DIR`: write the run's data card, DIR/report.html (or --output FILE)."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

from stackpipe.report.collect import collect
from stackpipe.report.discover import ReportInputError
from stackpipe.report.render import render


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe report", description=__doc__.split("\n")[0])
    parser.add_argument("run", metavar="DIR", help="a run directory, or any stage's output directory")
    parser.add_argument("--output", metavar="FILE", default=None, help="where to write the page (default DIR/report.html)")
    return parser


def write_atomically(path: Path, text: str) -> None:
    """A temporary sibling renamed over `path`, so a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_report(run: str, output: str | None = None) -> Path:
    """Collect the figures of `run`, render the page, write it; returns its path."""
    target = Path(output) if output else Path(run) / "report.html"
    write_atomically(target, render(collect(run)))
    return target


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        path = write_report(args.run, args.output)
    except ReportInputError as error:
        print(f"stackpipe report: error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
