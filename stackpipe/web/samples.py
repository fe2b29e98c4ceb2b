"""Real web pages from this machine, written as WARC files: for tests, benchmarks and demos.

Code-related pages: pydoc's HTML documentation of standard-library modules (signatures,
docstrings, doctest examples) and listings of their source in `<pre><code>`, each
wrapped in a site's navigation and footer. Other pages: the licence texts shipped with
the installed distributions and Python itself, and the sections of IDLE's NEWS file,
as articles. Every machine with Python and stackpipe installed has all of them.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import io
import pydoc
import re
import sysconfig
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Iterable

# Importing these has no side effect (no browser, no printing, no GUI).
STDLIB_MODULES = (
    "abc", "argparse", "ast", "base64", "bisect", "calendar", "cmd", "codecs", "collections", "colorsys",
    "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "dis",
    "enum", "filecmp", "fnmatch", "fractions", "ftplib", "functools", "getopt", "gettext", "glob", "graphlib",
    "gzip", "hashlib", "heapq", "hmac", "html", "imaplib", "inspect", "ipaddress", "json", "keyword",
    "linecache", "locale", "logging", "lzma", "mailbox", "mimetypes", "numbers", "operator", "optparse",
    "pathlib", "pickle", "pkgutil", "plistlib", "poplib", "pprint", "queue", "quopri", "random", "re",
    "reprlib", "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "smtplib", "socketserver",
    "statistics", "string", "stringprep", "struct", "subprocess", "symtable", "tabnanny", "tarfile",
    "tempfile", "textwrap", "threading", "timeit", "token", "tokenize", "trace", "traceback", "tracemalloc",
    "types", "typing", "uuid", "warnings", "wave", "weakref", "zipapp", "zipfile", "zipimport",
)
START = datetime(2024, 3, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SamplePage:
    url: str
    html: str
    code: bool  # the truth a classifier is measured against


def _site(title: str, body: str, site: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>\n"
            f"<body><header><nav><a href=\"/\">{site}</a> | <a href=\"/about\">About</a> | "
            f"<a href=\"/contact\">Contact</a></nav></header>\n<main><article>\n{body}\n</article></main>\n"
            f"<footer><p>&copy; {site}. All rights reserved.</p></footer></body></html>\n")


def pydoc_pages(limit: int | None = None, modules: tuple[str, ...] = STDLIB_MODULES) -> list[SamplePage]:
    """pydoc's rendering of standard-library `modules`, as served by a documentation site."""
    pages = []
    for name in modules[:limit]:
        module = importlib.import_module(name)
        page = pydoc.html.page(pydoc.describe(module), pydoc.html.document(module, name))
        pages.append(SamplePage(f"https://docs.example-python.org/3/library/{name}.html", page, True))
    return pages


def stdlib_sources(modules: tuple[str, ...] = STDLIB_MODULES) -> list[Path]:
    """The source file of each standard-library module (a package's __init__.py)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths = []
    for name in modules:
        for path in (stdlib / f"{name}.py", stdlib / name / "__init__.py"):
            if path.is_file():
                paths.append(path)
                break
    return paths


def source_pages(limit: int | None = None, max_lines: int = 400, paths: list[Path] | None = None,
                 start: int = 0) -> list[SamplePage]:
    """Python sources as code listings (default: the STDLIB_MODULES): a short
    introduction, then `max_lines` lines from line `start` in `<pre><code>` (files
    shorter than `start` lines give no page)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    pages = []
    for path in (stdlib_sources() if paths is None else paths)[:limit]:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[start:start + max_lines]
        if not lines:
            continue
        rel = path.relative_to(stdlib).as_posix() if path.is_relative_to(stdlib) else path.name
        name = path.stem if path.name != "__init__.py" else path.parent.name
        body = (f"<h1>{html.escape(rel)}</h1>\n<p>The source of the <code>{html.escape(name)}</code> module, as it "
                f"ships with Python.</p>\n<pre><code class=\"language-python\">"
                f"{html.escape(chr(10).join(lines))}</code></pre>")
        anchor = f"?from={start + 1}" if start else ""
        pages.append(SamplePage(f"https://code.example-hub.com/cpython/blob/main/Lib/{rel}{anchor}",
                                _site(rel, body, "example-hub"), True))
    return pages


