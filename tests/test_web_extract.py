"""Main text of web pages with their code blocks whole and in place, as a reader copies them.

Fragments are modelled on what the generators emit (mdBook, rustdoc, Sphinx, MkDocs
Material, Docusaurus, the Node.js and npm docs, Q&A sites, blogs); one test reads the
Rust book this machine's rustup installed, when it is there.
"""

from __future__ import annotations

import glob
import html
import re
from pathlib import Path

import pytest

from stackpipe.web.extract import html_text

PROSE = "<p>" + "This paragraph explains the example around it in plain words for the reader. " * 4 + "</p>"


def page(body: str, title: str = "Docs") -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"


def in_order(text: str, *parts: str) -> bool:
    positions = [text.find(part) for part in parts]
    return all(p >= 0 for p in positions) and positions == sorted(positions)


MDBOOK = page("""
<div id="mdbook-help-container"><div id="mdbook-help-popup"><h2 class="mdbook-help-title">Keyboard shortcuts</h2>
<div><p>Press <kbd>←</kbd> or <kbd>→</kbd> to navigate between chapters</p>
<p>Press <kbd>S</kbd> or <kbd>/</kbd> to search in the book</p></div></div></div>
<div id="mdbook-body-container">
<nav id="mdbook-sidebar" class="sidebar" aria-label="Table of contents"><div class="sidebar-scrollbox">
<ol class="chapter"><li class="chapter-item"><a href="ch08-01-vectors.html">8.1. Vectors</a></li></ol></div></nav>
<div id="mdbook-page-wrapper" class="page-wrapper"><div class="page">
<div id="mdbook-menu-bar" class="menu-bar sticky"><h1 class="menu-title">The Rust Programming Language</h1></div>
<div id="mdbook-content" class="content"><main>
<h2 id="creating"><a class="header" href="#creating">Creating a New Vector</a></h2>
<p>Listing 8-2 creates a new <code>Vec&lt;i32&gt;</code> that holds the values 1, 2, and 3.</p>
<figure class="listing" id="listing-8-2">
<pre class="playground"><code class="language-rust edition2024"><span class="boring">fn main() {
</span>    let v = vec![1, 2, 3];
<span class="boring">}</span></code></pre>
<figcaption><a href="#listing-8-2">Listing 8-2</a>: Creating a new vector containing values</figcaption>
</figure>
<p>Because we’ve given initial <code>i32</code> values, Rust can infer the type of <code>v</code>.</p>
</main>
<nav class="nav-wrapper" aria-label="Page navigation">
<a rel="prev" href="ch08-00.html" title="Previous chapter">←</a></nav>
</div></div></div></div>
""")


def test_mdbook_listing_in_a_figure_is_kept_without_its_hidden_lines():
    extracted = html_text(MDBOOK)
    assert "\n    let v = vec![1, 2, 3];\n" in extracted.text
    assert "fn main() {" not in extracted.text  # mdBook's `boring` lines are hidden from readers
    assert in_order(extracted.text, "holds the values 1, 2, and 3.", "let v = vec!",
                    "Listing 8-2: Creating a new vector", "Because we’ve given")


def test_mdbook_keyboard_help_is_left_out():
    text = html_text(MDBOOK).text
    assert "Keyboard shortcuts" not in text and "navigate between chapters" not in text


def test_mdbook_menu_bar_title_is_left_out():
    """The book's title in the bar above every chapter is site furniture, not the chapter's text."""
    assert "The Rust Programming Language" not in html_text(MDBOOK).text


def test_rustdoc_source_line_numbers_are_not_copied():
    listing = ('<div class="example-wrap digits-1"><pre class="rust"><code>'
               '<a href=#1 id=1 data-nosnippet>1</a><span class="kw">pub fn </span>greet() {\n'
               '<a href=#2 id=2 data-nosnippet>2</a>    <span class="macro">println!</span>(<span class="string">'
               '"hello &amp; welcome"</span>);\n<a href=#3 id=3 data-nosnippet>3</a>}</code></pre></div>')
    text = html_text(page(f"<main><section id='main-content' class='content'>{PROSE}{listing}</section></main>")).text
    assert 'pub fn greet() {\n    println!("hello & welcome");\n}' in text


