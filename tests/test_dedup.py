"""`stackpipe dedup` end to end on real stdlib code with planted near-duplicates."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines import dedup as dedup_pipeline
from stackpipe.dedup.minhash import MinHasher, exact_jaccard
from stackpipe.dedup.near import bucket_edges, decide_component, repository_id
from stackpipe.records import FileRecord, content_hash, record_id
from stdlib_corpus import stdlib_records, write_documents


def mutate(text: str, rate: float, seed: int) -> str:
    """Edit `rate` of the lines (replace with a fresh comment), deterministically."""
    rng = random.Random(seed)
    lines = text.splitlines()
    for index in rng.sample(range(len(lines)), max(1, int(rate * len(lines)))):
        lines[index] = f"# edited line {rng.random():.6f}"
    return "\n".join(lines)


def copy_of(record: FileRecord, repo: str, content: str, **changes) -> FileRecord:
    return replace(record, id=record_id("github", repo, record.path), repo=repo, content=content,
                   size_bytes=len(content.encode()), **changes)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """60 stdlib modules (repo python/cpython, 100 stars), plus in fork/a: 5% edited copies of
    the first 10 (more stars) and 40% edited copies of the next 5 (not near-duplicates)."""
    originals = [r for r in stdlib_records(120, packages=("json", "email", "logging")) if len(r.content) > 3000][:60]
    forks = [copy_of(r, "fork/a", mutate(r.content, 0.05, i), stars=500) for i, r in enumerate(originals[:10])]
    distant = [copy_of(r, "fork/b", mutate(r.content, 0.6, i)) for i, r in enumerate(originals[10:15])]
    root = write_documents(tmp_path_factory.mktemp("planted"), originals + forks + distant)
    return root, originals, forks, distant


def read_rows(directory: Path) -> list[dict]:
    return [row for path in sorted(directory.glob("part-*.parquet")) for row in pq.read_table(path).to_pylist()]


def run_dedup(source: Path, output: Path, *extra: str) -> dict:
    return dedup_pipeline.run(["--input", str(source), "--output", str(output), *extra])


@pytest.fixture(scope="module")
def file_level(planted, tmp_path_factory):
    output = tmp_path_factory.mktemp("dedup-file")
    return output, run_dedup(planted[0], output)


def test_near_copies_are_dropped_for_the_better_starred_fork(planted, file_level):
    _, originals, forks, _ = planted
    output, stats = file_level
    rejected = {row["id"]: row for row in read_rows(output / "rejected")}
    assert set(rejected) == {r.id for r in originals[:10]}
    assert all(row["reason"] == "near_duplicate" and row["stage"] == "near_dedup" for row in rejected.values())
    kept_forks = {r.id for r in forks}
    assert {meta_of(row)["duplicate_of"] for row in rejected.values()} == kept_forks


def meta_of(row: dict) -> dict:
    return json.loads(row["meta"])


def test_distant_edits_and_unrelated_files_are_kept(planted, file_level):
    _, originals, forks, distant = planted
    output, _ = file_level
    kept = {row["id"] for row in read_rows(output / "documents")}
    assert {r.id for r in originals[10:] + forks + distant} <= kept


def test_stats_balance_and_clusters_list_every_member(planted, file_level):
    output, stats = file_level
    stage = stats["stages"]["near_dedup"]
    assert stats["conservation"] and stage["input"] == 75 and stage["dropped"] == {"near_duplicate": 10}
    clusters = read_rows(output / "clusters")
    assert len(clusters) == 20 and sum(row["kept"] for row in clusters) == 10
    by_cluster: dict[str, list] = {}
    for row in clusters:
        by_cluster.setdefault(row["cluster_id"], []).append(row)
    assert all(len(members) == 2 and [m["kept"] for m in members if m["id"] == cluster_id] == [True]
               for cluster_id, members in by_cluster.items())


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*.parquet"))}


def test_two_workers_write_byte_identical_outputs(planted, file_level, tmp_path):
    run_dedup(planted[0], tmp_path / "two", "--workers", "2")
    assert digest(tmp_path / "two") == digest(file_level[0])


def test_portable_runner_writes_byte_identical_outputs(planted, file_level, tmp_path):
    run_dedup(planted[0], tmp_path / "portable", "--runner=PortableRunner", "--job_endpoint=embed",
              "--environment_type=LOOPBACK")
    assert digest(tmp_path / "portable") == digest(file_level[0])


def test_repository_level_drops_a_near_duplicate_repository_whole(planted, tmp_path):
    """fork/a holds 10 near-copies of cpython files; as repositories they are not alike
    (cpython has 50 more files), so nothing is dropped; a full near-copy of a repository is."""
    _, originals, _, _ = planted
    clone = [copy_of(r, "clone/x", mutate(r.content, 0.03, i)) for i, r in enumerate(originals)]
    partial = [copy_of(r, "partial/y", r.content) for r in originals[:3]]
    root = write_documents(tmp_path / "repos", originals + clone + partial)
    stats = run_dedup(root, tmp_path / "out", "--level", "repo")
    rejected = read_rows(tmp_path / "out" / "rejected")
    dropped_repos = {row["repo"] for row in rejected}
    assert len(dropped_repos) == 1 and dropped_repos <= {"python/cpython", "clone/x"}
    assert len(rejected) == 60 and stats["conservation"]
    kept = read_rows(tmp_path / "out" / "documents")
    assert sum(row["repo"] == "partial/y" for row in kept) == 3
    clusters = read_rows(tmp_path / "out" / "clusters")
    assert {row["id"] for row in clusters} == {repository_id("python/cpython"), repository_id("clone/x")}


def test_empty_and_short_documents_are_never_clustered_with_each_other(tmp_path):
    base = stdlib_records(1)[0]
    records = [copy_of(base, f"r/{i}", text) for i, text in enumerate(["", "", "   \n", "x = 1", "x = 1"])]
    stats = run_dedup(write_documents(tmp_path / "short", records), tmp_path / "out")
    rejected = read_rows(tmp_path / "out" / "rejected")
    # the two identical 3-token files are one shingle each, so they are duplicates; empties never are
    assert [row["content_hash"] for row in rejected] == [content_hash("x = 1")]  # rejected/ keeps no content
    assert stats["stages"]["near_dedup"]["kept"] == 4


def test_a_planted_pair_at_jaccard_0_8_is_found(planted, tmp_path):
    """email/_parseaddr.py and a copy with 5% of its lines edited (exact Jaccard 0.815):
    the two signatures share none of the 25 bands of 10 rows of the balanced banding, one
    of the default banding's, and verification passes, so the less-starred original goes."""
    _, originals, _, _ = planted
    original = next(r for r in originals if r.path == "email/_parseaddr.py")
    copy = copy_of(original, "fork/c", mutate(original.content, 0.05, 37), stars=500)
    hasher = MinHasher()
    assert 0.8 <= exact_jaccard(hasher.shingle_hashes(original.content), hasher.shingle_hashes(copy.content)) < 0.82
    stats = run_dedup(write_documents(tmp_path / "pair", [original, copy]), tmp_path / "out")
    rejected = read_rows(tmp_path / "out" / "rejected")
    assert [(row["id"], meta_of(row)["duplicate_of"]) for row in rejected] == [(original.id, copy.id)]
    assert stats["stages"]["near_dedup"]["dropped"] == {"near_duplicate": 1}


