"""HTML page -> its main text, code blocks kept (resiliparse).

Encoding: the charset the HTTP Content-Type declares when Python knows it, else
resiliparse's detection (uchardet); `bytes_to_str` falls back to UTF-8 and cp1252.
Text: `extract_plain_text` with `main_content` heuristics and `preserve_formatting`, so
`<pre>` blocks keep their lines and indentation. The heuristics sometimes judge a code
listing boilerplate; a page where any `<pre>` block's text is missing from the extract
is extracted again without them (everything visible), so code is never lost.
"""

from __future__ import annotations

import codecs

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding
from resiliparse.parse.html import HTMLTree

from stackpipe.records import FileRecord, RawFile, Rejected, content_hash, rejected_from_raw
from stackpipe.rules import WebRules

STAGE = "extract"
CODE_LINE_CHARS = 8  # a <pre> line this long is used to recognise the block in the extract


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


def html_text(html: str, main_content: bool = True) -> tuple[str, int, bool]:
    """(text, number of <pre> blocks, whether the main-content pass was kept). No-break
    spaces (`&nbsp;`, which pydoc and many sites put between the words of code) become
    plain spaces."""
    tree = HTMLTree.parse(html)
    blocks = [_probe(element.text) for element in tree.body.query_selector_all("pre")] if tree.body else []
    blocks = [probe for probe in blocks if probe]
    if main_content:
        text = extract_plain_text(tree, preserve_formatting=True, main_content=True, alt_texts=False)
        if all(probe in text for probe in blocks):
            return _clean(text), len(blocks), True
    text = extract_plain_text(tree, preserve_formatting=True, main_content=False, alt_texts=False)
    return _clean(text), len(blocks), False


def _clean(text: str) -> str:
    return text.replace("\xa0", " ").strip()


def _probe(block: str) -> str:
    """The longest line of a <pre> block (stripped): present in any extract that kept it."""
    lines = [line.strip() for line in block.splitlines()]
    longest = max(lines, key=len, default="")
    return longest if len(longest) >= CODE_LINE_CHARS else ""


def extract_page(raw: RawFile, rules: WebRules) -> FileRecord | Rejected:
    """An HTML page as a text record of `rules.language`, or `empty_text` when nothing
    visible is left. Web pages state no licence: `license_type` is `no_license`."""
    encoding = page_encoding(raw.data, raw.meta.get("content_type", ""))
    html = bytes_to_str(raw.data, encoding, errors="replace")
    text, blocks, main = html_text(html, rules.main_content)
    if not text:
        return rejected_from_raw(raw, STAGE, "empty_text", "no visible text in the page")
    meta = {**raw.meta, "encoding": encoding, "html_bytes": str(len(raw.data)), "code_blocks": str(blocks),
            "extraction": "main_content" if main else "whole_page"}
    return FileRecord(
        id=raw.id, repo=raw.repo, path=raw.path, language=rules.language, content=text,
        size_bytes=len(text.encode("utf-8")), source=raw.source, license="",
        license_type="no_license", stars=raw.stars, revision=raw.revision, content_hash=content_hash(text),
        meta=meta,
    )