def test_rustdoc_where_clause_stands_on_its_own_lines():
    declaration = ('<pre class="rust item-decl"><code>pub struct Vec&lt;T, A = <a class="struct" href="#">Global</a>'
                   '&gt;<div class="where">where\n    A: <a class="trait" href="#">Allocator</a>,</div>{ '
                   '<span class="comment">/* private fields */</span> }</code></pre>')
    text = html_text(page(f"<main>{declaration}{PROSE}</main>")).text
    assert "pub struct Vec<T, A = Global>\nwhere\n    A: Allocator,\n{ /* private fields */ }" in text


def test_rustdoc_notable_traits_marker_is_not_copied():
    declaration = ('<pre class="rust item-decl"><code>pub fn once&lt;T&gt;(value: T) -&gt; <a class="struct" '
                   'href="struct.Once.html">Once</a>&lt;T&gt; <a href="#" class="tooltip" '
                   'data-notable-ty="Once&lt;T&gt;">ⓘ</a></code></pre>')
    text = html_text(page(f"<main>{declaration}{PROSE}</main>")).text
    assert "pub fn once<T>(value: T) -> Once<T>\n" in text and "ⓘ" not in text


def test_rustdoc_methods_toggle_ending_its_line_adds_no_blank_line():
    """A block element inside the code whose text ends with a line break (rustdoc's
    "Show 25 methods" `<details>`) needs no second break after it."""
    declaration = ('<pre class="rust item-decl"><code>pub trait SimdInt: Copy {\n    type Mask;\n\n'
                   '<details class="toggle type-contents-toggle"><summary class="hideme"><span>Show 2 methods</span>'
                   '</summary>    // Required methods\n'
                   '    fn <a href="#tymethod.abs" class="fn">abs</a>(self) -&gt; Self;\n'
                   '    fn <a href="#tymethod.neg" class="fn">neg</a>(self) -&gt; Self;\n</details>}</code></pre>')
    text = html_text(page(f"<main>{declaration}{PROSE}</main>")).text
    assert "    fn abs(self) -> Self;\n    fn neg(self) -> Self;\n}" in text

def test_sphinx_highlighted_code_is_decoded():
    listing = ('<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span>'
               '<span class="gp">&gt;&gt;&gt; </span><span class="kn">import</span> <span class="nn">json</span>\n'
               '<span class="gp">&gt;&gt;&gt; </span><span class="n">json</span><span class="o">.</span>'
               '<span class="n">dumps</span><span class="p">([</span><span class="s1">&#39;foo&#39;</span>'
               '<span class="p">,</span> <span class="p">{</span><span class="s1">&#39;bar&#39;</span>'
               '<span class="p">:</span> <span class="kc">None</span><span class="p">}])</span>\n'
               '<span class="go">&#39;[&quot;foo&quot;, {&quot;bar&quot;: null}]&#39;</span>\n</pre></div></div>')
    body = f'<div class="document"><div class="body" role="main"><section>{PROSE}{listing}</section></div></div>'
    text = html_text(page(body)).text
    assert ">>> import json\n>>> json.dumps(['foo', {'bar': None}])\n'[\"foo\", {\"bar\": null}]'" in text


def test_line_number_gutter_is_no_code_block():
    table = ('<div class="highlight-python notranslate"><table class="highlighttable"><tr>'
             '<td class="linenos"><div class="linenodiv"><pre><span class="normal">1</span>\n'
             '<span class="normal">2</span></pre></div></td><td class="code"><div class="highlight"><pre><span></span>'
             'total = 0\nfor n in range(10):\n    total += n\n</pre></div></td></tr></table></div>')
    extracted = html_text(page(f"<div role='main'>{PROSE}{table}{PROSE}</div>"))
    assert "total = 0\nfor n in range(10):\n    total += n" in extracted.text
    assert extracted.code_blocks == 1 and not re.search(r"(?m)^1\n2$", extracted.text)


def test_prism_line_numbers_block_is_kept():
    """Prism marks the code block itself `line-numbers`; its numbers are an empty span."""
    listing = ('<pre class="line-numbers language-ruby"><code class="language-ruby"><span class="token keyword">def'
               '</span> hello\n  <span class="token function">puts</span> <span class="token string">"hi"</span>\n'
               '<span class="token keyword">end</span><span aria-hidden="true" class="line-numbers-rows"><span></span>'
               '<span></span><span></span></span></code></pre>')
    text = html_text(page(f"<article class='post'>{PROSE}{listing}</article>")).text
    assert 'def hello\n  puts "hi"\nend' in text


