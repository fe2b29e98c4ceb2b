"""Connected components of the candidate-pair graph: the per-node logic, engine-free.

Near-dedup turns LSH candidate pairs into clusters by taking connected components. Peers
gather every edge on one machine and run union-find (REFERENCE.md §5); here the graph
stays distributed. This module holds what one worker does for one node in one step of
the alternating large-star / small-star algorithm (Kiveris, Lattanzi, Mirrokni, Rastogi,
Vassilvitskii, "Connected Components in MapReduce and Beyond", SoCC 2014), plus an
in-memory union-find for the small remainder left after a bounded number of rounds.

Nodes are record ids (strings) ordered lexicographically, and a component's label is
its smallest id, so the labels depend only on the graph, never on the engine or on the
order edges arrive in. Edges are undirected (u, v) pairs; a step's output edges are
written (child, parent) with parent < child. A self-loop (u, u) means "u exists" and is
kept only while u has no other edge, so a node given only as a self-loop is a singleton.
"""

from __future__ import annotations

from typing import Iterable, Iterator

Edge = tuple[str, str]


def large_star(node: str, neighbours: Iterable[str]) -> Iterator[Edge]:
    """Connect each strictly larger neighbour of `node` to the smallest node of its
    closed neighbourhood (`node` included).

    `neighbours` lists every edge end at `node` (both directions, duplicates and
    self-loops allowed). It is re-iterated, never copied, so it can be a grouped value
    that a runner pages in. A node whose only edges are self-loops keeps one, so it is
    not lost.
    """
    smallest = min(neighbours, default=node)
    if smallest >= node:  # `node` is a root: its edges stay as they are
        smallest = node
        if all(v == node for v in neighbours):
            yield (node, node)
            return
    for v in neighbours:
        if v > node:
            yield (v, smallest)


def small_star(node: str, smaller: Iterable[str]) -> Iterator[Edge]:
    """Connect `node` and its smaller neighbours to the smallest of them.

    `smaller` lists the other ends of the edges whose larger end is `node` (duplicates
    and self-loops allowed). Its distinct values are held in memory: after a large-star
    step a node has no more smaller neighbours than it had before it, few in a dedup graph.
    """
    parents = {v for v in smaller if v != node}
    if not parents:
        yield (node, node)
        return
    smallest = min(parents)
    for v in parents:
        if v != smallest:
            yield (v, smallest)
    yield (node, smallest)


def components_in_memory(edges: Iterable[Edge]) -> dict[str, str]:
    """node -> smallest node of its component, for every node of `edges`, by union-find.

    Only for graphs that fit in one process: the remainder the distributed rounds leave,
    and tests.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    for u, v in edges:
        parent.setdefault(u, u)
        parent.setdefault(v, v)
        ru, rv = find(u), find(v)
        # The smaller root wins, so every root is its component's minimum.
        if ru < rv:
            parent[rv] = ru
        elif rv < ru:
            parent[ru] = rv
    return {x: find(x) for x in parent}
