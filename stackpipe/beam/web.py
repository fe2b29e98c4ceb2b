"""Beam transforms of the CommonCrawl flow (stackpipe.web)."""

from __future__ import annotations

import apache_beam as beam

from stackpipe.beam.stages import ApplyStage
from stackpipe.web.stages import URL_DEDUP, split_url_duplicates, url_dedup_key


def _split_group(keyed):
    return split_url_duplicates(keyed[1])


class DropDuplicateUrls(beam.PTransform):
    """Pages -> {kept, rejected, stats}: one page per normalised URL, the newest fetch."""

    def expand(self, records):
        return (
            records
            | "KeyByUrl" >> beam.Map(lambda record: (url_dedup_key(record), record))
            | "GroupByUrl" >> beam.GroupByKey()
            | ApplyStage(URL_DEDUP, _split_group, flat=True)
        )