def test_hugo_line_number_table_gives_the_code_alone():
    listing = ('<div class="highlight"><div class="chroma"><table class="lntable"><tr><td class="lntd">'
               '<pre tabindex="0" class="chroma"><code><span class="lnt">1\n</span><span class="lnt">2\n</span>'
               '</code></pre></td><td class="lntd"><pre tabindex="0" class="chroma"><code class="language-go" '
               'data-lang="go"><span class="line"><span class="cl"><span class="kd">func</span> <span class="nf">main'
               '</span><span class="p">()</span> <span class="p">{}</span>\n</span></span><span class="line">'
               '<span class="cl"><span class="c1">// done</span>\n</span></span></code></pre></td></tr></table>'
               '</div></div>')
    extracted = html_text(page(f"<article class='post'>{PROSE}{listing}</article>"))
    assert "func main() {}\n// done" in extracted.text and extracted.code_blocks == 1
    assert not re.search(r"(?m)^1$", extracted.text)


def test_github_line_table_is_one_code_block():
    rows = "".join(f'<tr><td id="L{i}" class="blob-num js-line-number" data-line-number="{i}"></td>'
                   f'<td id="LC{i}" class="blob-code blob-code-inner js-file-line">{line}</td></tr>'
                   for i, line in enumerate(["def add(a, b):", "    return a + b"], 1))
    table = f'<div class="blob-wrapper"><table class="highlight tab-size js-file-line-container">{rows}</table></div>'
    text = html_text(page(f"<main>{PROSE}{table}</main>")).text
    assert "def add(a, b):\n    return a + b" in text


def test_vitepress_shiki_lines_without_the_language_label():
    listing = ('<div class="language-js vp-adaptive-theme"><button title="Copy Code" class="copy"></button>'
               '<span class="lang">js</span><pre class="shiki shiki-themes github-light github-dark vp-code" '
               'tabindex="0"><code><span class="line"><span style="--shiki-light:#D73A49;">export</span>'
               '<span style="--shiki-light:#24292E;"> default {</span></span>\n<span class="line">'
               '<span style="--shiki-light:#24292E;">  title: </span><span style="--shiki-light:#032F62;">'
               '&#39;VitePress&#39;</span></span>\n<span class="line"><span>}</span></span></code></pre></div>')
    text = html_text(page(f'<div class="VPDoc"><main class="main"><div class="vp-doc">{PROSE}{listing}</div></main>'
                          '</div>')).text
    assert "export default {\n  title: 'VitePress'\n}" in text and "js" not in text.split()


def test_doxygen_fragment_is_one_block_without_line_numbers():
    lines = ['<span class="preprocessor">#include &lt;stdio.h&gt;</span>', ' ',
             '<span class="keywordtype">int</span> main() {',
             '    printf(<span class="stringliteral">&quot;hi&quot;</span>);', '}']
    fragment = '<div class="fragment">' + "\n".join(
        f'<div class="line"><a id="l{i:05d}" name="l{i:05d}"></a><span class="lineno">{i:5d}</span>{line}</div>'
        for i, line in enumerate(lines, 1)) + "</div>"
    extracted = html_text(page(f'<div class="contents">{PROSE}{fragment}</div>'))
    assert '#include <stdio.h>\n\nint main() {\n    printf("hi");\n}' in extracted.text
    assert extracted.code_blocks == 1



def test_doxygen_project_title_area_is_left_out():
    """Doxygen's `#titlearea` (project name, number and brief above every page) is site
    furniture: the manual's pages began with a line "Doxygen"."""
    top = ('<div id="top"><div id="titlearea"><table cellspacing="0" cellpadding="0"><tbody>'
           '<tr id="projectrow"><td id="projectalign"><div id="projectname">Libfoo<span id="projectnumber">'
           '&#160;2.1</span></div><div id="projectbrief">A library of foos</div></td></tr></tbody></table>'
           '</div></div><div id="side-nav" class="ui-resizable side-nav-resizable"><div id="nav-tree">'
           '</div></div>')
    body = ('<div id="doc-content"><div><div class="header"><div class="headertitle"><div class="title">Lists'
            f'</div></div></div><div class="contents"><div class="textblock">{PROSE}</div></div></div></div>')
    text = html_text(page(top + body, title="Libfoo: Lists")).text
    assert "Lists" in text and "explains the example" in text
    assert "Libfoo" not in text and "A library of foos" not in text
