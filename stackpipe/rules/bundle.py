"""All the rules files together: `load_rules(DIR)` reads `DIR/*.yaml` (default: the
repository's `rules/`), one file per concern, and checks what one file says about
another (languages named in quality.yaml and web.yaml exist in languages.yaml)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from stackpipe.rules.decontam import DecontamRules
from stackpipe.rules.dedup import DedupRules
from stackpipe.rules.fim import FimRules
from stackpipe.rules.languages import LanguageRules
from stackpipe.rules.licenses import LicenseRules
from stackpipe.rules.loader import FieldError, RulesError, load_rule_file
from stackpipe.rules.pack import PackRules
from stackpipe.rules.pii import PiiRules
from stackpipe.rules.quality import QualityRules, apply_thresholds
from stackpipe.rules.sources import SourceRules
from stackpipe.rules.web import WebRules

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent.parent / "rules"


@dataclass(frozen=True, kw_only=True)
class Rules:
    languages: LanguageRules
    quality: QualityRules
    sources: SourceRules
    fim: FimRules
    dedup: DedupRules
    licenses: LicenseRules
    pii: PiiRules
    decontam: DecontamRules = field(default_factory=DecontamRules)
    pack: PackRules = field(default_factory=PackRules)
    web: WebRules = field(default_factory=WebRules)


RULE_FILES = {"languages": LanguageRules, "quality": QualityRules, "sources": SourceRules, "fim": FimRules,
              "dedup": DedupRules, "licenses": LicenseRules, "pii": PiiRules,
              "decontam": DecontamRules, "pack": PackRules, "web": WebRules}


def load_rules(rules_dir: str | Path | None = None) -> Rules:
    """Load and validate every rules file of `rules_dir` (default: the repository's `rules/`)."""
    directory = Path(rules_dir) if rules_dir is not None else DEFAULT_RULES_DIR
    if not directory.is_dir():
        raise RulesError(f"rules directory {directory} does not exist (pass --rules DIR)")
    loaded = {name: load_rule_file(directory / f"{name}.yaml", cls) for name, cls in RULE_FILES.items()}
    loaded["decontam"] = _anchor_benchmarks_dir(loaded["decontam"], directory)
    rules = Rules(**loaded)
    _check_language_references(rules, directory)
    return rules


def _anchor_benchmarks_dir(decontam: DecontamRules, rules_dir: Path) -> DecontamRules:
    """Relative benchmark locations are read from the rules directory the user passed
    (`benchmarks_dir`, or each benchmark's `paths` when `benchmarks_dir` is null), so no
    command depends on the working directory."""
    def anchored(location: str, base: Path) -> str:
        if "://" in location or Path(location).is_absolute():
            return location
        return str((base / location).resolve())

    rules_dir = rules_dir.resolve()
    base_dir = decontam.benchmarks_dir
    if base_dir is not None:
        return dataclasses.replace(decontam, benchmarks_dir=anchored(base_dir, rules_dir))
    benchmarks = {name: dataclasses.replace(source, paths=tuple(anchored(p, rules_dir) for p in source.paths))
                  for name, source in decontam.benchmarks.items()}
    return dataclasses.replace(decontam, benchmarks=benchmarks)


def _check_language_references(rules: Rules, directory: Path) -> None:
    """Languages named in quality overrides and heuristics must exist in languages.yaml;
    web.yaml's `quality` must fit on top of quality.yaml's thresholds for its language."""
    known = rules.languages.languages
    for language in rules.quality.overrides:
        if language not in known:
            raise RulesError(
                f"{directory / 'quality.yaml'}: key 'overrides.{language}' names a language "
                f"that {directory / 'languages.yaml'} does not define"
            )
    if rules.web.language not in known:
        raise RulesError(
            f"{directory / 'web.yaml'}: key 'language' names language {rules.web.language!r}, "
            f"which {directory / 'languages.yaml'} does not define"
        )
    try:
        apply_thresholds(rules.quality.for_language(rules.web.language), rules.web.quality, key="quality")
    except FieldError as error:
        raise RulesError(f"{directory / 'web.yaml'}: key '{error.key}': {error.problem} (applied on top of "
                         f"{directory / 'quality.yaml'}'s thresholds for {rules.web.language})") from None
    for extension, heuristics in rules.languages.heuristics.items():
        for heuristic in heuristics:
            if heuristic.language not in known:
                raise RulesError(
                    f"{directory / 'languages.yaml'}: key 'heuristics.{extension}' names language "
                    f"{heuristic.language!r}, which is not defined under 'languages'"
                )
