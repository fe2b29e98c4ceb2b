"""`stackpipe run CONFIG.yaml`: the run configuration, strictly typed, and its fingerprints.

A config names the sources (each curated on its own, then mixed at the shards by target
proportions), the rules, the tokenizer, the family, the seed, the dedup level and the
output directory. Loading is strict like the rules: an unknown key or a bad value (out of
range, or a family the rules' fim.yaml does not define) is a `RunConfigError` that names
the file, the key and the value.

Fingerprints make a run resumable: each stage's fingerprint hashes its settings, the
rules, the package version and its upstream's fingerprint (the sources' own fingerprint
hashes what the inputs are: paths with sizes and modification times, or distribution
versions). A stage whose output carries the same fingerprint is reused, not recomputed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import yaml

import stackpipe
from stackpipe.rules import DEFAULT_RULES_DIR, FamilySpec, FimRules, RulesError, load_rule_file
from stackpipe.sources import InputUnit
from stackpipe.tokens.samples import MIN_MAX_TOKENS

SOURCE_KINDS = ("github", "commoncrawl")  # github: repo dirs, archives, Stack tables, python-env://
LEVELS = ("file", "repo")
STAGE_DIRS = ("curated", "dedup", "packed")
MARKER = "_stage.json"


class RunConfigError(ValueError):
    """A run config that cannot be used; the message names the file, key and value."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    inputs: tuple[str, ...]
    weight: float
    pack: bool
    model: str = ""  # commoncrawl: the fastText model file; empty: keep every page (`model: none`)


@dataclass(frozen=True)
class TokenizerConfig:
    path: str = ""  # an existing tokenizer.json; empty: train one on the run's documents
    max_mb: float = 64.0
    vocab_size: int = 0  # 0: the family's
    min_frequency: int = 2


@dataclass(frozen=True)
class RunConfig:
    output: str
    sources: tuple[SourceConfig, ...]
    family: str
    tokenizer: TokenizerConfig
    rules: str = ""
    seed: int = 0
    level: str = "file"
    verify: bool | None = None
    fim: bool = True
    seq_len: int = 0  # 0: the family's context length
    shard_mb: float = 256.0
    workers: int = 1
    materialize: tuple[str, ...] = STAGE_DIRS
    beam_args: tuple[str, ...] = field(default_factory=tuple)

    def shares(self) -> dict[str, float]:
        """Each source's target share of training sequences (weights normalised to 1)."""
        total = sum(s.weight for s in self.sources)
        return {s.name: s.weight / total for s in self.sources}


_TOP_KEYS = {"output", "sources", "family", "tokenizer", "rules", "seed", "level", "verify", "fim", "seq_len",
             "shard_mb", "workers", "materialize", "beam_args"}
_SOURCE_KEYS = {"name", "kind", "inputs", "weight", "pack", "model"}
_TOKENIZER_KEYS = {"path", "max_mb", "vocab_size", "min_frequency"}


