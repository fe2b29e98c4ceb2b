"""`stackpipe run CONFIG.yaml`: the run configuration, strictly typed, and its fingerprints.

A config names the sources (each curated on its own, then mixed at the shards by target
proportions), the rules, the tokenizer, the family, the seed, the dedup level and the
output directory. Its schema is the frozen dataclasses below, loaded by the rules' strict
loader (stackpipe.rules.loader): an unknown key or a bad value (wrong type, out of range,
or a family the rules' fim.yaml does not define) is a `RunConfigError` that names the
file, the key and the value. `null` for a key means its default.

Fingerprints make a run resumable: each stage's fingerprint hashes its settings, the
rules, the package version and its upstream's fingerprint (the sources' own fingerprint
hashes what the inputs are: stackpipe.beam.signatures). A stage whose output carries the
same fingerprint is reused, not recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import stackpipe
from stackpipe.rules import DEFAULT_RULES_DIR, FamilySpec, FimRules, RulesError, load_rule_file, parse
from stackpipe.rules.loader import Checked, FieldError, parsed_by, ranged
from stackpipe.tokens.samples import MIN_MAX_TOKENS

SOURCE_KINDS = ("github", "commoncrawl")  # github: repo dirs, archives, Stack tables, python-env://
LEVELS = ("file", "repo")
STAGE_DIRS = ("curated", "dedup", "packed")
MARKER = "_stage.json"


class RunConfigError(ValueError):
    """A run config that cannot be used; the message names the file, key and value."""


def _uris(value: Any, *, file: str, key: str) -> tuple[str, ...]:
    """`inputs`: one URI or a list of them."""
    if not isinstance(value, (str, list)):
        raise RulesError(f"{file}: key '{key}': expected a URI or a list of URIs, got {value!r}")
    return parse(tuple[str, ...], [value] if isinstance(value, str) else value, file=file, key=key)


@dataclass(frozen=True, kw_only=True)
class SourceConfig(Checked):
    """One source, curated on its own and given `weight` of the training sequences.
    `pack`: build dependency-ordered repository samples (`None`: for github sources);
    `model`: a commoncrawl source's fastText page classifier (`none` in the YAML: keep
    every page, which loads as empty)."""

    NULL_IS_DEFAULT: ClassVar[bool] = True

    name: str
    kind: str = "github"
    inputs: tuple[str, ...] = parsed_by(_uris)
    weight: float = ranged(1.0, 0, open_low=True)
    pack: bool | None = None
    model: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("kind", self.kind, SOURCE_KINDS)
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise FieldError("name", f"expected letters, digits, - or _, got {self.name!r}")
        if not self.inputs:
            raise FieldError("inputs", "expected a URI or a list of URIs, got an empty list")


@dataclass(frozen=True, kw_only=True)
class TokenizerConfig(Checked):
    """`path`: an existing tokenizer.json (empty: train one on up to `max_mb` of the run's
    documents); `vocab_size` 0: the family's."""

    NULL_IS_DEFAULT: ClassVar[bool] = True

    path: str = ""
    max_mb: float = ranged(64.0, 0, open_low=True)
    vocab_size: int = ranged(0, 0)
    min_frequency: int = ranged(2, 1)


def _tokenizer(value: Any, *, file: str, key: str) -> TokenizerConfig:
    """`tokenizer`: a path to a tokenizer.json, or a mapping of TokenizerConfig keys."""
    if not isinstance(value, (str, dict)):
        raise RulesError(f"{file}: key '{key}': expected a path or a mapping, got {value!r}")
    return parse(TokenizerConfig, {"path": value} if isinstance(value, str) else value, file=file, key=key)


def _arguments(value: Any, *, file: str, key: str) -> tuple[str, ...]:
    """`beam_args`: command-line words; a number or a boolean stands for its text
    (`[--num_workers, 4]`)."""
    words = parse(tuple[Any, ...], value, file=file, key=key)
    for index, word in enumerate(words):
        if not isinstance(word, (str, int, float)):
            raise RulesError(f"{file}: key '{key}[{index}]': expected a command-line word, got {word!r}")
    return tuple(str(word) for word in words)


