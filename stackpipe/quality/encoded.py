"""StarCoder2's encoded-data check (arXiv 2402.19173, §3: described in the paper, no
released code).

A file is dropped when runs of base64, hexadecimal bytes or unicode escapes make up
one run longer than `max_run_chars` or more than `max_fraction` of the file. Loose
patterns would catch ordinary code (a `////////` comment rule, a list of decimal
numbers, a long lowercase identifier, a binary literal), so a run here is:

- base64: >= `min_base64_chars` characters of `[A-Za-z0-9+/]` (then `=` padding) that
  mix upper case, lower case and digits, as random bytes encoded always do;
- hexadecimal: >= `min_hex_bytes` bytes written `0x12, 0x34, ...` or `\\x12\\x34...`,
  or a plain hex word of >= 2 x `min_hex_bytes` digits holding digits and two
  different letters;
- unicode escapes: >= `min_unicode_escapes` consecutive `\\uXXXX`.

Pieces of one literal wrapped the way code wraps it (whitespace, line breaks, quotes,
`+`, a `\\n` escape between them) count as one run; hashes in a list, separated by
commas, do not. Speed and linearity: base64 and hex words are found by
`bytes.translate` to a 0/1 mask and `bytes.find` of a run of 1s (C speed, each byte
seen a bounded number of times); the other patterns are regexes that start with a
literal, so `re` jumps between its occurrences, and hold no nested ambiguity.
"""

from __future__ import annotations

import functools
import re
from typing import Iterator

from stackpipe.records import KEEP, Drop, FileRecord, Verdict
from stackpipe.rules import EncodedDataRules, QualityThresholds

_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_HEX = b"0123456789abcdefABCDEF"
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_DIGITS = re.compile(rb"[0-9]")
_DECIMAL = frozenset(b"0123456789")
# What may sit between two pieces of one wrapped literal.
_JOIN = re.compile(rb"""(?:\\n|[\s"'`+\\])*""")
_MAX_JOIN_CHARS = 16


def _mask(members: bytes) -> bytes:
    """A translate table: the bytes of `members` to 1, every other byte to 0."""
    return bytes(1 if b in members else 0 for b in range(256))


_B64_MASK = _mask(_B64)
_HEX_MASK = _mask(_HEX)


class _Patterns:
    """The regexes of one EncodedDataRules. Each starts with a literal, so `re` jumps
    from one occurrence of it to the next instead of trying every position."""

    def __init__(self, rules: EncodedDataRules):
        # A C byte list (0x12, 0x34) or a string of escapes (\x12\x34); a pattern
        # each, since an alternation in front would cost the literal search.
        self.hex_bytes = tuple(
            _repeated(prefix + rb"[0-9a-fA-F]{2}(?![0-9a-fA-F])", rb"[\s,]*", rules.min_hex_bytes)
            for prefix in (rb"0[xX]", rb"\\x")
        )
        self.unicode = _repeated(rb"\\u[0-9a-fA-F]{4}", b"", rules.min_unicode_escapes)


def _repeated(item: bytes, separator: bytes, times: int) -> re.Pattern[bytes]:
    """`times` or more `item`s, with `separator` between them, starting with a literal."""
    return re.compile(item + rb"(?:" + separator + item + rb"){%d,}" % (times - 1))


_patterns = functools.lru_cache(maxsize=8)(_Patterns)


def _runs(mask: bytes, min_len: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of 1s at least `min_len` long in `mask`, by C-speed
    `bytes.find`: the first hit after a 0 byte is always the start of a run."""
    needle = b"\x01" * min_len
    start = mask.find(needle)
    while start >= 0:
        end = mask.find(b"\x00", start + min_len)
        end = len(mask) if end < 0 else end
        yield start, end
        start = mask.find(needle, end)


def _base64_runs(data: bytes, rules: EncodedDataRules) -> Iterator[tuple[int, int]]:
    for start, end in _runs(data.translate(_B64_MASK), rules.min_base64_chars):
        run = data[start:end]
        # Random bytes, once encoded, mix upper case, lower case and digits; a `////`
        # comment rule, a long identifier or a path rarely does.
        if run != run.lower() and run != run.upper() and _DIGITS.search(run):
            yield start, end + _padding(data, end)


def _padding(data: bytes, end: int) -> int:
    return 2 if data.startswith(b"==", end) else 1 if data.startswith(b"=", end) else 0


def _hex_string_runs(data: bytes, rules: EncodedDataRules) -> Iterator[tuple[int, int]]:
    for start, end in _runs(data.translate(_HEX_MASK), 2 * rules.min_hex_bytes):
        run = data[start:end]
        # A whole word (not the tail of `x0deadbeef...` or of an identifier) holding
        # digits and two different letters: not a long decimal number, a word like
        # "facade", a float `1234...5e10` or a binary literal `0b1000...`.
        whole_word = (start == 0 or data[start - 1] not in _WORD) and (end == len(data) or data[end] not in _WORD)
        if whole_word and _DIGITS.search(run) and len(set(run.lower()) - _DECIMAL) >= 2:
            yield start, end


def _spans(data: bytes, rules: EncodedDataRules) -> Iterator[tuple[int, int]]:
    """(start, end) of every encoded-looking run, in no particular order."""
    patterns = _patterns(rules)
    yield from _base64_runs(data, rules)
    yield from _hex_string_runs(data, rules)
    for pattern in (*patterns.hex_bytes, patterns.unicode):
        yield from (m.span() for m in pattern.finditer(data))


def encoded_runs(text: str, rules: EncodedDataRules) -> list[tuple[int, int]]:
    """Encoded runs of `text`, sorted, overlapping and wrapped pieces merged."""
    # One byte per character, so byte offsets are character offsets; non-ASCII
    # characters (never part of a run) become "?".
    data = text.encode("ascii", "replace")
    merged: list[tuple[int, int]] = []
    for start, end in sorted(_spans(data, rules)):
        if merged:
            last_start, last_end = merged[-1]
            gap = start - last_end
            if gap <= 0 or (gap <= _MAX_JOIN_CHARS and _JOIN.fullmatch(data, last_end, start)):
                merged[-1] = (last_start, max(last_end, end))
                continue
        merged.append((start, end))
    return merged


def check_encoded_data(record: FileRecord, t: QualityThresholds) -> Verdict:
    """StarCoder2: drop a file when one base64 / hex / unicode-escape run is longer than
    `max_run_chars` (1024) or all runs together cover more than `max_fraction` (50%)."""
    rules = t.encoded_data
    if rules is None or not record.content:
        return KEEP
    runs = encoded_runs(record.content, rules)
    if not runs:
        return KEEP
    longest = max(end - start for start, end in runs)
    if longest > rules.max_run_chars:
        return Drop("encoded_data", f"longest encoded run={longest} chars > max_run_chars={rules.max_run_chars}")
    fraction = sum(end - start for start, end in runs) / len(record.content)
    if fraction > rules.max_fraction:
        return Drop("encoded_data", f"encoded fraction={fraction:.3f} > max_fraction={rules.max_fraction}")
    return KEEP
