"""The size check of a web page's text, which counts its code blocks.

quality.yaml's `min_chars` (rules/web.yaml's `quality.min_chars` for pages) drops pages
with almost no text: error pages, redirect notices, index stubs. A reference page that
is one code declaration and a sentence is as short (rustdoc's `derive.Clone.html` is
`#[derive(Clone)]` and "Derive macro generating an impl of the trait Clone.", 96
characters), and it is the kind of page DeepSeek-Coder-V2 (arXiv 2406.11931) recalls
from the web for code. So a page that holds a code block, with every code block of the
page through extraction whole (none judged boilerplate), needs only
`code_page_min_chars` characters: a one-line declaration and one sentence.

The check runs in the extract stage, where a page's code blocks are known; the quality
stage sees only text, so `web_quality_rules` lowers its `min_chars` to the smaller of
the two minimums and does not drop those pages again.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackpipe.records import KEEP, Drop, FileRecord, Verdict
from stackpipe.rules import Rules

# The default of rules/web.yaml's `code_page_min_chars` (WebRules). None: code pages get no exception.
CODE_PAGE_MIN_CHARS = 60


@dataclass(frozen=True)
class PageTextRules:
    """min_chars: characters a page's text needs (quality.yaml's, with rules/web.yaml's
    `quality` overrides); code_page_min_chars: what a page with whole code blocks needs
    instead. None turns either off."""

    min_chars: int | None
    code_page_min_chars: int | None

    @property
    def floor(self) -> int | None:
        """The fewest characters any page may have."""
        if self.min_chars is None or self.code_page_min_chars is None:
            return self.min_chars
        return min(self.min_chars, self.code_page_min_chars)


def page_text_rules(rules: Rules) -> PageTextRules:
    """The page size thresholds of `rules` for web pages (their language's quality
    thresholds with rules/web.yaml's `quality` overrides)."""
    language = rules.web.language
    overrides = {**rules.quality.overrides.get(language, {}), **rules.web.quality}
    min_chars = overrides.get("min_chars", rules.quality.defaults.min_chars)
    return PageTextRules(min_chars, rules.web.code_page_min_chars)


def has_whole_code(record: FileRecord) -> bool:
    """Whether the extracted page holds a code block and left none out as boilerplate
    (the extract stage's `code_blocks` and `code_blocks_left_out` meta)."""
    return int(record.meta.get("code_blocks", "0")) > 0 and int(record.meta.get("code_blocks_left_out", "0")) == 0


def check_page_text(record: FileRecord, t: PageTextRules) -> Verdict:
    """Drop a page whose text is shorter than `min_chars`, unless it holds whole code
    blocks and reaches `code_page_min_chars`."""
    if t.min_chars is None:
        return KEEP
    size = len(record.content)
    if size >= t.min_chars:
        return KEEP
    if t.code_page_min_chars is not None and has_whole_code(record):
        if size >= t.code_page_min_chars:
            return KEEP
        return Drop("too_few_chars", f"chars={size} < code_page_min_chars={t.code_page_min_chars}")
    return Drop("too_few_chars", f"chars={size} < min_chars={t.min_chars} (no whole code block)")
