"""Progress lines for local runs: files and MB each stage has taken in, how many of the
total, and their rates.

Every stage (`StageTally`) counts its input in a per-process tally; at most every few
seconds one line lists the stages that moved since the last line, so a run is never
silent for minutes after its read. The read knows its total once planning is done (the
input units), so it shows `N of M units`; a later stage shows its files against what the
reads have produced so far (`of R read`), which is the most it can yet receive. Lines go
to stderr; they are on only while a local job runs with progress (`reporting()`), so
distributed workers stay quiet and use the Beam counters that the stages also update.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass

ENVIRONMENT = "STACKPIPE_PROGRESS"
_INTERVAL_S = 5.0
_last_line = [0.0]


@dataclass
class _Tally:
    stage: str
    units_total: int | None  # the units a reading stage takes in; None for the others
    files: int = 0
    bytes: int = 0
    units: int = 0
    files_shown: int = 0
    bytes_shown: int = 0


_tallies: dict = {}  # one per stage object (a run may have two stages of one name)


@contextlib.contextmanager
def reporting(enabled: bool):
    """Turn progress lines on for a local job run in this process."""
    previous = os.environ.get(ENVIRONMENT)
    if enabled:
        os.environ[ENVIRONMENT] = "1"
        _tallies.clear()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENVIRONMENT, None)
        else:
            os.environ[ENVIRONMENT] = previous


def is_reporting() -> bool:
    return os.environ.get(ENVIRONMENT) == "1"


def stage_part(tally: _Tally, read_files: int, seconds: float) -> str:
    """One stage's part of a progress line."""
    rate = max(seconds, 1e-9)
    if tally.units_total is not None:
        of = f"{tally.files:,} files {tally.bytes / 1e6:,.1f} MB, {tally.units:,} of {tally.units_total:,} units"
    elif read_files:
        of = f"{tally.files:,} of {read_files:,} read files {tally.bytes / 1e6:,.1f} MB"
    else:
        of = f"{tally.files:,} files {tally.bytes / 1e6:,.1f} MB"
    return (f"{tally.stage} {of} ({(tally.files - tally.files_shown) / rate:,.0f}/s, "
            f"{(tally.bytes - tally.bytes_shown) / 1e6 / rate:,.1f} MB/s)")


def progress_line(tallies: list[_Tally], seconds: float) -> str:
    """The stages of `tallies` that moved since the last line, with rates over `seconds`."""
    read_files = sum(t.files for t in tallies if t.units_total is not None)
    parts = [stage_part(t, read_files, seconds) for t in tallies if t.files != t.files_shown]
    return f"stackpipe [{os.getpid()}] " + " | ".join(parts)


def count(key, stage: str, size: int, files: int = 1, *, units_total: int | None = None) -> None:
    """`files` inputs of `stage` (`key`: the stage object); prints a line, with rates since
    the last one, when the interval has passed. `units_total`: the units a reading stage
    takes in (its `N of M units`)."""
    now = time.monotonic()
    tally = _tallies.get(key)
    if tally is None:
        tally = _tallies[key] = _Tally(stage, units_total)
        if not _last_line[0]:
            _last_line[0] = now
    tally.files += files
    tally.bytes += size
    if now - _last_line[0] >= _INTERVAL_S:
        tallies = list(_tallies.values())
        print(progress_line(tallies, now - _last_line[0]), file=sys.stderr, flush=True)
        for t in tallies:
            t.files_shown, t.bytes_shown = t.files, t.bytes
        _last_line[0] = now


def unit_done(key, stage: str, units_total: int | None) -> None:
    """A reading stage (`key`) finished one of its units (perhaps one that held no file)."""
    tally = _tallies.get(key)
    if tally is None:
        tally = _tallies[key] = _Tally(stage, units_total)
    tally.units += 1
