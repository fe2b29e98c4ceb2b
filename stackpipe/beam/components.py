"""Connected components of an edge list as a Beam transform, without gathering the graph.

`LabelComponents` unrolls a fixed number of rounds of the alternating large-star /
small-star algorithm (Kiveris et al. 2014; per-node logic in `stackpipe.dedup.components`).
Both steps preserve the components and never add edges; their fixpoint is one star per
component, centred on its smallest node. Each round first settles the components that
already are such a star (a root, with no smaller neighbour, whose children have no other
edge): it emits their labels and drops their edges, so later rounds only touch what is
still unresolved. Near-duplicate clusters settle in a round or two; a chain of n nodes in
random id order takes about log2(n) rounds.

A round is three GroupByKeys over the unresolved edges: by node (settle notes and the
large-star step), by parent (settle decision), by larger end (small-star step, skipping
settled nodes). One key's group is all any worker holds at once: a node's neighbours, or
a star's leaves, so the largest is about the largest component, never the edge set.

The pipeline graph is static, so whatever is unresolved after the last round and a final
settle, the remainder, is finished by union-find on one worker. Only the remainder is
gathered, and only when it has at most `max_remainder` edges: a larger one fails the
pipeline with an error asking for more rounds, rather than silently pulling a big edge
set onto one machine.

Counters (namespace `components`): `round_NN_changed`, edges round NN rewired (0 once
every unresolved component is a star); `round_NN_unresolved`, edges it carries into the
next round; `remainder_edges`, edges finished by union-find.
"""

from __future__ import annotations

from typing import Iterable, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from stackpipe.dedup.components import components_in_memory, large_star, small_star

NAMESPACE = "components"
Edge = Tuple[str, str]

# The settle step: a node is a root (no smaller neighbour), a leaf (one distinct
# smaller neighbour, no larger one) or inner (anything else). A root settles when all
# its children are leaves: its component is then a star centred on its minimum.
_ROOT, _LEAF, _INNER_CHILD = "root", "leaf", "inner_child"
_NOTES, _SETTLED, _UNRESOLVED = "notes", "settled", "unresolved"


def _checked_edge(edge) -> Edge:
    if not (isinstance(edge, tuple) and len(edge) == 2 and all(isinstance(n, str) for n in edge)):
        raise TypeError(f"LabelComponents takes (str, str) edges, got {edge!r}")
    u, v = edge
    return (u, v) if u >= v else (v, u)


def _both_ends(edge: Edge) -> Iterable[Edge]:
    u, v = edge
    yield (u, v)
    if u != v:
        yield (v, u)


class _NodeFn(beam.DoFn):
    """At one node with all its edge ends: classify the node for the settle step, and
    (in a round) take the large-star step; at the end, instead, pass an inner node's
    parent edges to the remainder.

    Notes go to each parent's key: a leaf says so, an inner node says its parent has an
    inner child. A root leaves a note at its own key.
    """

    def __init__(self, number: int | None):
        self._number = number  # the round; None for the final settle

    def setup(self):
        if self._number is not None:
            self._counter = Metrics.counter(NAMESPACE, f"round_{self._number:02d}_changed")

    def start_bundle(self):
        self._changes = 0

    def process(self, grouped):
        node, ends = grouped
        has_child = False
        parents: set[str] = set()
        for other in ends:
            if other > node:
                has_child = True
            elif other < node and len(parents) < 2:
                parents.add(other)
        if not parents:
            yield beam.pvalue.TaggedOutput(_NOTES, (node, (_ROOT, "")))
        elif not has_child and len(parents) == 1:
            yield beam.pvalue.TaggedOutput(_NOTES, (parents.pop(), (_LEAF, node)))
        else:
            for parent in {other for other in ends if other < node}:
                yield beam.pvalue.TaggedOutput(_NOTES, (parent, (_INNER_CHILD, "")))
                if self._number is None:
                    yield beam.pvalue.TaggedOutput(_UNRESOLVED, (node, parent))
        if self._number is not None:
            for edge in large_star(node, ends):
                if node not in edge:  # rewired: it replaces an edge that touched `node`
                    self._changes += 1
                yield edge

    def finish_bundle(self):
        if self._number is not None:
            self._counter.inc(self._changes)


class _SettleFn(beam.DoFn):
    """At a root whose children are all leaves the component is a finished star: label
    it, and (in a round) flag its nodes so the small-star step drops their edges. At the
    end, the leaf edges of an unfinished component go to the remainder."""

    def __init__(self, final: bool):
        self._final = final

    def process(self, grouped):
        node, notes = grouped
        is_root = has_inner_child = False
        for tag, _ in notes:
            is_root |= tag == _ROOT
            has_inner_child |= tag == _INNER_CHILD
        settled = is_root and not has_inner_child
        if settled:
            yield (node, node)
            if not self._final:
                yield beam.pvalue.TaggedOutput(_SETTLED, (node, None))
        for tag, leaf in notes:
            if tag != _LEAF:
                continue
            if settled:
                yield (leaf, node)
                if not self._final:
                    yield beam.pvalue.TaggedOutput(_SETTLED, (leaf, None))
            elif self._final:
                yield beam.pvalue.TaggedOutput(_UNRESOLVED, (leaf, node))


