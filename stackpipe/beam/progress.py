"""Progress lines for local runs: files and MB each stage has taken in, and their rates.

Every stage (`ApplyStage`) counts its input in a per-process tally; at most every few
seconds one line lists the stages that moved since the last line, so a run is never
silent for minutes after its read. Lines go to stderr; they are on only while a local
job runs with progress (`reporting()`), so distributed workers stay quiet and use the
Beam counters that the stages also update.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

ENVIRONMENT = "STACKPIPE_PROGRESS"
_INTERVAL_S = 5.0
_tallies: dict[int, list] = {}  # stage instance -> [name, files, bytes, files at last line, bytes at last line]
_last_line = [0.0]


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


def progress_line(moved: list[tuple[str, int, int, int, int]], seconds: float) -> str:
    """`moved`: (stage, files, bytes, files and bytes since the last line) per stage."""
    rate = max(seconds, 1e-9)
    parts = [f"{stage} {files:,} files {size / 1e6:,.1f} MB "
             f"({new_files / rate:,.0f}/s, {new_bytes / 1e6 / rate:,.1f} MB/s)"
             for stage, files, size, new_files, new_bytes in moved]
    return f"stackpipe [{os.getpid()}] " + " | ".join(parts)


def count(instance: int, stage: str, size: int) -> None:
    """One input of `stage` (one stage object: a run may have two stages of one name);
    prints a line, with rates since the last one, when the interval has passed."""
    now = time.monotonic()
    tally = _tallies.get(instance)
    if tally is None:
        tally = _tallies[instance] = [stage, 0, 0, 0, 0]
        if not _last_line[0]:
            _last_line[0] = now
    tally[1] += 1
    tally[2] += size
    if now - _last_line[0] >= _INTERVAL_S:
        moved = [(t[0], t[1], t[2], t[1] - t[3], t[2] - t[4]) for t in _tallies.values() if t[1] != t[3]]
        for t in _tallies.values():
            t[3], t[4] = t[1], t[2]
        print(progress_line(moved, now - _last_line[0]), file=sys.stderr, flush=True)
        _last_line[0] = now
