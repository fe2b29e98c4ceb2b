"""sources.yaml: how inputs are read (file size and decoding limits, archive bounds,
The Stack-style table columns, directories skipped)."""

from __future__ import annotations

from dataclasses import dataclass

from stackpipe.rules.loader import Checked, fraction, ranged


@dataclass(frozen=True, kw_only=True)
class ArchiveLimits(Checked):
    """Bounds that keep a hostile archive (zip bomb, million-member tar) from hurting a worker.
    A stored (uncompressed) member has a compression ratio of 1."""

    max_members: int = ranged(200_000, 1)
    max_total_bytes: int = ranged(4 * 1024**3, 1)
    max_compression_ratio: float = ranged(200.0, 1)


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
class SourceRules(Checked):
    max_file_bytes: int = ranged(1_000_000, 1)
    max_decode_chaos: float = fraction(0.2)  # charset-normalizer's chaos is within [0, 1]
    archive: ArchiveLimits = ArchiveLimits()
    table_columns: TableColumns = TableColumns()
    skip_dirs: tuple[str, ...] = (".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".venv")
