"""Exact deduplication as a Beam transform: group by normalized content hash, keep one."""

from __future__ import annotations

import apache_beam as beam

from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.stages import ApplyStage
from stackpipe.dedup.exact import STAGE, dedup_key, split_duplicates


def _split_group(keyed):
    return split_duplicates(keyed[1])


class DropExactDuplicates(beam.PTransform):
    """Records -> {kept, rejected, stats}; the kept copy follows the keep policy. The stats
    include the bytes the grouping by content shuffled."""

    def expand(self, records):
        keyed = records | "KeyByContent" >> beam.Map(lambda record: (dedup_key(record), record))
        shuffled = keyed | "MeasureGroupShuffle" >> MeasureShuffle(STAGE, "group")
        result = keyed | "GroupByContent" >> beam.GroupByKey() | ApplyStage(STAGE, _split_group, flat=True)
        return {**result, "stats": (result["stats"], shuffled) | "WithShuffle" >> beam.Flatten()}
