"""Character and line counts for the quality checks, at C speed.

The published rules are written per character (bigcode-dataset:
`np.mean([c.isalnum() for c in content])`); a Python loop over every character would
cap the pipeline near 10 MB/s. ASCII text, nearly all source code, is counted with
`bytes.translate(None, delete)`. Other text is counted by looking its code points up in
a table of the very `str` predicate the rule names, built once per process, so the
counts are exact for every character Python knows.
"""

from __future__ import annotations

import functools
import sys
from typing import Callable, NamedTuple

import numpy as np


def _deletions(keep: Callable[[str], bool]) -> bytes:
    """Every ASCII byte value whose character fails `keep`."""
    return bytes(b for b in range(128) if not keep(chr(b)))


_DELETE_NON_ALNUM = _deletions(str.isalnum)
_DELETE_NON_ALPHA = _deletions(str.isalpha)


@functools.cache
def _table(predicate: Callable[[str], bool]) -> np.ndarray:
    """predicate(chr(c)) for every code point c (1.1 MB; about 0.1 s to build)."""
    size = sys.maxunicode + 1
    return np.fromiter(map(predicate, map(chr, range(size))), dtype=bool, count=size)


def _count(text: str, deletions: bytes, predicate: Callable[[str], bool]) -> int:
    if text.isascii():
        return len(text.encode("ascii").translate(None, deletions))
    # "surrogatepass": lone surrogates can reach us from surrogateescape decoding.
    code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    return int(np.count_nonzero(_table(predicate).take(code_points)))


def count_alnum(text: str) -> int:
    """Number of characters `c` with `c.isalnum()`."""
    return _count(text, _DELETE_NON_ALNUM, str.isalnum)


def count_alpha(text: str) -> int:
    """Number of characters `c` with `c.isalpha()`."""
    return _count(text, _DELETE_NON_ALPHA, str.isalpha)


class LineLengths(NamedTuple):
    """Line statistics as bigcode-dataset takes them, over `content.splitlines()`."""

    count: int
    longest: int
    mean: float


def line_lengths(text: str) -> LineLengths:
    lengths = list(map(len, text.splitlines()))
    if not lengths:
        return LineLengths(0, 0, 0.0)
    return LineLengths(len(lengths), max(lengths), sum(lengths) / len(lengths))
