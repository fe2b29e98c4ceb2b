"""Typed loading of the declarative rules in `rules/*.yaml` (DESIGN.md §4).

Each YAML file maps onto a frozen dataclass, one module per file (`languages`, `quality`,
`sources`, `fim`, `dedup`, `licenses`, `pii`, `decontam`, `pack`, `web`); `bundle` loads
them all. Loading is strict (`loader`): an unknown key, a value of the wrong type or a
value out of range is a `RulesError` naming the file, the key path and the value, so a
misspelt threshold can never be silently ignored.
"""

from stackpipe.rules.bundle import DEFAULT_RULES_DIR, RULE_FILES, Rules, load_rules
from stackpipe.rules.decontam import DECONTAM_BENCHMARKS, DECONTAM_FIELDS, BenchmarkSource, DecontamRules
from stackpipe.rules.dedup import DedupRules
from stackpipe.rules.fim import FamilySpec, FimRules, FimSettings, TokenRoles
from stackpipe.rules.languages import Heuristic, LanguageRules, LanguageSpec
from stackpipe.rules.licenses import LicenseRules, OptOut
from stackpipe.rules.loader import FieldError, Range, RulesError, load_rule_file, parse
from stackpipe.rules.pack import PackRules
from stackpipe.rules.pii import PII_ENTITIES, EmailRules, IpRules, NerRules, PiiRules, SecretRules
from stackpipe.rules.quality import (
    XML_DECLARATION,
    EncodedDataRules,
    QualityRules,
    QualityThresholds,
    apply_thresholds,
)
from stackpipe.rules.sources import ArchiveLimits, SourceRules, TableColumns
from stackpipe.rules.web import (
    ClassifierRules,
    ClassifierTraining,
    DomainRules,
    RecallRounds,
    WarcReadRules,
    WebRules,
)

__all__ = [
    "DECONTAM_BENCHMARKS", "DECONTAM_FIELDS", "DEFAULT_RULES_DIR", "PII_ENTITIES", "RULE_FILES", "XML_DECLARATION",
    "ArchiveLimits", "BenchmarkSource", "ClassifierRules", "ClassifierTraining", "DecontamRules", "DedupRules",
    "DomainRules", "EmailRules", "EncodedDataRules", "FamilySpec", "FieldError", "FimRules", "FimSettings",
    "Heuristic", "IpRules", "LanguageRules", "LanguageSpec", "LicenseRules", "NerRules", "OptOut", "PackRules",
    "PiiRules", "QualityRules", "QualityThresholds", "Range", "RecallRounds", "Rules", "RulesError",
    "SecretRules", "SourceRules", "TableColumns", "TokenRoles", "WarcReadRules", "WebRules",
    "apply_thresholds", "load_rule_file", "load_rules", "parse",
]