def test_gtk_doc_line_numbers_are_no_block():
    listing = ('<div class="informalexample"><table class="listing_frame" border="0" cellpadding="0" cellspacing="0">'
               '<tbody><tr><td class="listing_lines" align="right"><pre>1\n2</pre></td><td class="listing_code">'
               '<pre class="programlisting"><span class="n">GList</span> <span class="o">*</span>list <span class="o">='
               '</span> NULL<span class="p">;</span>\nlist <span class="o">=</span> g_list_append (list, '
               '<span class="s">&quot;first&quot;</span>);</pre></td></tr></tbody></table></div>')
    extracted = html_text(page(f'<div class="refsect2">{PROSE}{listing}</div>'))
    assert 'GList *list = NULL;\nlist = g_list_append (list, "first");' in extracted.text
    assert extracted.code_blocks == 1 and not re.search(r"(?m)^1\n2$", extracted.text)


def test_cookie_banner_is_left_out():
    banner = ('<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk" role="region" aria-label="Cookie banner">'
              '<div id="onetrust-policy-text">We use cookies to improve your experience on our site.</div>'
              '<button id="onetrust-accept-btn-handler">Accept All Cookies</button></div></div>')
    text = html_text(page(f"<main>{PROSE}<pre>make install</pre></main>{banner}")).text
    assert "We use cookies" not in text and "make install" in text


def prism_lines(*lines: str) -> str:
    """Docusaurus's rendering of code lines: a span per line, ended by `<br>`, tokens in spans."""
    return "".join(f'<span class="token-line" style="color:#393A34"><span class="token plain">{html.escape(line)}'
                   f'</span><br></span>' for line in lines)


def docusaurus_tab(language: str, lines: tuple[str, ...], hidden: bool) -> str:
    return (f'<div role="tabpanel" class="tabItem_Ymn6"{" hidden" if hidden else ""}><div class="language-{language} '
            f'codeBlockContainer_Ckt0 theme-code-block"><div class="codeBlockContent_biex"><pre tabindex="0" '
            f'class="prism-code language-{language} codeBlock_bY9V thin-scrollbar"><code class="codeBlockLines_e6Vv">'
            f'{prism_lines(*lines)}</code></pre><div class="buttonGroup__atx"><button type="button" '
            f'aria-label="Copy code to clipboard" title="Copy" class="clean-btn">Copy</button></div></div></div></div>')


DOCUSAURUS_TABS = (
    '<div class="tabs-container tabList__CuJ"><ul role="tablist" aria-orientation="horizontal" class="tabs">'
    '<li role="tab" tabindex="0" aria-selected="true" class="tabs__item tabs__item--active">JavaScript</li>'
    '<li role="tab" tabindex="-1" aria-selected="false" class="tabs__item">TypeScript</li></ul>'
    '<div class="margin-top--md">'
    + docusaurus_tab("js", ("module.exports = {", "  title: 'My Site',", "};"), hidden=False)
    + docusaurus_tab("ts", ("export default {", "  title: 'My Site',", "} satisfies Config;"), hidden=True)
    + "</div></div>"
)


def test_docusaurus_tabs_keep_every_tab_with_its_line_breaks():
    body = (f'<div class="main-wrapper"><main><article><div class="markdown">{PROSE}{DOCUSAURUS_TABS}</div>'
            '</article></main></div>')
    text = html_text(page(body)).text
    assert "module.exports = {\n  title: 'My Site',\n};" in text
    assert "export default {\n  title: 'My Site',\n} satisfies Config;" in text  # the tab a reader has to click
    assert "Copy" not in text.split()


