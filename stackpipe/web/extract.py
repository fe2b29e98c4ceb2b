"""HTML page -> its main text, code blocks kept whole and in place (resiliparse).

Encoding: the charset the HTTP Content-Type declares when Python knows it, else
resiliparse's detection (uchardet); `bytes_to_str` falls back to UTF-8 and cp1252.
Text: resiliparse's `extract_plain_text` with its `main_content` heuristics and
`preserve_formatting`. Code blocks are protected from it (stackpipe.web.codeblocks): each
comes out as a reader copies it, where resiliparse put it. What resiliparse is told to
skip on top of its own heuristics is page furniture that it keeps otherwise: images
(their alt texts; `alt_texts=False` would also skip `<figure>`, where mdBook puts its
listings), keyboard-shortcut help, cookie and consent banners, "edit this page" links,
site title bars (Doxygen's `#titlearea` too) and in-page tables of contents. XHTML's
self-closing `<a name="x"/>` is closed before parsing (`close_anchors`).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from stackpipe.records import FileRecord, RawFile, Rejected, content_hash, rejected_from_raw
from stackpipe.rules import WebRules
from stackpipe.web.codeblocks import FURNITURE_LINKS, GUTTERS, protect_code_blocks, restore_code_blocks

STAGE = "extract"
# Skipped elements (CSS selectors, for resiliparse's `skip_elements`).
SKIPPED = (
    # media: their alt texts are no page text
    "img", "svg", "picture", "video", "audio", "object", "embed", "area", "canvas",
    # line numbers beside code blocks, VitePress's language label above them
    *GUTTERS.split(", "), "div[class*=language-] > span.lang",
    # skip links, heading permalinks, "edit this page" links
    *FURNITURE_LINKS.split(", "),
    # rustdoc: version and source links, the toggles' "Expand description"
    ".rightside", ".main-heading .sub-heading", "a.src", "summary.hideme",
    # site title bars above the page (mdBook's menu bar with the book's title, Bootstrap's navbar,
    # Doxygen's project name, number and brief)
    "[role=banner]", ".menu-bar", ".navbar", ".site-header", "#titlearea",
    # in-page tables of contents (DocBook, gtk-doc, Doxygen, AsciiDoc, the npm docs, docutils' `contents`)
    ".toc", "#toc", ".table-of-contents", "[id$=table-of-contents]", "[id$=table_of_contents]", "nav.contents",
    "div.topic.contents",
    # keyboard help (mdBook's "Keyboard shortcuts / Press ← or → to navigate between chapters")
    "#mdbook-help-container", "#help-popup", "div[id$=help-popup]", "div[id*=keyboard-shortcuts]",
    "div[class*=keyboard-shortcuts]", "dialog",
    # cookie and consent banners (OneTrust, Cookiebot, cookieconsent, CookieYes, Osano)
    "#onetrust-consent-sdk", "#CybotCookiebotDialog", ".cc-window", ".cky-consent-container",
    ".osano-cm-window", "[id^=cookie-banner]", "[class^=cookie-banner]", "[id^=cookie-notice]",
    "[class^=cookie-notice]", "[id^=cookie-consent]", "[class^=cookie-consent]", "[aria-label*=cookie i]",
    # "edit this page" and source links (Docusaurus, MkDocs, Sphinx themes, VitePress)
    ".theme-edit-this-page", ".md-content__button", ".edit-this-page", ".edit-link", ".editLink",
    "[title^='Edit this page' i]", ".wy-breadcrumbs-aside",
)
# XHTML's self-closing anchor target, `<a name="x"/>` (gtk-doc, the libxml2 devhelp
# stylesheet, DocBook XSL in XHTML mode): an HTML parser reads it as an open `<a>` that
# wraps the rest of its block and is re-opened in every block after it, so resiliparse
# sees whole sections as link text and drops them. Quoted or bare only: in
# `<a href=x/>` the slash belongs to the unquoted value. Matched from each `/>` back to
# its `<` (a regex run over every tag of the page costs three times as much).
ANCHOR_BEFORE_SLASH = re.compile(r"<a(?:\s[^<>]*?[\s\"'])?$", re.IGNORECASE)


def page_encoding(data: bytes, content_type: str) -> str:
    """The charset the HTTP header declares if Python has a codec for it, else the
    page's `<meta charset>`, else uchardet's guess."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return detect_encoding(data, from_html_meta=True)


@dataclass(frozen=True)
class PageText:
    """A page's extracted text. `code_blocks`: the page's code blocks (`<pre>` and block
    `<code>`); `code_kept`: how many of them are in `text` (the others are in what
    resiliparse judged boilerplate: navigation, sidebars, banners)."""

    text: str
    code_blocks: int
    code_kept: int


def html_text(html: str, main_content: bool = True) -> PageText:
    """The visible text of `html` (its main content when `main_content`), code blocks as
    a reader copies them, each in place, apart from the prose by blank lines. No-break
    spaces (`&nbsp;`, which pydoc and many sites put between the words of code) become
    plain spaces."""
    protected = protect_code_blocks(close_anchors(html))
    text = extract_plain_text(protected.html, preserve_formatting=True, main_content=main_content, alt_texts=True,
                              skip_elements=list(SKIPPED))
    text, kept = restore_code_blocks(text, protected)
    return PageText(text.replace("\xa0", " "), len(protected.blocks), len(kept))


def close_anchors(html: str) -> str:
    """`html` with each self-closing `<a .../>` written as the empty element its XHTML
    author meant, `<a ...></a>`."""
    end = html.find("/>")
    if end < 0:
        return html
    pieces, done = [], 0
    while end >= 0:
        start = html.rfind("<", done, end)
        if start >= 0 and html[start + 1:start + 2] in ("a", "A") and ANCHOR_BEFORE_SLASH.match(html, start, end):
            pieces += [html[done:end], "></a>"]
            done = end + 2
        end = html.find("/>", end + 2)
    pieces.append(html[done:])
    return "".join(pieces)


def extract_page(raw: RawFile, rules: WebRules) -> FileRecord | Rejected:
    """An HTML page as a text record of `rules.language`, or `empty_text` when nothing
    visible is left. Web pages state no licence: `license_type` is `no_license`.
    `meta` counts the page's code blocks and those left out as boilerplate."""
    encoding = page_encoding(raw.data, raw.meta.get("content_type", ""))
    html = bytes_to_str(raw.data, encoding, errors="replace")
    page = html_text(html, rules.main_content)
    if not page.text:
        return rejected_from_raw(raw, STAGE, "empty_text", "no visible text in the page")
    meta = {**raw.meta, "encoding": encoding, "html_bytes": str(len(raw.data)), "code_blocks": str(page.code_kept),
            "code_blocks_left_out": str(page.code_blocks - page.code_kept),
            "extraction": "main_content" if rules.main_content else "whole_page"}
    return FileRecord(
        id=raw.id, repo=raw.repo, path=raw.path, language=rules.language, content=page.text,
        size_bytes=len(page.text.encode("utf-8")), source=raw.source, license="",
        license_type="no_license", stars=raw.stars, revision=raw.revision, content_hash=content_hash(page.text),
        meta=meta,
    )
