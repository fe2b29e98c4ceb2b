"""Exact deduplication as a Beam transform: group by normalized content hash, keep one."""

from __future__ import annotations

import apache_beam as beam

from stackpipe.beam.stages import ApplyStage
from stackpipe.dedup.exact import STAGE, dedup_key, split_duplicates


def _split_group(keyed):
    return split_duplicates(keyed[1])


class DropExactDuplicates(beam.PTransform):
    """Records -> {kept, rejected, stats}; the kept copy follows the keep policy."""

    def expand(self, records):
        return (
            records
            | "KeyByContent" >> beam.Map(lambda record: (dedup_key(record), record))
            | "GroupByContent" >> beam.GroupByKey()
            | ApplyStage(STAGE, _split_group, flat=True)
        )
