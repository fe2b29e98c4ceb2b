"""Repository packing as a Beam transform: group files by repository, emit ordered samples.

The `pack` stage counts files, so `input = kept + dropped` keeps its meaning: input is
every file read, kept every file that went into a sample, dropped the files left out,
by reason (`duplicate_path`). A generic `ApplyStage` counts one input per result, which
for a many-files-to-few-samples step would count samples, so this DoFn counts files
itself, with the same `StageTally` every stage uses. The samples those files became are counted as a
second stage, `pack_samples` (input = kept = samples), which is what stats.json's
`documents` reports.
"""

from __future__ import annotations

import apache_beam as beam

from stackpipe.beam.counting import REJECTED, STATS, MeasureShuffle, StageTally
from stackpipe.packing.imports import load_parsers
from stackpipe.packing.sample import STAGE, pack_repository
from stackpipe.rules import PackRules

SAMPLES_STAGE = "pack_samples"


class _PackRepository(beam.DoFn):
    """(repo, records) -> packed samples (main), rejected files, per-bundle counts."""

    def __init__(self, rules: PackRules):
        self._rules = rules

    def setup(self):
        load_parsers()  # the tree-sitter grammars, once per worker
        self._tally = StageTally()

    def start_bundle(self):
        self._tally.reset()

    def process(self, keyed):
        repo, records = keyed
        records = list(records)
        self._tally.add(STAGE, "input", "", len(records), sum(r.size_bytes for r in records))
        samples, rejected = pack_repository(repo, records, self._rules)
        for item in rejected:
            self._tally.add(STAGE, "dropped", item.reason, 1, item.record.size_bytes)
            yield beam.pvalue.TaggedOutput(REJECTED, item)
        dropped = {item.record.id for item in rejected}
        kept = [r for r in records if r.id not in dropped]
        self._tally.add(STAGE, "kept", "", len(kept), sum(r.size_bytes for r in kept))
        for sample in samples:
            self._tally.add(SAMPLES_STAGE, "input", "", 1, sample.size_bytes)
            self._tally.add(SAMPLES_STAGE, "kept", "", 1, sample.size_bytes)
            yield sample

    def finish_bundle(self):
        yield from self._tally.flush()


class PackRepositories(beam.PTransform):
    """File records -> {kept: packed samples, rejected: files left out, stats: counts}.

    Files are grouped by repository; each repository's files are ordered by their
    in-repository imports (DeepSeek-Coder Algorithm 1), concatenated with path comments
    and split into samples of at most `rules.max_chars` at file boundaries. A whole
    repository meets on one worker, which is bounded by the largest repository.
    """

    def __init__(self, rules: PackRules):
        super().__init__()
        if not isinstance(rules, PackRules):
            raise TypeError(f"PackRepositories needs PackRules (rules.pack), got {type(rules).__name__}")
        self._rules = rules

    def expand(self, records):
        keyed = records | "KeyByRepository" >> beam.Map(lambda r: (r.repo, r))
        shuffled = keyed | "MeasureGroupShuffle" >> MeasureShuffle(STAGE, "group")
        results = (
            keyed
            | "GroupRepository" >> beam.GroupByKey()
            | "PackRepository" >> beam.ParDo(_PackRepository(self._rules)).with_outputs(REJECTED, STATS, main="kept")
        )
        stats = (results[STATS], shuffled) | "WithShuffle" >> beam.Flatten()
        return {"kept": results.kept, "rejected": results[REJECTED], "stats": stats}
