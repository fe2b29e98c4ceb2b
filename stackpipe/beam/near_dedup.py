"""Near-deduplication as Beam transforms: sign, bucket, verify, label components, decide.

Every step is a GroupByKey/CoGroupByKey over ids, so no worker ever holds more than one
bucket, one unit's candidate list or one component's member summaries: nothing is
gathered on a single worker except the small remainder `LabelComponents` documents.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from stackpipe.beam.components import LabelComponents
from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.stages import ApplyStage
from stackpipe.dedup.minhash import MinHasher, band_keys, exact_jaccard, optimal_bands, recall_bands
from stackpipe.dedup.near import (
    STAGE,
    apply_decision,
    bucket_edges,
    decide_component,
    file_unit,
    repository_id,
    repository_unit,
)
from stackpipe.rules import DedupRules


def banding(rules: DedupRules) -> tuple[int, int]:
    """(bands, rows): the rules' own, else chosen for recall at `recall_similarity`
    (`recall_bands`), else (`max_miss_rate` null) the balanced optimum for `threshold`."""
    if rules.bands is not None:
        return rules.bands, rules.rows
    if rules.max_miss_rate is not None:
        return recall_bands(rules.recall_similarity, rules.max_miss_rate, rules.num_perm,
                            rules.effective_verify_threshold)
    return optimal_bands(rules.threshold, rules.num_perm)


class _SignUnits(beam.DoFn):
    """(unit id, text) -> (band key, unit id) for each LSH band."""

    def __init__(self, rules: DedupRules):
        self._rules = rules

    def setup(self):
        self._hasher = MinHasher.from_rules(self._rules)
        self._bands, self._rows = banding(self._rules)

    def process(self, keyed):
        unit_id, text = keyed
        for key in band_keys(self._hasher.sign(text), self._bands, self._rows):
            yield key, unit_id


class _KeepSimilarPairs(beam.DoFn):
    """(b, {"pairs": [(a, text_a)], "text": [text_b]}) -> (a, b) when exact Jaccard >= threshold."""

    def __init__(self, rules: DedupRules):
        self._rules = rules
        self._verified = Metrics.counter(STAGE, "candidate_pairs_verified")
        self._refuted = Metrics.counter(STAGE, "candidate_pairs_refuted")

    def setup(self):
        self._hasher = MinHasher.from_rules(self._rules)
        self._threshold = self._rules.effective_verify_threshold

    def process(self, joined):
        b, groups = joined
        texts = list(groups["text"])
        if not texts:
            return
        shingles_b = self._hasher.shingle_hashes(texts[0])
        for a, text_a in groups["pairs"]:
            if exact_jaccard(self._hasher.shingle_hashes(text_a), shingles_b) >= self._threshold:
                self._verified.inc()
                yield a, b
            else:
                self._refuted.inc()


class VerifyCandidates(beam.PTransform):
    """Candidate edges (a, b) -> the edges whose units' exact shingle Jaccard passes.

    Two joins bring both texts to the pair: by `a` (each unit's text goes once to each
    unit it is paired with), then by `b`.
    """

    def __init__(self, texts, rules: DedupRules):
        super().__init__()
        self._texts = texts
        self._rules = rules

    def expand(self, edges):
        first = {"edges": edges, "text": self._texts} | "JoinFirstText" >> beam.CoGroupByKey()
        half = first | "PairWithFirstText" >> beam.FlatMap(
            lambda kv: [(b, (kv[0], text)) for text in list(kv[1]["text"])[:1] for b in kv[1]["edges"]])
        second = {"pairs": half, "text": self._texts} | "JoinSecondText" >> beam.CoGroupByKey()
        return second | "KeepSimilarPairs" >> beam.ParDo(_KeepSimilarPairs(self._rules))


def _labelled(joined):
    """(unit id, {"label", "summary", "edge"}) -> (component, summary) and (component, edge)."""
    _, groups = joined
    labels = list(groups["label"])
    if not labels:
        return
    for summary in groups["summary"]:
        yield labels[0], ("summary", summary)
    for edge in groups["edge"]:
        yield labels[0], ("edge", edge)


def _decide(keyed):
    component_id, items = keyed
    items = list(items)
    summaries = [value for kind, value in items if kind == "summary"]
    edges = [value for kind, value in items if kind == "edge"]
    for decision in decide_component(component_id, summaries, edges):
        yield decision.unit_id, decision


def _apply_decisions(joined):
    _, groups = joined
    decisions = list(groups["decision"])
    decision = decisions[0] if decisions else None
    for record in groups["record"]:
        yield apply_decision(record, decision)


class ClusterNearDuplicates(beam.PTransform):
    """Records -> {kept, rejected, stats, clusters}.

    level "file": each file is a unit. level "repo": each repository (its files
    concatenated in path order) is a unit, and a near-duplicate repository's files are
    all dropped together. `verify` checks candidate pairs' exact Jaccard first.
    `clusters` holds one Decision per unit of every component of two or more units.
    """

    def __init__(self, rules: DedupRules, *, level: str, verify: bool):
        super().__init__()
        if level not in ("file", "repo"):
            raise ValueError(f"near-dedup level must be 'file' or 'repo', got {level!r}")
        self._rules, self._level, self._verify = rules, level, verify

    def expand(self, records):
        shuffles = []

        def measured(pcoll, step: str, times: int = 1):
            """`pcoll`, which `times` grouping steps shuffle; its bytes go to the stats as `step`."""
            shuffles.extend(pcoll | f"Measure_{step}_{i}" >> MeasureShuffle(STAGE, step) for i in range(times))
            return pcoll

        if self._level == "file":
            units = records | "FileUnits" >> beam.Map(file_unit)
            keyed_records = records | "KeyRecordByUnit" >> beam.Map(lambda r: (r.id, r))
        else:
            units = (measured(records | "KeyByRepository" >> beam.Map(lambda r: (r.repo, r)), "repositories")
                     | "GroupRepository" >> beam.GroupByKey()
                     | "RepositoryUnits" >> beam.MapTuple(repository_unit))
            keyed_records = records | "KeyRecordByUnit" >> beam.Map(lambda r: (repository_id(r.repo), r))
        texts = units | "UnitTexts" >> beam.Map(lambda u: (u.id, u.text))
        edges = (measured(texts | "SignUnits" >> beam.ParDo(_SignUnits(self._rules)), "buckets")
                 | "GroupBuckets" >> beam.GroupByKey()
                 | "BucketEdges" >> beam.FlatMap(lambda kv: bucket_edges(kv[1])))
        edges = measured(edges, "unique_edges") | "UniqueEdges" >> beam.Distinct()
        if self._verify:
            # every text joins twice, by each end of the edges (VerifyCandidates); the pairs
            # built in between (each text once per partner) are not measured
            edges = edges | "VerifyCandidates" >> VerifyCandidates(measured(texts, "verify_texts", 2), self._rules)
        labels = measured(edges, "label_components") | "LabelComponents" >> LabelComponents()
        summaries = units | "UnitSummaries" >> beam.Map(lambda u: (u.id, u.summary))
        # A component's members and edges meet on one worker: bounded by the component's
        # size, not by the number of edges in the whole graph.
        joined = {"label": measured(labels, "join_labels"), "summary": measured(summaries, "join_summaries"),
                  "edge": measured(edges | "KeyEdgeByFirst" >> beam.Map(lambda e: (e[0], e)), "join_edges")}
        decisions = (
            measured(joined | "JoinLabels" >> beam.CoGroupByKey() | "ByComponent" >> beam.FlatMap(_labelled),
                     "group_components")
            | "GroupComponents" >> beam.GroupByKey()
            | "Decide" >> beam.FlatMap(_decide)
        )
        applied = (
            {"record": measured(keyed_records, "join_records"), "decision": measured(decisions, "join_decisions")}
            | "JoinDecisions" >> beam.CoGroupByKey()
            | ApplyStage(STAGE, _apply_decisions, flat=True)
        )
        stats = (applied["stats"], *shuffles) | "WithShuffles" >> beam.Flatten()
        return {**applied, "stats": stats, "clusters": decisions | "Decisions" >> beam.Values()}
