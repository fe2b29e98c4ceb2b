"""Ground truth of one page, read from its HTML with this package's own parser (SPEC.md §2).

- code blocks: every `<pre>` (and the generator's non-`<pre>` blocks) inside the main
  root and outside furniture, outermost only, in document order, as a reader copies it
  (`text.copy_text` with the generator's `hidden` selectors). A `<pre>` holding several
  `<code>` children and no other text (a tab widget, e.g. Node.js's CommonJS / ES-module
  pair) gives one block per child. Blocks whose copy is empty are skipped.
- `with_hidden`: for blocks that lose lines to `hidden`, the text with those lines kept
  (only copy buttons and line numbers removed), to tell whether an extractor shows them.
- prose: the whitespace-normalised text of each paragraph (`<p>`, or the generator's
  `prose` selectors) in main content, outside code blocks and furniture, holding no
  block-level element, of at least four words.
- boilerplate: the lines shown by the generator's boilerplate regions and by furniture,
  minus any line that main content also shows or that is the text of one node of main
  content (a page title repeated in a breadcrumb is not boilerplate), minus lines with
  no letter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.webpages.dom import Element, matches_any, parse, selectors
from benchmarks.webpages.generators import Generator
from benchmarks.webpages.text import copy_text, flat_text, inside, normalise, shown_lines

# what every copy leaves out whatever the generator: buttons, line numbers
_ALWAYS_HIDDEN = selectors("button", "input", "script", "style", "span.linenos", "td.linenos",
                           "span.lineno", "button.copy-button", "a.tooltip", "a.test-arrow")
MIN_PROSE_WORDS = 4
_INLINE = frozenset("a abbr b code em i kbd span strong tt var".split())
_NOT_INLINE = frozenset("p pre div ul ol dl table blockquote section h1 h2 h3 h4 h5 h6".split())


@dataclass
class Truth:
    """`blocks`: code as copied, document order; `with_hidden[i]`: block i with its hidden
    lines, or None when it has none; `prose`, `boilerplate`: see the module docstring."""

    blocks: list[str] = field(default_factory=list)
    with_hidden: list[str | None] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)
    boilerplate: set[str] = field(default_factory=set)
    main_found: bool = True


def main_root(doc: Element, gen: Generator) -> tuple[Element, bool]:
    """The main-content root and whether a `main` selector matched (else `<body>`)."""
    for sel in gen.sel["main"]:
        for el in doc.iter():
            if sel.matches(el):
                return el, True
    body = next((el for el in doc.iter() if el.tag == "body"), doc)
    return body, False


def code_elements(root: Element, gen: Generator) -> list[Element]:
    """Outermost code blocks under `root` outside furniture, tab children split out."""
    found: list[Element] = []
    stack = [root]
    while stack:
        el = stack.pop()
        if el is not root and matches_any(el, gen.sel["furniture"]):
            continue
        if matches_any(el, gen.sel["blocks"]):
            tabs = [c for c in el.children if isinstance(c, Element) and c.tag == "code"]
            found.extend(tabs if el.tag == "pre" and len(tabs) > 1 and only_tabs(el) else [el])
            continue
        stack.extend(c for c in reversed(el.children) if isinstance(c, Element))
    return found


def only_tabs(pre: Element) -> bool:
    """Whether `pre` holds its `<code>` children and nothing a reader copies besides
    (controls aside): a tab widget. `<code>` among other text is inline (the names in a
    Sphinx grammar production, `expr ::= name "," names`)."""
    return all(c.tag in ("code", "input", "button") if isinstance(c, Element) else not c.strip()
               for c in pre.children)


def page_truth(html: str, gen: Generator) -> Truth:
    doc = parse(html)
    root, found = main_root(doc, gen)
    truth = Truth(main_found=found)
    hidden = _ALWAYS_HIDDEN + gen.sel["hidden"]
    for el in code_elements(root, gen):
        text = copy_text(el, hidden)
        if not text.strip():
            continue
        full = copy_text(el, _ALWAYS_HIDDEN)
        truth.blocks.append(text)
        truth.with_hidden.append(full if full != text else None)
    skip = gen.sel["furniture"] + gen.sel["blocks"]
    for p in root.iter():
        if (matches_any(p, gen.sel["prose"]) and not inside(p, skip, stop=root)
                and not any(d.tag in _NOT_INLINE for d in p.iter() if d is not p)):
            text = flat_text(p, gen.sel["furniture"])
            if len(text.split()) >= MIN_PROSE_WORDS:
                truth.prose.append(text)
    main_lines = set(shown_lines(root, gen.sel["furniture"])) | text_nodes(root, gen.sel["furniture"])
    for block in truth.blocks + [b for b in truth.with_hidden if b]:
        main_lines.update(line.strip() for line in block.split("\n"))
    regions = topmost(doc, gen.sel["boilerplate"]) + [
        el for el in topmost(root, gen.sel["furniture"]) if el is not root]
    for region in regions:
        for line in shown_lines(region, ()):
            if line not in main_lines and any(c.isalpha() for c in line):
                truth.boilerplate.add(line)
    return truth


def text_nodes(root: Element, skip) -> set[str]:
    """Whitespace-normalised text nodes and inline elements' texts under `root`, outside
    `skip` subtrees and code: a line an extractor may put on its own (the `<span>` of a
    heading, split by `<wbr>`) is still main content."""
    found, stack = set(), [root]
    while stack:
        el = stack.pop()
        if el is not root and (matches_any(el, skip) or el.tag == "pre"):
            continue
        if el.tag in _INLINE:
            found.add(flat_text(el, skip))
        for child in el.children:
            if isinstance(child, str):
                found.add(normalise(child))
            else:
                stack.append(child)
    return found


def topmost(root: Element, sels) -> list[Element]:
    """The outermost elements under `root` (itself included) matching `sels`."""
    found, stack = [], [root]
    while stack:
        el = stack.pop()
        if matches_any(el, sels):
            found.append(el)
            continue
        stack.extend(c for c in reversed(el.children) if isinstance(c, Element))
    return found
