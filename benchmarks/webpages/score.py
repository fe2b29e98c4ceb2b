"""Scores of one page's extracted text against its ground truth (SPEC.md §4).

Text on both sides is compared after the same light normalisation: CRLF to LF, no-break
spaces to spaces, trailing whitespace of each line removed. Indentation and line breaks
are never normalised for code; prose and boilerplate compare whitespace-collapsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from benchmarks.webpages.text import normalise
from benchmarks.webpages.truth import Truth


@dataclass
class Counts:
    """Sums over pages; every share is a ratio of two of these."""

    pages: int = 0
    kept: int = 0
    blocks: int = 0
    blocks_whole: int = 0
    blocks_pii: int = 0        # not whole only because the PII stage rewrote a value
    lines: int = 0
    lines_verbatim: int = 0
    ordered: int = 0           # whole blocks found after the previous whole block
    hidden_blocks: int = 0     # blocks with lines the page hides from a copy
    hidden_shown: int = 0      # ... whose hidden lines the output shows
    output_lines: int = 0
    boilerplate_lines: int = 0
    prose: int = 0
    prose_found: int = 0
    html_bytes: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def code_form(text: str) -> str:
    """Line ends normalised, indentation kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    return "\n".join(line.rstrip() for line in text.split("\n"))


# what the PII stage writes in place of a value (README: redaction), and IPs it rewrites
_REDACTED = re.compile(r"<(EMAIL|KEY|PASSWORD|NAME)>|\b\d{1,3}(\.\d{1,3}){3}\b|[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}")


def redacted_copy(line: str, candidates: list[str]) -> bool:
    """Whether one of the output lines is `line` with one value replaced by a redaction:
    what differs between them lies inside a single redaction match of the output line."""
    for out in candidates:
        prefix = len(_common_prefix(line, out))
        suffix = len(_common_prefix(line[prefix:][::-1], out[prefix:][::-1]))
        start, end = prefix, len(out) - suffix
        if any(m.start() <= start and m.end() >= end for m in _REDACTED.finditer(out)):
            return True
    return False


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def score_page(truth: Truth, output: str | None, html_bytes: int) -> Counts:
    """Counts for one page; `output` is None when the page was not kept."""
    c = Counts(pages=1, html_bytes=html_bytes, blocks=len(truth.blocks), prose=len(truth.prose))
    code_lines = [line for b in truth.blocks for line in code_form(b).split("\n") if line.strip()]
    c.lines = len(code_lines)
    c.hidden_blocks = sum(h is not None for h in truth.with_hidden)
    if output is None:
        return c
    c.kept = 1
    out = code_form(output)
    out_lines = set(out.split("\n"))
    c.lines_verbatim = sum(line in out_lines for line in code_lines)
    redacted = [line for line in out_lines if _REDACTED.search(line)]
    cursor = 0
    for block, full in zip(truth.blocks, truth.with_hidden):
        block = code_form(block)
        if block in out:
            c.blocks_whole += 1
            at = out.find(block, cursor)
            if at >= 0:
                c.ordered += 1
                cursor = at + len(block)
        elif redacted and all(line in out_lines or redacted_copy(line, redacted)
                              for line in block.split("\n")):
            c.blocks_pii += 1
        if full is not None and code_form(full) in out:
            c.hidden_shown += 1
    shown = [n for n in (normalise(line) for line in out.split("\n")) if n]
    c.output_lines = len(shown)
    c.boilerplate_lines = sum(line in truth.boilerplate for line in shown)
    flat = normalise(output)
    c.prose_found = sum(p in flat for p in truth.prose)
    return c