class _SmallStarFn(beam.DoFn):
    """Small-star step at a node, unless the node's component settled this round (a
    None among its values)."""

    def __init__(self, number: int):
        self._number = number

    def setup(self):
        self._changed = Metrics.counter(NAMESPACE, f"round_{self._number:02d}_changed")
        self._carried = Metrics.counter(NAMESPACE, f"round_{self._number:02d}_unresolved")

    def start_bundle(self):
        self._changes = self._edges = 0

    def process(self, grouped):
        node, smaller = grouped
        if None in smaller:
            return
        for edge in small_star(node, smaller):
            self._edges += 1
            if node not in edge:
                self._changes += 1
            yield edge

    def finish_bundle(self):
        self._changed.inc(self._changes)
        self._carried.inc(self._edges)


def _settle(edges, number: int | None):
    """Group the edges by node, then the notes by parent: (node outputs, settle outputs)."""
    node = (
        edges
        | "BothEnds" >> beam.FlatMap(_both_ends).with_output_types(Edge)
        | "GroupByNode" >> beam.GroupByKey()
        | "AtNode" >> beam.ParDo(_NodeFn(number)).with_output_types(Edge)
        .with_outputs(_NOTES, _UNRESOLVED, main="edges")
    )
    settle = (
        node[_NOTES]
        | "GroupByParent" >> beam.GroupByKey()
        | "SettleStars" >> beam.ParDo(_SettleFn(final=number is None)).with_output_types(Edge)
        .with_outputs(_SETTLED, _UNRESOLVED, main="labels")
    )
    return node, settle


class _StarRound(beam.PTransform):
    """(child, parent) edges -> (labels of the components that were finished stars,
    edges of the others after a large-star and a small-star step).

    Three GroupByKeys: by node (settle notes and large-star), by parent (settle), by
    larger end (small-star, skipping settled nodes).
    """

    def __init__(self, number: int):
        super().__init__()
        self._number = number

    def expand(self, edges):
        node, settle = _settle(edges, self._number)
        stepped = (
            (node.edges, settle[_SETTLED])
            | "WithSettled" >> beam.Flatten()
            # Large-star outputs are (larger, smaller) already: key by the larger end as is.
            | "GroupByLargerEnd" >> beam.GroupByKey()
            | "SmallStar" >> beam.ParDo(_SmallStarFn(self._number)).with_output_types(Edge)
        )
        return settle.labels, stepped


class _FinalSettle(beam.PTransform):
    """(child, parent) edges -> (labels of finished stars, edges of the other components)."""

    def expand(self, edges):
        node, settle = _settle(edges, None)
        return settle.labels, (node[_UNRESOLVED], settle[_UNRESOLVED]) | "Unresolved" >> beam.Flatten()


def _admit_remainder(edge: Edge, size: int, cap: int, rounds: int) -> tuple[str, Edge]:
    if size > cap:
        raise ValueError(
            f"{size} edges are still unresolved after {rounds} large-star/small-star rounds, "
            f"more than max_remainder={cap} that may be gathered on one worker; "
            f"raise LabelComponents(rounds=...) (each round about halves a chain's length)"
        )
    return ("", edge)


def _label_remainder(grouped) -> Iterable[Edge]:
    _, edges = grouped
    Metrics.counter(NAMESPACE, "remainder_edges").inc(sum(1 for _ in edges))
    yield from components_in_memory(edges).items()


class LabelComponents(beam.PTransform):
    """Undirected (u, v) edges -> (node, label) for every node of an edge, exactly once.

    The label is the smallest node id (string order) of the node's component, so it is
    the same on every runner and every rerun. Duplicate edges and self-loops are fine; a
    node given only as a self-loop is its own component.

    Args:
        rounds: large-star/small-star rounds unrolled into the pipeline, each followed
            by a settle step. A chain of n nodes in random id order needs about log2(n)
            of them; clusters of near-duplicates need one or two.
        max_remainder: most edges the rounds may leave unresolved; those are gathered
            on one worker and finished by union-find. More fails the pipeline.
    """

    def __init__(self, rounds: int = 10, max_remainder: int = 100_000):
        super().__init__()
        if not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"LabelComponents rounds must be an integer >= 1, got {rounds!r}")
        if not isinstance(max_remainder, int) or max_remainder < 0:
            raise ValueError(f"LabelComponents max_remainder must be an integer >= 0, got {max_remainder!r}")
        self._rounds = rounds
        self._max_remainder = max_remainder

    def expand(self, edges):
        unresolved = edges | "CheckEdges" >> beam.Map(_checked_edge).with_output_types(Edge)
        labels = []
        for number in range(1, self._rounds + 1):
            settled, unresolved = unresolved | f"Round{number:02d}" >> _StarRound(number)
            labels.append(settled)
        settled, unresolved = unresolved | "FinalSettle" >> _FinalSettle()
        labels.append(settled)

        size = unresolved | "CountRemainder" >> beam.combiners.Count.Globally()
        labels.append(
            unresolved
            | "AdmitRemainder" >> beam.Map(
                _admit_remainder, beam.pvalue.AsSingleton(size), self._max_remainder, self._rounds
            )
            | "GatherRemainder" >> beam.GroupByKey()
            | "UnionFind" >> beam.FlatMap(_label_remainder).with_output_types(Edge)
        )
        return labels | "Labels" >> beam.Flatten()
