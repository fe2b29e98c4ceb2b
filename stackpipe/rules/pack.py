"""pack.yaml: dependency-ordered repository samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from stackpipe.rules.loader import Checked, one_of, ranged


@dataclass(frozen=True, kw_only=True)
class PackRules(Checked):
    """Dependency-ordered repository samples (REFERENCE.md §6, DeepSeek-Coder Algorithm 1).

    `max_chars`: a repository whose packed text is longer is split into several samples
    at file boundaries (a longer single file is a sample of its own, never cut).
    `engine`: how imports are found, `tree_sitter` (regular expressions for languages
    without a grammar) or `regex` (the paper's method). `comments`: the path comment per
    language as a template with `{path}` (overrides the built-in table);
    `default_comment` for languages neither names. `include_dirs`: C/C++ include
    directories relative to the repository root.
    """

    max_chars: int = ranged(100_000, 1)
    engine: str = "tree_sitter"
    default_comment: str = "# {path}"
    comments: Mapping[str, str] = field(default_factory=dict)
    include_dirs: tuple[str, ...] = ("include", "src", "lib")

    def __post_init__(self) -> None:
        super().__post_init__()
        one_of("engine", self.engine, ("tree_sitter", "regex"))
        for language, template in [("default_comment", self.default_comment), *self.comments.items()]:
            if "{path}" not in template or "\n" in template:
                raise ValueError(f"comment template {template!r} for {language} must be one line holding {{path}}")
