"""languages.yaml: extension and file name -> language, and the content heuristics
that settle an ambiguous extension."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from stackpipe.rules.loader import one_of


@dataclass(frozen=True, kw_only=True)
class LanguageSpec:
    """One language: how its files are named. `type` follows GitHub Linguist."""

    type: str
    extensions: tuple[str, ...] = ()
    filenames: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        one_of("type", self.type, ("programming", "markup", "data", "prose"))


@dataclass(frozen=True, kw_only=True)
class Heuristic:
    """For an ambiguous extension: pick `language` when `pattern` (a regex, multiline)
    matches the content; a heuristic without a pattern is the fallback."""

    language: str
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.pattern is not None:
            try:  # a broken regex must fail at load, where the error can name the file and key
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regex: {error}") from None


@dataclass(frozen=True, kw_only=True)
class LanguageRules:
    keep_unknown: bool = False
    languages: Mapping[str, LanguageSpec] = field(default_factory=dict)
    heuristics: Mapping[str, tuple[Heuristic, ...]] = field(default_factory=dict)
