"""The unit of reading work, and how a source turns a refusal into a rejected record.

An `InputUnit` is what the driver plans and a worker reads: one repository directory,
one archive, one Parquet row group, one JSONL file, or one piece of the running Python
environment. It holds only strings and ints, so it pickles to any Beam worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackpipe.records import Rejected, source_rejection

STAGE = "read"
KINDS = ("repo_dir", "archive", "parquet", "jsonl", "python_env")


class SourceError(ValueError):
    """An input URI that cannot be planned: it matches nothing, or names an unsupported kind."""


@dataclass(frozen=True)
class InputUnit:
    """One independently readable piece of input.

    kind: "repo_dir" | "archive" | "parquet" | "jsonl" | "python_env".
    uri: where it lives (local path, s3://, gs://, https://, python-env://...).
    repo: owner/name (or name) of the repository a repo_dir, archive or python_env unit is.
    part: the Parquet row group to read; None reads every row group.
    source: the `source` tag of the records (github, stack, python_env).
    license: a licence known up front (python_env distributions, from their metadata).
    """

    kind: str
    uri: str
    repo: str = ""
    part: int | None = None
    source: str = "github"
    license: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"InputUnit kind {self.kind!r} is not one of {', '.join(KINDS)}")


def refuse(unit: InputUnit, path: str, reason: str, detail: str, size: int = 0, repo: str | None = None) -> Rejected:
    """A stage-"read" rejection of `path` in `unit`; `detail` says what was wrong, never the content."""
    return source_rejection(
        source=unit.source, repo=unit.repo if repo is None else repo, path=path, stage=STAGE, reason=reason,
        size_bytes=size, detail=detail, license=unit.license,
    )


def too_large_detail(size: int, limit: int) -> str:
    return f"size {size:,} bytes exceeds max_file_bytes {limit:,}"
