"""HTML page -> its main text, code blocks kept whole and in place (resiliparse).

Encoding: the charset the HTTP Content-Type declares when Python knows it, else
resiliparse's detection (uchardet); `bytes_to_str` falls back to UTF-8 and cp1252.
Text: resiliparse's `extract_plain_text` with its `main_content` heuristics and
`preserve_formatting`. Code blocks are protected from it (stackpipe.web.codeblocks): each
comes out as a reader copies it, where resiliparse put it. What resiliparse is told to
skip on top of its own heuristics is page furniture that it keeps otherwise: images
(their alt texts; `alt_texts=False` would also skip `<figure>`, where mdBook puts its
listings), keyboard-shortcut help, cookie and consent banners, "edit this page" links.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from stackpipe.records import FileRecord, RawFile, Rejected, content_hash, rejected_from_raw
from stackpipe.rules import WebRules
from stackpipe.web.codeblocks import GUTTERS, protect_code_blocks, restore_code_blocks

STAGE = "extract"
# Skipped elements (CSS selectors, for resiliparse's `skip_elements`).
SKIPPED = (
    # media: their alt texts are no page text
    "img", "svg", "picture", "video", "audio", "object", "embed", "area", "canvas",
    # line numbers beside code blocks, VitePress's language label above them
    *GUTTERS.split(", "), "div[class*=language-] > span.lang",
    # skip links, heading permalinks (Sphinx, MkDocs, Docusaurus, VitePress, Node.js, rustdoc)
    "a[class*=skip]", "a.headerlink", "a.anchor", "a.anchor-link", "a.hash-link", "a.header-anchor",
    "a.heading-anchor", "a.anchorjs-link", "a.doc-anchor", "h1 a.mark", "h2 a.mark", "h3 a.mark", "h4 a.mark",
    # rustdoc: version and source links, the toggles' "Expand description"
    ".rightside", ".main-heading .sub-heading", "a.src", "summary.hideme",
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
    protected = protect_code_blocks(html)
    text = extract_plain_text(protected.html, preserve_formatting=True, main_content=main_content, alt_texts=True,
                              skip_elements=list(SKIPPED))
    text, kept = restore_code_blocks(text, protected)
    return PageText(text.replace("\xa0", " "), len(protected.blocks), len(kept))


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
