"""Near-deduplication decisions: candidate edges from LSH buckets, repository units, and
which member of each cluster is kept (REFERENCE.md §5).

Pure functions over records; the Beam edge (`stackpipe/beam/near_dedup.py`) groups,
joins and labels components with them. The flow per unit (a file, or a repository):
MinHash signature -> band keys -> bucket members -> candidate edges -> (exact-Jaccard
verification) -> connected components -> one representative per component by the keep
policy; every other member is dropped with reason `near_duplicate`.
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
    """The verdict for one clustered unit."""

    unit_id: str
    cluster_id: str
    kept: bool
    representative: str


def decide_cluster(cluster_id: str, summaries: Iterable[FileRecord]) -> list[Decision]:
    """One decision per member: the keep policy's choice is kept, the rest point at it."""
    members = list(summaries)
    representative = min(members, key=keep_priority).id
    return [Decision(unit_id=m.id, cluster_id=cluster_id, kept=m.id == representative, representative=representative)
            for m in sorted(members, key=lambda m: m.id)]


def cluster_row(decision: Decision) -> dict:
    return {"id": decision.unit_id, "cluster_id": decision.cluster_id, "kept": decision.kept,
            "reason": "representative" if decision.kept else REASON, "representative": decision.representative}


def apply_decision(record: FileRecord, decision: Decision | None) -> FileRecord | Rejected:
    """Keep a record of a kept (or unclustered) unit; drop one of a dropped unit."""
    if decision is None:
        return record
    meta = {**record.meta, "near_dup_cluster": decision.cluster_id}
    if decision.kept:
        return replace(record, meta=meta)
    meta["duplicate_of"] = decision.representative
    return Rejected(record=replace(record, meta=meta), stage=STAGE, reason=REASON)
