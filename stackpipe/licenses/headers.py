"""Strip the licence/copyright comment block at the top of a source file.

An editor (`text -> text`), used when `strip_headers` is on: licence boilerplate repeated
at the top of millions of files teaches a model nothing but costs tokens. Only leading
*comments* that state a copyright or a licence grant are removed; a shebang and an
encoding declaration stay, a comment block that says anything else stays, and code is
never touched. Languages without a known comment syntax are left as they are. The SPDX
id is not lost: the licence stage has already put it in the record.
"""

from __future__ import annotations

import re

_HASH = ("#",)
_SLASH = ("//",)
_C_BLOCK = (("/*", "*/"),)
# language (rules/languages.yaml name) -> (line comment prefixes, (block open, block close)...)
COMMENT_SYNTAX: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    **{lang: (_HASH, ()) for lang in ("Python", "Cython", "Shell", "Ruby", "Perl", "R", "YAML", "TOML", "Makefile",
                                       "CMake", "Dockerfile", "Julia", "Elixir", "Nim", "PowerShell")},
    **{lang: (_SLASH, _C_BLOCK) for lang in ("C", "C++", "C#", "Java", "JavaScript", "TypeScript", "Go", "Rust",
                                              "Kotlin", "Swift", "Scala", "Dart", "Objective-C", "Groovy", "Zig",
                                              "Protocol Buffer", "SCSS", "Less")},
    "CSS": ((), _C_BLOCK),
    "PHP": (_SLASH + _HASH, _C_BLOCK),
    "SQL": (("--",), _C_BLOCK),
    "Lua": (("--",), ()),
    "Haskell": (("--",), (("{-", "-}"),)),
    "OCaml": ((), (("(*", "*)"),)),
    "Pascal": (("//",), (("{", "}"), ("(*", "*)"))),
    "Erlang": (("%",), ()),
    "MATLAB": (("%",), ()),
    "TeX": (("%",), ()),
    "Fortran": (("!",), ()),
    "Assembly": ((";", "#", "//"), _C_BLOCK),
    "Visual Basic .NET": (("'",), ()),
    "Batchfile": (("::", "REM ", "rem "), ()),
    "HTML": ((), (("<!--", "-->"),)),
    "XML": ((), (("<!--", "-->"),)),
    "Vue": ((), (("<!--", "-->"),)),
}
_SHEBANG = re.compile(r"#!")
_ENCODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+|^[ \t\f]*#\s*vim?:.*fileencoding")
# What makes a comment block a licence/copyright header.
_LICENSE_BLOCK = re.compile(
    r"copyright\b|\(c\)\s*\d{4}|©|spdx-license-identifier|licen[cs]ed\s+under|permission\s+is\s+hereby\s+granted"
    r"|redistribution\s+and\s+use|free\s+software|all\s+rights\s+reserved|this\s+file\s+is\s+part\s+of"
    r"|terms\s+of\s+the\s+.{0,40}licen[cs]e|governed\s+by\s+a\s+.{0,40}licen[cs]e|without\s+warrant",
    re.I)


def strip_license_header(text: str, language: str) -> str:
    """`text` without its leading licence/copyright comment blocks (see module doc)."""
    syntax = COMMENT_SYNTAX.get(language)
    if syntax is None:
        return text
    lines = text.splitlines(keepends=True)
    keep = 0  # shebang and encoding lines stay at the top
    if lines and _SHEBANG.match(lines[0]):
        keep = 1
    while keep < min(len(lines), 2) and _ENCODING.match(lines[keep]):
        keep += 1
    start = keep
    while True:
        first = _skip_blank(lines, start)
        end = _comment_block_end(lines, first, *syntax)
        if end == first or not _LICENSE_BLOCK.search("".join(lines[first:end])):
            break
        start = end
    if start == keep:
        return text
    return "".join(lines[:keep] + lines[_skip_blank(lines, start):])


def _skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _comment_block_end(lines: list[str], i: int, prefixes: tuple[str, ...],
                       blocks: tuple[tuple[str, str], ...]) -> int:
    """Index after the comment block starting at line i (i itself when none starts there):
    a run of line comments, or one block comment that ends a line."""
    if i >= len(lines):
        return i
    head = lines[i].lstrip()
    for opener, closer in blocks:
        if head.startswith(opener):
            for j in range(i, len(lines)):
                text = lines[j].lstrip()[len(opener):] if j == i else lines[j]
                if closer in text:
                    after = text.split(closer, 1)[1]
                    return j + 1 if not after.strip() else i  # code after the comment: leave it all
            return i  # unterminated: not a comment we understand
    j = i
    while j < len(lines) and prefixes and lines[j].lstrip().startswith(prefixes):
        j += 1
    return j
