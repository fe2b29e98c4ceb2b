"""Import specs -> the repository files they name, per language.

A spec resolves to zero or more files of the same repository; zero means the import is
external (the standard library, a third-party package) or names something the
repository lacks. Lookups are by exact path first (relative imports, `mod` files, quoted
includes beside the importer), then by path suffix, which finds packages whatever
directory holds them (`src/`, `lib/`, a distribution's top level). Among several files
with the suffix the one with the shortest path wins, then the first in path order, so
resolution is deterministic.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from typing import Iterable, Sequence

from stackpipe.packing.imports import ImportSpec

JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".json", ".vue")
JS_LANGUAGES = ("JavaScript", "TypeScript", "TSX")
_C_LIKE = ("C", "C++", "Objective-C", "Objective-C++", "Cuda")
_SOURCE_EXTENSIONS = {
    "Python": (".py", ".pyi"),
    "Java": (".java", ".kt"),
    "Kotlin": (".kt", ".kts", ".java"),
    "PHP": (".php",),
    "Ruby": (".rb",),
    "Rust": (".rs",),
    "Lua": (".lua",),
    "Swift": (".swift",),
    "Scala": (".scala",),
    "Groovy": (".groovy", ".java"),
    "Haskell": (".hs",),
    "Elixir": (".ex", ".exs"),
    "Perl": (".pm", ".pl"),
    "OCaml": (".ml",),
    "F#": (".fs",),
}
_CSHARP_NAMESPACE = re.compile(r"^\s*namespace\s+([\w.]+)", re.M)
_GO_MODULE = re.compile(r"^\s*module\s+(\S+)", re.M)


class RepositoryIndex:
    """The files of one repository, indexed for lookups by path, suffix and directory.

    Args:
      files: (path, language, text) of every file.
      include_dirs: C/C++ include directories, relative to the repository root.
    """

    def __init__(self, files: Iterable[tuple[str, str, str]], include_dirs: Sequence[str] = ()):
        self.paths: set[str] = set()
        self.language: dict[str, str] = {}
        self._by_name: dict[str, list[str]] = defaultdict(list)
        self.directories: dict[str, list[str]] = defaultdict(list)
        self.namespaces: dict[str, list[str]] = defaultdict(list)  # C# namespace -> files
        self.go_modules: list[tuple[str, str]] = []  # (module path, directory of go.mod)
        self.include_dirs = tuple(d.strip("/") for d in include_dirs)
        self._suffix_cache: dict[tuple[str, str | None], str | None] = {}
        for path, language, text in sorted(files):
            self.paths.add(path)
            self.language[path] = language
            self._by_name[posixpath.basename(path)].append(path)
            self.directories[posixpath.dirname(path)].append(path)
            if language == "C#":
                for name in dict.fromkeys(_CSHARP_NAMESPACE.findall(text)):
                    self.namespaces[name].append(path)
            elif posixpath.basename(path) == "go.mod":
                match = _GO_MODULE.search(text)
                if match:
                    self.go_modules.append((match.group(1), posixpath.dirname(path)))
        self.go_modules.sort(key=lambda item: -len(item[0]))

    def exact(self, path: str) -> str | None:
        path = posixpath.normpath(path).lstrip("/") if path else path
        return path if path in self.paths else None

    def suffix(self, tail: str, root_marker: str | None = None) -> str | None:
        """The file whose path is `tail` or ends with `/tail` (shortest, then first).

        `root_marker`: a file name (`__init__.py`) whose presence beside the match's root
        means the match is nested in a package rather than at a source root.
        """
        key = (tail, root_marker)
        if key not in self._suffix_cache:  # `__init__.py` alone names hundreds of files
            self._suffix_cache[key] = self._suffix(tail.strip("/"), root_marker)
        return self._suffix_cache[key]

    def _suffix(self, tail: str, root_marker: str | None) -> str | None:
        if not tail or tail.startswith(".."):
            return None
        matches = [p for p in self._by_name.get(posixpath.basename(tail), ()) if p == tail or p.endswith("/" + tail)]
        if root_marker is not None:
            matches = [p for p in matches if p == tail or self._at_root(p[: len(p) - len(tail)], root_marker)]
        return min(matches, key=lambda p: (len(p), p)) if matches else None

    def _at_root(self, prefix: str, root_marker: str) -> bool:
        """True when the directory `prefix` (ending in /) lacks `root_marker`."""
        return posixpath.join(posixpath.dirname(prefix), root_marker) not in self.paths

    def first(self, candidates: Iterable[str], *, by_suffix: bool, root_marker: str | None = None) -> str | None:
        for candidate in candidates:
            found = self.exact(candidate) if not by_suffix else self.suffix(candidate, root_marker)
            if found is not None:
                return found
        return None

    def directory_files(self, tail: str, extensions: Sequence[str]) -> list[str]:
        """Files with one of `extensions` directly in the directory `tail` (exact, else the shortest suffix match)."""
        tail = tail.strip("/")
        if tail in self.directories:
            directory = tail
        else:
            matches = [d for d in self.directories if d.endswith("/" + tail)] if tail else []
            if not matches:
                return []
            directory = min(matches, key=lambda d: (len(d), d))
        extensions = tuple(extensions)
        return [p for p in self.directories[directory] if p.endswith(extensions)]


def resolve(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> tuple[str, ...]:
    """Repository paths that `spec`, stated in file `importer` of `language`, names (may be empty)."""
    resolver = _RESOLVERS.get(language)
    if resolver is None:
        resolver = _resolve_c if language in _C_LIKE else _resolve_generic
    targets = resolver(spec, importer, language, index)
    return tuple(t for t in dict.fromkeys(targets) if t and t != importer)


def _one(found: str | None) -> list[str]:
    return [found] if found is not None else []


def _resolve_python(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    extensions = _SOURCE_EXTENSIONS["Python"]

    def module_files(base: str) -> list[str]:
        return [base + ext for ext in extensions] + [f"{base}/__init__{ext}" for ext in extensions]

    parts = [p for p in spec.name.split(".") if p]
    if spec.level:
        package = posixpath.dirname(importer)
        for _ in range(spec.level - 1):
            package = posixpath.dirname(package)
        base = posixpath.join(package, *parts) if parts else package
        lookup = lambda candidates: index.first(candidates, by_suffix=False)  # noqa: E731
    else:
        base = "/".join(parts)
        # an absolute import starts at a source root: not inside another package
        lookup = lambda candidates: index.first(candidates, by_suffix=True, root_marker="__init__.py")  # noqa: E731
    # `from pkg import sub` imports the submodule when there is one, else names in pkg.
    found = [t for name in spec.names if (t := lookup(module_files(posixpath.join(base, name)))) is not None]
    if found:
        return found
    if base:
        found_module = lookup(module_files(base))
        if found_module is not None:
            return [found_module]
        if not spec.level and len(parts) > 1:  # `import a.b.c` where c is a name in a/b
            return _one(lookup(module_files("/".join(parts[:-1]))))
    return []


def _with_extensions(base: str, extensions: Sequence[str]) -> list[str]:
    candidates = [base] if posixpath.splitext(base)[1] else []
    return candidates + [base + ext for ext in extensions] + [f"{base}/index{ext}" for ext in extensions]


def _resolve_js(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    name = spec.name.split("?")[0]
    if name.startswith("."):
        return _one(index.first(_with_extensions(posixpath.join(posixpath.dirname(importer), name), JS_EXTENSIONS),
                                by_suffix=False))
    if name.startswith("/"):
        return _one(index.first(_with_extensions(name, JS_EXTENSIONS), by_suffix=False))
    if name.startswith(("@/", "~/")):  # the common bundler alias for src/
        return _one(index.first(_with_extensions("src/" + name[2:], JS_EXTENSIONS), by_suffix=False))
    return []  # a package from node_modules


def _resolve_java(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    extensions = _SOURCE_EXTENSIONS[language]
    parts = spec.name.split(".")
    if spec.wildcard:
        return index.directory_files("/".join(parts), extensions)
    # a.b.C, or a.b.C.member / a.b.C.Inner: drop trailing names until a file matches
    for end in range(len(parts), 1, -1):
        found = index.first(["/".join(parts[:end]) + ext for ext in extensions], by_suffix=True)
        if found is not None:
            return [found]
    return []


def _resolve_csharp(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    files = index.namespaces.get(spec.name)
    if files:
        return list(files)
    parts = spec.name.split(".")  # `using static A.B.C` names a class
    return _one(index.first(["/".join(parts[i:]) + ".cs" for i in range(len(parts) - 1)], by_suffix=True))


def _resolve_go(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    path = spec.name

    def package(directory: str, exact: bool) -> list[str]:
        if exact:
            files = index.directories.get(directory.strip("/"), [])
            files = [p for p in files if p.endswith(".go")]
        else:
            files = index.directory_files(directory, (".go",))
        return [p for p in files if not p.endswith("_test.go")]

    if path.startswith("."):
        return package(posixpath.normpath(posixpath.join(posixpath.dirname(importer), path)), True)
    for module, root in index.go_modules:
        if path == module or path.startswith(module + "/"):
            return package(posixpath.join(root, path[len(module) + 1:]) if path != module else root, True)
    if "." not in path.split("/")[0]:
        return []  # the standard library (no dot in the first element)
    parts = path.split("/")  # no go.mod: the longest suffix that is a directory of Go files
    for start in range(1, len(parts)):
        found = package("/".join(parts[start:]), False)
        if found:
            return found
    return []


def _rust_module_dir(path: str) -> str:
    """The directory holding a Rust file's child modules."""
    directory, name = posixpath.split(path)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return directory
    return posixpath.join(directory, name[:-3]) if name.endswith(".rs") else directory


