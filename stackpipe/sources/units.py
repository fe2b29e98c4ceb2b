"""The unit of reading work, and how a source turns a refusal into a rejected record.

An `InputUnit` is what the driver plans and a worker reads: one repository directory,
one archive, one Parquet row group, one JSONL file, or one piece of the running Python
environment. It holds only strings and ints, so it pickles to any Beam worker.

Every name a source hands on (repository, path) must be valid text: Parquet and JSON
can only hold UTF-8. A name that is not (a file name on disk or in a tar whose bytes
are not UTF-8, which Python carries as lone surrogates) is checked by the one function
`undecodable_name`, and its file is refused as `undecodable_path` under an escaped name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from stackpipe.records import Rejected, record_id, source_rejection

STAGE = "read"
KINDS = ("repo_dir", "archive", "parquet", "jsonl", "python_env")
EMPTY_DETAIL = "the file is empty (0 bytes)"


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


def undecodable_name(name: str) -> str | None:
    """None when `name` is valid text; otherwise its escaped form, which is.

    A name that is not valid UTF-8 (on disk, in a tar, in a zip) reaches Python with each
    bad byte as a lone surrogate U+DC80..U+DCFF (`surrogateescape`); a JSON string may
    hold any lone surrogate. In the escaped form such a byte reads `\\xNN`, any other lone
    surrogate `\\uNNNN`, and a backslash `\\\\`, so distinct names stay distinct:
    b"caf\\xe9.py" becomes `caf\\xe9.py`.
    """
    if name.isascii():
        return None
    try:
        name.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return "".join(map(_escape_char, name))


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"
    return "\\\\" if char == "\\" else char


def refuse(unit: InputUnit, path: str, reason: str, detail: str, size: int = 0, repo: str | None = None) -> Rejected:
    """A stage-"read" rejection of `path` in `unit`; `detail` says what was wrong, never the content.

    A repository or path name that is not valid text is written escaped (undecodable_name);
    the record id is still that of the name as found, so it stays stable and distinct.
    """
    repo = unit.repo if repo is None else repo
    safe_repo, safe_path = undecodable_name(repo) or repo, undecodable_name(path) or path
    rejected = source_rejection(
        source=unit.source, repo=safe_repo, path=safe_path, stage=STAGE, reason=reason,
        size_bytes=size, detail=undecodable_name(detail) or detail, license=unit.license,
    )
    if (safe_repo, safe_path) == (repo, path):
        return rejected
    try:
        found_id = record_id(unit.source, repo, path)  # surrogateescape: the id of the bytes as found
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte (JSON's "\\ud800"): the escaped id
        return rejected
    return dataclasses.replace(rejected, record=dataclasses.replace(rejected.record, id=found_id))


def refuse_undecodable(unit: InputUnit, path: str, size: int = 0, repo: str | None = None) -> Rejected | None:
    """An `undecodable_path` rejection when the repository or path name is not valid text, else None."""
    repo = unit.repo if repo is None else repo
    bad = [f"{what} '{escaped}'" for what, name in (("repository name", repo), ("path", path))
           if (escaped := undecodable_name(name)) is not None]
    if not bad:
        return None
    return refuse(unit, path, "undecodable_path",
                  f"{' and '.join(bad)} {'is' if len(bad) == 1 else 'are'} not valid UTF-8 "
                  "(each undecodable byte shown as \\xNN)", size, repo)


def size_refusal(unit: InputUnit, path: str, size: int, limit: int, repo: str | None = None) -> Rejected | None:
    """`too_large` above max_file_bytes (`limit`), `empty` at 0 bytes, else None."""
    if size > limit:
        return refuse(unit, path, "too_large", too_large_detail(size, limit), size, repo)
    if size == 0:
        return refuse(unit, path, "empty", EMPTY_DETAIL, 0, repo)
    return None


def too_large_detail(size: int, limit: int) -> str:
    return f"size {size:,} bytes exceeds max_file_bytes {limit:,}"
