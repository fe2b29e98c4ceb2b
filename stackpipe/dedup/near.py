"""Near-deduplication decisions: candidate edges from LSH buckets, repository units, and
which member of each cluster is kept (REFERENCE.md §5).

Pure functions over records; the Beam edge (`stackpipe/beam/near_dedup.py`) groups,
joins and labels components with them. The flow per unit (a file, or a repository):
MinHash signature -> band keys -> bucket members -> candidate edges -> (exact-Jaccard
verification) -> connected components -> within each component, clusters around
representatives chosen by the keep policy (`decide_component`); every other member is
dropped with reason `near_duplicate`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations
from typing import Iterable, Iterator

from stackpipe.dedup.policy import keep_priority
from stackpipe.records import FileRecord, Rejected, record_id

STAGE = "near_dedup"
REASON = "near_duplicate"
LEVELS = ("file", "repo")
REPO_SOURCE = "repository"
# Buckets up to this size yield every pair, so verification can link members that are
# similar to each other but not to the bucket's smallest id; larger ones (rare: boilerplate
# families) yield a star from the smallest id, keeping the edge count linear.
MAX_PAIRWISE_BUCKET = 16


def bucket_edges(members: Iterable[str], max_pairwise: int = MAX_PAIRWISE_BUCKET) -> Iterator[tuple[str, str]]:
    """Candidate edges (a, b) with a < b among the unit ids sharing one LSH bucket."""
    unique = sorted(set(members))
    if len(unique) <= max_pairwise:
        yield from combinations(unique, 2)
    else:
        root = unique[0]
        yield from ((root, other) for other in unique[1:])


@dataclass(frozen=True, kw_only=True)
class Unit:
    """What near-dedup compares: one file, or one repository's files concatenated.

    `summary` carries the keep-policy facts (licence type, stars, revision date) without
    the content, so clustering never moves file text around.
    """

    id: str
    text: str
    summary: FileRecord


def file_unit(record: FileRecord) -> Unit:
    return Unit(id=record.id, text=record.content, summary=replace(record, content=""))


def repository_unit(repo: str, records: Iterable[FileRecord]) -> Unit:
    """A repository as one unit: its files in path order (then id), joined by newlines.

    The summary ranks the repository by its best file under the keep policy (a
    repository with any permissive file counts as permissive) and its most-starred copy.
    """
    files = sorted(records, key=lambda r: (r.path, r.id))
    best = min(files, key=keep_priority)
    summary = replace(best, id=repository_id(repo), path="", content="", stars=max((r.stars or 0) for r in files),
                      size_bytes=sum(r.size_bytes for r in files), files=None)
    return Unit(id=summary.id, text="\n".join(r.content for r in files), summary=summary)


def repository_id(repo: str) -> str:
    return record_id(REPO_SOURCE, repo, "")


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The verdict for one unit of a connected component of two or more."""

    unit_id: str
    component_id: str   # the component's smallest unit id
    cluster_id: str     # the representative this unit is clustered with (its own id when kept)
    kept: bool


def decide_component(component_id: str, summaries: Iterable[FileRecord],
                     edges: Iterable[tuple[str, str]]) -> list[Decision]:
    """Clusters inside one connected component, one representative each.

    Members are visited in keep-policy order; one with an edge to an already kept member
    joins the best such member's cluster and is dropped, any other is kept and becomes a
    representative. So every dropped unit is directly similar (a verified edge: exact
    Jaccard at or above the threshold) to the unit kept in its place, even when the
    component is a long chain of files each similar only to its neighbours (e.g.
    licence-header boilerplate), where keeping one unit per component would drop files
    that are not near-duplicates of anything kept.
    """
    members = sorted(summaries, key=keep_priority)
    rank = {m.id: position for position, m in enumerate(members)}
    neighbours: dict[str, set[str]] = {m.id: set() for m in members}
    for a, b in edges:
        if a in neighbours and b in neighbours:
            neighbours[a].add(b)
            neighbours[b].add(a)
    cluster_of: dict[str, str] = {}
    for member in members:
        kept_neighbours = [n for n in neighbours[member.id] if cluster_of.get(n) == n]
        cluster_of[member.id] = min(kept_neighbours, key=rank.__getitem__) if kept_neighbours else member.id
    return [Decision(unit_id=unit, component_id=component_id, cluster_id=cluster, kept=unit == cluster)
            for unit, cluster in sorted(cluster_of.items())]


def cluster_row(decision: Decision) -> dict:
    return {"id": decision.unit_id, "cluster_id": decision.cluster_id, "kept": decision.kept,
            "reason": "representative" if decision.kept else REASON, "component_id": decision.component_id}


def apply_decision(record: FileRecord, decision: Decision | None) -> FileRecord | Rejected:
    """Keep a record of a kept (or unclustered) unit; drop one of a dropped unit."""
    if decision is None:
        return record
    meta = {**record.meta, "near_dup_cluster": decision.cluster_id}
    if decision.kept:
        return replace(record, meta=meta)
    meta["duplicate_of"] = decision.cluster_id
    return Rejected(record=replace(record, meta=meta), stage=STAGE, reason=REASON)
