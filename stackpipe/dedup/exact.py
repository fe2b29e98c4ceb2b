"""Exact deduplication on a normalized content hash.

Two files count as the same when they differ only in line endings, trailing whitespace
on lines, or blank lines at the start and end: copies that pick up an editor's or a
platform's whitespace habits are still copies.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Iterable, Iterator

from stackpipe.dedup.policy import keep_priority
from stackpipe.records import FileRecord, Rejected

STAGE = "exact_dedup"
REASON = "exact_duplicate"

_TRAILING_SPACE = re.compile(r"[ \t\f\v]+$", re.MULTILINE)


def normalize_for_hash(content: str) -> str:
    """Content with \\r\\n and \\r as \\n, trailing whitespace dropped, outer blank lines removed."""
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    return _TRAILING_SPACE.sub("", text).strip("\n")


def dedup_key(record: FileRecord) -> str:
    return hashlib.sha256(normalize_for_hash(record.content).encode("utf-8")).hexdigest()


def split_duplicates(records: Iterable[FileRecord]) -> Iterator[FileRecord | Rejected]:
    """Given all records sharing one dedup key, yield the kept one and a rejection for each other.

    Two passes over `records`: Beam's grouped values can be re-iterated (and may be paged
    in), and the second pass may hand out fresh objects, so the winner is matched by id.
    The same file given twice (equal ids) is kept once.
    """
    best_id = min(records, key=keep_priority).id
    kept = False
    for record in records:
        if record.id == best_id and not kept:
            kept = True
            yield record
        else:
            meta = {**record.meta, "duplicate_of": best_id}
            yield Rejected(record=replace(record, meta=meta), stage=STAGE, reason=REASON)
