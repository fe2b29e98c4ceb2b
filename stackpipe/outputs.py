"""Who may write an output directory, and whether a stage's output is complete enough to read.

Completion: a job writes its completion record last, after every shard exists —
`stats.json` (curate, dedup, pack: it lists the shards of `documents/`) or the shard
set's `manifest.json`. A directory with documents but no record, or with documents the
record does not list, is the output of a killed or concurrent run and is never read.

Exclusion: a run holds an advisory lock on its local output directory (`flock` on
`OUTPUT/.stackpipe.lock`) from before it clears old outputs until its completion record
is written, so a second run into the same directory stops at once with a clear message
instead of mixing files of both runs. The kernel releases the lock when the process
dies, so a crash leaves no stale lock. Object stores (gs://, s3://) have no such lock:
give every run its own output prefix there (see README, "Outputs").
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
from typing import Iterator, Mapping

LOCK_NAME = ".stackpipe.lock"
STATS_NAME = "stats.json"
RUN_MANIFEST_FORMAT = "stackpipe-run/1"
SHARD_MANIFEST_PREFIX = "stackpipe-shards/"


class OutputError(ValueError):
    """An output location that cannot be written: a file, another run's, or a user's own file."""


class IncompleteInputError(ValueError):
    """An input directory whose producing job did not finish."""


def is_remote(location: str) -> bool:
    return "://" in location


def check_output_location(output: str) -> None:
    """A local `--output` must be a directory or not exist yet."""
    if not is_remote(output) and os.path.exists(output) and not os.path.isdir(output):
        raise OutputError(f"--output {output} is an existing file, not a directory; give a directory path")


@contextlib.contextmanager
def exclusive_output(output: str, command: str) -> Iterator[None]:
    """Hold the output's lock for the body (local directories; a no-op for object stores).

    Raises OutputError naming the holder when another run has the lock.
    """
    check_output_location(output)
    if is_remote(output):
        yield
        return
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, LOCK_NAME)
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise OutputError(f"output {output} is being written by another run ({holder}; lock {path}); two runs "
                          f"into one output would mix their files: wait for it to end, or choose another "
                          f"--output") from None
    try:
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        handle.write(f"stackpipe {command}, pid {os.getpid()} on {socket.gethostname()}, since {started}\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def incompleteness(directory: str, record: Mapping | None, present: list[str]) -> str | None:
    """Why `directory`'s documents cannot be read, or None when they can.

    record: its parsed stats.json (None: absent); present: file names in its documents/.
    """
    if record is None:
        return (f"{directory} has documents/ but no {STATS_NAME}: the job that wrote it did not finish (killed, "
                f"failed, or still running); rerun that job into {directory}")
    listed = record.get("outputs", {}).get("documents") if isinstance(record.get("outputs"), dict) else None
    if listed is None:
        return (f"{directory}/{STATS_NAME} lists no documents/ shards: the job ran without writing documents "
                f"(materialize off), or is not a stackpipe stage output")
    names = {entry.get("path") for entry in listed if isinstance(entry, dict)}
    missing, extra = sorted(names - set(present)), sorted(set(present) - names)
    if missing or extra:
        return (f"{directory}/documents does not match its {STATS_NAME} (missing: {', '.join(missing) or 'none'}; "
                f"not listed: {', '.join(extra) or 'none'}): another run wrote into it; rerun the job that "
                f"produces {directory}")
    return None


def check_owned_manifest(path: str, document_text: str | None, *, expected_prefix: str) -> None:
    """Refuse to replace a `manifest.json` that stackpipe did not write (a user's own file)."""
    if document_text is None:
        return
    try:
        document = json.loads(document_text)
    except ValueError:
        document = None
    found = document.get("format", "") if isinstance(document, dict) else ""
    if not str(found).startswith(expected_prefix):
        raise OutputError(f"{path} exists and was not written by stackpipe (its \"format\" is not "
                          f"{expected_prefix}...); move it away or choose another --output, it would be replaced")
