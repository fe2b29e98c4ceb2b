"""Which licence applies to each file of one repository (REFERENCE.md §3, The Stack v2).

Three kinds of evidence, most specific first:

1. an `SPDX-License-Identifier:` tag in the first lines of the file itself;
2. licence-named files (LICENSE, LICENCE, COPYING, UNLICENSE, NOTICE, ... and anything
   under a `LICENSES/` folder) at any depth: what they hold applies to their directory
   and everything below it; the nearest directory that has one wins;
3. the licence the source states for the whole repository (a license column, package
   metadata), used where no licence file applies.

Python distributions keep their licence files in `<name>.dist-info/` (PEP 639 copies the
source tree's licence paths under `licenses/`): those apply to the tree they came from,
so `x.dist-info/licenses/src/pkg/_vendor/lib/LICENSE` covers `pkg/_vendor/lib/`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from stackpipe.licenses.expressions import UNKNOWN, license_ids, normalize_expression
from stackpipe.licenses.matcher import identify_license

# Names that hold licence text (stem, case-insensitive), with an optional prefix or
# suffix: LICENSE, LICENSE.txt, LICENSE-MIT, MIT-LICENSE, COPYING.LESSER, dragon4_LICENSE.txt.
_STRONG = r"licen[cs]es?|copying|unlicen[cs]e"
_WEAK = r"notice|copyright|legal"  # often only attributions: used when they name a licence
_LICENSE_NAME = re.compile(rf"^(?:[\w.+-]*[-_.])?(?P<kind>{_STRONG}|{_WEAK})(?:[-_.][\w.+-]*)?$", re.I)
_STRONG_NAME = re.compile(rf"^(?:{_STRONG})$", re.I)
# Extensions that make a licence-like name a program or data file, not a licence.
_CODE_EXTENSIONS = frozenset(
    "py pyi pyx pxd c h cc cpp cxx hpp hh js mjs cjs ts tsx jsx go rs java kt kts scala rb php cs fs swift m mm "
    "sh bash zsh ps1 bat pl pm lua r jl dart ex exs erl hs ml clj groovy sql json yaml yml toml ini cfg xml "
    "svg png jpg gif ico css scss less vue svelte proto cmake mk gradle lock pyc pyo so dll dylib exe o a class "
    "jar whl zip gz".split())
# Under a LICENSES/ folder (REUSE, PEP 639 `licenses/`) any file of these kinds is licence text.
_TEXT_EXTENSIONS = frozenset({"", "txt", "md", "rst", "text"})
_SPDX_TAG = re.compile(r"SPDX-License-Identifier:\s*([^\n*]*?)\s*(?:\*/|-->|\*\)|#\}|$)", re.M)
_HEADER_CHARS = 4096  # SPDX tags sit in the first lines
_MIN_UNKNOWN_WORDS = 20  # a strong licence file with this much unrecognised text is an unknown licence


def is_license_file(path: str) -> bool:
    """Whether `path` is a licence-named file (or a file under a LICENSES/ folder)."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    extension = name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""
    if extension in _CODE_EXTENSIONS:
        return False
    if _LICENSE_NAME.match(name):
        return True
    return extension in _TEXT_EXTENSIONS and any(p.lower() == "licenses" for p in parts[:-1])


def spdx_header(text: str) -> str:
    """The SPDX expression of the `SPDX-License-Identifier:` tags in the head of `text`
    (several tags are AND-ed), or ""."""
    found = [normalize_expression(m.group(1)) for m in _SPDX_TAG.finditer(text[:_HEADER_CHARS])]
    return _and([e for e in found if e])


@dataclass(frozen=True)
class LicenseFile:
    """What one licence file said: its expression ("" if nothing) and the evidence."""

    path: str
    expression: str
    detail: str


@dataclass(frozen=True)
class LicenseMap:
    """The licence evidence of one repository; `license_for(path)` resolves it."""

    directories: Mapping[str, str] = field(default_factory=dict)  # directory ("" = root) -> expression
    headers: Mapping[str, str] = field(default_factory=dict)  # path -> expression of its SPDX tags
    metadata: str = ""
    license_files: Mapping[str, LicenseFile] = field(default_factory=dict)

    def license_for(self, path: str) -> str:
        """The SPDX expression that applies to `path`, or "" when nothing says."""
        return self.explain(path)[0]

    def explain(self, path: str) -> tuple[str, str]:
        """(expression, where it came from), e.g. ("MIT", "file LICENSE: MIT(1.00)")."""
        if path in self.headers:
            return self.headers[path], "spdx header"
        directory = posixpath.dirname(path)
        while True:
            if directory in self.directories:
                files = [f for f in self.license_files.values() if f.expression and _applies_to(f.path) == directory]
                evidence = "; ".join(f"file {f.path}: {f.detail}" for f in files) or "licence files"
                return self.directories[directory], evidence
            if not directory:
                break
            directory = posixpath.dirname(directory)
        if self.metadata:
            return self.metadata, "metadata"
        return "", "none"


