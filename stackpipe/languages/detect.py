"""Language of a file from its name, and from its content where the name is ambiguous.

The rules are `rules/languages.yaml` (GitHub Linguist's names, extensions and file
names). Detection follows Linguist's order, cut down to what a corpus pipeline needs at
20+ MB/s per core: an exact file name, else the longest known extension, else (for an
extension several languages claim) the first heuristic whose regex matches the head of
the content, else the language a source table already stated. All tables and regexes are
built once in `LanguageDetector.__init__`; `detect` only slices strings and looks up
dicts.
"""

from __future__ import annotations

import re
from typing import Mapping

from stackpipe.rules import Heuristic, LanguageRules, LanguageSpec

HEAD_CHARS = 4096  # heuristics look at the head only: the signals are declarations and imports

# One resolution step for an ambiguous extension: `(regex or None, language)`; None always matches.
Rule = tuple[re.Pattern | None, str]


class LanguageDetector:
    """Maps a path (and, for ambiguous extensions, the content) to a Linguist language name.

    Built once per worker from the loaded rules (`LanguageDetector(rules.languages)`) and
    picklable, so Beam can ship it. Ties are broken deterministically: a file name or an
    extension claimed by several languages without a heuristic that decides goes to the
    language listed first in languages.yaml.
    """

    def __init__(self, rules: LanguageRules) -> None:
        self._types = {name: spec.type for name, spec in rules.languages.items()}
        self._names = {name.lower(): name for name in rules.languages}
        self._filenames = _first_claimant(rules.languages, lambda spec: spec.filenames)
        claims = _claimants(rules.languages, lambda spec: (e.lower() for e in spec.extensions))
        heuristics = {extension.lower(): entries for extension, entries in rules.heuristics.items()}
        self._extensions = {
            extension: names[0] for extension, names in claims.items()
            if len(names) == 1 and extension not in heuristics
        }
        self._ambiguous = {
            extension: _compile_rules(heuristics.get(extension, ()), claims.get(extension, ()))
            for extension in {*heuristics, *(e for e, names in claims.items() if len(names) > 1)}
        }

    def detect(self, path: str, text: str, hint: str = "") -> str | None:
        """The language of the file at `path` with content `text`, or None if unknown.

        `hint` is a language a source table already stated (The Stack's `lang`); it is
        used only when the path says nothing, and only if it names a known language
        (case-insensitive; the canonical spelling is returned).
        """
        name = path[path.rfind("/") + 1 :]
        language = self._filenames.get(name)
        if language is not None:
            return language
        lowered = name.lower()
        dot = lowered.find(".")
        while dot != -1:  # longest suffix first: .blade.php before .php
            suffix = lowered[dot:]
            language = self._extensions.get(suffix)
            if language is not None:
                return language
            rules = self._ambiguous.get(suffix)
            if rules is not None:
                return _resolve(rules, text[:HEAD_CHARS])
            dot = lowered.find(".", dot + 1)
        return self._names.get(hint.lower()) if hint else None

    def language_type(self, name: str) -> str:
        """Linguist's type of language `name`: programming, markup, data or prose.
        Raises KeyError for a name languages.yaml does not define."""
        return self._types[name]

    @property
    def languages(self) -> frozenset[str]:
        """Every language name the rules define."""
        return frozenset(self._types)


def _claimants(languages: Mapping[str, LanguageSpec], keys) -> dict[str, list[str]]:
    """key (extension or file name) -> the languages claiming it, in file order."""
    claims: dict[str, list[str]] = {}
    for name, spec in languages.items():
        for key in dict.fromkeys(keys(spec)):
            claims.setdefault(key, []).append(name)
    return claims


def _first_claimant(languages: Mapping[str, LanguageSpec], keys) -> dict[str, str]:
    return {key: names[0] for key, names in _claimants(languages, keys).items()}


def _compile_rules(heuristics: tuple[Heuristic, ...], claimants: list[str]) -> tuple[Rule, ...]:
    """Heuristics as compiled regexes, ending with the default (the first claimant) unless
    the heuristics already end with a fallback."""
    rules = tuple(
        (re.compile(h.pattern, re.MULTILINE) if h.pattern is not None else None, h.language) for h in heuristics
    )
    if claimants and (not rules or rules[-1][0] is not None):
        rules += ((None, claimants[0]),)
    return rules


def _resolve(rules: tuple[Rule, ...], head: str) -> str | None:
    for pattern, language in rules:
        if pattern is None or pattern.search(head):
            return language
    return None  # only when no language claims the extension and no heuristic matched
