"""What each file imports: tree-sitter queries for twelve languages, regular expressions for the rest.

DeepSeek-Coder (REFERENCE.md §6) found file-to-file dependencies with regular
expressions; a parser is the known improvement: it ignores imports inside strings and
comments and understands multi-line forms. Grammars come from the official per-language
wheels (`tree-sitter-python`, ...), so nothing is downloaded at run time; a language with
no grammar installed, or not among the twelve, uses the regular expressions below.

An `ImportSpec` is what one statement names, before any lookup in the repository:
`resolve.py` turns it into repository paths.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass

# Kinds of ImportSpec.name:
#   module  a qualified name (Python `a.b`, Java `a.b.C`, C# / PHP namespaces, Rust `crate::a`)
#   path    a path or specifier as written (C `#include "x.h"`, JS './x', Go import path, Ruby require)
#   relative  a path relative to the importing file (Ruby require_relative)
#   system  a C/C++ `#include <x.h>`
#   mod     a Rust `mod name;` (a child module file)
KINDS = ("module", "path", "relative", "system", "mod")


@dataclass(frozen=True, order=True)
class ImportSpec:
    """One dependency a file states.

    Args:
      kind: one of KINDS (how `name` is to be read).
      name: the module, path or specifier as written.
      level: Python relative imports: the number of leading dots.
      names: Python `from m import a, b`: the imported names (each may be a submodule).
      wildcard: Java/Kotlin `a.b.*`: everything in a package.
    """

    kind: str
    name: str
    level: int = 0
    names: tuple[str, ...] = ()
    wildcard: bool = False


# Language name (rules/languages.yaml) -> (module, function returning the grammar).
GRAMMARS = {
    "Python": ("tree_sitter_python", "language"),
    "JavaScript": ("tree_sitter_javascript", "language"),
    "TypeScript": ("tree_sitter_typescript", "language_typescript"),
    "TSX": ("tree_sitter_typescript", "language_tsx"),
    "Java": ("tree_sitter_java", "language"),
    "C": ("tree_sitter_c", "language"),
    "C++": ("tree_sitter_cpp", "language"),
    "C#": ("tree_sitter_c_sharp", "language"),
    "Go": ("tree_sitter_go", "language"),
    "Rust": ("tree_sitter_rust", "language"),
    "PHP": ("tree_sitter_php", "language_php"),
    "Ruby": ("tree_sitter_ruby", "language"),
    "Kotlin": ("tree_sitter_kotlin", "language"),
}

_JS_QUERY = """
(import_statement source: (string (string_fragment) @path))
(export_statement source: (string (string_fragment) @path))
(call_expression function: (identifier) @fn arguments: (arguments . (string (string_fragment) @path))
  (#eq? @fn "require"))
(call_expression function: (import) arguments: (arguments . (string (string_fragment) @path)))
"""
_C_QUERY = """
(preproc_include path: (string_literal (string_content) @path))
(preproc_include path: (system_lib_string) @system)
"""
_PHP_INCLUDES = ("include_expression", "include_once_expression", "require_expression", "require_once_expression")

# Captures: @stmt (a whole statement, read by the language's reader), @path (a string's
# text: a path kind), @system (a C <...> include), @mod (a Rust mod item).
QUERIES = {
    "Python": "(import_statement) @stmt (import_from_statement) @stmt",
    "JavaScript": _JS_QUERY,
    "TypeScript": _JS_QUERY + "(import_require_clause source: (string (string_fragment) @path))",
    "TSX": _JS_QUERY + "(import_require_clause source: (string (string_fragment) @path))",
    "Java": "(import_declaration) @stmt",
    "Kotlin": "(import) @stmt",
    "C#": "(using_directive) @stmt",
    "C": _C_QUERY,
    "C++": _C_QUERY,
    "Go": "(import_spec path: (interpreted_string_literal (interpreted_string_literal_content) @path))",
    "Rust": "(use_declaration argument: (_) @stmt) (mod_item) @mod",
    "PHP": "(namespace_use_declaration) @stmt " + " ".join(f"({kind}) @include" for kind in _PHP_INCLUDES),
    "Ruby": """(call !receiver method: (identifier) @fn arguments: (argument_list . (string (string_content) @path))
                 (#match? @fn "^(require|require_relative|load)$"))""",
}


@functools.lru_cache(maxsize=None)
def _parser_and_query(language: str):
    """(Parser, Query) for `language`, built once per process; None when no grammar is installed."""
    spec = GRAMMARS.get(language)
    if spec is None:
        return None
    try:
        import tree_sitter

        grammar = tree_sitter.Language(getattr(importlib.import_module(spec[0]), spec[1])())
    except ImportError:
        return None
    return tree_sitter.Parser(grammar), tree_sitter.Query(grammar, QUERIES[language])


def load_parsers() -> list[str]:
    """Build every installed grammar now (a worker's setup); returns the languages parsed with tree-sitter."""
    return [language for language in GRAMMARS if _parser_and_query(language) is not None]


def has_parser(language: str) -> bool:
    return _parser_and_query(language) is not None


def extract_imports(language: str, text: str, *, engine: str = "tree_sitter") -> list[ImportSpec]:
    """The imports of one file, in source order.

    Args:
      language: the file's language (rules/languages.yaml name).
      text: its content.
      engine: "tree_sitter" (regular expressions where no grammar is installed) or "regex".
    """
    if engine not in ("tree_sitter", "regex"):
        raise ValueError(f"import engine must be 'tree_sitter' or 'regex', got {engine!r}")
    compiled = _parser_and_query(language) if engine == "tree_sitter" else None
    if compiled is None:
        return regex_imports(language, text)
    import tree_sitter

    parser, query = compiled
    data = text.encode("utf-8", "surrogatepass")
    tree = parser.parse(data)
    found: list[tuple[int, ImportSpec]] = []
    for capture, nodes in tree_sitter.QueryCursor(query).captures(tree.root_node).items():
        if capture == "fn":
            continue
        for node in nodes:
            node_text = data[node.start_byte:node.end_byte].decode("utf-8", "replace")
            for spec in _read_capture(language, capture, node, node_text, data):
                found.append((node.start_byte, spec))
    found.sort(key=lambda item: item[0])
    return [spec for _, spec in found]


def _read_capture(language: str, capture: str, node, text: str, data: bytes) -> list[ImportSpec]:
    if capture == "path":
        if language == "Ruby":
            call = node.parent.parent.parent
            method = call.child_by_field_name("method")
            kind = "relative" if method is not None and method.text == b"require_relative" else "path"
            return [ImportSpec(kind, text)]
        return [ImportSpec("path", text)]
    if capture == "system":
        return [ImportSpec("system", text.strip("<>"))]
    if capture == "mod":
        if node.child_by_field_name("body") is not None:
            return []
        name = node.child_by_field_name("name")
        return [ImportSpec("mod", name.text.decode())] if name is not None else []
    if capture == "include":  # PHP: the last string literal is the path (`__DIR__ . '/x.php'`)
        strings = re.findall(r"""['"]([^'"]+)['"]""", text)
        return [ImportSpec("path", strings[-1])] if strings else []
    return STATEMENT_READERS[language](text)


# --- statement readers (shared by both engines) ---------------------------------------

_PY_FROM = re.compile(r"from\s+(\.*)\s*([\w.]*)\s+import\s+(.*)", re.S)


def _python_statement(text: str) -> list[ImportSpec]:
    text = re.sub(r"#[^\n]*", "", text).replace("\\\n", " ")
    match = _PY_FROM.match(text)
    if match:
        dots, module, rest = match.groups()
        names = tuple(n.split()[0] for n in rest.strip().strip("()").split(",") if n.strip() and n.strip() != "*")
        return [ImportSpec("module", module, level=len(dots), names=names)]
    if text.startswith("import"):
        modules = [m.split()[0] for m in text[len("import"):].split(",") if m.strip()]
        return [ImportSpec("module", m) for m in modules]
    return []


def _java_statement(text: str) -> list[ImportSpec]:
    match = re.match(r"import\s+(?:static\s+)?([\w.`\s]+?)(\s*\.\s*\*)?\s*(?:as\s+\w+)?\s*;?\s*$", text.strip())
    if not match:
        return []
    name = re.sub(r"[\s`]", "", match.group(1))
    return [ImportSpec("module", name, wildcard=bool(match.group(2)))]


def _csharp_statement(text: str) -> list[ImportSpec]:
    match = re.match(r"(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?([\w.:]+)", text.strip())
    if not match or "(" in text:
        return []
    return [ImportSpec("module", match.group(1).replace("global::", ""))]


def expand_use_tree(text: str, separator: str) -> list[str]:
    """Rust `a::{b, c::{d, e}}` or PHP `A\\{B, C\\D}` -> one path per leaf; `self` leaves name
    their parent, `as` aliases and `*` globs are dropped."""
    text = re.sub(r"\s+as\s+\w+", "", re.sub(r"\s+", " ", text)).strip()
    brace = text.find("{")
    if brace < 0:
        leaf = text.strip().rstrip(separator)
        if leaf.endswith(separator + "*"):
            leaf = leaf[: -len(separator) - 1]
        if leaf.endswith(separator + "self"):
            leaf = leaf[: -len(separator) - 4]
        return [leaf] if leaf and leaf not in ("*", "self") else []
    prefix, inner = text[:brace], text[brace + 1: text.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, char in enumerate(inner):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    leaves = []
    for part in parts:
        part = part.strip()
        if part == "self":
            leaves.append(prefix.rstrip(separator).strip())
        elif part:
            leaves.extend(expand_use_tree(prefix + part, separator))
    return [leaf for leaf in leaves if leaf]


def _rust_statement(text: str) -> list[ImportSpec]:
    text = re.sub(r"^\s*(pub(\([^)]*\))?\s+)?use\s+", "", text).rstrip("; \n").lstrip(":")
    return [ImportSpec("module", leaf) for leaf in expand_use_tree(text, "::")]


def _php_statement(text: str) -> list[ImportSpec]:
    text = re.sub(r"^\s*use\s+(function\s+|const\s+)?", "", text).rstrip("; \n")
    leaves = []
    for clause in re.split(r",(?![^{]*\})", text):  # commas outside a group
        leaves.extend(expand_use_tree(clause.strip().lstrip("\\"), "\\"))
    return [ImportSpec("module", leaf) for leaf in leaves]


STATEMENT_READERS = {
    "Python": _python_statement,
    "Java": _java_statement,
    "Kotlin": _java_statement,
    "C#": _csharp_statement,
    "Rust": _rust_statement,
    "PHP": _php_statement,
}


# --- regular expressions: the fallback, and the paper's method -------------------------

_STRING = r"""['"`]([^'"`\n]+)['"`]"""
_JS_PATTERNS = [
    ("path", re.compile(r"^\s*(?:import|export)\b[^'\"`;]*?\bfrom\s*" + _STRING, re.M)),
    ("path", re.compile(r"^\s*import\s*" + _STRING, re.M)),
    ("path", re.compile(r"(?<![\w.$])require\s*\(\s*" + _STRING + r"\s*\)")),
    ("path", re.compile(r"(?<![\w.$])import\s*\(\s*" + _STRING + r"\s*\)")),
]
_C_PATTERNS = [
    ("path", re.compile(r'^\s*#\s*include\s*"([^"\n]+)"', re.M)),
    ("system", re.compile(r"^\s*#\s*include\s*<([^>\n]+)>", re.M)),
]
# Statement patterns: a whole statement handed to the language's statement reader.
_STATEMENT_PATTERNS = {
    "Python": re.compile(r"^[ \t]*(?:from[ \t]+[.\w]+[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]+)", re.M),
    "Java": re.compile(r"^\s*import\s+(?:static\s+)?[\w.]+(?:\.\*)?\s*;", re.M),
    "Kotlin": re.compile(r"^\s*import\s+[\w.`]+(?:\.\*)?(?:\s+as\s+\w+)?", re.M),
    "C#": re.compile(r"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?[\w.:]+\s*;", re.M),
    "Rust": re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+[^;]+;", re.M),
    "PHP": re.compile(r"^\s*use\s+[^;(]+;", re.M),
}
_OTHER_PATTERNS = {
    "JavaScript": _JS_PATTERNS,
    "TypeScript": _JS_PATTERNS,
    "TSX": _JS_PATTERNS,
    "C": _C_PATTERNS,
    "C++": _C_PATTERNS,
    "Objective-C": _C_PATTERNS + [("path", re.compile(r'^\s*#\s*import\s*"([^"\n]+)"', re.M))],
    "Cuda": _C_PATTERNS,
    "Go": [("path", re.compile(r'^\s*import\s+(?:[\w.]+\s+)?"([^"\n]+)"', re.M)),
           ("go_block", re.compile(r"^\s*import\s*\(([^)]*)\)", re.M))],
    "Rust": [("mod", re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M))],
    "PHP": [("path", re.compile(r"\b(?:require|include)(?:_once)?\b[^;'\"]*['\"]([^'\"\n]+)['\"]"))],
    "Ruby": [("path", re.compile(r"^\s*(?:require|load)\s*\(?\s*['\"]([^'\"\n]+)['\"]", re.M)),
             ("relative", re.compile(r"^\s*require_relative\s*\(?\s*['\"]([^'\"\n]+)['\"]", re.M))],
    # Languages without a grammar here: the common forms (dotted names become module specs).
    "Lua": [("module", re.compile(r"\brequire\s*\(?\s*['\"]([\w./-]+)['\"]"))],
    "Swift": [("module", re.compile(r"^\s*import\s+(?:\w+\s+)?([\w.]+)", re.M))],
    "Scala": [("module", re.compile(r"^\s*import\s+([\w.]+)", re.M))],
    "Groovy": [("module", re.compile(r"^\s*import\s+(?:static\s+)?([\w.]+)", re.M))],
    "Haskell": [("module", re.compile(r"^\s*import\s+(?:qualified\s+)?([\w.]+)", re.M))],
    "Dart": [("path", re.compile(r"^\s*(?:import|export|part)\s+['\"]([^'\"\n]+)['\"]", re.M))],
    "Elixir": [("module", re.compile(r"^\s*(?:alias|import|require|use)\s+([\w.]+)", re.M))],
    "Perl": [("module", re.compile(r"^\s*(?:use|require)\s+([A-Z][\w:]+)", re.M))],
    "Julia": [("path", re.compile(r"^\s*include\s*\(\s*\"([^\"\n]+)\"", re.M))],
    "Shell": [("path", re.compile(r"^\s*(?:source|\.)\s+['\"]?([\w./-]+\.(?:sh|bash))", re.M))],
    "R": [("path", re.compile(r"\bsource\s*\(\s*['\"]([^'\"\n]+)['\"]"))],
    "Zig": [("path", re.compile(r"@import\s*\(\s*\"([^\"\n]+\.zig)\"\s*\)"))],
    "OCaml": [("module", re.compile(r"^\s*open\s+([A-Z][\w.]*)", re.M))],
    "F#": [("module", re.compile(r"^\s*open\s+([\w.]+)", re.M))],
    "Objective-C++": _C_PATTERNS,
}


def regex_imports(language: str, text: str) -> list[ImportSpec]:
    """The imports of one file found with regular expressions (DeepSeek-Coder's method)."""
    found: list[tuple[int, ImportSpec]] = []
    statement = _STATEMENT_PATTERNS.get(language)
    if statement is not None:
        for match in statement.finditer(text):
            for spec in STATEMENT_READERS[language](match.group(0).strip()):
                found.append((match.start(), spec))
    for kind, pattern in _OTHER_PATTERNS.get(language, ()):
        for match in pattern.finditer(text):
            if kind == "go_block":
                for line in re.finditer(r'"([^"\n]+)"', match.group(1)):
                    found.append((match.start(1) + line.start(), ImportSpec("path", line.group(1))))
            else:
                found.append((match.start(), ImportSpec(kind, match.group(1))))
    found.sort(key=lambda item: item[0])
    return [spec for _, spec in found]
