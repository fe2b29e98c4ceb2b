"""Cheap candidate search, so that presidio only reads the few lines that may hold PII.

Each recognizer group has a prefilter that is a relaxation of its patterns: every match
of a group's recognizers lies on a line this module marks for that group (literal
prefixes, `in` tests and regexes that start with a literal, which CPython's `re` scans
at hundreds of MB/s). The marked lines, each run with the line before it (where context
words live), are joined into one text per group, separated by a blank line so no
window sees another's context, and analyzed in one presidio call.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from stackpipe.pii.recognizers import (
    AWS_SECRET,
    EMAIL_LOCAL_CHARS,
    OBFUSCATED_EMAIL_PREFILTERS,
    PEM_BEGIN,
    PEM_END,
    TOKEN_PATTERNS,
)
from stackpipe.rules import SecretRules

_EMAIL_AT = re.compile(r"@(?=[\w\-]+\.\w)")
_IPV4 = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d")
_IPV6 = re.compile(r":[0-9A-Fa-f]{0,4}:")
_URL_USERINFO = re.compile(r"://[^\s/@:]*:[^\s/@]+@")
_AWS_SECRET = re.compile(AWS_SECRET)
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
# rest of a name, then an operator (or a lookup's default: `, "..."`, `) or "..."`, `|| "..."`)
_ASSIGNMENT_AFTER = (r"[\w.\-$]{0,64}(?:[\"'`]?\]?\s*[:=]|[\"'`][ \t)\]]*(?:,|or\b|\|\||\?\?)"
                     r"|[)\]]{0,2}[ \t]*(?:or\b|\|\||\?[?:]))")


def _merged_by_first_character(prefilters) -> tuple[re.Pattern, ...]:
    """One regex per leading literal character (`A(?:[KS]IA|Iza|C...)`): CPython's `re`
    jumps between occurrences of a literal first character quickly, and every pass over
    the text costs about the same, so fewer passes are faster."""
    groups: dict[str, list[str]] = {}
    for prefilter in dict.fromkeys(prefilters):
        first = prefilter[:2] if prefilter.startswith("\\") else prefilter[:1]
        groups.setdefault(first, []).append(prefilter[len(first):])
    return tuple(re.compile(first + rests[0] if len(rests) == 1 else first + "(?:" + "|".join(rests) + ")")
                 for first, rests in groups.items())


_TOKEN_PREFILTERS = _merged_by_first_character(prefilter for _, _, prefilter in TOKEN_PATTERNS)
_PEM_BEGIN = re.compile(re.escape(PEM_BEGIN))
_OBFUSCATED_LOWER = tuple(re.compile(p[1:] if p.startswith(" ") else p) for p in OBFUSCATED_EMAIL_PREFILTERS)
_SPACE_FIRST = {pattern: p.startswith(" ") for pattern, p in zip(_OBFUSCATED_LOWER, OBFUSCATED_EMAIL_PREFILTERS)}
_ORACLE_THIN = "jdbc:oracle:"
_SEPARATOR = "\n\n"


def _minimal(words: set[str]) -> list[str]:
    """Drop words that contain another word: finding `pass` already finds `password`."""
    return sorted(w for w in words if not any(o != w and o in w for o in words))


class Prefilter:
    """Candidate character ranges of a text, one method per recognizer group."""

    def __init__(self, rules: SecretRules):
        singles = {w.lower() for w in (*rules.password_words, *rules.key_words)}
        pairs = [p.lower().split() for p in rules.key_word_pairs]
        keywords = _minimal(singles | {second for _, second in pairs})
        self._assignments = [re.compile(re.escape(k) + _ASSIGNMENT_AFTER) for k in keywords]
        self._assignments_any_case = [re.compile(re.escape(k) + _ASSIGNMENT_AFTER, re.IGNORECASE) for k in keywords]
        # A word that counts only after another (`key` of `api key`, `apikey`) needs one of
        # those just before it: `key = ...` alone is on too many lines of code.
        self._guards: list[re.Pattern | None] = []
        for k in keywords:
            firsts = {first for first, second in pairs if second == k} | {
                w[:-len(k)] for w in singles if w.endswith(k) and w != k}
            self._guards.append(None if k in singles or not firsts else re.compile(
                "(?:" + "|".join(sorted(map(re.escape, firsts))) + r")[_.\- ]*$", re.IGNORECASE))
        self._aws_context = _minimal({w.lower() for w in rules.aws_secret_context})

    def __call__(self, text: str, groups) -> dict[str, list[tuple[int, int]]]:
        """Candidate ranges of each of `groups` (names of the methods below)."""
        lowered = text.lower()
        if len(lowered) != len(text):  # lower() keeps offsets unless some letter changes length
            lowered = None
        return {group: getattr(self, group)(text, lowered) for group in groups}

    def email(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        if "@" not in text:
            return []
        return [(m.start(), m.end()) for m in _EMAIL_AT.finditer(text)
                if m.start() and text[m.start() - 1] in EMAIL_LOCAL_CHARS]

    def ip(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        found = [m.span() for m in _IPV4.finditer(text)]
        if ":" in text:
            for m in _IPV6.finditer(text):
                # an address starts after a character that is not a word character, ':' or '.'
                # (`AWS::Region`, `std::vector` never do): walk back over hex digits and colons
                at = m.start()
                while at > 0 and text[at - 1] in _HEX_COLON:
                    at -= 1
                if at == 0 or not (text[at - 1].isalnum() or text[at - 1] in "_."):
                    found.append(m.span())
        return found

    def tokens(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        found = [m.span() for pattern in _TOKEN_PREFILTERS for m in pattern.finditer(text)]
        for m in _PEM_BEGIN.finditer(text):
            end = PEM_END.search(text, m.start())
            found.append((m.start(), end.end() if end else m.end()))
        return found

    def urls(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        found = [m.span() for m in _URL_USERINFO.finditer(text)] if "://" in text else []
        source = lowered if lowered is not None else text
        if _ORACLE_THIN in source:
            found += _find_all(source, _ORACLE_THIN)
        return found

    def obfuscated_email(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        source = lowered if lowered is not None else text.lower()
        # a pattern that starts with a space is searched from its second character (CPython's
        # `re` skips to a rare first character far faster than to a space)
        found = []
        for pattern in _OBFUSCATED_LOWER:
            if _SPACE_FIRST[pattern]:
                found += [(m.start() - 1, m.end()) for m in pattern.finditer(source)
                          if m.start() and source[m.start() - 1] == " "]
            else:
                found += [m.span() for m in pattern.finditer(source)]
        return found

    def assignments(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        source, patterns = (lowered, self._assignments) if lowered is not None else (text, self._assignments_any_case)
        return [m.span() for pattern, guard in zip(patterns, self._guards) for m in pattern.finditer(source)
                if guard is None or guard.search(source, max(0, m.start() - 16), m.start())]

    def aws_secret(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        found, searched_to = [], 0
        # every context word's occurrences in text order, whichever word (each line is
        # searched once, however many words are on it or on the line before)
        matches = sorted(m.start() for word in self._aws_context
                         for m in (re.finditer(re.escape(word), lowered) if lowered is not None
                                   else re.finditer(re.escape(word), text, re.IGNORECASE)))
        for at in matches:
            # 40-character keys on the word's line or the next one
            line_end = text.find("\n", at)
            next_end = text.find("\n", line_end + 1) if line_end != -1 else -1
            next_end = len(text) if next_end == -1 else next_end
            if next_end <= searched_to:
                continue
            start = max(text.rfind("\n", 0, at) + 1, searched_to)
            searched_to = next_end
            keys = list(_AWS_SECRET.finditer(text, start, next_end))
            if keys:
                found.append((at, keys[-1].end()))
        return found


def _find_all(text: str, literal: str) -> list[tuple[int, int]]:
    found, at = [], text.find(literal)
    while at != -1:
        found.append((at, at + len(literal)))
        at = text.find(literal, at + 1)
    return found


@dataclass(frozen=True)
class Windows:
    """Lines of a text joined for one analyzer call, and the way back to the text."""

    joined: str
    joined_starts: list[int]
    text_starts: list[int]

    def to_text(self, start: int, end: int) -> tuple[int, int] | None:
        """The text offsets of a joined span, or None when it crosses a separator."""
        i = bisect.bisect_right(self.joined_starts, start) - 1
        if i < 0:
            return None
        segment_end = self.joined_starts[i + 1] - len(_SEPARATOR) if i + 1 < len(self.joined_starts) else len(
            self.joined)
        if end > segment_end:
            return None
        shift = self.text_starts[i] - self.joined_starts[i]
        return start + shift, end + shift


def windows(text: str, ranges: list[tuple[int, int]]) -> Windows | None:
    """Whole lines around `ranges`, each run of lines with the line before it, merged."""
    if not ranges:
        return None
    spans = []
    for start, end in sorted(ranges):
        line_start = text.rfind("\n", 0, start) + 1
        if line_start:  # the line before, for context words
            line_start = text.rfind("\n", 0, line_start - 1) + 1
        line_end = text.find("\n", max(end - 1, start))
        line_end = len(text) if line_end == -1 else line_end
        if spans and line_start <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], line_end)
        else:
            spans.append([line_start, line_end])
    joined_starts, text_starts, at = [], [], 0
    for start, end in spans:
        joined_starts.append(at)
        text_starts.append(start)
        at += end - start + len(_SEPARATOR)
    joined = _SEPARATOR.join(text[start:end] for start, end in spans)
    return Windows(joined=joined, joined_starts=joined_starts, text_starts=text_starts)
