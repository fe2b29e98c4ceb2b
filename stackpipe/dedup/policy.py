"""Which copy of a duplicate group to keep (REFERENCE.md §5, The Stack v2's policy).

Permissive licence first, then more stars, then the newest revision, and ties broken by
the stable record id, so the choice never depends on the runner or the input order.
Exact dedup uses it now; near-dedup clusters use the same order.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from stackpipe.records import FileRecord

_LICENSE_RANK = {"permissive": 0, "no_license": 1, "": 1, "non_permissive": 2}


def keep_priority(record: FileRecord) -> tuple:
    """Sort key: the smallest key is the copy to keep."""
    return (
        _LICENSE_RANK.get(record.license_type, 1),
        -(record.stars or 0),
        -_timestamp(record.meta.get("revision_date", "")),
        record.id,
    )


def choose_representative(records: Iterable[FileRecord]) -> FileRecord:
    """The record of `records` the policy keeps."""
    return min(records, key=keep_priority)


def _timestamp(value: str) -> float:
    """Seconds since the epoch of an ISO-8601 date; unknown or unparsable dates rank oldest."""
    if not value:
        return float("-inf")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return float("-inf")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
