"""Cheap candidate search, so that presidio only reads the few lines that may hold PII.

Each recognizer group has a prefilter that is a relaxation of its patterns: every match
of a group's recognizers lies on a line this module marks for that group (literal
prefixes, `in` tests and regexes that start with a literal, which CPython's `re` scans
at hundreds of MB/s). The marked lines (each run with the line before it, where context
words live, for the groups that read context) are joined into one text per group,
separated by a blank line so no window sees another's context, and analyzed in one
presidio call.

The searches themselves run only on the lines that one Hyperscan pass over the file
marks for their group (stackpipe.pii.scan), except the AWS-secret search (a byte
translation, faster than any regex) and the private-key blocks (which span lines).
`Prefilter(..., whole_text=True)` runs every search over the whole text instead: the
reference the tests compare against.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from dataclasses import dataclass

from stackpipe.pii.assignments import NameClassifier
from stackpipe.pii.recognizers import (
    EMAIL_LOCAL_CHARS,
    OBFUSCATED_EMAIL_PREFILTERS,
    PEM_BEGIN,
    PEM_END,
    TOKEN_PATTERNS,
)
from stackpipe.pii.scan import LineGate, caseless, char_offsets
from stackpipe.rules import IpRules, SecretRules

_EMAIL_AT = re.compile(r"@(?=[\w\-]+\.\w)")
_IPV4 = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d")
_IPV6 = re.compile(r":[0-9A-Fa-f]{0,4}:")
# the colons after the first group of an address in 2000::/3 (`2a00:1450:`, `3ffe::`) that
# starts after a character that is not a word character, ':' or '.'
_IPV6_2000 = re.compile(r":(?<=[23][0-9A-Fa-f]{3}:)(?<![\w:.][0-9A-Fa-f]{4}:)[0-9A-Fa-f]{0,4}:")
_URL_USERINFO = re.compile(r"://[^\s/@:]*:[^\s/@]+@")
# bytes -> `a` for the 64 characters of base64 (an AWS secret's alphabet), space otherwise:
# a run of exactly 40 `a`s is where an AWS secret may be (bytes.translate and bytes.find
# run at GB/s; a regex over every character at tens of MB/s)
_BASE64_BYTES = bytes(ord("a") if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "+/") else ord(" ")
                      for i in range(256))
_AWS_SECRET_RUN = b"a" * 40
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_NAME_CHARS = re.compile(r"[\w.$\-@:]*")  # of a name, its prefixes and attribute path (`self.db_password:`)
_NAME_PUNCTUATION = frozenset("_.$-@:")
# rest of a name, then an operator (or a lookup's default: `, "..."`, `) or "..."`, `|| "..."`),
# a quoted value after white space (`#define PASSWORD "..."`), Go's `password string =`, a
# bare one after white space (kept for command-line options: `--password Tr0ub4dor&3x`), an
# XML element's end (`<password>`), or a `value` field after the name's (`name: DB_PASSWORD`)
_ASSIGNMENT_AFTER = (r"[\w.\-$]{0,64}+(?:(?:\[\w{0,8}\])?[\"'`]?\]?\s*[:=]|[\"'`][ \t)\]]*(?:,|or\b|\|\||\?\?)"
                     r"|[)\]]{0,2}[ \t]*(?:or\b|\|\||\?[?:])|[ \t]+(?:[\"'`]|str(?:ing)?\b|(?P<bare>\S))|>"
                     r"|[\"'`]?[ \t]*(?:,[ \t]*|[ \t]+|\r?\n[ \t]*(?:-[ \t]+)?)[\"'`]?value)")


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
# a prefilter that is a plain string is looked for with `in` (skips ahead, faster than a
# regex pass when it is absent, as it nearly always is) and str.find
_TOKEN_LITERALS = tuple(re.sub(r"\\(.)", r"\1", p.pattern) for p in _TOKEN_PREFILTERS
                        if re.fullmatch(r"(?:[\w:\-]|\\\.)+", p.pattern))
# a literal's character that many files lack (`J` of `eyJ`): `in` finds a single character
# with memchr, far faster than a longer string, and its absence rules the literal out
_RARE_CHARACTERS = "JQZXK9"
_TOKEN_GATES = tuple(next((c for c in _RARE_CHARACTERS if c in literal), "") for literal in _TOKEN_LITERALS)
_TOKEN_REGEXES = tuple(p for p in _TOKEN_PREFILTERS if not re.fullmatch(r"(?:[\w:\-]|\\\.)+", p.pattern))
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

    def __init__(self, rules: SecretRules, ip_rules: IpRules | None = None, *, whole_text: bool = False):
        singles = {w.lower() for w in (*rules.password_words, *rules.key_words)}
        pairs = [p.lower().split() for p in rules.key_word_pairs]
        keywords = _minimal(singles | {second for _, second in pairs})
        # one regex per first letter (`p(?:ass|wd)`): a pass costs what its first letter costs
        starts = [p.pattern for p in _merged_by_first_character(map(re.escape, keywords))]
        self._assignments = [re.compile(start + _ASSIGNMENT_AFTER) for start in starts]
        self._assignments_any_case = [re.compile(start + _ASSIGNMENT_AFTER, re.IGNORECASE) for start in starts]
        # The name around a keyword must hold a password or key word (or pair): `key = ...`,
        # `tokens = ...`, `passed = ...` are on too many lines of code.
        self._names = NameClassifier(rules)
        # every public IPv6 address is in 2000::/3 (written `2xxx:` or `3xxx:`) when the
        # allow-list holds the rest of the address space, as the default one does
        self._ipv6_in_2000 = ip_rules is not None and all(
            any(outside.subnet_of(net) for net in map(ipaddress.ip_network, ip_rules.allow_ranges) if net.version == 6)
            for outside in map(ipaddress.ip_network, ("::/3", "4000::/2", "8000::/1")))
        self._identified_by = re.compile(r"identified[ \t]+by[ \t]+[\"'`]", re.IGNORECASE)  # SQL's password clause
        self._gate = None if whole_text else LineGate(self._relaxations(keywords))

    def _relaxations(self, keywords: list[str]) -> dict[str, tuple[list[bytes], int]]:
        """Per line-local group: Hyperscan patterns matching wherever its search below can
        (any non-ASCII byte stands for a Unicode `\\w` or `\\d`), and how many lines after
        a matching line it may reach (an assignment's `value:` on the next line)."""
        ipv6 = rb"[23][0-9A-Fa-f]{3}:[0-9A-Fa-f]{0,4}:" if self._ipv6_in_2000 else rb":[0-9A-Fa-f]{0,4}:"
        digits = rb"[0-9\x80-\xff]{1,12}"  # `\d{1,3}`: up to three digits of up to four bytes
        return {
            "email": ([rb"@[\w\-\x80-\xff]+\.[\w\x80-\xff]"], 0),
            "ip": ([rb"\." + digits + rb"\." + digits + rb"\.[0-9\x80-\xff]", ipv6], 0),
            "tokens": ([p.pattern.encode() for p in _TOKEN_PREFILTERS], 0),
            "urls": ([_URL_USERINFO.pattern.encode(), caseless(_ORACLE_THIN)], 0),
            "obfuscated_email": ([b"(?i)" + p.encode() for p in OBFUSCATED_EMAIL_PREFILTERS], 0),
            "assignments": ([caseless(word) for word in keywords] + [caseless("identified")], 1),
        }

    def __call__(self, text: str, groups) -> dict[str, list[tuple[int, int]]]:
        """Candidate ranges of each of `groups` (names of the methods below)."""
        if self._gate is None:
            lowered = _lowered(text)
            return {group: getattr(self, group)(text, lowered) for group in groups}
        raw = text.encode("utf-8", "surrogatepass")
        regions = self._gate.regions(raw)
        found = {}
        for group in groups:
            if group == "aws_secret":
                found[group] = self.aws_secret(text, None, raw)
                continue
            found[group] = self._private_keys(text) if group == "tokens" else []
            if group in regions:
                found[group] += self._in_regions(getattr(self, group), text, raw, regions[group])
        return found

    @staticmethod
    def _in_regions(search, text: str, raw: bytes, regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """`search` over the lines of `regions` (byte ranges of whole lines), joined into one
        text as `windows` joins them, its ranges mapped back to `text`."""
        if not text.isascii():
            regions = list(zip(*[iter(char_offsets(raw, [o for region in regions for o in region]))] * 2))
        window = _joined(text, regions)
        found = []
        for start, end in search(window.joined, _lowered(window.joined)):
            span = window.to_text(start, end)
            if span is not None:
                found.append(span)
        return found

    def email(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        if "@" not in text:
            return []
        return [(m.start(), m.end()) for m in _EMAIL_AT.finditer(text)
                if m.start() and text[m.start() - 1] in EMAIL_LOCAL_CHARS]

    def ip(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        found = [m.span() for m in _IPV4.finditer(text)]
        if ":" in text and self._ipv6_in_2000:
            found += [m.span() for m in _IPV6_2000.finditer(text)]
        elif ":" in text:
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
        found = [m.span() for pattern in _TOKEN_REGEXES for m in pattern.finditer(text)]
        for literal, gate in zip(_TOKEN_LITERALS, _TOKEN_GATES):
            if gate in text and literal in text:
                found += _find_all(text, literal)
        if self._gate is None:
            found += self._private_keys(text)
        return found

    @staticmethod
    def _private_keys(text: str) -> list[tuple[int, int]]:
        """A PEM block from its BEGIN line to its END line (read over the whole text: it spans lines)."""
        found = []
        for m in _PEM_BEGIN.finditer(text) if PEM_BEGIN in text else ():
            end = PEM_END.search(text, m.start())
            found.append((m.start(), end.end() if end else m.end()))
        return found

    def urls(self, text: str, lowered: str | None) -> list[tuple[int, int]]:
        found = [m.span() for m in _URL_USERINFO.finditer(text)]
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
        found = []
        for pattern in patterns:
            for m in pattern.finditer(source):
                # the whole name around the keyword, with any prefix or attribute path: the
                # recognizers' names lie inside it, between separators
                at = m.start()
                if at and (text[at - 1] in _NAME_PUNCTUATION or text[at - 1].isalnum()):  # a name goes on before
                    start = at - _NAME_CHARS.match(text[max(0, at - 80):at][::-1]).end()
                else:
                    start = at
                end = _NAME_CHARS.match(text, at).end()
                if m.group("bare") and not text.startswith("--", start):
                    continue  # a bare value after white space is an option's only (`--password PW`)
                if self._names.mentions_secret(text[start:end]):
                    found.append(m.span())
        if "identified" in source if lowered is not None else "identified" in text.lower():
            found += [m.span() for m in self._identified_by.finditer(text)]
        return found

    def aws_secret(self, text: str, lowered: str | None, raw: bytes | None = None) -> list[tuple[int, int]]:
        """Runs of exactly 40 base64 characters (the recognizer looks for its context words
        on the run's line and the line before, which `windows` adds)."""
        raw = text.encode("utf-8", "surrogatepass") if raw is None else raw
        data = raw.translate(_BASE64_BYTES)
        found, at = [], data.find(_AWS_SECRET_RUN)
        while at != -1:
            end = data.find(b" ", at + 40)
            end = len(data) if end == -1 else end
            if end - at == 40:
                found.append((at, end))
            at = data.find(_AWS_SECRET_RUN, end)
        if found and not text.isascii():  # byte offsets -> character offsets
            found = [(len(raw[:start].decode("utf-8", "surrogatepass")),
                      len(raw[:end].decode("utf-8", "surrogatepass"))) for start, end in found]
        return found


def _lowered(text: str) -> str | None:
    """`text` lower-cased, or None when that moves offsets (some letter changes length)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else None


def _find_all(text: str, literal: str) -> list[tuple[int, int]]:
    found, at = [], text.find(literal)
    while at != -1:
        found.append((at, at + len(literal)))
        at = text.find(literal, at + 1)
    return found


# Groups whose recognizers look at the line before a match (context words, the end of a
# base64 block); the others read only the lines their prefilter marks.
CONTEXT_GROUPS = frozenset({"aws_secret"})


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


def _joined(text: str, spans) -> Windows:
    """The (sorted, disjoint) character `spans` of `text`, joined by separators."""
    joined_starts, text_starts, at = [], [], 0
    for start, end in spans:
        joined_starts.append(at)
        text_starts.append(start)
        at += end - start + len(_SEPARATOR)
    joined = _SEPARATOR.join(text[start:end] for start, end in spans)
    return Windows(joined=joined, joined_starts=joined_starts, text_starts=text_starts)


def windows(text: str, ranges: list[tuple[int, int]], *, line_before: bool = True) -> Windows | None:
    """Whole lines around `ranges` (with `line_before`, each run of lines with the line
    before it), merged."""
    if not ranges:
        return None
    spans = []
    for start, end in sorted(ranges):
        line_start = text.rfind("\n", 0, start) + 1
        if line_start and line_before:  # the line before, for context words
            line_start = text.rfind("\n", 0, line_start - 1) + 1
        line_end = text.find("\n", max(end - 1, start))
        line_end = len(text) if line_end == -1 else line_end
        if spans and line_start <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], line_end)
        else:
            spans.append([line_start, line_end])
    return _joined(text, spans)
