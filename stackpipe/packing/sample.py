"""Packed repository samples: a repository's files in dependency order, with path comments.

DeepSeek-Coder (REFERENCE.md §6) concatenates a repository's files in the order of its
Algorithm 1, each preceded by a comment holding its path. Here each file's comment uses
that file's own comment syntax, and a repository longer than `max_chars` is split into
several samples at file boundaries: a file is never cut, so one longer than the limit is
a sample of its own. A sample's `files` spans give each file's text in `content`
(character offsets; the path comments lie between the spans).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from stackpipe.packing.imports import ImportSpec, extract_imports
from stackpipe.packing.order import dependency_order
from stackpipe.packing.resolve import RepositoryIndex, resolve
from stackpipe.records import FileRecord, Rejected, content_hash
from stackpipe.rules import PackRules

STAGE = "pack"
LICENSE_TYPE_ORDER = ("non_permissive", "no_license", "permissive")  # most restrictive first


def _styles(groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {language: template for template, languages in groups.items() for language in languages}


# Built-in comment syntax per language; `PackRules.comments` overrides, `default_comment` fills in.
COMMENT_STYLES = _styles({
    "// {path}": ("C", "C++", "C#", "Java", "JavaScript", "TypeScript", "TSX", "Go", "Rust", "Kotlin", "PHP",
                  "Swift", "Scala", "Dart", "Groovy", "Objective-C", "Objective-C++", "Cuda", "D", "Zig", "Solidity",
                  "GLSL", "HLSL", "Protocol Buffer", "JSON with Comments", "Less", "SCSS", "Vala", "Haxe", "Gradle",
                  "Gradle Kotlin DSL", "Apex", "Chapel", "V", "Hare", "Carbon", "Odin", "Jsonnet", "Verilog",
                  "SystemVerilog", "Stylus", "QML", "ActionScript", "AngelScript", "Ballerina", "Cairo", "Move"),
    "# {path}": ("Python", "Ruby", "Shell", "Perl", "R", "YAML", "TOML", "Makefile", "Dockerfile", "CMake", "Nix",
                 "PowerShell", "Elixir", "Julia", "Crystal", "Nim", "Tcl", "Starlark", "Cython", "CoffeeScript",
                 "GraphQL", "HCL", "Raku", "Fish", "Awk", "Dotenv", "Ignore List", "Git Config", "Gentoo Ebuild",
                 "Pip Requirements", "Text", "INI", "Jupyter Notebook", "Just", "Meson", "Puppet", "Smalltalk"),
    "-- {path}": ("Lua", "SQL", "PLSQL", "TSQL", "PLpgSQL", "Haskell", "Elm", "Ada", "PureScript", "Idris", "Agda",
                  "Lean", "Lean 4", "Luau", "Dhall", "VHDL", "Cypher"),
    "<!-- {path} -->": ("HTML", "XML", "Markdown", "Vue", "Svelte", "SVG", "XSLT", "HTML+ERB", "HTML+PHP",
                        "HTML+Razor", "XML Property List", "Astro", "Handlebars"),
    "/* {path} */": ("CSS",),
    "; {path}": ("Common Lisp", "Emacs Lisp", "Clojure", "Scheme", "Racket", "Assembly", "Fennel", "Hy", "LLVM"),
    "% {path}": ("TeX", "Erlang", "MATLAB", "Prolog", "BibTeX", "PostScript"),
    "(* {path} *)": ("OCaml", "F#", "Pascal", "Standard ML", "Mathematica", "Coq"),
    "' {path}": ("Visual Basic .NET", "VBA", "VBScript"),
    "{{/* {path} */}}": ("Go Template",),
    "{# {path} #}": ("Jinja",),
    "\" {path}": ("Vim script",),
    "rem {path}": ("Batchfile",),
})


def path_comment(path: str, language: str, rules: PackRules) -> str:
    """The line that names a file in a packed sample, in the file's own comment syntax."""
    template = rules.comments.get(language) or COMMENT_STYLES.get(language) or rules.default_comment
    return template.replace("{path}", path)


@dataclass(frozen=True)
class FileDependencies:
    """One file's import statements and the repository files each resolved to (empty: unresolved)."""

    path: str
    language: str
    imports: tuple[ImportSpec, ...]
    targets: tuple[tuple[str, ...], ...]


