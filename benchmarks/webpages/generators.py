"""Documentation generators found on this machine, and each one's rules (SPEC.md §1-2).

A `Generator` says where its pages are, which URL a crawler would have fetched each from,
and how to read a page: the main-content root, the furniture inside or around it, which
elements inside a code block a reader's copy leaves out (copy buttons, line numbers,
hidden lines), and the regions whose text is boilerplate. Rules were written from the
generated HTML and the generators' own copy-button scripts, never from the extractor.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.webpages.dom import Selector, selectors

RUST = "/root/.rustup/toolchains/*/share/doc/rust/html"
MDBOOKS = ("book", "cargo", "clippy", "edition-guide", "embedded-book", "error_codes", "nomicon",
           "reference", "rust-by-example", "rustc", "rustdoc", "style-guide", "unstable-book")
RUSTDOC_CRATES = ("std", "core", "alloc", "proc_macro", "test")
RUSTDOC_KINDS = ("struct", "trait", "fn", "enum", "macro", "primitive", "type", "constant",
                 "union", "keyword", "attr", "derive")
# in-page tables of contents, anchors and "copy"/"run" buttons are never main content
COMMON_FURNITURE = ("script", "style", "noscript", "button", "input", "select", "nav", "a.headerlink")


@dataclass(frozen=True, kw_only=True)
class Generator:
    """One documentation generator's pages and reading rules.

    name: short id used in reports and split keys.
    root: glob of the local folder holding the site (the first match is used).
    patterns: globs under `root` of candidate pages; `exclude`: name fragments to skip.
    url: URL prefix standing for `root` (a page's URL is prefix + its relative path).
    main: selectors of the main-content root, first one found wins (else `body`).
    furniture: selectors of subtrees inside the main root that are not main content.
    hidden: selectors inside a code block that a reader's copy leaves out.
    boilerplate: selectors of regions (anywhere in the page) whose text lines are
        boilerplate; `furniture` regions count too.
    blocks: selectors of code blocks besides `<pre>` (blocks that are not `<pre>`).
    prose: selectors of prose paragraphs (an element holding block-level children is
        not a paragraph itself).
    copy_rule: how the site's copy button treats hidden lines, for SPEC.md and reports.
    """

    name: str
    root: str
    patterns: tuple[str, ...]
    url: str
    main: tuple[str, ...]
    furniture: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    boilerplate: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    prose: tuple[str, ...] = ("p",)
    copy_rule: str = "no hidden lines; the copy is the block's text"
    sel: dict[str, tuple[Selector, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self.sel.update(main=selectors(*self.main),
                        furniture=selectors(*COMMON_FURNITURE, *self.furniture),
                        hidden=selectors("button", "input", "script", "style", *self.hidden),
                        boilerplate=selectors(*self.boilerplate),
                        blocks=selectors("pre", *self.blocks),
                        prose=selectors(*self.prose))

    def site(self) -> Path | None:
        found = sorted(glob.glob(self.root))
        return Path(found[-1]) if found else None


GENERATORS = (
    Generator(
        name="mdbook", root=RUST,
        patterns=tuple(f"{book}/**/*.html" for book in MDBOOKS),
        exclude=("print.html", "toc.html", "404.html", "/searchindex", "SUMMARY.html"),
        url="https://doc.rust-lang.org/",
        main=("main",),
        furniture=("#mdbook-help-container", "#help-container"),
        hidden=(".boring",),
        boilerplate=("#mdbook-sidebar", "#sidebar", "nav.sidebar", "#mdbook-menu-bar", "#menu-bar",
                     "#mdbook-help-container", "#help-container", "nav.nav-wrapper",
                     "nav.nav-wide-wrapper", "#mdbook-searchresults-outer", "#searchresults-outer",
                     ".theme-popup", "#mdbook-theme-list", "#theme-list"),
        copy_rule="lines in span.boring are hidden on the page and the copy button copies "
                  "innerText, so they are left out (the Run button sends them; a reader "
                  "does not get them)"),
    Generator(
        name="rustdoc", root=RUST,
        patterns=tuple(f"{crate}/**/{kind}.*.html" for crate in RUSTDOC_CRATES for kind in RUSTDOC_KINDS)
        + tuple(f"{crate}/**/index.html" for crate in RUSTDOC_CRATES),
        exclude=("/core_arch/", "/arch/"),  # thousands of near-identical SIMD intrinsics
        url="https://doc.rust-lang.org/",
        main=("section#main-content",),
        furniture=("a.src", "a.test-arrow", "a.tooltip", "rustdoc-toolbar", ".rustdoc-breadcrumbs",
                   "a.doc-anchor", "a.anchor", "#copy-path"),
        hidden=("a.tooltip", "a.test-arrow"),
        boilerplate=("nav.sidebar", "rustdoc-topbar", "rustdoc-search", "nav.sub", ".rustdoc-breadcrumbs",
                     "#settings", "#help", "noscript", "footer"),
        copy_rule="doctest lines starting with '# ' are removed by rustdoc before the HTML is "
                  "written, so the block's text is the copy"),
    Generator(
        name="nodejs", root="/usr/share/doc/nodejs/api",
        patterns=("*.html",), exclude=("all.html", "index.html"),
        url="https://nodejs.org/api/",
        main=("#apicontent",),
        furniture=("#toc", "a.mark"),
        hidden=("button.copy-button", "input.js-flavor-toggle"),
        boilerplate=("#column2", "header.header", "#toc", "#gtoc", "footer", ".edit_on_github"),
        copy_rule="a <pre> with CommonJS and ES-module <code> children is a tab widget: the "
                  "copy button copies the chosen tab's textContent, so each tab is a block"),
    Generator(
        name="npm", root="/usr/lib/node_modules/npm/docs/output",
        patterns=("**/*.html",), url="https://docs.npmjs.com/cli/v10/",
        main=("#_content",),
        boilerplate=("#banner", "#_table_of_contents", "section#table_of_contents", "footer#edit",
                     "#rainbar", "#logobar")),
    Generator(
        name="docbook", root="/usr/share/doc/valgrind/html",
        patterns=("*.html",), url="https://valgrind.org/docs/manual/",
        main=("body",),
        furniture=("table.nav", "div.toc", "div.navheader", "div.navfooter", "div.list-of-tables"),
        boilerplate=("table.nav", "div.navheader", "div.navfooter", "div.toc")),
    Generator(
        name="gtkdoc", root="/usr/share/doc/libxslt1-dev/gtk-doc/html",
        patterns=("*/*.html",), url="https://gnome.pages.gitlab.gnome.org/libxslt/",
        main=("body",),
        furniture=("table.navigation", "div.footer", "div.toc"),
        boilerplate=("table.navigation", "div.footer", "div.toc")),
    Generator(
        name="sphinx", root="/usr/share/doc/python3.11/html",
        patterns=("**/*.html",),
        exclude=("_sources/", "genindex", "search.html", "py-modindex", "/download.html"),
        url="https://docs.python.org/3.11/",
        main=("div.body", "div[role=main]"),
        furniture=("span.linenos", "td.linenos"),
        hidden=("span.linenos", "td.linenos"),
        boilerplate=("div.related", "div.sphinxsidebar", "div.footer", "div.mobile-nav",
                     "div.menu-wrapper", "#cookie-consent"),
        copy_rule="copybutton.js only toggles the visibility of '>>>' prompts and output and "
                  "adds no button to the HTML; the block's text is the copy (prompts kept)"),
    Generator(
        name="sphinx_rtd", root="/usr/share/doc/python-attr-doc/html",
        patterns=("*.html",), exclude=("genindex", "search.html", "py-modindex"),
        url="https://www.attrs.org/en/stable/",
        main=("div[itemprop=articleBody]", "div[role=main]"),
        furniture=("span.linenos", "td.linenos"),
        hidden=("span.linenos", "td.linenos"),
        boilerplate=("nav.wy-nav-side", "nav.wy-nav-top", "div[role=navigation]",
                     "div.rst-footer-buttons", "footer", "div.rst-versions")),
    Generator(
        name="javadoc", root="/usr/share/doc/openjdk-17-jre-headless/api",
        patterns=("java.base/java/**/*.html", "java.net.http/**/*.html", "java.sql/**/*.html",
                  "java.logging/**/*.html", "java.compiler/**/*.html"),
        exclude=("class-use/", "package-tree", "package-use"),
        url="https://docs.oracle.com/en/java/javase/17/docs/api/",
        main=("main",),
        prose=("p", "div.block"),  # Javadoc's first paragraph is a bare div.block
        boilerplate=("header", "footer", "nav", ".sub-nav", ".top-nav", "#navbar-top",
                     ".legal-copy")),
    Generator(
        name="mkdocs", root="/usr/share/doc/mkdocs/html",
        patterns=("**/*.html",), exclude=("404.html", "search.html"),
        url="https://www.mkdocs.org/",
        main=("div[role=main]",),
        boilerplate=("div.navbar", "nav.navbar", "div.bs-sidebar", "footer", "#mkdocs_search_modal",
                     "#mkdocs_keyboard_modal")),
    Generator(
        name="doxygen", root="/usr/share/doc/doxygen/html",
        patterns=("*.html",), url="https://www.doxygen.nl/manual/",
        main=("div.contents",),
        furniture=("div.toc",),
        hidden=("span.lineno", "a.line"),
        blocks=("div.fragment",),
        boilerplate=("#top", "#side-nav", "#nav-path", "div.navpath", "address.footer",
                     "hr.footer", "div.toc", "#MSearchResultsWindow", "#MSearchSelectWindow"),
        copy_rule="div.fragment is a code block of div.line lines; line numbers "
                  "(span.lineno) are not copied"),
    Generator(
        name="asciidoc", root="/usr/share/doc/git-doc",
        patterns=("*.html", "howto/*.html", "technical/*.html"),
        url="https://git-scm.com/docs/",
        main=("#content",),
        boilerplate=("#footer", "#toc", "#footnotes")),
)

# Generators a crawl holds that this machine has no built HTML of (SPEC.md §1).
UNAVAILABLE = {
    "docusaurus": "no Debian, PyPI or npm package ships a built Docusaurus site",
    "qa_pages": "Stack Overflow-style Q&A pages exist only online",
    "blogs": "blog engines' pages exist only online",
}


def by_name() -> dict[str, Generator]:
    return {g.name: g for g in GENERATORS}