def test_node_module_flavours_are_two_listings_without_the_copy_button():
    listing = ('<pre class="with-39-chars"><input class="js-flavor-toggle" type="checkbox" checked '
               'aria-label="Show modern ES modules syntax"><code class="language-js mjs">'
               '<span class="hljs-keyword">import</span> * <span class="hljs-keyword">as</span> fs '
               '<span class="hljs-keyword">from</span> <span class="hljs-string">\'node:fs/promises\'</span>;</code>'
               '<code class="language-js cjs"><span class="hljs-keyword">const</span> fs = <span class="hljs-built_in">'
               'require</span>(<span class="hljs-string">\'node:fs/promises\'</span>);</code>'
               '<button class="copy-button">copy</button></pre>')
    text = html_text(page(f'<div id="content"><div id="apicontent">{PROSE}{listing}</div></div>')).text
    assert "import * as fs from 'node:fs/promises';\n\nconst fs = require('node:fs/promises');" in text
    assert "copy" not in text.split()


def test_sphinx_grammar_production_keeps_its_names_on_one_line():
    """`<code>` children among other text are inline names, not tabs of a widget."""
    production = ('<pre><strong id="grammar-token-python-grammar-subject_expr">subject_expr</strong> ::=  '
                  '<code class="xref docutils literal notranslate">'
                  '<span class="pre">star_named_expression</span></code>'
                  ' &quot;,&quot; <code class="xref docutils literal notranslate"><span class="pre">'
                  'star_named_expressions</span></code>?\n             | <a class="reference internal" '
                  'href="#grammar-token-python-grammar-named_expression"><code class="xref docutils literal '
                  'notranslate"><span class="pre">named_expression</span></code></a>\n</pre>')
    body = f'<div class="body" role="main"><section id="the-match-statement">{PROSE}{production}</section></div>'
    text = html_text(page(body)).text
    assert ('subject_expr ::=  star_named_expression "," star_named_expressions?\n'
            '             | named_expression') in text

def test_listings_in_details_and_admonitions_are_kept():
    body = ('<div class="md-content" data-md-component="content"><article class="md-content__inner md-typeset">'
            f'{PROSE}<details class="example"><summary>Example</summary><div class="highlight"><pre><span></span>'
            '<code>print("from details")\n</code></pre></div></details>'
            '<div class="admonition note"><p class="admonition-title">Note</p><div class="highlight"><pre><span></span>'
            '<code>print("from a note")\n</code></pre></div></div></article></div>')
    text = html_text(page(body)).text
    assert 'print("from details")' in text and 'print("from a note")' in text


def test_code_lines_broken_by_br_are_one_block():
    body = (f"<div class='post-content'>{PROSE}<p><code>if (ready) {{<br>&nbsp;&nbsp;&nbsp;&nbsp;start();<br>}}"
            f"</code></p>{PROSE}</div>")
    extracted = html_text(page(body))
    assert "if (ready) {\n    start();\n}" in extracted.text and extracted.code_blocks == 1


def test_inline_code_spanning_source_lines_stays_prose():
    """A browser shows a line break inside inline `<code>` as a space (DocBook's option lists)."""
    body = (f'<div class="chapter">{PROSE}<dl><dt><span class="term"><code class="option">'
            '--main-stacksize=&lt;number&gt;'
            '\n      [default: use current \'ulimit\' value] </code></span></dt><dd><p>Specifies the main thread\'s '
            'stack size.</p></dd></dl></div>')
    extracted = html_text(page(body))
    assert extracted.code_blocks == 0 and "--main-stacksize=<number>" in extracted.text


def test_list_holding_a_code_block_is_kept_with_its_prose():
    """resiliparse takes a list near the top of the body for a menu; one that holds code is content (npm docs)."""
    body = ('<section id="content"><div id="_content"><h2>Description</h2><ul><li>'
            '<p><code>npm diff --diff=&lt;spec-a&gt; --diff=&lt;spec-b&gt;</code></p>'
            '<p>Compares two package versions using their registry specifiers.</p>'
            '<pre><code class="language-bash">npm diff --diff=abbrev@1.1.0 --diff=abbrev@1.1.1\n</code></pre>'
            '</li></ul></div></section>')
    text = html_text(page(body)).text
    assert "Compares two package versions" in text and "npm diff --diff=abbrev@1.1.0 --diff=abbrev@1.1.1" in text