def detect_licenses(files: Iterable[tuple[str, str]], metadata_license: str | None) -> LicenseMap:
    """The licence map of one repository from its files, `(path, text)` with paths
    relative to the repository root, and the licence its source states (or None).

    Only licence files are matched against licence texts; every other file is looked at
    for an SPDX tag in its first 4 KB, so passing all files of a repository is fine and
    passing only the licence files gives the same directory licences."""
    metadata = normalize_expression(metadata_license or "")
    found: dict[str, LicenseFile] = {}
    texts: dict[str, str] = {}
    headers: dict[str, str] = {}
    for path, text in files:
        if is_license_file(path):
            identification = identify_license(text)
            expression = _and([identification.expression, spdx_header(text)])
            found[path] = LicenseFile(path, expression, identification.detail)
            texts[path] = text
        else:
            header = spdx_header(text)
            if header:
                headers[path] = header
    _resolve_pointers(found, texts)
    directories = _directory_licenses(found, texts)
    root = directories.get("")
    if root and metadata and license_ids(root) == license_ids(metadata):
        directories[""] = metadata  # same licences; the metadata can say OR where files cannot
    return LicenseMap(directories, headers, metadata, found)


def _applies_to(path: str) -> str:
    """The directory a licence file covers: its own, or for licence files kept in a
    Python distribution's metadata folder, the source directory they were copied from."""
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.endswith((".dist-info", ".egg-info")):
            rest = parts[i + 1:]
            if rest[0] == "licenses":
                rest = rest[1:]
            if rest and rest[0] == "src":
                rest = rest[1:]
            return posixpath.dirname("/".join(rest))
    return posixpath.dirname(path)


def _resolve_pointers(found: dict[str, LicenseFile], texts: dict[str, str]) -> None:
    """A licence file that names sibling licence files instead of quoting a licence
    ("either of the licenses found in LICENSE.APACHE or LICENSE.BSD") takes their
    licences: OR when it says "either", AND otherwise."""
    for path, entry in list(found.items()):
        if entry.expression:
            continue
        directory = posixpath.dirname(path)
        named = [other for other in found.values()
                 if other.path != path and other.expression and posixpath.dirname(other.path) == directory
                 and re.search(rf"\b{re.escape(posixpath.basename(other.path))}\b", texts[path])]
        if named:
            joiner = _or if re.search(r"\beither\b", texts[path], re.I) else _and
            expression = joiner([other.expression for other in named])
            found[path] = LicenseFile(path, expression, "points to " + ", ".join(o.path for o in named))


def _directory_licenses(found: dict[str, LicenseFile], texts: dict[str, str]) -> dict[str, str]:
    """Directory -> AND of what its licence files say. A strong licence file (LICENSE,
    COPYING) with text nothing recognised is an unknown licence, unless another licence
    file of the directory was recognised (a pointer or preamble then)."""
    by_directory: dict[str, list[LicenseFile]] = {}
    for entry in found.values():
        by_directory.setdefault(_applies_to(entry.path), []).append(entry)
    directories = {}
    for directory, entries in by_directory.items():
        expressions = [e.expression for e in entries if e.expression]
        if not expressions and any(_is_unknown_licence(e.path, texts[e.path]) for e in entries):
            expressions = [UNKNOWN]
        if expressions:
            directories[directory] = _and(expressions)
    return directories


def _is_unknown_licence(path: str, text: str) -> bool:
    match = _LICENSE_NAME.match(posixpath.basename(path))
    strong = match is None or _STRONG_NAME.match(match.group("kind")) is not None  # None: under LICENSES/
    return strong and len(text.split()) >= _MIN_UNKNOWN_WORDS


def _join(expressions: list[str], operator: str) -> str:
    terms = []
    for expression in expressions:
        flat = " OR " not in expression and "(" not in expression  # a plain AND of ids
        terms += expression.split(" AND ") if operator == "AND" and flat else [expression]
    distinct = list(dict.fromkeys(t for t in terms if t))
    return f" {operator} ".join(f"({t})" if len(distinct) > 1 and (" AND " in t or " OR " in t) else t
                                for t in distinct)


def _and(expressions: list[str]) -> str:
    return _join(expressions, "AND")


def _or(expressions: list[str]) -> str:
    return _join(expressions, "OR")
