"""Dependency-ordered repository samples (DeepSeek-Coder Algorithm 1, REFERENCE.md §6).

`imports` finds what each file imports (tree-sitter for twelve languages, regular
expressions for the rest), `resolve` maps those names to files of the same repository,
`order` is Algorithm 1, and `sample` builds the packed records with path comments and
`files` spans, split at file boundaries.
"""

from stackpipe.packing.order import dependency_order
from stackpipe.packing.sample import pack_repository

__all__ = ["dependency_order", "pack_repository"]