@dataclass(frozen=True, kw_only=True)
class RunConfig(Checked):
    """The whole run (README: `stackpipe run`). `rules`: a rules directory (empty: the
    bundled rules/); `verify`: exact-Jaccard verification of near-duplicate candidates
    (`None`: the rules' default); `seq_len` 0: the family's context length;
    `materialize`: the stages whose documents are written (and so reusable)."""

    NULL_IS_DEFAULT: ClassVar[bool] = True

    output: str
    sources: tuple[SourceConfig, ...]
    family: str
    tokenizer: TokenizerConfig = parsed_by(_tokenizer, default=TokenizerConfig())
    rules: str = ""
    seed: int = ranged(0, 0)
    level: str = "file"
    verify: bool | None = None
    fim: bool = True
    seq_len: int = 0  # checked in __post_init__: 0 or at least MIN_MAX_TOKENS
    shard_mb: float = ranged(256.0, 0, open_low=True)
    workers: int = ranged(1, 1)
    materialize: tuple[str, ...] = STAGE_DIRS
    beam_args: tuple[str, ...] = parsed_by(_arguments, default=())

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.sources:
            raise FieldError("sources", "expected a non-empty list of sources, got an empty list")
        names = [s.name for s in self.sources]
        for name in names:
            if names.count(name) > 1:
                raise FieldError("sources", f"name {name!r} is used twice")
        _choice("level", self.level, LEVELS)
        for stage in self.materialize:
            if stage not in STAGE_DIRS:
                raise FieldError("materialize", f"unknown stage {stage!r} (known: {', '.join(STAGE_DIRS)})")
        if self.seq_len != 0 and self.seq_len < MIN_MAX_TOKENS:
            raise FieldError("seq_len", f"expected 0 (the family's context length) or at least {MIN_MAX_TOKENS}, "
                                        f"got {self.seq_len}")

    def shares(self) -> dict[str, float]:
        """Each source's target share of training sequences (weights normalised to 1)."""
        total = sum(s.weight for s in self.sources)
        return {s.name: s.weight / total for s in self.sources}


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise FieldError(key, f"expected one of {', '.join(allowed)}, got {value!r}")


def load_run_config(path: str) -> RunConfig:
    """Parse and check CONFIG.yaml; relative paths are taken from the config file's folder."""
    try:
        config = load_rule_file(Path(path), RunConfig, what="run config")
    except RulesError as error:
        raise RunConfigError(str(error)) from None
    return _settle(config, str(Path(path)), base=Path(path).resolve().parent)


def _settle(config: RunConfig, file: str, base: Path) -> RunConfig:
    """What the schema alone cannot say: local paths taken from the config's folder, each
    source's `pack` default and classifier model, and the family (from the fim.yaml of the
    config's rules) whose special tokens the tokenizer's vocabulary must hold."""
    sources = tuple(_settle_source(s, file, f"sources[{i}]", base) for i, s in enumerate(config.sources))
    rules = _resolve(config.rules, base) if config.rules else ""
    family = _family(config.family, rules, file)
    tokenizer = config.tokenizer
    reserved = len(family.special_tokens) + 256
    if tokenizer.vocab_size and tokenizer.vocab_size <= reserved:
        raise RunConfigError(
            f"{file}: key 'tokenizer.vocab_size': expected 0 (the family's) or more than the 256 bytes and "
            f"{len(family.special_tokens)} special tokens of {config.family} ({reserved}), got {tokenizer.vocab_size}")
    tokenizer = replace(tokenizer, path=_resolve(tokenizer.path, base) if tokenizer.path else "")
    return replace(config, output=_resolve(config.output, base), sources=sources, rules=rules, tokenizer=tokenizer)


def _settle_source(source: SourceConfig, file: str, key: str, base: Path) -> SourceConfig:
    if source.kind == "commoncrawl" and not source.model:
        # a forgotten model must not let the whole crawl through
        raise RunConfigError(f"{file}: key '{key}.model': a commoncrawl source needs a fastText model file, "
                             "or `none` to keep every page")
    if source.kind != "commoncrawl" and source.model:
        raise RunConfigError(f"{file}: key '{key}.model': only commoncrawl sources are classified, "
                             f"got {source.model!r}")
    model = "" if source.model == "none" else source.model
    return replace(source, inputs=tuple(_resolve(i, base) for i in source.inputs),
                   pack=source.kind == "github" if source.pack is None else source.pack,
                   model=_resolve(model, base) if model else "")


def _family(name: str, rules: str, file: str) -> FamilySpec:
    """The family the config names, from the fim.yaml of the config's rules (default: the bundled ones)."""
    directory = Path(rules) if rules else DEFAULT_RULES_DIR
    if not directory.is_dir():
        raise RunConfigError(f"{file}: key 'rules': rules directory {str(directory)!r} does not exist")
    fim = load_rule_file(directory / "fim.yaml", FimRules)  # a broken fim.yaml is a RulesError naming it
    try:
        return fim.family(name)
    except RulesError as error:  # "unknown family 'x'; fim.yaml defines: ..."
        raise RunConfigError(f"{file}: key 'family': {error}") from None


def _resolve(value: str, base: Path) -> str:
    """Relative local paths are relative to the config file; URIs and absolute paths stay."""
    if "://" in value or os.path.isabs(value):
        return value
    return os.path.normpath(base / value)


# -- fingerprints ---------------------------------------------------------------------------


def digest(*parts) -> str:
    """sha256 over a JSON rendering of `parts` (sorted keys, so dict order does not matter)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def directory_digest(path: str) -> str:
    """Content hash of every file under a local directory (the rules: a changed threshold
    must invalidate every stage that used it)."""
    sha = hashlib.sha256()
    root = Path(path)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        sha.update(str(file.relative_to(root)).encode("utf-8") + b"\0")
        sha.update(hashlib.sha256(file.read_bytes()).digest())
    return sha.hexdigest()


def stage_fingerprint(stage: str, settings: dict, upstream: str, rules_digest: str) -> str:
    return digest(stage, settings, upstream, rules_digest, stackpipe.__version__)


def config_summary(config: RunConfig) -> dict:
    """The config as plain JSON, for run.json and the manifest."""
    return asdict(config)
