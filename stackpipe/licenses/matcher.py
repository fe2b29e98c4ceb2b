"""Name the licences a licence file holds, by comparing it with reference licence texts.

The references (`data/texts`, `data/notices`: ScanCode's LicenseDB texts, see
data/README.md) and the file are reduced to sets of word 4-grams after normalisation
(lower case, British spellings, copyright lines dropped, since they differ in every
project). A reference is *found* at a place of the file (a span at most 1.5 times its
length) holding most of its distinct n-grams (coverage >= 0.8); a file may hold many
licences, each several times. Among the places found, those that explain the text best
are kept greedily:

    score = matched - missing = 2 |R ∩ F| - |R|

so a longer reference that is wholly present beats the shorter one it contains (BSD-3
over BSD-2, X11 over MIT), and a shorter one beats a longer one that is only partly
present (BSD-2 over BSD-3, MIT over X11, 0BSD over ISC). A place whose words mostly
lie inside an earlier kept place is dropped (the Apache notice inside the Apache text). The kept references,
in order of appearance, make the file's expression, joined with AND.

This follows ScanCode's idea (match reference texts, prefer the longest, resolve
overlaps) with a much smaller index (~80 references, loaded in ~0.1 s), so that it needs
no build step and runs at a few milliseconds per licence file (ScanCode: ~0.4 s).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
NGRAM = 4
MIN_TEXT_COVERAGE = 0.8  # share of a full reference text that must be present
MIN_NOTICE_COVERAGE = 0.8  # short notices vary less, and are easier to find by chance
MAX_OVERLAP = 0.5  # share of a match's words that may lie inside earlier matches
# Licence exceptions (data/exceptions, or the phrases below) and the licences each one
# modifies: found together, they make `Apache-2.0 WITH LLVM-exception`, attached to the
# first of those licences the text holds; an exception without its licence is ignored.
_GPL2 = ("GPL-2.0-only", "GPL-2.0-or-later")
_GPL3 = ("GPL-3.0-only", "GPL-3.0-or-later")
EXCEPTION_OF = {
    "LLVM-exception": ("Apache-2.0",), "fmt-exception": ("MIT",),
    "GCC-exception-3.1": _GPL3, "GCC-exception-2.0": _GPL2 + _GPL3,
    "Classpath-exception-2.0": _GPL2 + _GPL3, "Autoconf-exception-2.0": _GPL2 + _GPL3,
    "Autoconf-exception-3.0": _GPL3, "Autoconf-exception-generic": _GPL2 + _GPL3,
    "Bison-exception-2.2": _GPL2 + _GPL3, "Font-exception-2.0": _GPL2 + _GPL3,
}
# One-sentence grants that name a licence without quoting it, as ScanCode's small rules do.
PHRASES = (
    (re.compile(r"licensed\s+under\s+(?:the\s+)?apache\s+(?:license,?\s+)?(?:version\s+|v)?2\.0", re.I), "Apache-2.0"),
    (re.compile(r"licensed\s+under\s+cnri'?s\s+python\s+1\.6\s+licen[cs]e", re.I), "CNRI-Python"),
    (re.compile(r"creativecommons\.org/publicdomain/zero/1\.0", re.I), "CC0-1.0"),
    # Licence exceptions, by the sentence that grants them (the licence they modify is
    # found on its own; see EXCEPTION_OF).
    (re.compile(r"GCC\s+Runtime\s+Library\s+Exception", re.I), "GCC-exception-3.1"),
    (re.compile(r"if\s+you\s+link\s+this\s+library\s+with\s+(?:other\s+)?files,?\s+some\s+of\s+which\s+are\s+"
                r"compiled\s+with\s+GCC", re.I), "GCC-exception-2.0"),
    (re.compile(r"(?:Classpath\s+exception|link\s+this\s+library\s+with\s+independent\s+modules\s+to\s+"
                r"produce\s+an\s+executable)", re.I), "Classpath-exception-2.0"),
    (re.compile(r"gives\s+unlimited\s+permission\s+to\s+copy,\s+distribute\s+and\s+modify\s+the\s+configure\s+"
                r"scripts", re.I), "Autoconf-exception-2.0"),
    (re.compile(r"the\s+respective\s+Autoconf\s+Macro'?s\s+copyright\s+owner\s+gives", re.I),
     "Autoconf-exception-generic"),
    (re.compile(r"larger\s+work\s+that\s+contains\s+part\s+or\s+all\s+of\s+the\s+Bison\s+parser\s+skeleton", re.I),
     "Bison-exception-2.2"),
    (re.compile(r"if\s+you\s+create\s+a\s+document\s+which\s+uses\s+this\s+font", re.I), "Font-exception-2.0"),
    # Code under an end-user licence agreement is proprietary whatever else the file says.
    (re.compile(r"licensed\s+under\s+the\s+[\w\s]{0,40}end[\s-]+user\s+licen[cs]e\s+agreement", re.I),
     "LicenseRef-proprietary"),
)

_WORD = re.compile(r"[a-z0-9]+")
# A line that states a copyright ("Copyright (c) 2004 Foo", "(C) 1999 Bar", "© Baz"):
# these hold names and years that differ between every copy of a licence.
_COPYRIGHT_LINE = re.compile(r"^\W*(?:copyright\b\W*(?:\(c\)|©|\d{4}|by\b|\[yyyy\]|<year>)|\(c\)\s*\d{4}|©)", re.I)
# Spellings that vary between copies of the same licence.
_EQUIVALENT = {"licence": "license", "licences": "licenses", "licenced": "licensed", "https": "http",
               "organisation": "organization", "authorised": "authorized", "copyrighted": "copyright"}

# "licensed under the (open source) MIT-CMU License": a grant naming an SPDX id we know.
_NAMED_GRANT = re.compile(r"licensed\s+under\s+(?:the\s+)?(?:open[\s-]+source\s+)?([A-Za-z0-9.+-]+)\s+licen[cs]e\b", re.I)


@dataclass(frozen=True)
class LicenseMatch:
    """One reference text found in a file. `coverage` is the share of the reference's
    n-grams present in the file; `reference` names the reference file it came from."""

    spdx: str
    reference: str
    coverage: float


@dataclass(frozen=True)
class Identification:
    """What a licence file holds: an SPDX expression ("" when nothing was recognised)
    and the matches behind it, in order of appearance."""

    expression: str
    matches: tuple[LicenseMatch, ...]

    @property
    def detail(self) -> str:
        """Human-readable evidence, e.g. `Apache-2.0(1.00) MIT(0.93)`."""
        return " ".join(f"{m.spdx}({m.coverage:.2f})" for m in self.matches)


@dataclass(frozen=True)
class _Reference:
    spdx: str
    name: str
    grams: frozenset[tuple[str, ...]]
    min_coverage: float


def words(text: str) -> list[str]:
    """Normalised words of `text`: lower case, copyright lines dropped, spellings unified."""
    kept = (line for line in text.lower().splitlines() if not _COPYRIGHT_LINE.match(line))
    return [_EQUIVALENT.get(word, word) for word in _WORD.findall("\n".join(kept))]


def _ngrams(tokens: list[str]) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + NGRAM]) for i in range(len(tokens) - NGRAM + 1)]


@functools.lru_cache(maxsize=1)
def references() -> tuple[_Reference, ...]:
    """The reference texts, loaded once per process."""
    found = []
    for folder, min_coverage in (("texts", MIN_TEXT_COVERAGE), ("notices", MIN_NOTICE_COVERAGE),
                                 ("exceptions", MIN_NOTICE_COVERAGE)):
        for path in sorted((DATA_DIR / folder).glob("*.txt")):
            spdx = path.stem.split("__")[0]
            grams = frozenset(_ngrams(words(path.read_text(encoding="utf-8"))))
            found.append(_Reference(spdx, path.stem, grams, min_coverage))
    return tuple(found)


@functools.lru_cache(maxsize=1)
def _known_ids() -> dict[str, str]:
    """Lower-case SPDX id -> id, for the licences that have a reference text."""
    return {ref.spdx.lower(): ref.spdx for ref in references()}


def identify_license(text: str) -> Identification:
    """The licences whose texts (or standard notices) `text` contains."""
    grams = _ngrams(words(text))
    known = _known_ids()
    phrases = [(m.start(), LicenseMatch(spdx, "phrase", 1.0)) for pattern, spdx in PHRASES
               for m in [pattern.search(text)] if m]
    phrases += [(m.start(), LicenseMatch(known[m.group(1).lower()], "phrase", 1.0))
                for m in _NAMED_GRANT.finditer(text) if m.group(1).lower() in known]
    positions: dict[tuple[str, ...], list[int]] = {}
    for i, gram in enumerate(grams):
        positions.setdefault(gram, []).append(i)
    present = set(positions)
    candidates = []
    for ref in references():
        common = ref.grams & present
        if len(common) >= ref.min_coverage * len(ref.grams):  # cheap test before looking for places
            for window, found in _windows(ref, common, positions):
                coverage = found / len(ref.grams)
                candidates.append((2 * found - len(ref.grams), coverage, ref, window))
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2].name, min(c[3])))
    covered: set[int] = set()
    kept = []
    for _score, coverage, ref, window in candidates:
        if len(window & covered) > MAX_OVERLAP * len(window):
            continue
        covered |= window
        kept.append((min(window) / len(grams), LicenseMatch(ref.spdx, ref.name, round(coverage, 4))))
    kept += [(start / max(len(text), 1), match) for start, match in phrases]
    matches = tuple(match for _, match in sorted(kept, key=lambda k: k[0]))
    return Identification(_expression(matches), matches)


def _windows(ref: _Reference, common: set, positions: dict) -> list[tuple[frozenset[int], int]]:
    """Places where `ref` occurs: spans of the text at most 1.5 times the reference's
    length holding enough of its distinct n-grams. Returns (positions, distinct n-grams
    found) for each place, best first; a file can hold one licence several times."""
    hits = sorted((p, gram) for gram in common for p in positions[gram])
    span = int(1.5 * len(ref.grams)) + 2 * NGRAM
    need = ref.min_coverage * len(ref.grams)
    found = []
    while hits and len(found) < 8:
        counts: dict = {}
        best, best_at, left = 0, (0, 0), 0
        for right, (p, gram) in enumerate(hits):
            counts[gram] = counts.get(gram, 0) + 1
            while p - hits[left][0] >= span:
                old = hits[left][1]
                counts[old] -= 1
                if not counts[old]:
                    del counts[old]
                left += 1
            if len(counts) > best:
                best, best_at = len(counts), (left, right)
        if best < need:
            break
        first, last = best_at
        found.append((frozenset(p for p, _ in hits[first:last + 1]), best))
        hits = hits[:first] + hits[last + 1:]
    return found


def _expression(matches: tuple[LicenseMatch, ...]) -> str:
    """Distinct licences in order of appearance, AND-ed; exceptions attach to their licence."""
    ids = list(dict.fromkeys(m.spdx for m in matches))
    for exception, bases in EXCEPTION_OF.items():
        if exception in ids:
            ids.remove(exception)
            base = next((i for i in ids if i in bases), None)
            if base is not None:
                ids[ids.index(base)] = f"{base} WITH {exception}"
    return " AND ".join(ids)
