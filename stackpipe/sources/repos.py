"""Repository directories: one directory (local or under an object-store prefix) per repository.

The walk is listed once per unit and read file by file; every file that may not be read
(a name that is not valid UTF-8, symlink, special file, too large, empty, unreadable)
becomes a rejected record instead.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from stackpipe.records import RawFile, Rejected
from stackpipe.rules import SourceRules
from stackpipe.sources.storage import Entry, open_raw, walk
from stackpipe.sources.units import EMPTY_DETAIL, InputUnit, refuse, refuse_undecodable, size_refusal


def read_repo_dir(unit: InputUnit, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    """Every file of the repository directory `unit.uri`, paths relative to it."""
    return read_entries(unit, walk(unit.uri, rules.skip_dirs), rules)


def read_entries(unit: InputUnit, entries: Iterable[Entry], rules: SourceRules) -> Iterator[RawFile | Rejected]:
    """Read listed entries as files of `unit`'s repository, refusing what may not be read."""
    limit = rules.max_file_bytes
    for entry in entries:
        refusal = entry_refusal(unit, entry, limit)
        yield refusal if refusal is not None else read_file(unit, entry.uri, entry.rel, limit)


def entry_refusal(unit: InputUnit, entry: Entry, limit: int) -> Rejected | None:
    """Why a listed entry is not read, from its name and listing alone; None to read it."""
    undecodable = refuse_undecodable(unit, entry.rel, entry.size)  # the repository name, or any path component
    if undecodable is not None:
        return undecodable
    if entry.kind == "symlink":
        return refuse(unit, entry.rel, "symlink", entry.detail)
    if entry.kind == "special":
        return refuse(unit, entry.rel, "not_regular_file", f"{entry.detail}, not a regular file")
    if entry.kind == "unreadable":
        return refuse(unit, entry.rel, "unreadable", entry.detail)
    return size_refusal(unit, entry.rel, entry.size, limit)


def read_file(unit: InputUnit, uri: str, path: str, limit: int) -> RawFile | Rejected:
    """The bytes of one listed file, never more than `limit` + 1 of them in memory."""
    try:
        with open_raw(uri) as handle:
            data = handle.read(limit + 1)  # + 1: a file that grew since listing is still caught
    except OSError as error:
        return refuse(unit, path, "unreadable", f"cannot read {uri!r}: {error.strerror or error}")
    if len(data) > limit:
        return refuse(unit, path, "too_large", f"grew past max_file_bytes {limit:,} after listing", len(data))
    if not data:  # emptied since listing
        return refuse(unit, path, "empty", EMPTY_DETAIL)
    return RawFile(source=unit.source, repo=unit.repo, path=path, data=data, license=unit.license)
