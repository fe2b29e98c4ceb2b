"""Beam transforms of the CommonCrawl flow (stackpipe.web)."""

from __future__ import annotations

import apache_beam as beam

from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.stages import ApplyStage
from stackpipe.web.stages import URL_DEDUP, split_url_duplicates, url_dedup_key


def _split_group(keyed):
    return split_url_duplicates(keyed[1])


class DropDuplicateUrls(beam.PTransform):
    """Pages -> {kept, rejected, stats}: one page per normalised URL, the newest fetch. The
    stats include the bytes the grouping by URL shuffled."""

    def expand(self, records):
        keyed = records | "KeyByUrl" >> beam.Map(lambda record: (url_dedup_key(record), record))
        shuffled = keyed | "MeasureGroupShuffle" >> MeasureShuffle(URL_DEDUP, "group")
        result = keyed | "GroupByUrl" >> beam.GroupByKey() | ApplyStage(URL_DEDUP, _split_group, flat=True)
        return {**result, "stats": (result["stats"], shuffled) | "WithShuffle" >> beam.Flatten()}
