"""A progress line for local runs: files and bytes read so far, files/s and MB/s.

Each worker process keeps its own tally and prints to stderr at most every few seconds;
on a distributed runner the same lines land in the worker logs.
"""

from __future__ import annotations

import os
import sys
import time

import apache_beam as beam

from stackpipe.beam.stages import element_bytes

_INTERVAL_S = 3.0
_tally = {"files": 0, "bytes": 0, "start": 0.0, "last": 0.0}


def progress_line(files: int, size: int, elapsed: float) -> str:
    rate = max(elapsed, 1e-9)
    return (
        f"stackpipe [{os.getpid()}] read {files:,} files, {size / 1e6:,.1f} MB "
        f"({files / rate:,.0f} files/s, {size / 1e6 / rate:,.1f} MB/s)"
    )


class ReportProgress(beam.DoFn):
    """Pass elements through unchanged, printing throughput now and then."""

    def process(self, element):
        now = time.monotonic()
        if not _tally["start"]:
            _tally["start"] = _tally["last"] = now
        _tally["files"] += 1
        _tally["bytes"] += element_bytes(element)
        if now - _tally["last"] >= _INTERVAL_S:
            _tally["last"] = now
            print(progress_line(_tally["files"], _tally["bytes"], now - _tally["start"]), file=sys.stderr, flush=True)
        yield element
