"""Driver-side planning: input URIs -> the sorted list of units the workers read.

Planning only lists (plus one Parquet footer read per table, to split it by row group);
it never reads file contents. What a URI is:

- `python-env://[stdlib|site-packages]`: the running interpreter's code (see pyenv; local runners only).
- a file: by its suffix, an archive (.tar, .tar.gz, .tgz, .tar.zst, .zip: one
  repository, named after the file), a Parquet table (one unit per row group) or a JSONL
  table (.jsonl, .jsonl.gz, .jsonl.zst, .json.gz, .json.zst, .ndjson: one unit).
- a directory, decided in this order unless `?layout=` forces it:
  1. `data`: every file below it (skip_dirs aside) is an archive or a table, apart from
     hidden files and documentation (README, LICENSE, *.md, *.txt, *.json, *.yaml), and
     there is at least one: each archive or table is planned as above.
  2. `repo`: it directly holds regular, non-hidden files and no subdirectory (skip_dirs
     aside): it is one repository, named after the directory.
  3. `owner/name`: no top-level subdirectory directly holds a regular, non-hidden file
     (an owner directory holds only repository directories).
  4. `name`: otherwise; each top-level subdirectory is one repository. Files at the top
     of a directory of repositories belong to none: they are not read, with a warning.
  `?layout=owner/name|name|repo|data` forces the reading.
- a glob (local, s3://, gs://): every match, each planned as above.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from stackpipe.rules import SourceRules
from stackpipe.sources.pyenv import SCHEME as PYENV_SCHEME, plan_python_env
from stackpipe.sources.storage import expand_glob, list_children, open_raw, stat_uri, walk
from stackpipe.sources.tables import resolve_columns
from stackpipe.sources.units import InputUnit, SourceError
from stackpipe.sources.uris import (
    archive_stem, basename, file_kind, has_glob, join, scheme, split_options,
)

log = logging.getLogger(__name__)

DOC_SUFFIXES = (".md", ".rst", ".txt", ".json", ".yaml", ".yml")
DOC_PREFIXES = ("README", "LICENSE", "LICENCE", "COPYING", "NOTICE", "CHANGELOG")
FOOTER_THREADS = 16  # Parquet footers on an object store: latency-bound, read them in parallel


def plan_inputs(uris: Sequence[str], rules: SourceRules) -> list[InputUnit]:
    """The units of all `uris`, deduplicated and sorted (the same inputs always plan the same)."""
    if isinstance(uris, str):
        raise TypeError(f"plan_inputs takes a list of URIs, got the string {uris!r}")
    units: set[InputUnit] = set()
    for uri in uris:
        units.update(plan_uri(os.fspath(uri), rules))
    return sorted(units, key=lambda u: (u.uri, -1 if u.part is None else u.part, u.repo, u.kind))


def plan_uri(uri: str, rules: SourceRules) -> list[InputUnit]:
    """The units of one input URI; SourceError when it matches nothing."""
    if uri.startswith(PYENV_SCHEME):
        return plan_python_env(uri)
    base, options = split_options(uri)
    layout = options.get("layout")
    if has_glob(base) and scheme(base) not in ("http", "https"):
        matches = expand_glob(base)
        if not matches:
            raise SourceError(f"input {uri!r} matches nothing")
        local = scheme(base) == "file"  # object-store globs match objects only: no stat needed
        return [unit for match in matches
                for unit in _plan_path(match, (stat_uri(match) if local else None) or "file", layout, rules)]
    found = stat_uri(base)
    if found is None:
        raise SourceError(f"input {uri!r} matches nothing: no file or directory is there")
    units = _plan_path(base, found, layout, rules)
    if not units and found == "dir":
        raise SourceError(f"input {uri!r} matches nothing: the directory holds no repository, archive or table")
    return units


def _plan_path(uri: str, found: str, layout: str | None, rules: SourceRules) -> list[InputUnit]:
    if found == "file":
        if layout not in (None, "data"):
            raise SourceError(f"input {uri!r} is a file; layout={layout} applies to directories only")
        kind = file_kind(basename(uri))
        if kind is None:
            raise SourceError(f"input {uri!r} is not an archive (.tar, .tar.gz, .tgz, .tar.zst, .zip), "
                              "a Parquet table or a JSONL table (.jsonl, .jsonl.gz, .jsonl.zst, .json.gz)")
        return plan_files([uri], rules)
    if layout == "repo":
        return [InputUnit("repo_dir", uri.rstrip("/"), repo=basename(uri))]
    if layout in (None, "data"):
        data = data_files(uri, rules, strict=layout is None)
        if data is not None:
            return plan_files(data, rules)
    return plan_repositories(uri, layout, rules)


# --- tables and archives -------------------------------------------------------------


def data_files(uri: str, rules: SourceRules, strict: bool) -> list[str] | None:
    """Archives and tables below `uri`. When `strict`, None as soon as a file that is neither
    (nor documentation) shows up: then it is a directory of repositories."""
    found = []
    for entry in walk(uri, rules.skip_dirs):
        name = basename(entry.rel)
        if file_kind(name):
            found.append(entry.uri)
        elif strict and not _is_documentation(name):
            return None
    return found if found or not strict else None


def _is_documentation(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(DOC_SUFFIXES) or name.upper().startswith(DOC_PREFIXES)


def plan_files(uris: list[str], rules: SourceRules) -> list[InputUnit]:
    """Units of archive and table files (their kind from the suffix)."""
    units, parquet = [], []
    for uri in uris:
        kind = file_kind(basename(uri))
        if kind == "archive":
            units.append(InputUnit("archive", uri, repo=archive_stem(basename(uri))))
        elif kind == "jsonl":
            units.append(InputUnit("jsonl", uri, source="stack"))
        elif kind == "parquet":
            parquet.append(uri)
    if len(parquet) > 1 and scheme(parquet[0]) != "file":
        with ThreadPoolExecutor(FOOTER_THREADS) as pool:
            units += [u for part_units in pool.map(lambda p: parquet_units(p, rules), parquet) for u in part_units]
    else:
        units += [u for p in parquet for u in parquet_units(p, rules)]
    return units


def parquet_units(uri: str, rules: SourceRules) -> list[InputUnit]:
    """One unit per row group; one whole-file unit when the footer is unreadable or the
    table lacks a content column, so its reader emits exactly one rejection for it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with open_raw(uri) as raw:
            table = pq.ParquetFile(raw)
            groups, names = table.metadata.num_row_groups, table.schema_arrow.names
    except (pa.ArrowException, OSError):
        return [InputUnit("parquet", uri, source="stack")]
    if resolve_columns(names, rules.table_columns) is None:
        return [InputUnit("parquet", uri, source="stack")]
    return [InputUnit("parquet", uri, part=part, source="stack") for part in range(groups)]