def test_code_blocks_keep_document_order():
    body = f"<main><p>First step.</p>{PROSE}<pre>step_one()</pre><p>Second step.</p><pre>step_two()</pre></main>"
    assert in_order(html_text(page(body)).text, "First step.", "step_one()", "Second step.", "step_two()")


def test_edit_this_page_link_is_left_out():
    body = (f'<main><article><div class="markdown">{PROSE}<pre>npm run build</pre></div>'
            '<footer class="theme-doc-footer docusaurus-mt-lg">'
            '<div class="row margin-top--sm theme-doc-footer-edit-meta-row">'
            '<div class="col"><a href="https://github.com/org/site/edit/main/docs/intro.md" target="_blank" '
            'class="theme-edit-this-page">Edit this page</a></div></div></footer></article></main>')
    text = html_text(page(body)).text
    assert "Edit this page" not in text and "npm run build" in text


def test_answer_code_on_a_qa_page_is_kept():
    body = ('<div id="content"><div id="mainbar" role="main"><div id="question" class="question">'
            '<div class="s-prose js-post-body" itemprop="text"><p>How do I square the numbers up to ten?</p>'
            '</div></div>'
            '<div id="answers"><div class="answer js-answer accepted-answer">'
            '<div class="answercell post-layout--right">'
            '<div class="s-prose js-post-body" itemprop="text"><p>Use a list comprehension:</p>'
            '<pre class="lang-py s-code-block"><code class="hljs language-python">squares = [x * x '
            '<span class="hljs-keyword">for</span> x <span class="hljs-keyword">in</span> '
            '<span class="hljs-built_in">range</span>(<span class="hljs-number">10</span>)]\n</code></pre>'
            '</div></div></div></div></div></div>')
    text = html_text(page(body)).text
    assert in_order(text, "Use a list comprehension:", "squares = [x * x for x in range(10)]")


def test_docbook_table_of_contents_is_left_out():
    body = ('<div class="chapter"><div class="titlepage"><h1 class="title">4. Memcheck: a memory error detector</h1>'
            '</div><div class="toc"><p><b>Table of Contents</b></p><dl class="toc">'
            '<dt><span class="sect1"><a href="#mc-manual.overview">4.1. Overview</a></span></dt>'
            '<dt><span class="sect1"><a href="#mc-manual.errormsgs">4.2. Explanation of error messages</a></span></dt>'
            f'</dl></div>{PROSE}<pre class="programlisting">valgrind --tool=memcheck ./prog</pre></div>')
    text = html_text(page(body)).text
    assert "Table of Contents" not in text and "4.1. Overview" not in text
    assert "valgrind --tool=memcheck ./prog" in text


def test_npm_table_of_contents_section_is_left_out():
    body = ('<section id="content"><header class="title"><h1>npm-install</h1></header>'
            '<section id="table_of_contents"><h2 id="table-of-contents">Table of contents</h2>'
            '<div id="_table_of_contents"><ul><li><a href="#synopsis">Synopsis</a></li>'
            '<li><a href="#description">Description</a></li></ul></div></section>'
            f'<div id="_content"><h2 id="synopsis">Synopsis</h2><pre><code class="language-bash">npm install '
            f'[&lt;package-spec&gt; ...]</code></pre>{PROSE}</div></section>')
    text = html_text(page(body)).text
    assert "Table of contents" not in text and "npm install [<package-spec> ...]" in text


def test_sections_after_self_closing_anchors_are_kept():
    """An XHTML `<a name="x"/>` is an empty anchor, not a link around the rest of the page (gtk-doc)."""
    sections = "".join(
        f'<div class="refsect2" lang="en"><h3><a name="xsltFunc{i}"/>xsltFunc{i} ()</h3>'
        f'<pre class="programlisting">int\txsltFunc{i}\t(xsltTransformContextPtr ctxt)</pre>'
        f'<p>Does the work number {i} of the transformation for the given context and reports errors.</p></div><hr/>'
        for i in range(1, 6))
    body = f'<div class="refsect1" lang="en"><h2>Details</h2><div class="refsect2" lang="en">{sections}</div></div>'
    extracted = html_text(page(body))
    assert extracted.code_kept == extracted.code_blocks == 5
    assert in_order(extracted.text, "int\txsltFunc1\t(", "Does the work number 1", "int\txsltFunc5\t(")