def load_run_config(path: str) -> RunConfig:
    """Parse and check CONFIG.yaml; relative paths are taken from the config file's folder."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RunConfigError(f"{path}: cannot read the run config: {error.strerror or error}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RunConfigError(f"{path}: not valid YAML: {error}") from None
    return parse_run_config(document, path, base=Path(path).resolve().parent)


def parse_run_config(document, where: str, base: Path) -> RunConfig:
    if not isinstance(document, dict):
        raise RunConfigError(f"{where}: expected a mapping at the top, got {type(document).__name__}")
    _check_keys(document, _TOP_KEYS, where, "")
    for required in ("output", "sources", "family"):
        if required not in document:
            raise RunConfigError(f"{where}: missing key {required!r}")
    raw_sources = document["sources"]
    if not isinstance(raw_sources, list) or not raw_sources:
        raise RunConfigError(f"{where}: key 'sources' must be a non-empty list, got {raw_sources!r}")
    sources = tuple(_source(s, where, f"sources[{i}]", base) for i, s in enumerate(raw_sources))
    names = [s.name for s in sources]
    for name in names:
        if names.count(name) > 1:
            raise RunConfigError(f"{where}: key 'sources': name {name!r} is used twice")
    materialize = tuple(_typed(document, "materialize", list, where, "", list(STAGE_DIRS)))
    for stage in materialize:
        if stage not in STAGE_DIRS:
            raise RunConfigError(f"{where}: key 'materialize': unknown stage {stage!r} (known: {', '.join(STAGE_DIRS)})")
    level = _typed(document, "level", str, where, "", "file")
    if level not in LEVELS:
        raise RunConfigError(f"{where}: key 'level': expected one of {', '.join(LEVELS)}, got {level!r}")
    verify = document.get("verify")
    if verify is not None and not isinstance(verify, bool):
        raise RunConfigError(f"{where}: key 'verify': expected true, false or null, got {verify!r}")
    workers = _typed(document, "workers", int, where, "", 1)
    _check(workers >= 1, where, "workers", "at least 1", workers)
    shard_mb = _typed(document, "shard_mb", (int, float), where, "", 256.0)
    _check(_positive(shard_mb), where, "shard_mb", "a positive number", shard_mb)
    seed = _typed(document, "seed", int, where, "", 0)
    _check(seed >= 0, where, "seed", "a non-negative integer", seed)
    seq_len = _typed(document, "seq_len", int, where, "", 0)
    _check(seq_len == 0 or seq_len >= MIN_MAX_TOKENS, where, "seq_len",
           f"0 (the family's context length) or at least {MIN_MAX_TOKENS}", seq_len)
    rules = _typed(document, "rules", str, where, "", "")
    rules = _resolve(rules, base) if rules else ""
    family_name = _typed(document, "family", str, where, "", "")
    family = _family(family_name, rules, where)
    tokenizer = _tokenizer(document.get("tokenizer"), where, base)
    reserved = len(family.special_tokens) + 256
    _check(tokenizer.vocab_size == 0 or tokenizer.vocab_size > reserved, where, "tokenizer.vocab_size",
           f"0 (the family's) or more than the 256 bytes and {len(family.special_tokens)} special tokens of "
           f"{family_name} ({reserved})", tokenizer.vocab_size)
    return RunConfig(
        output=_resolve(_typed(document, "output", str, where, "", ""), base),
        sources=sources,
        family=family_name,
        tokenizer=tokenizer,
        rules=rules,
        seed=seed,
        level=level,
        verify=verify,
        fim=_typed(document, "fim", bool, where, "", True),
        seq_len=seq_len,
        shard_mb=float(shard_mb),
        workers=workers,
        materialize=materialize,
        beam_args=tuple(str(a) for a in _typed(document, "beam_args", list, where, "", [])),
    )


def _source(raw, where: str, key: str, base: Path) -> SourceConfig:
    if not isinstance(raw, dict):
        raise RunConfigError(f"{where}: key {key!r}: expected a mapping, got {raw!r}")
    _check_keys(raw, _SOURCE_KEYS, where, key + ".")
    kind = _typed(raw, "kind", str, where, key + ".", "github")
    if kind not in SOURCE_KINDS:
        raise RunConfigError(f"{where}: key '{key}.kind': expected one of {', '.join(SOURCE_KINDS)}, got {kind!r}")
    name = _typed(raw, "name", str, where, key + ".", "")
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise RunConfigError(f"{where}: key '{key}.name': expected letters, digits, - or _, got {name!r}")
    inputs = raw.get("inputs")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
        raise RunConfigError(f"{where}: key '{key}.inputs': expected a URI or a list of URIs, got {inputs!r}")
    weight = _typed(raw, "weight", (int, float), where, key + ".", 1.0)
    _check(_positive(weight), where, f"{key}.weight", "a positive number", weight)
    model = _typed(raw, "model", str, where, key + ".", "")
    if kind == "commoncrawl" and not model:
        # a forgotten model must not let the whole crawl through
        raise RunConfigError(f"{where}: key '{key}.model': a commoncrawl source needs a fastText model file, "
                             "or `none` to keep every page")
    if kind != "commoncrawl" and model:
        raise RunConfigError(f"{where}: key '{key}.model': only commoncrawl sources are classified, got {model!r}")
    model = "" if model == "none" else model
    return SourceConfig(name=name, kind=kind, inputs=tuple(_resolve(i, base) for i in inputs), weight=float(weight),
                        pack=_typed(raw, "pack", bool, where, key + ".", kind == "github"),
                        model=_resolve(model, base) if model else "")


def _tokenizer(raw, where: str, base: Path) -> TokenizerConfig:
    if raw is None:
        return TokenizerConfig()
    if isinstance(raw, str):
        return TokenizerConfig(path=_resolve(raw, base))
    if not isinstance(raw, dict):
        raise RunConfigError(f"{where}: key 'tokenizer': expected a path or a mapping, got {raw!r}")
    _check_keys(raw, _TOKENIZER_KEYS, where, "tokenizer.")
    path = _typed(raw, "path", str, where, "tokenizer.", "")
    max_mb = _typed(raw, "max_mb", (int, float), where, "tokenizer.", 64.0)
    _check(_positive(max_mb), where, "tokenizer.max_mb", "a positive number", max_mb)
    vocab_size = _typed(raw, "vocab_size", int, where, "tokenizer.", 0)
    _check(vocab_size >= 0, where, "tokenizer.vocab_size", "0 (the family's) or a positive integer", vocab_size)
    min_frequency = _typed(raw, "min_frequency", int, where, "tokenizer.", 2)
    _check(min_frequency >= 1, where, "tokenizer.min_frequency", "at least 1", min_frequency)
    return TokenizerConfig(path=_resolve(path, base) if path else "", max_mb=float(max_mb), vocab_size=vocab_size,
                           min_frequency=min_frequency)


def _family(name: str, rules: str, where: str) -> FamilySpec:
    """The family the config names, from the fim.yaml of the config's rules (default: the bundled ones)."""
    directory = Path(rules) if rules else DEFAULT_RULES_DIR
    if not directory.is_dir():
        raise RunConfigError(f"{where}: key 'rules': rules directory {str(directory)!r} does not exist")
    fim = load_rule_file(directory / "fim.yaml", FimRules)  # a broken fim.yaml is a RulesError naming it
    try:
        return fim.family(name)
    except RulesError as error:  # "unknown family 'x'; fim.yaml defines: ..."
        raise RunConfigError(f"{where}: key 'family': {error}") from None