# --- repository directories ----------------------------------------------------------


def plan_repositories(uri: str, layout: str | None, rules: SourceRules) -> list[InputUnit]:
    """One repo_dir unit per repository below `uri`, in `layout` (detected when None)."""
    skip = set(rules.skip_dirs)
    top, loose = list_children(uri)
    top = [d for d in top if d not in skip]
    loose = [name for name, _ in loose if not name.startswith(".")]
    if layout is None and loose and not top:  # files and no subdirectory: a repository itself, not a directory of them
        return [InputUnit("repo_dir", uri.rstrip("/"), repo=basename(uri))]
    if loose:
        log.warning("input %r: %d file(s) at the top of a directory of repositories belong to no repository "
                    "and are not read (first: %r); use %s?layout=repo to read it as one repository",
                    uri, len(loose), loose[0], uri)
    if layout is None:
        layout, listings = detect_layout(uri, top)
    elif layout == "owner/name":
        listings = {owner: list_children(join(uri, owner)) for owner in top}
    if layout == "name":
        return [InputUnit("repo_dir", join(uri, name), repo=name) for name in top]
    return [InputUnit("repo_dir", join(join(uri, owner), name), repo=f"{owner}/{name}")
            for owner in top for name in listings[owner][0] if name not in skip]


def detect_layout(uri: str, top: list[str]) -> tuple[str, dict]:
    """"name" as soon as a top-level directory directly holds a regular, non-hidden file
    (it is a repository); "owner/name" when they hold only directories (owners do).
    Returns the listings made, which the owner/name layout reuses."""
    listings, nested = {}, False
    for owner in top:
        subdirs, files = listings[owner] = list_children(join(uri, owner))
        if any(not name.startswith(".") for name, _ in files):
            return "name", listings
        nested = nested or bool(subdirs)
    return ("owner/name" if nested else "name"), listings
