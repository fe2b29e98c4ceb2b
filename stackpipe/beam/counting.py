"""The counting every Beam step shares: per-stage tallies and bytes shuffled.

`StageTally` is the one place a DoFn counts what a stage took in, kept, dropped (by
reason) and edited. Counts are pre-summed per bundle and emitted on the `stats` output as
small `((stage, kind, reason), (files, bytes))` pairs, so stats.json is computed by the
pipeline itself on any runner (no driver-side metric queries); the same counts go to Beam
`Metrics` for runner UIs (Dataflow's job page), and inputs feed the local progress lines.

`MeasureShuffle` is a side branch on the PCollection that enters a GroupByKey or
CoGroupByKey: it sums the encoded size of the elements (what the runner writes to its
shuffle) into `((stage, "shuffled", step), (elements, bytes))` pairs of the same stats
stream, and into a `shuffle` Beam counter. The elements themselves pass on unchanged.
"""

from __future__ import annotations

from typing import Callable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.timestamp import MIN_TIMESTAMP

from stackpipe.beam import progress

REJECTED = "rejected"
STATS = "stats"
SHUFFLED = "shuffled"  # the stats kind of MeasureShuffle's counts; reason = the step
SHUFFLE_NAMESPACE = "shuffle"


def stats_value(key: tuple[str, str, str], files: int, size: int):
    """A stats pair in the global window, as `finish_bundle` must emit it."""
    return GlobalWindows.windowed_value((key, (files, size)), MIN_TIMESTAMP)


class StageTally:
    """One DoFn instance's counts for the current bundle: (stage, kind, reason) -> [files, bytes].

    kind is "input", "kept", "dropped" (reason: why) or "edited" (reason: what was
    changed; files: how many changes). Inputs also feed the local progress lines when a
    local job reports progress (`units_total`: the units the stage reads, when known).
    """

    def __init__(self, units_total: int | None = None):
        self._counts: dict[tuple[str, str, str], list[int]] = {}
        self._progress = progress.is_reporting()
        self._units_total = units_total

    def reset(self) -> None:
        """Forget the counts of a bundle that was not flushed (a failed, retried bundle)."""
        self._counts = {}

    def add(self, stage: str, kind: str, reason: str, files: int, size: int) -> None:
        slot = self._counts.get((stage, kind, reason))
        if slot is None:
            slot = self._counts[(stage, kind, reason)] = [0, 0]
        slot[0] += files
        slot[1] += size
        if kind == "input" and self._progress:
            progress.count((id(self), stage), stage, size, files, units_total=self._units_total)

    def unit_done(self, stage: str) -> None:
        """One unit of a flat stage (an input unit of the read) is finished."""
        if self._progress:
            progress.unit_done((id(self), stage), stage, self._units_total)

    def flush(self) -> Iterator[beam.pvalue.TaggedOutput]:
        """The bundle's counts on the STATS output (and into Beam counters); starts afresh."""
        counts, self._counts = self._counts, {}
        for key, (files, size) in counts.items():
            stage, kind, reason = key
            Metrics.counter(stage, f"{kind}.{reason}" if reason else kind).inc(files)
            yield beam.pvalue.TaggedOutput(STATS, stats_value(key, files, size))


class _MeasureFn(beam.DoFn):
    def __init__(self, stage: str, step: str, coder: beam.coders.Coder, view: Callable | None):
        self._key = (stage, SHUFFLED, step)
        self._coder = coder
        self._view = view
        self._counter = Metrics.counter(SHUFFLE_NAMESPACE, f"{stage}.{step}_bytes")

    def start_bundle(self):
        self._elements = self._bytes = 0

    def process(self, element):
        size = self._coder.estimate_size(element if self._view is None else self._view(element))
        self._elements += 1
        self._bytes += size
        return ()

    def finish_bundle(self):
        if self._elements:
            self._counter.inc(self._bytes)
            yield stats_value(self._key, self._elements, self._bytes)


class MeasureShuffle(beam.PTransform):
    """The bytes a grouping step shuffles: apply to the PCollection that goes into it.

    Outputs stats pairs `((stage, "shuffled", step), (elements, bytes))`, one per bundle;
    the encoded size is the PCollection's own coder's (pickled objects as pickled).

    Args:
      stage: the stage the shuffle serves (`license`, `exact_dedup`, `write`, ...).
      step: the grouping step, ASCII snake_case (`join`, `group`, `documents`, ...).
      view: element -> what the shuffle actually carries, when a later step of the same
        transform changes it before the grouping (rejections lose their content).
    """

    def __init__(self, stage: str, step: str, view: Callable | None = None):
        super().__init__()
        for name in (stage, step):
            if not name.isascii() or not name.replace("_", "").isalnum() or name.lower() != name:
                raise ValueError(f"shuffle stage and step names must be ASCII snake_case, got {name!r}")
        self._stage, self._step, self._view = stage, step, view

    def expand(self, pcoll):
        coder = beam.coders.registry.get_coder(pcoll.element_type)
        return pcoll | "SumEncodedBytes" >> beam.ParDo(_MeasureFn(self._stage, self._step, coder, self._view))

