"""DeepSeek-Coder's Algorithm 1: a dependency order of a repository's files that never stalls.

An edge (dependency, dependent) says the dependent imports the dependency, so the
dependency should come first. Within each connected subgraph the file of minimum
in-degree is emitted repeatedly and its dependents' in-degrees are decremented; the
minimum need not be zero, so a cycle is broken at its least-imported file instead of
stalling a topological sort. Ties go to the smaller path, and subgraphs come in order of
their smallest path, so the order is a function of the files and edges alone.

Taken literally, the minimum in-degree can fall on a file that imports a cycle before the
cycle itself is out (every remaining file then has in-degree >= 1, and the path decides).
`cycle_aware` (the default) first sets aside files with a pending dependency outside
their own strongly connected component: on an acyclic graph this changes nothing (such
files have in-degree > 0 anyway), and every edge not inside a cycle comes out in order.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Iterable, Sequence


def connected_subgraphs(paths: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The weakly connected components, each sorted, ordered by their first path."""
    parent = {p: p for p in paths}

    def find(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[str]] = defaultdict(list)
    for p in sorted(parent):
        members[find(p)].append(p)
    return sorted(members.values())


def component_ranks(paths: Sequence[str], dependents: dict[str, list[str]]) -> dict[str, int]:
    """Each file's strongly connected component's position in a topological order of the
    components (dependencies first); iterative Tarjan, visiting in path order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    finished: list[list[str]] = []  # Tarjan finishes components dependents-first
    for root in sorted(paths):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            successors = dependents.get(node, [])
            if child < len(successors):
                work.append((node, child + 1))
                successor = successors[child]
                if successor not in index:
                    work.append((successor, 0))
                elif successor in on_stack:
                    low[node] = min(low[node], index[successor])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                finished.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return {p: len(finished) - 1 - rank for rank, component in enumerate(finished) for p in component}


def dependency_order(paths: Sequence[str], edges: Iterable[tuple[str, str]], *,
                     cycle_aware: bool = True) -> list[list[str]]:
    """Algorithm 1: each connected subgraph's files, dependencies first where the graph allows.

    Args:
      paths: every file of the repository (each appears exactly once in the result).
      edges: (dependency, dependent) pairs between files of `paths`; duplicates and
        self-loops are ignored.
      cycle_aware: choose among files whose dependencies outside their own cycle are all
        out (see the module docstring); False is the paper's rule as written.
    """
    known = set(paths)
    if len(known) != len(paths):
        raise ValueError("dependency_order needs distinct paths")
    unique = sorted({(a, b) for a, b in edges if a != b})
    unknown = [p for edge in unique for p in edge if p not in known]
    if unknown:
        raise ValueError(f"edge names {unknown[0]!r}, which is not among the files")
    dependents: dict[str, list[str]] = defaultdict(list)
    in_degree = dict.fromkeys(paths, 0)
    for dependency, dependent in unique:
        dependents[dependency].append(dependent)
        in_degree[dependent] += 1
    # Pending dependencies in another strongly connected component (0 for all when not cycle-aware).
    outside = dict.fromkeys(paths, 0)
    if cycle_aware:
        rank = component_ranks(list(paths), dependents)
        for dependency, dependent in unique:
            outside[dependent] += rank[dependency] != rank[dependent]
    result = []
    for subgraph in connected_subgraphs(list(paths), unique):
        # A lazy heap: each change pushes a fresh entry; stale ones are skipped when popped.
        heap = [(outside[p] > 0, in_degree[p], p) for p in subgraph]
        heapq.heapify(heap)
        emitted: set[str] = set()
        order = []
        while heap:
            blocked, degree, path = heapq.heappop(heap)
            if path in emitted or degree != in_degree[path] or blocked != (outside[path] > 0):
                continue
            emitted.add(path)
            order.append(path)
            for dependent in dependents[path]:
                if dependent not in emitted:
                    in_degree[dependent] -= 1
                    if cycle_aware and rank[path] != rank[dependent]:
                        outside[dependent] -= 1
                    heapq.heappush(heap, (outside[dependent] > 0, in_degree[dependent], dependent))
        result.append(order)
    return result