def license_pages(limit: int | None = None) -> list[SamplePage]:
    """Licence texts of the installed distributions and of Python (distinct texts only)."""
    texts: dict[str, tuple[str, str]] = {}
    python_license = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    candidates = [("python", python_license)] if python_license.is_file() else []
    for dist in sorted(metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        for file in dist.files or ():
            if re.search(r"(LICEN[CS]E|COPYING|NOTICE)[^/]*$", str(file), re.IGNORECASE):
                candidates.append(((dist.metadata["Name"] or "dist").lower(), Path(dist.locate_file(file))))
    for name, path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) >= 400:
            texts.setdefault(hashlib.sha256(text.encode()).hexdigest(), (name, text))
    pages = []
    for digest, (name, text) in sorted(texts.items(), key=lambda item: (item[1][0], item[0]))[:limit]:
        paragraphs = "\n".join(f"<p>{html.escape(' '.join(p.split()))}</p>" for p in re.split(r"\n\s*\n", text)
                               if p.strip())
        body = f"<h1>Licence of {html.escape(name)}</h1>\n{paragraphs}"
        pages.append(SamplePage(f"https://legal.example-licenses.org/{name}/{digest[:12]}",
                                _site(f"{name} licence", body, "example-licenses"), False))
    return pages


def news_pages(limit: int | None = None) -> list[SamplePage]:
    """The release sections of IDLE's NEWS.txt (prose about an editor's changes)."""
    news = Path(sysconfig.get_paths()["stdlib"]) / "idlelib" / "NEWS.txt"
    if not news.is_file():
        return []
    sections = re.split(r"\n(?=What's New in IDLE )", news.read_text(encoding="utf-8", errors="replace"))
    pages = []
    for number, section in enumerate(s for s in sections if len(s) > 600):
        items = [" ".join(item.split()) for item in re.split(r"\n(?=bpo-|gh-|Issue #|\S)", section)]
        body = "\n".join(f"<p>{html.escape(item)}</p>" for item in items if item)
        pages.append(SamplePage(f"https://news.example-blog.net/idle/{number:03d}",
                                _site(f"IDLE news {number}", body, "example-blog"), False))
    return pages[:limit]


def code_and_prose_pages() -> list[SamplePage]:
    """Every sample page: code-related first, then the others."""
    return pydoc_pages() + source_pages() + license_pages() + news_pages()


def response_record(writer, page: SamplePage, when: datetime, *, status: str = "200 OK",
                    content_type: str = "text/html; charset=utf-8", payload: bytes | None = None):
    """A WARC response record (with CommonCrawl's identified payload type) for `page`."""
    from warcio.statusandheaders import StatusAndHeaders

    body = page.html.encode("utf-8") if payload is None else payload
    http_headers = StatusAndHeaders(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
    warc_headers = {"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "WARC-Identified-Payload-Type": content_type.split(";")[0]}
    return writer.create_warc_record(page.url, "response", payload=io.BytesIO(body), http_headers=http_headers,
                                     warc_headers_dict=warc_headers)


def write_warc(path: str | Path, pages: Iterable[SamplePage], *, gzip: bool | None = None,
               requests: bool = True) -> Path:
    """A WARC file of `pages` as CommonCrawl writes them: a warcinfo record, then per
    page a request record (when `requests`) and its response. Gzip per record when the
    name ends in .gz (or `gzip`)."""
    from warcio.warcwriter import WARCWriter

    path = Path(path)
    gzip = path.name.endswith(".gz") if gzip is None else gzip
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "stackpipe samples"}))
        for number, page in enumerate(pages):
            when = START + timedelta(minutes=number)
            if requests:
                from warcio.statusandheaders import StatusAndHeaders

                request = StatusAndHeaders(f"GET {page.url} HTTP/1.1", [("User-Agent", "stackpipe")],
                                           is_http_request=True)
                writer.write_record(writer.create_warc_record(page.url, "request", http_headers=request))
            writer.write_record(response_record(writer, page, when))
    return path
