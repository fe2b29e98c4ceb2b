"""Records that flow between stages, and their Arrow schemas.

The Parquet column names here are the contract with every later stage and with the
trainer (DESIGN.md §3). Records are frozen dataclasses: a stage that edits a record
(redaction, header stripping) returns a new one with `dataclasses.replace`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Mapping, Union

import pyarrow as pa

LICENSE_TYPES = ("permissive", "no_license", "non_permissive")


def record_id(source: str, repo: str, path: str) -> str:
    """Stable id of a file: the same source, repository and path always give the same id."""
    key = "\x00".join((source, repo, path)).encode("utf-8", "surrogateescape")
    return hashlib.sha256(key).hexdigest()[:32]


def content_hash(content: str) -> str:
    """sha256 of the exact UTF-8 text."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class RawFile:
    """Bytes of one file as a source found them, before decoding and language detection.

    `language_hint` carries a language a table already states (The Stack's `lang`), used
    only when the file name says nothing.
    """

    source: str
    repo: str
    path: str
    data: bytes
    license: str = ""
    license_type: str = ""
    stars: int | None = None
    revision: str = ""
    language_hint: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return record_id(self.source, self.repo, self.path)


@dataclass(frozen=True, kw_only=True)
class FileRecord:
    """A decoded, language-tagged file: the unit every stage keeps, edits or drops."""

    id: str
    repo: str
    path: str
    language: str
    content: str
    size_bytes: int
    source: str
    license: str = ""
    license_type: str = ""
    stars: int | None = None
    revision: str = ""
    content_hash: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)
    # Packed repository samples only: (path, language, start, end) character spans of
    # each file's text in `content`; None for a plain file.
    files: tuple[tuple[str, str, int, int], ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Rejected:
    """A record some stage dropped, with the stage and the reason (ASCII snake_case)."""

    record: FileRecord
    stage: str
    reason: str


@dataclass(frozen=True)
class Keep:
    """Verdict of a check: the record passes."""


@dataclass(frozen=True)
class Drop:
    """Verdict of a check: the record is dropped for `reason`; `detail` is for humans."""

    reason: str
    detail: str = ""


KEEP = Keep()
Verdict = Union[Keep, Drop]


def rejected_from_raw(raw: RawFile, stage: str, reason: str, detail: str = "") -> Rejected:
    """A rejection for bytes that never became text (binary, undecodable, unknown language)."""
    return source_rejection(
        source=raw.source, repo=raw.repo, path=raw.path, stage=stage, reason=reason,
        size_bytes=len(raw.data), detail=detail, license=raw.license,
        license_type=raw.license_type, stars=raw.stars, revision=raw.revision, meta=raw.meta,
    )


def source_rejection(
    *, source: str, repo: str, path: str, stage: str, reason: str, size_bytes: int = 0,
    detail: str = "", license: str = "", license_type: str = "", stars: int | None = None,
    revision: str = "", meta: Mapping[str, str] | None = None,
) -> Rejected:
    """A rejection for a file a source refused to read (symlink, too large, unsafe path...)."""
    meta = dict(meta or {})
    if detail:
        meta["detail"] = detail
    record = FileRecord(
        id=record_id(source, repo, path), repo=repo, path=path, language="", content="",
        size_bytes=size_bytes, source=source, license=license, license_type=license_type,
        stars=stars, revision=revision, meta=meta,
    )
    return Rejected(record=record, stage=stage, reason=reason)


def reject(record: FileRecord, stage: str, drop: Drop) -> Rejected:
    """Wrap a check's Drop verdict, keeping its detail in the record's meta."""
    if drop.detail:
        record = _with_meta(record, detail=drop.detail)
    return Rejected(record=record, stage=stage, reason=drop.reason)


def _with_meta(record: FileRecord, **items: str) -> FileRecord:
    from dataclasses import replace

    return replace(record, meta={**record.meta, **items})


# --- Arrow schemas (the Parquet contract) -------------------------------------------

FILE_FIELDS = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("repo", pa.string()),
    pa.field("path", pa.string()),
    pa.field("language", pa.string()),
    pa.field("content", pa.large_string()),
    pa.field("size_bytes", pa.int64()),
    pa.field("license", pa.string()),
    pa.field("license_type", pa.string()),
    pa.field("source", pa.string()),
    pa.field("stars", pa.int64()),
    pa.field("revision", pa.string()),
    pa.field("content_hash", pa.string()),
    # A JSON object (string -> string): loads everywhere (datasets, pandas, DuckDB), unlike an Arrow map.
    pa.field("meta", pa.string()),
]
FILE_SCHEMA = pa.schema(FILE_FIELDS)
REJECTED_SCHEMA = pa.schema(FILE_FIELDS + [pa.field("stage", pa.string()), pa.field("reason", pa.string())])