def _positive(value) -> bool:
    """A positive finite number (YAML's .nan and .inf are floats too)."""
    return math.isfinite(value) and value > 0


def _check(ok: bool, where: str, key: str, expected: str, value) -> None:
    if not ok:
        raise RunConfigError(f"{where}: key '{key}': expected {expected}, got {value!r}")


def _check_keys(mapping: dict, known: set[str], where: str, prefix: str) -> None:
    for key in mapping:
        if key not in known:
            raise RunConfigError(f"{where}: unknown key {prefix}{key!r} (known: {', '.join(sorted(known))})")


def _typed(mapping: dict, key: str, kind, where: str, prefix: str, default):
    value = mapping.get(key, default)
    if value is None:
        return default
    # bool is an int in Python; a count or a size given as true/false is a mistake
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind)):
        expected = " or ".join(k.__name__ for k in _as_tuple(kind))
        raise RunConfigError(f"{where}: key '{prefix}{key}': expected {expected}, got {value!r}")
    return value


def _as_tuple(kind) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


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


def unit_signature(unit: InputUnit) -> list:
    """What identifies the content of one input unit without reading it all: installed
    distributions by name and version, anything else by `uri_signature`."""
    base = [unit.kind, unit.uri, unit.repo, unit.part, unit.source, unit.license]
    if unit.kind == "python_env":
        name = unit.uri.rsplit("/", 1)[-1]
        try:
            version = metadata.version(name) if name != "stdlib" else sys.version
        except metadata.PackageNotFoundError:
            version = ""
        return base + [version]
    return base + uri_signature(unit.uri)


def uri_signature(uri: str) -> list:
    """Local files and folders by (relative path, size, mtime); anything remote by its
    listed size and modification time."""
    local = uri[len("file://"):] if uri.startswith("file://") else uri.split("?", 1)[0]
    if "://" not in local and os.path.isdir(local):
        entries = []
        for folder, _, files in os.walk(local):
            for name in files:
                full = os.path.join(folder, name)
                try:
                    stat = os.stat(full)
                except OSError:
                    continue
                entries.append((os.path.relpath(full, local), stat.st_size, stat.st_mtime_ns))
        return [digest(sorted(entries))]
    if "://" not in local and os.path.exists(local):
        stat = os.stat(local)
        return [stat.st_size, stat.st_mtime_ns]
    from apache_beam.io.filesystems import FileSystems  # only remote URIs need Beam's filesystems

    listed = FileSystems.match([uri])[0].metadata_list
    return [[(m.path, m.size_in_bytes, m.last_updated_in_seconds) for m in listed]]


def stage_fingerprint(stage: str, settings: dict, upstream: str, rules_digest: str) -> str:
    return digest(stage, settings, upstream, rules_digest, stackpipe.__version__)


def config_summary(config: RunConfig) -> dict:
    """The config as plain JSON, for run.json and the manifest."""
    return asdict(config)
