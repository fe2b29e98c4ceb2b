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
so `x.dist-info/licenses/src/pkg/_vendor/lib/LICENSE` covers `pkg/_vendor/lib/`; a
distribution vendored inside another (`pkg/_vendor/lib-1.0.dist-info/LICENSE`) covers
`pkg/_vendor/lib/`.

A licence file that concatenates the project's licence with those of bundled components
is cut into sections (`sections.py`): a section naming files (`Files:` globs, "Following
applies to:", a vendored path in a NOTICE) or font / certificate assets applies to those
files only; a section about third-party software that names nothing applies to none of
the project's own files (it is kept as evidence, `LicenseFile.bundled`); the rest, the
file's main licence, applies to its directory as before. When that main licence is not
recognised in such a composite file at the repository root, the licence the source
declares (package metadata) decides instead of `LicenseRef-unknown`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from stackpipe.licenses.expressions import UNKNOWN, license_ids, normalize_expression
from stackpipe.licenses.matcher import identify_license
from stackpipe.licenses.sections import FONT_LICENCES, Section, hint_matches, pattern_matches, split_sections, vendored_component

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
class Scope:
    """A section of a licence file that applies to some files only: those matching
    `patterns` (relative to `base`, the directory the licence file covers), the assets of
    `hint` ("fonts", "certificates") or directories named like `names` below a vendor
    directory."""

    base: str
    expression: str
    evidence: str
    patterns: tuple[str, ...] = ()
    hint: str = ""
    names: tuple[str, ...] = ()

    def covers(self, path: str) -> bool:
        if self.base and not path.startswith(self.base + "/"):
            return False
        rel = path[len(self.base) + 1:] if self.base else path
        if self.patterns:
            return any(pattern_matches(p, rel) for p in self.patterns)
        if self.hint:
            return hint_matches(self.hint, rel)
        return vendored_component(self.names, rel)


@dataclass(frozen=True)
class LicenseFile:
    """What one licence file said: its expression ("" if nothing: every licence it holds)
    and the evidence; `own`, the part that is the licence of its directory (None: all of
    it); `scoped`, sections that apply to some files only; `bundled`, expressions of
    third-party sections that name no files; `composite`, whether it had such sections."""

    path: str
    expression: str
    detail: str
    own: str | None = None
    scoped: tuple[Scope, ...] = ()
    bundled: tuple[str, ...] = ()
    composite: bool = False
    unknown: bool = False  # its main text is a licence nothing recognised

    @property
    def own_expression(self) -> str:
        return self.expression if self.own is None else self.own


@dataclass(frozen=True)
class LicenseMap:
    """The licence evidence of one repository; `license_for(path)` resolves it."""

    directories: Mapping[str, str] = field(default_factory=dict)  # directory ("" = root) -> expression
    headers: Mapping[str, str] = field(default_factory=dict)  # path -> expression of its SPDX tags
    metadata: str = ""
    license_files: Mapping[str, LicenseFile] = field(default_factory=dict)
    scoped: tuple[Scope, ...] = ()

    def license_for(self, path: str) -> str:
        """The SPDX expression that applies to `path`, or "" when nothing says."""
        return self.explain(path)[0]

    def explain(self, path: str) -> tuple[str, str]:
        """(expression, where it came from), e.g. ("MIT", "file LICENSE: MIT(1.00)")."""
        if path in self.headers:
            return self.headers[path], "spdx header"
        found = self._directory(path)
        scopes = [s for s in self.scoped if s.covers(path)]
        if scopes:
            expression = _and([s.expression for s in scopes])
            evidence = "; ".join(s.evidence for s in scopes)
            if found and found[2] is not None and any(len(found[2]) > len(s.base) for s in scopes):
                # a licence file deeper than the section's is nearer: both apply
                return _and([expression, found[0]]), f"{evidence}; {found[1]}"
            return expression, evidence
        if found:
            return found[0], found[1]
        if self.metadata:
            return self.metadata, "metadata"
        return "", "none"

    def _directory(self, path: str) -> tuple[str, str, str] | None:
        """(expression, evidence, directory) of the nearest directory with a licence."""
        directory = posixpath.dirname(path)
        while True:
            if directory in self.directories:
                files = [f for f in self.license_files.values()
                         if f.own_expression and _applies_to(f.path) == directory]
                evidence = "; ".join(f"file {f.path}: {f.detail}" for f in files) or "licence files"
                return self.directories[directory], evidence, directory
            if not directory:
                return None
            directory = posixpath.dirname(directory)


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
            found[path] = _read_license_file(path, text)
            texts[path] = text
        else:
            header = spdx_header(text)
            if header:
                headers[path] = header
    _resolve_pointers(found, texts)
    directories = _directory_licenses(found, texts, metadata)
    root = directories.get("")
    if root and metadata and license_ids(root) == license_ids(metadata):
        directories[""] = metadata  # same licences; the metadata can say OR where files cannot
    scoped = tuple(scope for entry in found.values() for scope in entry.scoped)
    return LicenseMap(directories, headers, metadata, found, scoped)


def _read_license_file(path: str, text: str) -> LicenseFile:
    """A licence file's licences, whole and by section (see the module docstring)."""
    identification = identify_license(text)
    header = spdx_header(text)
    expression = _and([identification.expression, header])
    ids = license_ids(identification.expression)
    if ids and ids <= FONT_LICENCES:  # a font licence covers the fonts beside it, not code
        scope = Scope(_applies_to(path), identification.expression, f"file {path}: {identification.detail}",
                      hint="fonts")
        return LicenseFile(path, expression, identification.detail, header, (scope,), composite=True)
    sections = split_sections(text)
    if len(sections) < 2 or not any(s.third_party for s in sections):
        return LicenseFile(path, expression, identification.detail)
    base = _applies_to(path)
    own, main_text, scoped, bundled = [], [], [], []
    carried: Section | None = None  # a list of files (or an intro) waiting for its licence text
    for section in sections:
        if carried is not None:
            section = Section(section.text, True, section.patterns or carried.patterns,
                              section.hint or carried.hint, section.names or carried.names, section.declared)
            carried = None
        section_expression = _section_expression(section)
        if not section.third_party:
            own.append(section_expression)
            main_text.append(section.text)
            continue
        if not section_expression:
            if section.patterns or section.names:
                carried = section
            continue
        label = section.names[0] if section.names else "third-party section"
        evidence = f"file {path}: {label}: {section_expression}"
        if section.patterns or section.hint:
            scoped.append(Scope(base, section_expression, evidence, section.patterns, section.hint))
        else:
            bundled.append(section_expression)
            if section.names:
                scoped.append(Scope(base, section_expression, evidence, names=section.names))
    own_expression = _and(own + [header])
    unknown = not own_expression and _is_unknown_licence(path, "\n".join(main_text))
    return LicenseFile(path, expression, identification.detail, own_expression, tuple(scoped), tuple(bundled),
                       composite=True, unknown=unknown)


def _section_expression(section: Section) -> str:
    """A section's licence: its `License:` field when that is an SPDX expression we know,
    else what its text holds; a section naming files whose licence nothing recognises
    is an unknown licence for those files."""
    if section.declared:
        declared = normalize_expression(section.declared)
        if declared and UNKNOWN not in license_ids(declared):
            return declared
    expression = identify_license(section.text).expression
    if not expression and section.patterns and section.declared:
        return UNKNOWN
    return expression


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
            if i:  # vendored inside another distribution: covers its own package there
                package = re.split(r"-\d", part.rsplit(".", 1)[0], maxsplit=1)[0].replace(".", "/")
                rest = parts[:i] + [package] + rest
            return posixpath.dirname("/".join(rest))
    return posixpath.dirname(path)


def _resolve_pointers(found: dict[str, LicenseFile], texts: dict[str, str]) -> None:
    """A licence file that names sibling licence files instead of quoting a licence
    ("either of the licenses found in LICENSE.APACHE or LICENSE.BSD") takes their
    licences: OR when it says "either", AND otherwise."""
    for path, entry in list(found.items()):
        if entry.expression or entry.composite:
            continue
        directory = posixpath.dirname(path)
        named = [other for other in found.values()
                 if other.path != path and other.expression and posixpath.dirname(other.path) == directory
                 and re.search(rf"\b{re.escape(posixpath.basename(other.path))}\b", texts[path])]
        if named:
            joiner = _or if re.search(r"\beither\b", texts[path], re.I) else _and
            expression = joiner([other.expression for other in named])
            found[path] = LicenseFile(path, expression, "points to " + ", ".join(o.path for o in named))


def _directory_licenses(found: dict[str, LicenseFile], texts: dict[str, str], metadata: str = "") -> dict[str, str]:
    """Directory -> AND of what its licence files say (their own licence, not the sections
    about bundled components). A strong licence file (LICENSE, COPYING) with text nothing
    recognised is an unknown licence, unless another licence file of the directory was
    recognised (a pointer or preamble then), or, at the root, it is a composite file and
    the source declares the project's licence (metadata)."""
    by_directory: dict[str, list[LicenseFile]] = {}
    for entry in found.values():
        by_directory.setdefault(_applies_to(entry.path), []).append(entry)
    directories = {}
    for directory, entries in by_directory.items():
        expressions = [e.own_expression for e in entries if e.own_expression]
        unknown = [e for e in entries if (e.unknown if e.composite else _is_unknown_licence(e.path, texts[e.path]))]
        if not directory and metadata:
            unknown = [e for e in unknown if not e.composite]
        if not expressions and unknown:
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