FILE_SPAN = pa.struct(
    [("path", pa.string()), ("language", pa.string()), ("start", pa.int64()), ("end", pa.int64())]
)
PACKED_SCHEMA = pa.schema(FILE_FIELDS + [pa.field("files", pa.list_(FILE_SPAN))])

# One row per unit of a connected component of near-duplicate candidates (file ids, or
# repository unit ids at repo level); cluster_id is the representative's id.
CLUSTER_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string()),
        pa.field("kept", pa.bool_()),
        pa.field("reason", pa.string()),
        pa.field("component_id", pa.string()),
    ]
)

SHARD_SCHEMA = pa.schema(
    [
        pa.field("tokens", pa.list_(pa.int32())),
        pa.field("num_tokens", pa.int32()),
        pa.field("id", pa.string()),
        pa.field("repo", pa.string()),
        pa.field("language", pa.string()),
        pa.field("source", pa.string()),
        pa.field("fim", pa.string()),
    ]
)


def record_to_row(record: FileRecord) -> dict:
    """A FileRecord as a dict of FILE_SCHEMA columns (meta as a key-sorted JSON object)."""
    return {
        "id": record.id,
        "repo": record.repo,
        "path": record.path,
        "language": record.language,
        "content": record.content,
        "size_bytes": record.size_bytes,
        "license": record.license,
        "license_type": record.license_type,
        "source": record.source,
        "stars": record.stars,
        "revision": record.revision,
        "content_hash": record.content_hash,
        "meta": json.dumps(dict(record.meta), sort_keys=True, ensure_ascii=False),
    }


def packed_record_to_row(record: FileRecord) -> dict:
    """A packed repository sample as a dict of PACKED_SCHEMA columns."""
    row = record_to_row(record)
    row["files"] = [{"path": p, "language": lang, "start": start, "end": end}
                    for p, lang, start, end in (record.files or ())]
    return row


def without_content(rejected: Rejected) -> Rejected:
    """The rejection's metadata only: content emptied, its size and sha256 kept (a file
    dropped before the PII stage still holds its secrets)."""
    from dataclasses import replace

    record = rejected.record
    if not record.content:
        return rejected
    digest = record.content_hash or content_hash(record.content)
    return replace(rejected, record=replace(record, content="", content_hash=digest))


def rejected_to_row(rejected: Rejected) -> dict:
    row = record_to_row(rejected.record)
    row["stage"] = rejected.stage
    row["reason"] = rejected.reason
    return row


def row_to_record(row: Mapping) -> FileRecord:
    """Inverse of record_to_row (and packed_record_to_row); accepts meta as a JSON string
    or a dict. Columns other than id and content may be absent (then empty)."""
    meta = row.get("meta") or {}
    if isinstance(meta, str):
        meta = json.loads(meta)
    files = row.get("files")
    content = row["content"] or ""
    return FileRecord(
        id=row["id"],
        repo=row.get("repo") or "",
        path=row.get("path") or "",
        language=row.get("language") or "",
        content=content,
        size_bytes=int(row.get("size_bytes") or len(content.encode("utf-8"))),
        source=row.get("source") or "",
        license=row.get("license") or "",
        license_type=row.get("license_type") or "",
        stars=row.get("stars"),
        revision=row.get("revision") or "",
        content_hash=row.get("content_hash") or "",
        meta=meta,
        files=None if files is None else tuple((f["path"], f["language"], f["start"], f["end"]) for f in files),
    )