def test_code_block_made_of_named_anchors_is_kept():
    """gtk-doc puts an anchor on every enum value: the block reads as code, not as a cluster of links."""
    names = ["COPY_TEXT", "PROCESS_NODE", "APPLY_TEMPLATE", "COPY", "COMMENT", "PI", "COPY_OF", "VALUE_OF"]
    values = "\n".join(f'    <a name="XSLT_TRACE_{name}">XSLT_TRACE_{name}</a> = {1 << i}' for i, name in enumerate(names))
    listing = (f'<pre class="programlisting">enum <a href="#xsltDebugTraceCodes">xsltDebugTraceCodes</a> {{\n'
               f'{values}\n}};\n</pre>')
    body = (f'<div class="refsect1" lang="en"><h2>Details</h2>{PROSE}<div class="refsect2" lang="en">'
            f'<div class="refsect2" lang="en"><h3><a name="xsltDebugTraceCodes">Enum </a>xsltDebugTraceCodes</h3>'
            f'{listing}<p></p></div></div></div>')
    text = html_text(page(body)).text
    assert "enum xsltDebugTraceCodes {\n    XSLT_TRACE_COPY_TEXT = 1\n" in text and "XSLT_TRACE_VALUE_OF = 128\n};" in text


def test_list_item_whose_note_is_mostly_links_keeps_its_code_block():
    """resiliparse drops a list whose link text is over a fifth of its text; a MkDocs option's note links out."""
    option = ('<li><p><strong><code>gtag</code></strong>: See the documentation to '
              '<a href="https://support.example.com/a">Set up Analytics for a website and/or app (GA4)</a> or to '
              '<a href="https://support.example.com/b">Upgrade to a Google Analytics 4 property</a>.</p>'
              '<pre class="highlight"><code class="language-yaml">theme:\n    analytics:\n        gtag: G-ABC123'
              '</code></pre></li>')
    body = (f'<div class="container"><div class="row"><div class="col-md-9" role="main">{PROSE}<ul><li>'
            f'<p><strong><code>analytics</code></strong>: Defines the analytics service.</p><ul>{option}</ul></li>'
            '</ul></div></div></div>')
    text = html_text(page(body)).text
    assert "theme:\n    analytics:\n        gtag: G-ABC123" in text and "Set up Analytics" in text


def test_list_of_cross_referenced_changes_keeps_its_code_block():
    """Sphinx's links carry a class and a title; in a list that holds code they are text all the same."""
    ref = ('<a class="reference internal" href="../library/asyncio-eventloop.html#asyncio.Server.{0}" '
           'title="asyncio.Server.{0}"><code class="xref py py-meth docutils literal notranslate">'
           '<span class="pre">Server.{0}()</span></code></a>')
    items = "".join(f'<li><p>The new {ref.format(name)} method is documented.</p></li>'
                    for name in ("start_serving", "serve_forever", "is_serving", "get_loop", "close"))
    listing = ('<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span>'
               'srv = await loop.create_server(...)\n\nasync with srv:\n    # some code\n</pre></div></div>')
    body = (f'<div class="document"><div class="documentwrapper"><div class="bodywrapper"><div class="body" '
            f'role="main"><section id="asyncio"><h3>asyncio</h3>{PROSE}<ul class="simple">{items}'
            f'<li><p>Server objects are now asynchronous context managers:</p>{listing}</li></ul></section></div>'
            '</div></div></div>')
    text = html_text(page(body)).text
    assert "srv = await loop.create_server(...)\n\nasync with srv:\n    # some code" in text

def test_sphinx_sidebar_aside_holding_code_is_kept():
    """docutils renders `.. sidebar::` as an `<aside>`, which resiliparse always leaves out."""
    sidebar = ('<aside class="sidebar"><p class="sidebar-title">Hello World!</p>'
               '<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span>'
               '<span class="kn">import</span> <span class="nn">asyncio</span>\n</pre></div></div></aside>')
    body = (f'<div class="document"><div class="documentwrapper"><div class="bodywrapper"><div class="body" '
            f'role="main"><section id="asyncio">{sidebar}{PROSE}</section></div></div></div></div>')
    text = html_text(page(body)).text
    assert "import asyncio" in text and "Hello World!" in text


