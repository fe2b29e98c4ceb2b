"""Code blocks of an HTML page, whole and in place, through resiliparse's main-text extraction.

resiliparse's `extract_plain_text` decides well what is main content, but its rendering
of a code block is not what a reader copies: mdBook's hidden `boring` lines, line-number
gutters and copy buttons come out as text, and Docusaurus's `<br>`-broken lines run
together. So each code block is *protected* before extraction: its text is taken from
the DOM the way a copy button takes it, two marker words are put around its content, and
after extraction the span between the markers is replaced by that text. A block whose
markers did not survive was judged boilerplate (navigation, a sidebar) by resiliparse.

The DOM work uses selectolax (lexbor, like resiliparse): resiliparse 2's Python DOM
objects cost milliseconds each on a page with a few hundred `<code>` elements.

Code blocks: `<pre>` (and the obsolete `<xmp>`, `<listing>`), outermost only, GitHub's
line tables, and `<code>` elements outside them that are rendered as blocks (lines
broken by `<br>`, or an inline `white-space: pre` style). Line-number gutters are no
blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

BLOCK_TAGS = ("pre", "xmp", "listing")
# Listings without <pre>: GitHub's and gists' tables (a line per row), Doxygen's
# fragments (a <div class="line"> per line).
TABLE_BLOCKS = ("table:has(td.blob-code)", "div.fragment:has(div.line)")
# Inside a code block, what a reader does not copy: mdBook's hidden lines (rustdoc drops
# them server-side), line numbers (Pygments `linenos`/`lineno`, Prism, highlightjs-line-
# numbers, rustdoc's `data-nosnippet` anchors, Hexo's gutter, Hugo's `lnt`/`ln`), buttons
# and form controls (copy, run, Node.js's module-flavour toggle), rustdoc's "ⓘ" link to
# a return type's notable traits after a declaration.
GUTTERS = (".linenos, .linenodiv, .lineno, td.gutter, .line-numbers-rows, .hljs-ln-numbers, .src-line-numbers, "
           "span.lnt, td.listing_lines")
NOT_COPIED = (f".boring, {GUTTERS}, .gutter, .ln, [data-nosnippet], button, input, select, script, style, "
              "template, a.tooltip[data-notable-ty]")
# A block of line numbers beside the code (Sphinx `linenos` tables, rustdoc's older
# `src-line-numbers`, Hexo's gutter, gtk-doc's `listing_lines`) is no code block of its
# own, nor page text.
GUTTER = re.compile(r"(?:^|\s)(?:linenos|linenodiv|lineno|src-line-numbers|hljs-ln-numbers|listing_lines)(?:$|\s)")
GUTTER_DEPTH = 4  # the block and its nearest ancestors are looked at for a gutter class
# Block elements inside a code block stand on lines of their own (rustdoc's `where`
# clauses, highlighters that put each line in a `<div>`).
LINE_BLOCKS = "div, p, li, tr, h1, h2, h3, h4, h5, h6, details, summary"
# Panels a reader opens with a click (Docusaurus and sphinx-tabs tabs) are main content;
# resiliparse leaves out every element with a `hidden` attribute.
HIDDEN_PANELS = "[role=tabpanel][hidden], .tab-pane[hidden], .sphinx-tabs-panel[hidden]"
# resiliparse leaves out every `<aside>`. One that holds a code block and sits deep in the
# page is part of the text (docutils' `sidebar` and `topic` directives and footnotes, in
# Sphinx 5+; footnotes are asides inside an aside), not the site's sidebar (a child or
# grandchild of `<body>` in the themes looked at): it is unwrapped, its content kept in
# place.
ASIDE_DEPTH = 3
# resiliparse also leaves out elements whose id or class reads like page furniture
# ("related", "recommended", "print-", "comments", "metadata", ...). docutils (Sphinx)
# names each `<section>` after its heading, so a section titled "New Features Related to
# Type Hints" or "Print Is a Function" went with its code. A section (or docutils' older
# `div.section`) holding a code block whose id is its own heading's anchor loses the id:
# an anchor is a link target, not a layout name. Duplicate anchors get a number suffix
# (`-1`, `_1`); Sphinx numbers headings ("4.2. Manifest-related options").
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
ANCHOR_SUFFIX = re.compile(r"[-_]\d+$")
# Links that are page furniture: skip links, heading permalinks (Sphinx, MkDocs,
# Docusaurus, VitePress, Node.js, rustdoc), "edit this page". resiliparse is told to skip
# them (extract.SKIPPED); `_deepen` leaves them links.
FURNITURE_LINKS = ("a[class*=skip], a.headerlink, a.anchor, a.anchor-link, a.hash-link, a.header-anchor, "
                   "a.heading-anchor, a.anchorjs-link, a.doc-anchor, h1 a.mark, h2 a.mark, h3 a.mark, h4 a.mark, "
                   "a.theme-edit-this-page, a.edit-this-page, a.edit-link, a.editLink, a[title^='Edit this page' i], "
                   "a[aria-hidden=true]")
PRE_STYLE = re.compile(r"white-space\s*:\s*pre", re.IGNORECASE)
BLOCK_HINTS = ("<pre", "<code", "blob-code", "fragment", "<PRE", "<CODE", "<xmp", "<listing")  # a page worth parsing
MARKER = "stackpipecode"
MARKED = re.compile(rf"{MARKER}(\d+)x(\d+)S(.*?){MARKER}\1x\2E", re.S)
STRAY_MARKER = re.compile(rf"[ \t]*{MARKER}\d+x\d+[SE][ \t]*")


@dataclass(frozen=True)
class Protected:
    """A page whose code blocks carry marker words, and what goes between them."""

    html: str  # the page to extract text from
    blocks: list[str]  # what a reader copies from each block, in document order
    marker: str  # block i is marked by f"{marker}{i}S" before and f"{marker}{i}E" after (MARKED)


def protect_code_blocks(html: str) -> Protected:
    """`html` with its code blocks marked and its hidden tab panels shown; the page
    unchanged when it has no code block."""
    if not any(hint in html for hint in BLOCK_HINTS):
        return Protected(html, [], "")
    tree = LexborHTMLParser(html)
    if tree.body is None:
        return Protected(html, [], "")
    marker = _marker(html)
    blocks: list[str] = []
    lists: dict[int, LexborNode] = {}
    asides: dict[int, tuple[LexborNode, int]] = {}
    seen: set[int] = set()  # ancestors looked at: sections are judged once
    for element in _block_elements(tree.body):
        text = copy_text(element)
        if not text:
            continue
        index = len(blocks)
        blocks.append(text)
        _mark(element, f" {marker}{index}S ", f" {marker}{index}E ", text)
        ancestors = _ancestors(element)
        outer_list = next((node for node in reversed(ancestors) if node.tag == "ul"), None)
        if outer_list is not None:
            lists[outer_list.mem_id] = outer_list
        for depth, node in enumerate(reversed(ancestors)):
            if node.mem_id in seen:
                continue
            seen.add(node.mem_id)
            if node.tag == "aside":
                asides[node.mem_id] = (node, depth)
            elif _is_heading_anchor(node):
                del node.attrs["id"]
    for aside, depth in asides.values():  # first: unwrapping keeps the nodes, `_deepen` makes new ones
        if depth >= ASIDE_DEPTH:
            aside.unwrap()
    for outer in lists.values():
        _deepen(outer)
    for panel in tree.body.css(HIDDEN_PANELS):
        del panel.attrs["hidden"]
    return Protected(tree.html or html, blocks, marker) if blocks else Protected(html, [], "")


def _mark(element: LexborNode, start: str, end: str, text: str) -> None:
    """The content of `element` replaced by `text` between `start` and `end`: what
    resiliparse weighs is the code, not its markup (the anchors gtk-doc puts on every
    enum value, rustdoc's links on every type would read as a list of links). In a
    table, the markers go inside its first and last cells instead (text right inside a
    `<table>` moves out of it when parsed)."""
    if element.tag != "table":
        for child in list(element.iter(include_text=True)):
            child.decompose()
        element.insert_child(start + text + end)
        return
    cells = element.css("td")
    first, last = (cells[0], cells[-1]) if cells else (element, element)
    if first.first_child is not None:
        first.first_child.insert_before(start)
    else:
        first.insert_child(start)
    last.insert_child(end)


def restore_code_blocks(text: str, protected: Protected) -> tuple[str, list[int]]:
    """`text` with each marked span replaced by its block, apart from the prose around
    it by a blank line, and the indices of the blocks that are in it. Prose is stripped
    of blank space at either end, code blocks keep their first line's indentation."""
    if not protected.blocks:
        return text.strip(), []
    kept: list[int] = []
    pieces: list[str] = []  # prose and code blocks
    end = 0
    for match in MARKED.finditer(text):
        if f"{MARKER}{match.group(1)}x" != protected.marker:
            continue
        index = int(match.group(2))
        pieces += [text[end:match.start()].strip(), protected.blocks[index]]
        kept.append(index)
        end = match.end()
    pieces.append(text[end:].strip())
    result = "\n\n".join(piece for piece in pieces if piece)
    if protected.marker in result:  # a marker whose pair resiliparse left out: drop the word
        result = STRAY_MARKER.sub(lambda m: "" if protected.marker in m.group() else m.group(), result)
    return result, kept


def copy_text(element: LexborNode) -> str:
    """The text a reader copies from a code block: hidden lines, line numbers and buttons
    left out, `<br>` as a line break, no-break spaces as spaces; blank lines at either
    end and spaces at line ends removed, indentation kept."""
    for hidden in element.css(NOT_COPIED):
        hidden.decompose()
    for br in element.css("br"):
        br.replace_with("\n")
    for block in element.css(LINE_BLOCKS):
        _break_around(block)
    _separate_code_children(element)
    text = element.text(deep=True, separator="", strip=False)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def _break_around(block: LexborNode) -> None:
    """A line break before and after `block` unless the text beside it has one, or the
    block's own last line ended (rustdoc's "Show 25 methods" `<details>` ends with one,
    and the trait's closing `}` follows on the next line, not after a blank one)."""
    before, after = block.prev, block.next
    if before is not None and not _text(before).endswith("\n"):
        block.insert_before("\n")
    if after is not None and not _text(after).startswith("\n") and not _text(block).endswith("\n"):
        block.insert_after("\n")


def _text(node: LexborNode) -> str:
    return node.text(deep=True, separator="", strip=False) or ""


def _separate_code_children(element: LexborNode) -> None:
    """Two `<code>` children of one block with no line break between them are two
    listings (Node.js's ES-module and CommonJS flavours of one example) when the block
    holds nothing else: a blank line goes between them. `<code>` among other text is
    inline (the names in a Sphinx grammar production, `expr ::= name "," names`)."""
    if element.css_first("code ~ code") is None:
        return
    child = element.first_child
    while child is not None:
        if child.tag != "code" and (child.text(deep=True) or "").strip():
            return
        child = child.next
    line_ended = True  # whether the block's text so far ends with a line break
    child = element.first_child
    while child is not None:
        text = child.text(deep=True, separator="", strip=False) or ""
        if child.tag == "code" and not line_ended:
            child.insert_before("\n\n")
        if text.strip():
            line_ended = text.rstrip(" \t").endswith("\n")
        elif "\n" in text:
            line_ended = True
        child = child.next


def _block_elements(body: LexborNode) -> list[LexborNode]:
    """Code block elements in document order, outermost only, no gutters."""
    found, seen = [], set()
    # lexbor lists a node that matches two of the selectors twice
    for element in body.css(", ".join(BLOCK_TAGS + TABLE_BLOCKS + ("code:has(br)", "code[style]", "[style] > code"))):
        if element.mem_id in seen:
            continue
        seen.add(element.mem_id)
        if element.tag == "code" and not _code_is_block(element):
            continue
        if _inside_block(element) or _is_gutter(element):
            continue
        found.append(element)
    return found


def _code_is_block(element: LexborNode) -> bool:
    """A `<code>` rendered as a block: its lines broken by `<br>`, or an inline style
    that keeps its line breaks (source line breaks in other `<code>` are spaces on screen)."""
    if not element.text(deep=True, separator="", strip=True):
        return False
    if element.css_first("br") is not None:
        return True
    styles = [element.attributes.get("style") or ""]
    if element.parent is not None:
        styles.append(element.parent.attributes.get("style") or "")
    return any(PRE_STYLE.search(style) for style in styles)


def _ancestors(element: LexborNode) -> list[LexborNode]:
    """The elements between `element` and `<body>`, nearest first."""
    found, node = [], element.parent
    while node is not None and node.tag not in ("body", "-document"):
        found.append(node)
        node = node.parent
    return found


def _is_heading_anchor(node: LexborNode) -> bool:
    """Whether `node` is a section whose id is the anchor of its heading (the heading's
    letters and digits, in order, as docutils, MkDocs and GitHub make anchors)."""
    ident = node.attributes.get("id")
    if not ident or not (node.tag == "section" or (node.tag == "div" and _has_class(node, "section"))):
        return False
    child = node.first_child
    while child is not None and child.tag not in HEADINGS:
        if child.tag not in ("-text", "-comment", "span", "a") or (child.text(deep=True) or "").strip():
            return False
        child = child.next
    if child is None:
        return False
    heading = _letters(child.text(deep=True) or "")
    anchors = (_letters(ident), _letters(ANCHOR_SUFFIX.sub("", ident)))
    return heading in anchors or heading.lstrip("0123456789") in anchors  # Sphinx's section numbers


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _has_class(node: LexborNode, name: str) -> bool:
    return name in (node.attributes.get("class") or "").split()


def _deepen(ul: LexborNode) -> None:
    """Put `ul` three `<div>`s deeper, its links as plain text. resiliparse takes a `<ul>`
    near the top of the body, or one whose link text is over a fifth of its text, for a
    navigation menu and leaves it out; one that holds a code block is a list of steps or
    options (npm's docs, a MkDocs option whose note links to two other sites) and stays.
    Link targets are no page text, so the text is the same; furniture links stay links,
    for resiliparse to skip."""
    furniture = {link.mem_id for link in ul.css(FURNITURE_LINKS)}
    for link in ul.css("a"):
        if link.mem_id not in furniture:
            link.unwrap()
    wrapped = LexborHTMLParser(f"<div><div><div>{ul.html}</div></div></div>").body.first_child
    ul.replace_with(wrapped)


def _inside_block(element: LexborNode) -> bool:
    node = element.parent
    while node is not None and node.tag not in ("body", "-document"):
        if node.tag in BLOCK_TAGS:
            return True
        node = node.parent
    return False


def _is_gutter(element: LexborNode) -> bool:
    node = element
    for _ in range(GUTTER_DEPTH):
        if node is None or node.tag in ("body", "-document"):
            return False
        classes = node.attributes.get("class") or ""
        if GUTTER.search(classes) or (node.tag == "td" and "gutter" in classes.split()):
            return True
        node = node.parent
    return False


def _marker(html: str) -> str:
    """A marker word that does not occur in the page."""
    attempt = 0
    while f"{MARKER}{attempt}x" in html:
        attempt += 1
    return f"{MARKER}{attempt}x"
