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
_tallies: dict[str, list[float]] = {}  # stage -> [files, bytes, first seen, files at last line]
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


def progress_line(stages: dict[str, list[float]], now: float) -> str:
    parts = []
    for stage, (files, size, start, _) in stages.items():
        rate = max(now - start, 1e-9)
        parts.append(f"{stage} {int(files):,} files {size / 1e6:,.1f} MB "
                     f"({files / rate:,.0f}/s, {size / 1e6 / rate:,.1f} MB/s)")
    return f"stackpipe [{os.getpid()}] " + " | ".join(parts)


def count(stage: str, size: int) -> None:
    """One input of `stage`; prints a line when the interval has passed."""
    now = time.monotonic()
    tally = _tallies.get(stage)
    if tally is None:
        tally = _tallies[stage] = [0, 0, now, 0]
        if not _last_line[0]:
            _last_line[0] = now
    tally[0] += 1
    tally[1] += size
    if now - _last_line[0] >= _INTERVAL_S:
        _last_line[0] = now
        moved = {s: t for s, t in _tallies.items() if t[0] != t[3]}
        for t in moved.values():
            t[3] = t[0]
        print(progress_line(moved, now), file=sys.stderr, flush=True)
