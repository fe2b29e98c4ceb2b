"""Rendered text of an element: what a reader copies from a code block, and the lines a
browser shows for a region of a page (SPEC.md §2).

Both follow the browser's `innerText` closely enough for generated documentation:
block-level elements (`div`, `p`, `li`, table rows, ...) start and end a line, `<br>` is a
line break, `script`/`style`/`template` are not text, and outside preformatted elements
runs of whitespace collapse to one space. A no-break space counts as a space, since
browsers copy it as one.
"""

from __future__ import annotations

import re

from benchmarks.webpages.dom import Element, Selector, matches_any

BLOCK = frozenset(
    "address article aside blockquote dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody "
    "thead tfoot tr td th ul caption".split())
NOT_TEXT = frozenset({"script", "style", "template", "noscript", "head", "title", "svg"})
_SPACES = re.compile(r"[ \t\r\n\f\xa0]+")


class _Lines:
    """Accumulates text; a block boundary asks for a line break before the next text."""

    def __init__(self):
        self.parts: list[str] = []
        self.pending = False

    def ends_line(self) -> bool:
        return not self.parts or self.parts[-1].endswith("\n")

    def emit(self, text: str) -> None:
        if self.pending and not self.ends_line() and not text.startswith("\n"):
            self.parts.append("\n")
        self.pending = False
        self.parts.append(text)

    def boundary(self) -> None:
        self.pending = True

    def text(self) -> str:
        return "".join(self.parts)


def _walk(el: Element, out: _Lines, skip: tuple[Selector, ...], pre: bool, root: Element | None) -> None:
    for child in el.children:
        if isinstance(child, str):
            if pre:
                # a code block outside any <pre> (Doxygen's div.fragment of div.line) keeps
                # only its lines: the whitespace between them is source formatting
                if el is root and not child.strip():
                    continue
                out.emit(child.replace("\xa0", " "))
            else:
                collapsed = _SPACES.sub(" ", child)
                if collapsed.strip() or (out.parts and not out.ends_line()):
                    out.emit(collapsed)
            continue
        if child.tag in NOT_TEXT or matches_any(child, skip):
            continue
        if child.tag == "br":
            out.emit("\n")
            continue
        block = child.tag in BLOCK
        if block:
            out.boundary()
        _walk(child, out, skip, pre or child.tag == "pre", root)
        if block:
            out.boundary()


def copy_text(el: Element, hidden: tuple[Selector, ...]) -> str:
    """The text a reader copies from code block `el`, leaving out elements matching
    `hidden` (copy buttons, line numbers, lines a generator hides). Trailing whitespace
    of each line and blank lines at either end are removed; indentation is kept."""
    out = _Lines()
    loose = el.tag != "pre" and all(a.tag != "pre" for a in el.ancestors())
    _walk(el, out, hidden, True, el if loose else None)
    lines = [line.rstrip() for line in out.text().replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def shown_lines(el: Element, skip: tuple[Selector, ...]) -> list[str]:
    """The non-empty lines a browser shows for `el` (whitespace-normalised), leaving out
    subtrees matching `skip`."""
    out = _Lines()
    _walk(el, out, skip, el.tag == "pre", None)
    return [n for n in (normalise(line) for line in out.text().split("\n")) if n]


def flat_text(el: Element, skip: tuple[Selector, ...]) -> str:
    """The whitespace-normalised text of `el` on one line."""
    return normalise(" ".join(shown_lines(el, skip)))


def normalise(text: str) -> str:
    """Runs of whitespace (no-break spaces included) to one space, ends stripped."""
    return _SPACES.sub(" ", text).strip()


def inside(el: Element, sels: tuple[Selector, ...], stop: Element | None = None) -> bool:
    """Whether `el` or an ancestor below `stop` matches one of `sels`."""
    if matches_any(el, sels):
        return True
    for anc in el.ancestors():
        if anc is stop:
            return False
        if matches_any(anc, sels):
            return True
    return False
