"""Pure helpers over input URIs: scheme, options, joining, and what a file name says it holds.

No I/O here, so the rules (which suffix is an archive, which a table) are testable alone.
"""

from __future__ import annotations

import posixpath
import re
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit

from stackpipe.sources.units import SourceError

REMOTE_SCHEMES = ("s3", "gs", "http", "https")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.zst", ".tar", ".zip")
PARQUET_SUFFIXES = (".parquet",)
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json.zst", ".ndjson")
LAYOUTS = ("owner/name", "name", "repo", "data")
OPTIONS = ("layout",)
GLOB_CHARS = re.compile(r"[*?\[]")


def scheme(uri: str) -> str:
    """"s3", "gs", "http", "https", "python-env", or "file" for a local path."""
    head, sep, _ = uri.partition("://")
    return head.lower() if sep else "file"


def local_path(uri: str) -> str:
    """The filesystem path of a local URI (plain path or file://)."""
    return uri[len("file://"):] if uri.startswith("file://") else uri


def split_options(uri: str) -> tuple[str, dict[str, str]]:
    """Split `dir?layout=owner/name` into the URI and its options.

    Only http(s) URIs keep their query string, which belongs to the server there.
    """
    if scheme(uri) in ("http", "https") or "?" not in uri:
        return uri, {}
    base, _, query = uri.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise SourceError(f"input {uri!r}: unknown option {unknown[0]!r}; known options: {', '.join(OPTIONS)}")
    layout = options.get("layout")
    if layout is not None and layout not in LAYOUTS:
        raise SourceError(f"input {uri!r}: layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    return base, options


def join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}" if base else name


def basename(uri: str) -> str:
    """The last path segment; an http(s) URL's query string is not part of its file name."""
    if scheme(uri) in ("http", "https"):
        uri = urlsplit(uri).path
    return posixpath.basename(uri.rstrip("/"))


def has_glob(uri: str) -> bool:
    return bool(GLOB_CHARS.search(uri))


def file_kind(name: str) -> str | None:
    """"archive", "parquet" or "jsonl" from a file name's suffix, else None."""
    lower = name.lower()
    if lower.endswith(ARCHIVE_SUFFIXES):
        return "archive"
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(JSONL_SUFFIXES):
        return "jsonl"
    return None


def archive_stem(name: str) -> str:
    """The repository name an archive stands for: its file name without the archive suffix."""
    lower = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def compression(name: str) -> str | None:
    """"gz" or "zst" when the name says the bytes are compressed as a whole."""
    lower = name.lower()
    if lower.endswith((".gz", ".tgz")):
        return "gz"
    if lower.endswith(".zst"):
        return "zst"
    return None


def glob_regex(pattern: str) -> re.Pattern:
    """A key glob as a regex: `*` and `?` stay within one path segment, `**` crosses them."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def is_unsafe_member(name: str) -> str | None:
    """Why an archive member name could escape an extraction root, or None when it is safe.

    Nothing is ever extracted, but such names are hostile and would alias other paths.
    """
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"[A-Za-z]:/", normalized):
        return f"member name {name!r} is an absolute path"
    if ".." in normalized.split("/"):
        return f"member name {name!r} has a '..' component"
    return None


def normalize_member(name: str) -> str:
    """`./a/b.py` and `a//b.py` both as `a/b.py` (directories lose their trailing slash)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def common_top_dir(names: Iterable[str]) -> str | None:
    """The single top-level directory every member lies under, or None.

    A GitHub tarball wraps the repository in `owner-name-sha/`; that wrapper is not part
    of any file's path in the repository. Stops at the first name outside it.
    """
    top = None
    nested = False
    for name in names:
        first, sep, _ = name.partition("/")
        if top is None:
            top = first
        elif first != top:
            return None
        nested = nested or bool(sep)
    return top if nested else None