def test_small_buckets_yield_every_pair_and_large_ones_a_star():
    assert list(bucket_edges(["c", "a", "b", "a"])) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert list(bucket_edges([str(i) for i in range(20)], max_pairwise=4))[:2] == [("0", "1"), ("0", "10")]


def test_cluster_keeps_the_permissive_copy_before_the_starred_one():
    base = stdlib_records(1)[0]
    starred = replace(base, id="b", stars=10_000, license_type="no_license")
    permissive = replace(base, id="c", stars=1, license_type="permissive")
    decisions = decide_component("b", [starred, permissive], [("b", "c")])
    assert [(d.unit_id, d.kept, d.cluster_id) for d in decisions] == [("b", False, "c"), ("c", True, "c")]


def test_a_chain_keeps_every_unit_with_no_kept_neighbour():
    """a~b~c~d, each similar only to its neighbours: b joins a, c is kept (its only kept
    candidate neighbour would be b, which is dropped), d joins c."""
    base = stdlib_records(1)[0]
    units = [replace(base, id=name, stars=100 - i) for i, name in enumerate("abcd")]
    decisions = decide_component("a", units, [("a", "b"), ("b", "c"), ("c", "d")])
    assert [(d.unit_id, d.kept, d.cluster_id) for d in decisions] == [
        ("a", True, "a"), ("b", False, "a"), ("c", True, "c"), ("d", False, "c")]