def analyse_repository(files: Sequence[tuple[str, str, str]], rules: PackRules,
                       engine: str | None = None) -> list[FileDependencies]:
    """Extract and resolve every file's imports.

    Args:
      files: (path, language, text) of each file of one repository (distinct paths).
      rules: packing rules (include directories, the import engine).
      engine: overrides `rules.engine` ("tree_sitter" or "regex").
    """
    index = RepositoryIndex(files, rules.include_dirs)
    analysed = []
    for path, language, text in files:
        specs = tuple(extract_imports(language, text, engine=engine or rules.engine))
        targets = tuple(resolve(spec, path, language, index) for spec in specs)
        analysed.append(FileDependencies(path, language, specs, targets))
    return analysed


def dependency_edges(analysed: Iterable[FileDependencies]) -> list[tuple[str, str]]:
    """(dependency, dependent) for every resolved import, each pair once, sorted."""
    return sorted({(target, f.path) for f in analysed for targets in f.targets for target in targets})


def order_records(records: Sequence[FileRecord], rules: PackRules) -> list[FileRecord]:
    """A repository's records (distinct paths) in Algorithm 1's order."""
    by_path = {r.path: r for r in records}
    paths = sorted(by_path)
    analysed = analyse_repository([(p, by_path[p].language, by_path[p].content) for p in paths], rules)
    return [by_path[p] for subgraph in dependency_order(paths, dependency_edges(analysed)) for p in subgraph]


def _piece(record: FileRecord, rules: PackRules) -> tuple[str, str]:
    """(header, body) of one file in a sample: the body is the text, newline-terminated."""
    text = record.content
    body = text if text.endswith("\n") or not text else text + "\n"
    return path_comment(record.path, record.language, rules) + "\n", body


def split_samples(ordered: Sequence[FileRecord], rules: PackRules) -> list[list[FileRecord]]:
    """Cut the ordered files into runs whose packed text stays within `rules.max_chars`,
    at file boundaries; a file longer than the limit on its own is a run of its own."""
    runs: list[list[FileRecord]] = []
    current: list[FileRecord] = []
    length = 0
    for record in ordered:
        header, body = _piece(record, rules)
        size = len(header) + len(body) + (1 if current else 0)  # a blank line between files
        if current and length + size > rules.max_chars:
            runs.append(current)
            current, length, size = [], 0, size - 1
        current.append(record)
        length += size
    if current:
        runs.append(current)
    return runs


def sample_id(repo: str, index: int) -> str:
    """Stable id of a repository's index-th sample."""
    return hashlib.sha256(f"pack\x00{repo}\x00{index}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def build_sample(repo: str, index: int, count: int, records: Sequence[FileRecord], rules: PackRules) -> FileRecord:
    """One packed sample of `records` (already ordered), with its `files` spans."""
    parts: list[str] = []
    spans = []
    offset = 0
    for i, record in enumerate(records):
        header, body = _piece(record, rules)
        if i:
            parts.append("\n")
            offset += 1
        parts.append(header)
        offset += len(header)
        spans.append((record.path, record.language, offset, offset + len(record.content)))
        parts.append(body)
        offset += len(body)
    content = "".join(parts)
    chars = Counter()
    for record in records:
        chars[record.language] += len(record.content)
    language = min(chars, key=lambda lang: (-chars[lang], lang))
    licenses = sorted({r.license for r in records if r.license})
    types = {r.license_type for r in records if r.license_type}
    return FileRecord(
        id=sample_id(repo, index),
        repo=repo,
        path=records[0].path,
        language=language,
        content=content,
        size_bytes=len(content.encode("utf-8", "surrogatepass")),
        source=records[0].source,
        license=" AND ".join(f"({x})" if " " in x and len(licenses) > 1 else x for x in licenses),
        license_type=next((t for t in LICENSE_TYPE_ORDER if t in types), ""),
        stars=max((r.stars for r in records if r.stars is not None), default=None),
        revision=next((r.revision for r in records if r.revision), ""),
        content_hash=content_hash(content),
        meta={"sample_index": str(index), "sample_count": str(count), "file_count": str(len(records))},
        files=tuple(spans),
    )


def pack_repository(repo: str, records: Iterable[FileRecord], rules: PackRules
                    ) -> tuple[list[FileRecord], list[Rejected]]:
    """All of one repository's records -> its packed samples, and the records left out.

    Every record ends in exactly one sample, except a second record with a path already
    seen (rejected as `duplicate_path`; the one with the smaller id is kept).
    """
    kept: dict[str, FileRecord] = {}
    rejected = []
    for record in sorted(records, key=lambda r: (r.path, r.id)):
        if record.path in kept:
            rejected.append(Rejected(record=record, stage=STAGE, reason="duplicate_path"))
        else:
            kept[record.path] = record
    if not kept:
        return [], rejected
    runs = split_samples(order_records(list(kept.values()), rules), rules)
    return [build_sample(repo, i, len(runs), run, rules) for i, run in enumerate(runs)], rejected
