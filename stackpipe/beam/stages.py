"""One generic DoFn for every stage: apply a function, route drops, count everything.

Stage functions are plain callables from the library core: `fn(element)` returns the kept
(possibly edited) element or a `Rejected`; a flat stage returns an iterable of those.
Counting is `StageTally`'s (stackpipe/beam/counting.py): pre-summed per bundle and
emitted on the `stats` output, so stats.json is computed by the pipeline itself on any
runner; the same counts go to Beam `Metrics` for runner UIs and to the progress lines.

A stage whose function also has `apply_many(elements) -> results` (decontamination: its
array operations cost the same for one small file as for many) gets its elements in
batches of about `BATCH_BYTES`, gathered within a bundle and flushed at the bundle's end.
"""

from __future__ import annotations

from typing import Any, Callable

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from stackpipe.beam.counting import REJECTED, STATS, StageTally
from stackpipe.records import FileRecord, RawFile, Rejected

BATCH_BYTES = 1_000_000
BATCH_ELEMENTS = 512


def element_bytes(element: Any) -> int:
    if isinstance(element, FileRecord):
        return element.size_bytes
    if isinstance(element, RawFile):
        return len(element.data)
    if isinstance(element, Rejected):
        return element.record.size_bytes
    return 0


class _StageDoFn(beam.DoFn):
    def __init__(self, stage: str, fn: Callable, flat: bool = False, units_total: int | None = None):
        self._stage = stage
        self._fn = fn
        self._flat = flat
        self._units_total = units_total

    def setup(self):
        setup = getattr(self._fn, "setup", None)
        if setup is not None:
            setup()
        # Editors (e.g. PII redaction) may say what they changed in a kept record:
        # `edits(record) -> [(name, count)]`, summed into stats.json's `edited`.
        self._edits = getattr(self._fn, "edits", None) or (lambda result: ())
        self._tally = StageTally(self._units_total)

    def start_bundle(self):
        self._tally.reset()

    def _count(self, kind: str, reason: str, size: int) -> None:
        self._tally.add(self._stage, kind, reason, 1, size)

    def _route(self, result):
        size = element_bytes(result)
        if isinstance(result, Rejected):
            self._count("dropped", result.reason, size)
            return beam.pvalue.TaggedOutput(REJECTED, result)
        self._count("kept", "", size)
        for name, count in self._edits(result):
            self._tally.add(self._stage, "edited", name, count, 0)
        return result

    def process(self, element, *side_inputs):
        if self._flat:
            for result in self._fn(element, *side_inputs):
                self._count("input", "", element_bytes(result))
                yield self._route(result)
            self._tally.unit_done(self._stage)
        else:
            self._count("input", "", element_bytes(element))
            yield self._route(self._fn(element, *side_inputs))

    def finish_bundle(self):
        yield from self._tally.flush()


class _BatchedStageDoFn(_StageDoFn):
    """The stage DoFn for a function with `apply_many`: elements gathered into batches
    within a bundle, each result emitted in its element's window."""

    def start_bundle(self):
        super().start_bundle()
        self._batch: list[tuple[Any, Any, Any]] = []  # (element, timestamp, window)
        self._batch_bytes = 0

    def process(self, element, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        size = element_bytes(element)
        self._count("input", "", size)
        self._batch.append((element, timestamp, window))
        self._batch_bytes += size
        if self._batch_bytes >= BATCH_BYTES or len(self._batch) >= BATCH_ELEMENTS:
            yield from self._flush()

    def _flush(self):
        """Results of the batch, each in its element's window."""
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if not batch:
            return
        for (_, timestamp, window), result in zip(batch, self._fn.apply_many([element for element, _, _ in batch])):
            routed = self._route(result)
            if isinstance(routed, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(routed.tag, WindowedValue(routed.value, timestamp, (window,)))
            else:
                yield WindowedValue(routed, timestamp, (window,))

    def finish_bundle(self):
        yield from self._flush()
        yield from super().finish_bundle()


class ApplyStage(beam.PTransform):
    """Apply one stage function; returns a dict of PCollections: kept, rejected, stats.

    `flat=True` for functions that turn one input into many results (readers, dedup
    groups); their input count is the number of results. `side_inputs` (Beam side input
    views) are passed to `fn` after the element. `units_total`: how many elements a
    flat reading stage takes in (its input units), for the progress lines' `N of M units`.
    """

    def __init__(self, stage: str, fn: Callable, *, flat: bool = False, side_inputs: tuple = (),
                 units_total: int | None = None):
        # A stable, unique label per stage keeps pipeline graphs readable and updatable.
        super().__init__(label=f"Stage_{stage}")
        if not stage.isascii() or not stage.replace("_", "").isalnum() or stage.lower() != stage:
            raise ValueError(f"stage name {stage!r} must be ASCII snake_case")
        self._stage = stage
        self._fn = fn
        self._flat = flat
        self._side_inputs = side_inputs
        self._units_total = units_total

    def expand(self, pcoll):
        batched = hasattr(self._fn, "apply_many") and not self._flat and not self._side_inputs
        dofn = (_BatchedStageDoFn(self._stage, self._fn) if batched
                else _StageDoFn(self._stage, self._fn, self._flat, self._units_total))
        results = pcoll | f"Apply_{self._stage}" >> beam.ParDo(dofn, *self._side_inputs).with_outputs(
            REJECTED, STATS, main="kept")
        return {"kept": results.kept, "rejected": results[REJECTED], "stats": results[STATS]}
