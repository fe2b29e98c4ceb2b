"""One Hyperscan pass over a file's bytes marks the lines each prefilter group must read.

The prefilter's exact searches (stackpipe.pii.prefilter) are Python regexes and `in`
tests, one pass over the whole text each: about twenty passes, most of PII's time on
clean code. Hyperscan (Intel's multi-pattern regex engine; Vectorscan on ARM) runs a
relaxation of all of them in one pass over the bytes at about 1 GB/s. A group's exact
search then reads only the lines where its relaxation matched (with the next line, where
an assignment's value may continue), so it finds the same candidates as over the whole
text, at a fraction of the cost.

A relaxation must match wherever the exact search does. Python's `str` regexes are
Unicode-aware where Hyperscan reads bytes, so a relaxation lets any non-ASCII byte stand
for `\\w` and `\\d`, and a case-insensitive letter also matches the non-ASCII characters
that Python folds onto it (`ſ` for s, the Kelvin sign for k, dotted and dotless I for i;
tests/test_pii_scan.py checks this list against the whole of Unicode).
"""

from __future__ import annotations

import re
import threading

import hyperscan

# Non-ASCII characters that Python's lower() or re.IGNORECASE maps onto an ASCII letter.
FOLDED_ONTO = {"i": "\u0130\u0131", "s": "\u017f", "k": "\u212a"}
_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))


def caseless(word: str) -> bytes:
    """A byte pattern matching `word` in any case, the non-ASCII foldings included."""
    pieces = []
    for c in word.lower():
        extra = FOLDED_ONTO.get(c, "")
        if not c.isalpha():
            pieces.append(re.escape(c))
        elif extra:
            pieces.append("(?:[" + c + c.upper() + "]|" + "|".join(
                "".join(f"\\x{b:02x}" for b in e.encode()) for e in extra) + ")")
        else:
            pieces.append("[" + c + c.upper() + "]")
    return "".join(pieces).encode()


class LineGate:
    """Compiled relaxations, by group: `lines(raw)` gives each group's regions to read.

    groups: group name -> (byte patterns, lines after a matching line to read too).
    """

    def __init__(self, groups: dict[str, tuple[list[bytes], int]]):
        expressions, ids, self._group_of, self._after = [], [], [], []
        for number, (group, (patterns, after)) in enumerate(groups.items()):
            self._group_of.append(group)
            self._after.append(after)
            expressions += patterns
            ids += [number] * len(patterns)
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(expressions=expressions, ids=ids, elements=len(expressions),
                               flags=[0] * len(expressions))
        self._local = threading.local()  # a scratch per thread: Hyperscan's are not shared

    def _scratch(self):
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        return scratch

    def regions(self, raw: bytes) -> dict[str, list[tuple[int, int]]]:
        """Per group with a match: merged byte ranges of whole lines, [start, end) without
        the final newline, in order."""
        ends: list[list[int]] = [[] for _ in self._group_of]

        def on_match(number, start, end, flags, context):
            ends[number].append(end)

        self._database.scan(raw, match_event_handler=on_match, scratch=self._scratch())
        out = {}
        for number, found in enumerate(ends):
            if found:
                out[self._group_of[number]] = _line_ranges(raw, found, self._after[number])
        return out


def _line_ranges(raw: bytes, ends: list[int], after: int) -> list[tuple[int, int]]:
    """The lines holding the last byte of each match, merged; with `after`, also that many
    lines more, not counting blank lines (a regex's `\\s*` reaches across them)."""
    ranges: list[list[int]] = []
    for end in sorted(ends):
        last = max(end - 1, 0)
        if not after and ranges and last < ranges[-1][1]:
            continue  # on a line already taken
        start = raw.rfind(b"\n", 0, last) + 1
        stop = raw.find(b"\n", last)
        taken = 0
        while taken < after and stop != -1:
            following = raw.find(b"\n", stop + 1)
            line = raw[stop + 1:len(raw) if following == -1 else following]
            if line and not line.decode("utf-8", "surrogatepass").isspace():
                taken += 1
            stop = following
        stop = len(raw) if stop == -1 else stop
        if ranges and start <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], stop)
        else:
            ranges.append([start, stop])
    return [(start, stop) for start, stop in ranges]


def char_offsets(raw: bytes, offsets: list[int]) -> list[int]:
    """Character offsets of sorted UTF-8 byte `offsets` of `raw` (each on a character's
    first byte): a character is a byte that is no continuation byte."""
    out, at, chars = [], 0, 0
    for offset in offsets:
        chars += len(raw[at:offset].translate(None, _CONTINUATION_BYTES))
        at = offset
        out.append(chars)
    return out
