"""The trainer's reading of a shard directory's `manifest.json` (DESIGN.md §3).

The trainer never imports the pipeline: this module knows the shard format only through
its written contract (format `stackpipe-shards/1`). It reads what training depends on,
the tokenizer's hash, vocabulary size and special ids, the family, and every shard's
rows and sha256, and checks it before the first step, so that a wrong tokenizer or a
model too small for the vocabulary fails with a message instead of training on garbage.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

MANIFEST_FORMAT = "stackpipe-shards/1"
MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.json"
_HASH_CHUNK = 1 << 20


class DataError(ValueError):
    """Training data that cannot be used as given: the message names the file, key or value."""


@dataclass(frozen=True, kw_only=True)
class ShardEntry:
    path: str  # absolute or directory-joined path of the Parquet file
    rows: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class ShardManifest:
    """What the trainer needs from one shard directory."""

    path: str  # the shard directory
    family: str
    tokenizer_sha256: str
    vocab_size: int
    special_ids: Mapping[str, int]  # role -> id; always holds "eos"
    shards: tuple[ShardEntry, ...]  # in manifest order (sorted by file name)
    rows: int
    tokens: int

    @property
    def eos_id(self) -> int:
        return self.special_ids["eos"]


def read_manifest(directory: str, *, verify: bool = False) -> ShardManifest:
    """Read and check `DIRECTORY/manifest.json`.

    Every listed shard must exist; with `verify`, each one's sha256 must also match (this
    reads every byte, so it is off by default and meant for the first run on new data).
    """
    file = os.path.join(directory, MANIFEST_NAME)
    if not os.path.isfile(file):
        raise DataError(f"no {MANIFEST_NAME} in shard directory {directory}; "
                        "point the trainer at the --output of `stackpipe shards`")
    try:
        with open(file, encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as error:
        raise DataError(f"{file} is not valid JSON: {error}") from None
    if not isinstance(document, Mapping):
        raise DataError(f"{file} must hold a JSON object, got {type(document).__name__}")
    found = document.get("format")
    if found != MANIFEST_FORMAT:
        raise DataError(f'{file}: "format" is {found!r}, this trainer reads {MANIFEST_FORMAT!r}')
    special_ids = _required(document, file, "tokenizer", "special_ids", kind=Mapping)
    if "eos" not in special_ids:
        raise DataError(f'{file}: "tokenizer" -> "special_ids" lacks "eos"; packing needs the end-of-text id')
    for role, token_id in special_ids.items():
        _check_int(token_id, file, f'"tokenizer" -> "special_ids" -> "{role}"', minimum=0)
    shards = tuple(_shard_entry(directory, file, index, entry)
                   for index, entry in enumerate(_required(document, file, "shards", kind=list)))
    manifest = ShardManifest(
        path=directory,
        family=_required(document, file, "family", kind=str),
        tokenizer_sha256=_required(document, file, "tokenizer", "sha256", kind=str),
        vocab_size=_check_int(_required(document, file, "tokenizer", "vocab_size", kind=int), file,
                              '"tokenizer" -> "vocab_size"', minimum=1),
        special_ids=dict(special_ids),
        shards=shards,
        rows=_required(document, file, "totals", "rows", kind=int),
        tokens=_required(document, file, "totals", "tokens", kind=int),
    )
    if verify:
        for shard in shards:
            verify_shard(shard)
    return manifest


def _required(document: Mapping, file: str, *keys: str, kind: type) -> Any:
    value: Any = document
    for depth, key in enumerate(keys):
        if not isinstance(value, Mapping) or key not in value:
            where = " -> ".join(f'"{k}"' for k in keys[:depth + 1])
            raise DataError(f"{file} lacks {where}")
        value = value[key]
    # bool is an int in Python; a manifest saying `true` for a count is still wrong.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        where = " -> ".join(f'"{k}"' for k in keys)
        raise DataError(f"{file}: {where} must be {kind.__name__}, got {value!r}")
    return value


def _check_int(value: Any, file: str, where: str, *, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise DataError(f"{file}: {where} must be an integer >= {minimum}, got {value!r}")
    return value


def _shard_entry(directory: str, file: str, index: int, entry: Any) -> ShardEntry:
    where = f'"shards"[{index}]'
    if not isinstance(entry, Mapping):
        raise DataError(f"{file}: {where} must be an object, got {entry!r}")
    for key, kind in (("path", str), ("rows", int), ("sha256", str)):
        if not isinstance(entry.get(key), kind):
            raise DataError(f'{file}: {where} -> "{key}" must be {kind.__name__}, got {entry.get(key)!r}')
    path = os.path.join(directory, entry["path"])
    if not os.path.isfile(path):
        raise DataError(f"shard {entry['path']} listed in {file} is missing: {path}")
    return ShardEntry(path=path, rows=entry["rows"], sha256=entry["sha256"])


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_shard(shard: ShardEntry) -> None:
    actual = file_sha256(shard.path)
    if actual != shard.sha256:
        raise DataError(f"shard {shard.path} sha256 mismatch: {MANIFEST_NAME} says {shard.sha256}, "
                        f"file has {actual}; the shard was changed or truncated after it was written")


def verify_tokenizer(manifest: ShardManifest) -> None:
    """The directory's tokenizer.json must be the one its shards were tokenized with.

    Export copies this file next to the model, so a swapped or edited tokenizer would
    silently give a model whose ids mean other tokens.
    """
    path = os.path.join(manifest.path, TOKENIZER_NAME)
    recorded = f'{MANIFEST_NAME} records "tokenizer" -> "sha256" {manifest.tokenizer_sha256}'
    if not os.path.isfile(path):
        raise DataError(f"{path} is missing ({recorded}); copy the tokenizer.json the shards were written "
                        "with into the shard directory, or rerun `stackpipe shards`")
    actual = file_sha256(path)
    if actual != manifest.tokenizer_sha256:
        raise DataError(f"{path} has sha256 {actual}, but {recorded}; the file was changed after the shards "
                        "were written: restore the original tokenizer.json or rerun `stackpipe shards` with this one")


def fingerprint(manifest: ShardManifest) -> str:
    """A location-free identity of a shard set: the hash of its shards' names, rows and hashes.

    Resumable data state stores it instead of the directory so a checkpoint still loads
    after the shards are copied elsewhere, yet refuses data that changed.
    """
    digest = hashlib.sha256()
    for shard in manifest.shards:
        digest.update(f"{os.path.basename(shard.path)}\x1f{shard.rows}\x1f{shard.sha256}\n".encode("utf-8"))
    return digest.hexdigest()[:16]


def validate_manifests(manifests: Sequence[ShardManifest], *, vocab_size: int, family: str | None = None) -> None:
    """Check blended shard sets against each other and against the model, before training.

    vocab_size: the model's embedding rows; every id the tokenizer can produce must fit.
    family: the model family (codellama, starcoder, starcoder2, deepseek); when given,
    every set must have been written for it, since FIM sentinels and row layout differ.
    """
    check_same_tokenizer(manifests)
    for manifest in manifests:
        where = os.path.join(manifest.path, MANIFEST_NAME)
        if manifest.vocab_size > vocab_size:
            raise DataError(f'{where}: "tokenizer" -> "vocab_size" is {manifest.vocab_size}, larger than the '
                            f"model's vocab_size {vocab_size}; use a model preset with vocab_size >= "
                            f"{manifest.vocab_size}")
        for role, token_id in sorted(manifest.special_ids.items()):
            if token_id >= vocab_size:
                raise DataError(f'{where}: special id "{role}" = {token_id} is out of range for the '
                                f"model's vocab_size {vocab_size}")
        if family is not None and manifest.family != family:
            raise DataError(f'{where}: "family" is {manifest.family!r} but the model is {family!r}; '
                            f"write the shards with --family {family} or train a {manifest.family} model")


def check_same_tokenizer(manifests: Sequence[ShardManifest]) -> None:
    """Blended sets must share one tokenizer: the same id must mean the same token in all."""
    if not manifests:
        raise DataError("no shard sets given; pass at least one shard directory")
    first = manifests[0]
    for manifest in manifests[1:]:
        if manifest.tokenizer_sha256 != first.tokenizer_sha256:
            raise DataError(f"{os.path.join(manifest.path, MANIFEST_NAME)}: tokenizer sha256 "
                            f"{manifest.tokenizer_sha256} differs from {first.tokenizer_sha256} of {first.path}; "
                            "blended sets must share one tokenizer")