def sphinx_body(sections: str) -> str:
    return (f'<div class="document"><div class="documentwrapper"><div class="bodywrapper"><div class="body" '
            f'role="main"><section id="whats-new">{PROSE}{sections}{PROSE}</section></div></div></div></div>')


@pytest.mark.parametrize("anchor, heading", [
    ("new-features-related-to-type-hints", "New Features Related to Type Hints"),  # "related": related posts
    ("recommended-configuration", "Recommended configuration"),  # "recommended": teasers
    ("print-is-a-function", "Print Is A Function"),  # "print-": print-only elements
    ("manifest-related-options", '<span class="section-number">4.2. </span>Manifest-related options'),
])
def test_sphinx_section_named_like_furniture_keeps_its_code(anchor, heading):
    """docutils names a section after its heading; an anchor that reads like a layout name
    to resiliparse must not cost the section its code."""
    section = (f'<section id="{anchor}"><span id="label"></span><h2>{heading}<a class="headerlink" href="#{anchor}" '
               'title="Permalink to this heading">¶</a></h2><p>In previous versions a union was spelled out:</p>'
               '<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span>'
               '<span class="k">def</span> <span class="nf">square</span><span class="p">(</span>number: int '
               '<span class="o">|</span> float<span class="p">):</span>\n    <span class="k">return</span> number '
               '<span class="o">**</span> <span class="mi">2</span>\n</pre></div></div></section>')
    extracted = html_text(page(sphinx_body(section)))
    assert "def square(number: int | float):\n    return number ** 2" in extracted.text
    assert "a union was spelled out" in extracted.text and extracted.code_kept == extracted.code_blocks == 1


def test_section_whose_id_is_no_heading_anchor_is_still_judged_by_it():
    """Only heading anchors lose their id: a `related` block named so by a theme stays out."""
    related = ('<section id="related"><h2>Read next</h2><ul><li><a href="/a">Another post</a></li></ul>'
               '<pre>pip install other-thing</pre></section>')
    extracted = html_text(page(sphinx_body(related)))
    assert "pip install other-thing" not in extracted.text


def test_code_in_a_footnote_is_kept():
    """docutils 0.18+ writes footnotes as asides inside an aside (`footnote-list`)."""
    footnotes = ('<aside class="footnote-list brackets"><aside class="footnote brackets" id="cols" role="note">'
                 '<span class="label"><span class="fn-bracket">[</span><a role="doc-backlink" href="#id2">2</a>'
                 '<span class="fn-bracket">]</span></span><p>Columns:</p><div class="highlight-none notranslate">'
                 '<div class="highlight"><pre><span></span>X - PyType_Ready sets this value if it is NULL\n'
                 '~ - PyType_Ready always sets this value (it should be NULL)\n</pre></div></div></aside></aside>')
    text = html_text(page(sphinx_body(footnotes))).text
    assert "X - PyType_Ready sets this value if it is NULL\n~ - PyType_Ready always sets this value" in text

def test_site_sidebar_aside_stays_out():
    body = (f'<aside class="sidebar"><pre>curl -sL https://example.com/install | sh</pre></aside>'
            f'<main><article>{PROSE}<pre>make install</pre></article></main>')
    text = html_text(page(body)).text
    assert "curl -sL" not in text and "make install" in text


RUST_BOOK = sorted(glob.glob("/root/.rustup/toolchains/*/share/doc/rust/html/book/ch08-01-vectors.html")) or sorted(
    glob.glob(str(Path.home() / ".rustup/toolchains/*/share/doc/rust/html/book/ch08-01-vectors.html")))


@pytest.mark.skipif(not RUST_BOOK, reason="no Rust book installed by rustup on this machine")
def test_rust_book_chapter_keeps_every_listing_whole_and_in_order():
    html = Path(RUST_BOOK[0]).read_text(encoding="utf-8")
    extracted = html_text(html)
    blocks = re.findall(r"<pre[^>]*>(.*?)</pre>", html.split("<main>", 1)[1].split("</main>", 1)[0], re.S)
    assert blocks and extracted.code_kept == extracted.code_blocks == len(blocks)
    # one listing, as a reader copies it: no hidden lines, entities decoded
    assert "    let third: &i32 = &v[2];\n    println!(\"The third element is {third}\");" in extracted.text
    assert "Keyboard shortcuts" not in extracted.text