def _rust_crate_root(path: str, index: RepositoryIndex) -> str:
    directory = posixpath.dirname(path)
    while True:
        if any(posixpath.join(directory, root) in index.paths for root in ("lib.rs", "main.rs")):
            return directory
        if not directory:
            return posixpath.dirname(path) if path.count("/") else ""
        directory = posixpath.dirname(directory)


def _rust_module(directory: str, parts: list[str], index: RepositoryIndex) -> list[str]:
    for end in range(len(parts), 0, -1):  # a::b::Item -> a/b.rs, a/b/mod.rs, a.rs, a/mod.rs
        base = posixpath.join(directory, *parts[:end])
        found = index.first([base + ".rs", base + "/mod.rs"], by_suffix=False)
        if found is not None:
            return [found]
    return []


def _resolve_rust(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    if spec.kind == "mod":
        base = posixpath.join(_rust_module_dir(importer), spec.name)
        return _one(index.first([base + ".rs", base + "/mod.rs"], by_suffix=False))
    parts = [p for p in spec.name.split("::") if p]
    if not parts:
        return []
    head = parts[0]
    if head == "crate":
        return _rust_module(_rust_crate_root(importer, index), parts[1:], index)
    if head in ("self", "super"):
        directory = _rust_module_dir(importer)
        while parts and parts[0] in ("self", "super"):
            if parts.pop(0) == "super":
                directory = posixpath.dirname(directory)
        return _rust_module(directory, parts, index) if parts else []
    # 2018 edition: a path may start with a module of this crate
    return _rust_module(_rust_crate_root(importer, index), parts, index)


def _resolve_php(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    if spec.kind == "path":
        name = spec.name.lstrip("/") if spec.name.startswith("/") else spec.name
        return _one(index.first([posixpath.join(posixpath.dirname(importer), name), name], by_suffix=False)
                    or index.suffix(name))
    parts = [p for p in spec.name.split("\\") if p]
    # PSR-4 maps a vendor prefix to a directory: drop leading names, keep at least two.
    keep = min(2, len(parts))
    return _one(index.first(["/".join(parts[i:]) + ".php" for i in range(len(parts) - keep + 1)], by_suffix=True))


def _resolve_ruby(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    name = spec.name if spec.name.endswith(".rb") else spec.name + ".rb"
    if spec.kind == "relative":
        return _one(index.exact(posixpath.join(posixpath.dirname(importer), name)))
    return _one(index.first([posixpath.join(posixpath.dirname(importer), name)], by_suffix=False)
                or index.suffix(name))


def _resolve_c(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    name = spec.name
    candidates = [posixpath.join(d, name) for d in index.include_dirs]
    if spec.kind == "path":
        candidates.insert(0, posixpath.join(posixpath.dirname(importer), name))
    found = index.first(candidates + [name], by_suffix=False)
    if found is None and (spec.kind == "path" or "/" in name):
        found = index.suffix(name)
    return _one(found)


def _resolve_generic(spec: ImportSpec, importer: str, language: str, index: RepositoryIndex) -> list[str]:
    """Languages without a resolver of their own: paths relative to the importer or the root,
    dotted names as directories, with the importer's extension or its language's."""
    extension = posixpath.splitext(importer)[1]
    extensions = tuple(dict.fromkeys(((extension,) if extension else ()) + _SOURCE_EXTENSIONS.get(language, ())))
    if spec.kind in ("path", "relative"):
        bases = [posixpath.join(posixpath.dirname(importer), spec.name), spec.name]
        candidates = [b + suffix for b in bases for suffix in ("",) + extensions]
        return _one(index.first(candidates, by_suffix=False))
    separator = "::" if "::" in spec.name else "/" if "/" in spec.name else "."
    base = "/".join(p for p in spec.name.split(separator) if p)
    return _one(index.first([base + ext for ext in extensions], by_suffix=True))


_RESOLVERS = {
    "Python": _resolve_python,
    "JavaScript": _resolve_js,
    "TypeScript": _resolve_js,
    "TSX": _resolve_js,
    "Java": _resolve_java,
    "Kotlin": _resolve_java,
    "C#": _resolve_csharp,
    "Go": _resolve_go,
    "Rust": _resolve_rust,
    "PHP": _resolve_php,
    "Ruby": _resolve_ruby,
}
