"""The size check of web pages' text: short reference pages whose code came through are
kept, short pages without code are still dropped (stackpipe.web.quality)."""

from __future__ import annotations

import dataclasses

from stackpipe.quality import check_quality
from stackpipe.records import Drop, FileRecord, RawFile, Rejected
from stackpipe.rules import load_rules
from stackpipe.web.quality import PageTextRules, check_page_text, page_text_rules
from stackpipe.web.stages import ExtractPages, web_quality_rules

RULES = load_rules()

# rustdoc's page of a derive macro (std/clone/derive.Clone.html), furniture trimmed: the
# declaration and one sentence, 96 characters of text.
RUSTDOC_DERIVE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Clone in std::clone - Rust</title>
</head><body class="rustdoc derive"><a class="skip-main-content" href="#main-content">Skip to main content</a>
<rustdoc-topbar><h2><a href="#">Clone</a></h2></rustdoc-topbar>
<nav class="sidebar"><div class="sidebar-crate"><h2><a href="../../std/index.html">std</a>
<span class="version">1.95.0</span></h2></div><div id="rustdoc-modnav"><h2><a href="index.html">In std::clone</a></h2>
</div></nav><main><div class="width-limiter"><section id="main-content" class="content" tabindex="-1">
<div class="main-heading"><div class="rustdoc-breadcrumbs"><a href="../index.html">std</a>::<wbr>
<a href="index.html">clone</a></div><h1>Derive Macro <span class="derive">Clone</span>&nbsp;<button id="copy-path"
title="Copy item path to clipboard">Copy item path</button></h1><span class="sub-heading"><span class="since"
title="Stable since Rust version 1.38.0">1.38.0</span> ·
<a class="src" href="../../src/core/clone.rs.html#289">Source</a>
</span></div><pre class="rust item-decl"><code>#[derive(Clone)]</code></pre>
<details class="toggle top-doc" open><summary class="hideme"><span>Expand description</span></summary>
<div class="docblock"><p>Derive macro generating an impl of the trait <code>Clone</code>.</p></div></details>
</section></div></main></body></html>"""

# An mdBook chapter stub of the unstable book: a heading and one line, no code.
MDBOOK_STUB = """<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<title>step_trait - The Rust Unstable Book</title>
</head><body><div id="mdbook-body-container"><div id="mdbook-page-wrapper" class="page-wrapper"><div class="page">
<div id="mdbook-content" class="content"><main><h1 id="step_trait"><a class="header" href="#step_trait">
<code>step_trait</code></a></h1><p>The tracking issue for this feature is:
<a href="https://github.com/rust-lang/rust/issues/42168">#42168</a></p><hr></main></div></div></div></div>
</body></html>"""


def raw_page(html: str) -> RawFile:
    return RawFile(source="commoncrawl", repo="doc.rust-lang.org", path="https://doc.rust-lang.org/page.html",
                   data=html.encode(), meta={"content_type": "text/html; charset=utf-8"})


def text_record(content: str, code_blocks: int, left_out: int = 0) -> FileRecord:
    return FileRecord(id="x", repo="x.org", path="https://x.org/", language="Text", content=content,
                      size_bytes=len(content), source="commoncrawl",
                      meta={"code_blocks": str(code_blocks), "code_blocks_left_out": str(left_out)})


def test_short_reference_page_with_its_declaration_is_kept_to_the_end():
    """A declaration and a sentence, under quality.yaml's min_chars, passes extract and quality."""
    record = ExtractPages(RULES)(raw_page(RUSTDOC_DERIVE))
    assert isinstance(record, FileRecord), record
    assert "#[derive(Clone)]" in record.content and len(record.content) < page_text_rules(RULES).min_chars
    assert not isinstance(check_quality(record, web_quality_rules(RULES).quality), Drop)


def test_short_page_without_code_is_dropped_at_extract():
    result = ExtractPages(RULES)(raw_page(MDBOOK_STUB))
    assert isinstance(result, Rejected) and (result.stage, result.reason) == ("extract", "too_few_chars")
    assert "no whole code block" in result.record.meta["detail"]


def test_short_page_that_lost_a_code_block_needs_the_full_minimum():
    """Code judged boilerplate says the page is not whole: the lower minimum does not apply."""
    t = PageTextRules(min_chars=200, code_page_min_chars=60)
    verdict = check_page_text(text_record("pub struct LayoutErr;\n\n" + "A sentence about it. " * 4, 1, 1), t)
    assert isinstance(verdict, Drop) and verdict.reason == "too_few_chars"


def test_code_page_under_the_code_minimum_is_dropped():
    t = PageTextRules(min_chars=200, code_page_min_chars=60)
    verdict = check_page_text(text_record("Not found\n\nGET /x", 1), t)
    assert isinstance(verdict, Drop) and "code_page_min_chars=60" in verdict.detail


def test_no_code_minimum_keeps_the_full_minimum_for_every_page():
    t = PageTextRules(min_chars=200, code_page_min_chars=None)
    assert isinstance(check_page_text(text_record("x = 1\n\n" + "Words. " * 12, 1), t), Drop)
    assert t.floor == 200


def test_quality_stage_minimum_is_the_lower_of_the_two():
    sizes = page_text_rules(RULES)
    assert web_quality_rules(RULES).quality.for_language("Text").min_chars == sizes.floor
    assert sizes.floor == min(sizes.min_chars, sizes.code_page_min_chars)


def test_web_min_chars_override_is_read_from_web_rules():
    rules = dataclasses.replace(RULES, web=dataclasses.replace(RULES.web, quality={**RULES.web.quality,
                                                                                   "min_chars": 500}))
    assert page_text_rules(rules).min_chars == 500
