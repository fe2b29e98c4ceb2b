"""Near-dedup throughput and accuracy on this machine's Python installation, against peers.

Corpus: the `.py` files of python-env:// (standard library, then installed distributions),
up to --limit-mb. Every system hashes the same documents into 256-value MinHash
signatures of word 5-gram shingles, on one core (BLAS/OpenMP threads pinned to 1).
Figures, one per line:

- stackpipe's signature stage (text -> tokens -> shingle hashes -> signature -> LSH
  band keys), MB/s;
- datasketch `MinHash.update_batch` (its default SHA-1 hash), fed the same shingles as
  UTF-8 bytes already built, so its figure leaves out Python shingling (~28 MB/s here)
  and flatters it; the ratio stackpipe / datasketch;
- rensa `RMinHash.update` (Rust MinHash; `pip install stackpipe[bench]`), same shingles,
  if importable;
- accuracy over real candidate pairs (pairs sharing an LSH band of our signatures, the rules' banding):
  mean |estimated - exact| Jaccard for stackpipe and for datasketch, and mean |ΔJ|
  between the two estimates.

Then `stackpipe dedup` itself (file level, verification on) on the first --quality-mb of
the corpus plus planted near-copies (5% of files copied with 2-30% of lines edited), on
Beam's in-process runner, with exact Jaccard computed for all pairs (sparse shingle
incidence product):

- recall: share of pairs with exact J >= 0.8 that end in the same connected component of
  verified candidates (target 0.99), and how many such pairs both survive; the same for
  the pairs at 0.8 <= J < 0.9 and 0.7 <= J < 0.8, where the banding decides;
- the LSH step recomputed with the pipeline's banding and bucket rule: distinct candidate
  pairs (each one a verification), how many pass, the share of J >= 0.8 pairs sharing a
  band directly (no transitivity), and why missed pairs were missed;
- precision of removals: share of removed files with a kept member of their cluster at
  exact J >= 0.7 (target 0.99);
- end-to-end dedup MB/s (read Parquet, sign, bucket, verify, components, decide, write).

Usage: python benchmarks/dedup.py [--limit-mb 100] [--max-pairs 2000] [--quality-mb 30] [--skip-signatures]
(--quality-mb 400 gives about 22,000 files, planted copies included.)
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: every figure is per core

import argparse
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from stackpipe.dedup.minhash import (
    MinHasher,
    band_keys,
    candidate_probability,
    estimated_jaccard,
    exact_jaccard,
    shingle_hashes,
    tokens,
)
from stackpipe.records import RawFile
from stackpipe.rules import load_rules
from stackpipe.sources import plan_inputs, read_unit


def python_sources(limit_bytes: int) -> list[str]:
    """Texts of the `.py` files of python-env:// in plan order, up to `limit_bytes` of UTF-8."""
    rules = load_rules()
    texts, total = [], 0
    for unit in plan_inputs(["python-env://"], rules.sources):
        for item in read_unit(unit, rules.sources):
            if isinstance(item, RawFile) and item.path.endswith(".py") and b"\x00" not in item.data:
                texts.append(item.data.decode("utf-8", errors="replace"))
                total += len(texts[-1].encode("utf-8"))
                if total >= limit_bytes:
                    return texts
    return texts


def shingle_bytes(text: str, shingle_size: int) -> list[bytes]:
    """The document's distinct shingles as bytes (tokens joined by a space): what the peers hash."""
    words = [t.encode("utf-8", "surrogateescape") for t in tokens(text)]
    if not words:
        return []
    if len(words) < shingle_size:
        return [b" ".join(words)]
    return list({b" ".join(words[i:i + shingle_size]) for i in range(len(words) - shingle_size + 1)})


def run_stackpipe(texts: list[str], hasher: MinHasher, bands: int, rows: int) -> tuple[float, list[np.ndarray]]:
    """What the signature step does per document: signature and LSH bucket keys."""
    signatures = []
    started = time.process_time()
    for text in texts:
        signature = hasher.sign(text)
        band_keys(signature, bands, rows)
        signatures.append(signature)
    return time.process_time() - started, signatures


def run_datasketch(shingles: list[list[bytes]], num_perm: int) -> tuple[float, list[np.ndarray]]:
    from datasketch import MinHash

    signatures = []
    started = time.process_time()
    for items in shingles:
        minhash = MinHash(num_perm=num_perm)
        minhash.update_batch(items)
        signatures.append(minhash.hashvalues)
    return time.process_time() - started, signatures


def run_rensa(shingles: list[list[bytes]], num_perm: int) -> float | None:
    try:
        from rensa import RMinHash
    except ImportError:
        return None
    started = time.process_time()
    for items in shingles:
        minhash = RMinHash(num_perm=num_perm, seed=42)
        minhash.update(items)
        minhash.digest()
    return time.process_time() - started


def candidate_pairs(signatures: list[np.ndarray], bands: int, rows: int, max_pairs: int) -> list[tuple[int, int]]:
    """Distinct pairs sharing a band, each bucket linking its members to its first (a star,
    as clustering sees them), the first `max_pairs` in document order."""
    buckets: dict[bytes, list[int]] = defaultdict(list)
    for i, signature in enumerate(signatures):
        for key in band_keys(signature, bands, rows):
            buckets[key].append(i)
    pairs = {(members[0], other) for members in buckets.values() for other in members[1:]}
    return sorted(pairs)[:max_pairs]


def accuracy(texts, pairs, ours, theirs, shingle_size) -> dict[str, float]:
    """Mean absolute Jaccard errors over `pairs`."""
    sets = {i: shingle_hashes(texts[i], shingle_size) for pair in pairs for i in pair}
    exact = np.array([exact_jaccard(sets[a], sets[b]) for a, b in pairs])
    mine = np.array([estimated_jaccard(ours[a], ours[b]) for a, b in pairs])
    peer = np.array([float(np.mean(theirs[a] == theirs[b])) for a, b in pairs])
    return {"ours_vs_exact": float(np.abs(mine - exact).mean()), "datasketch_vs_exact": float(np.abs(peer - exact).mean()),
            "ours_vs_datasketch": float(np.abs(mine - peer).mean()), "mean_exact": float(exact.mean())}


def signature_figures(texts: list[str], max_pairs: int) -> None:
    """The signature section: one line per figure."""
    rules = load_rules().dedup
    hasher = MinHasher.from_rules(rules)
    k, num_perm = rules.shingle_size, rules.num_perm
    from stackpipe.beam.near_dedup import banding

    bands, rows = banding(rules)
    size_mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"corpus: {len(texts):,} .py files, {size_mb:,.1f} MB from python-env:// ({sys.prefix}); "
          f"{k}-gram shingles, {num_perm} permutations, {bands} bands x {rows} rows")

    seconds, ours = run_stackpipe(texts, hasher, bands, rows)
    ours_mbps = size_mb / seconds
    print(f"stackpipe signature stage (tokenize + shingle + sign + band keys), 1 core: {ours_mbps:,.1f} MB/s")

    started = time.process_time()
    shingles = [shingle_bytes(text, k) for text in texts]
    print(f"python shingling for the peers (regex tokens + join), 1 core: {size_mb / (time.process_time() - started):,.1f} MB/s")
    seconds, theirs = run_datasketch(shingles, num_perm)
    peer_mbps = size_mb / seconds
    print(f"datasketch MinHash.update_batch (sha1, shingles prebuilt), 1 core: {peer_mbps:,.1f} MB/s")
    print(f"ratio stackpipe / datasketch: {ours_mbps / peer_mbps:,.2f}x")
    rensa_seconds = run_rensa(shingles, num_perm)
    if rensa_seconds is None:
        print("rensa RMinHash.update: not installed (pip install rensa)")
    else:
        print(f"rensa RMinHash.update (shingles prebuilt), 1 core: {size_mb / rensa_seconds:,.1f} MB/s")

    pairs = candidate_pairs(ours, bands, rows, max_pairs)
    errors = accuracy(texts, pairs, ours, theirs, k)
    print(f"candidate pairs measured: {len(pairs):,} (mean exact Jaccard {errors['mean_exact']:.3f})")
    print(f"mean |estimated - exact| Jaccard, stackpipe: {errors['ours_vs_exact']:.4f}")
    print(f"mean |estimated - exact| Jaccard, datasketch: {errors['datasketch_vs_exact']:.4f}")
    print(f"mean |ΔJ| stackpipe vs datasketch: {errors['ours_vs_datasketch']:.4f}")


def planted_corpus(texts: list[str], seed: int = 0) -> list[tuple[str, str]]:
    """(id, text): the texts without exact repeats, plus edited copies of 5% of them."""
    rng = random.Random(seed)
    unique = list(dict.fromkeys(texts))
    documents = [(f"orig-{i:06d}", text) for i, text in enumerate(unique)]
    for i, text in enumerate(unique):
        lines = text.splitlines()
        if len(lines) < 20 or rng.random() >= 0.05:
            continue
        rate = rng.choice((0.02, 0.05, 0.1, 0.2, 0.3))
        for index in rng.sample(range(len(lines)), int(rate * len(lines))):
            lines[index] = f"# edited {rng.random():.8f}"
        documents.append((f"copy-{i:06d}-{int(rate * 100):02d}", "\n".join(lines)))
    return documents


def all_pairs_jaccard(texts: list[str], shingle_size: int, floor: float):
    """{(i, j): exact Jaccard} for every pair i < j with J >= floor, via A @ A.T on the
    sparse document x shingle incidence matrix."""
    from scipy import sparse

    sets = [shingle_hashes(t, shingle_size) for t in texts]
    vocabulary, columns = np.unique(np.concatenate(sets), return_inverse=True)
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    incidence = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, columns)), shape=(len(sets), len(vocabulary)))
    overlap = sparse.triu(incidence @ incidence.T, k=1).tocoo()
    sizes = np.array([len(s) for s in sets])
    jaccard = overlap.data / (sizes[overlap.row] + sizes[overlap.col] - overlap.data)
    keep = jaccard >= floor
    return {(int(i), int(j)): float(v) for i, j, v in zip(overlap.row[keep], overlap.col[keep], jaccard[keep])}


def candidate_figures(documents, pairs, high, component_of) -> None:
    """What the pipeline's LSH step produces, recomputed here with its banding and bucket
    rule: distinct candidate pairs (the verification cost), how many pass verification,
    and why the pairs with exact J >= 0.8 that are not in one component were missed."""
    from stackpipe.beam.near_dedup import banding
    from stackpipe.dedup.near import bucket_edges

    rules = load_rules().dedup
    hasher = MinHasher.from_rules(rules)
    bands, rows = banding(rules)
    ids = [doc_id for doc_id, _ in documents]
    index = {doc_id: i for i, doc_id in enumerate(ids)}
    keys, buckets = [], defaultdict(list)
    for doc_id, text in documents:
        keys.append(set(band_keys(hasher.sign(text), bands, rows)))
        for key in keys[-1]:
            buckets[key].append(doc_id)
    edges = {edge for members in buckets.values() for edge in bucket_edges(members)}
    bar = rules.effective_verify_threshold
    exact = [pairs.get((min(index[a], index[b]), max(index[a], index[b])), 0.0) for a, b in edges]
    verified = sum(j >= bar for j in exact)
    print(f"banding {bands} x {rows} (candidate probability {candidate_probability(bar, bands, rows):.3f} at J {bar}, "
          f"{candidate_probability(0.8, bands, rows):.4f} at 0.8); candidate pairs verified: {len(edges):,}, "
          f"of which exact J >= {bar}: {verified:,} ({verified / max(len(edges), 1):.3f}); "
          f"largest bucket {max((len(m) for m in buckets.values()), default=0):,}")
    missed = [(a, b) for a, b in high
              if component_of.get(ids[a]) is None or component_of.get(ids[a]) != component_of.get(ids[b])]
    no_band = sum(1 for a, b in missed if not keys[a] & keys[b])
    print(f"pairs with J >= 0.8 sharing a band: {sum(1 for a, b in high if keys[a] & keys[b]) / max(len(high), 1):.4f}; "
          f"missed {len(missed):,}: {no_band:,} share no band, {len(missed) - no_band:,} share one but lost their edge")


def dedup_figures(texts: list[str]) -> None:
    """`stackpipe dedup` quality against exact Jaccard, and its end-to-end speed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines import dedup as dedup_pipeline
    from stackpipe.records import FILE_SCHEMA, FileRecord, record_to_row

    documents = planted_corpus(texts)
    ids = [doc_id for doc_id, _ in documents]
    size_mb = sum(len(t.encode("utf-8")) for _, t in documents) / 1e6
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "in").mkdir()  # a plain Parquet table: a stackpipe output would need its stats.json
        rows = [record_to_row(FileRecord(id=doc_id, repo=f"bench/{doc_id}", path="x.py", language="Python",
                                         content=text, size_bytes=len(text.encode("utf-8")), source="github"))
                for doc_id, text in documents]
        pq.write_table(pa.Table.from_pylist(rows, schema=FILE_SCHEMA), root / "in" / "part-00000-of-00001.parquet")
        started = time.perf_counter()
        dedup_pipeline.run(["--input", str(root / "in"), "--output", str(root / "out")])
        elapsed = time.perf_counter() - started
        clusters = [row for path in sorted((root / "out" / "clusters").glob("*.parquet"))
                    for row in pq.read_table(path).to_pylist()]
    planted = sum(doc_id.startswith("copy-") for doc_id in ids)
    print(f"dedup corpus: {len(documents):,} files ({planted:,} planted near-copies), {size_mb:,.1f} MB")
    print(f"stackpipe dedup end to end (file level, verify on, in-process runner): {size_mb / elapsed:,.1f} MB/s "
          f"({elapsed:,.1f} s)")

    cluster_of = {row["id"]: row["cluster_id"] for row in clusters}
    component_of = {row["id"]: row["component_id"] for row in clusters}
    kept = {row["id"] for row in clusters if row["kept"]}
    members: dict[str, list[str]] = defaultdict(list)
    for row in clusters:
        members[row["cluster_id"]].append(row["id"])
    pairs = all_pairs_jaccard([t for _, t in documents], load_rules().dedup.shingle_size, 0.7)
    index = {doc_id: i for i, doc_id in enumerate(ids)}
    high = [(a, b) for (a, b), j in pairs.items() if j >= 0.8]
    together = sum(1 for a, b in high
                   if component_of.get(ids[a]) is not None and component_of.get(ids[a]) == component_of.get(ids[b]))
    survivors = {row["id"] for row in clusters if row["kept"]} | (set(ids) - set(cluster_of))
    both = sum(1 for a, b in high if ids[a] in survivors and ids[b] in survivors)
    print(f"pairs with exact J >= 0.8: {len(high):,}; recall (same component): {together / max(len(high), 1):.4f}; "
          f"pairs of which both files survive: {both:,}")
    for low, high_end in ((0.8, 0.9), (0.7, 0.8)):  # where the banding decides, identical copies left out
        band = [(a, b) for (a, b), j in pairs.items() if low <= j < high_end]
        linked = sum(1 for a, b in band
                     if component_of.get(ids[a]) is not None and component_of.get(ids[a]) == component_of.get(ids[b]))
        print(f"pairs with {low} <= exact J < {high_end}: {len(band):,}; recall (same component): "
              f"{linked / max(len(band), 1):.4f}")
    candidate_figures(documents, pairs, high, component_of)
    removed = [row["id"] for row in clusters if not row["kept"]]

    def justified(doc_id: str) -> bool:
        i = index[doc_id]
        return any(pairs.get((min(i, index[o]), max(i, index[o])), 0.0) >= 0.7
                   for o in members[cluster_of[doc_id]] if o in kept)

    good = sum(justified(doc_id) for doc_id in removed)
    print(f"removed files: {len(removed):,}; with a kept cluster member at exact J >= 0.7: {good / max(len(removed), 1):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit-mb", type=float, default=100.0, help="corpus size cap in MB")
    parser.add_argument("--max-pairs", type=int, default=2000, help="candidate pairs used for the accuracy figures")
    parser.add_argument("--quality-mb", type=float, default=30.0, help="corpus MB for the end-to-end dedup figures")
    parser.add_argument("--skip-signatures", action="store_true", help="only the end-to-end dedup figures")
    args = parser.parse_args()
    texts = python_sources(int(max(args.limit_mb, args.quality_mb) * 1e6))
    if not args.skip_signatures:
        signature_figures(texts[:_count_within(texts, args.limit_mb)], args.max_pairs)
    dedup_figures(texts[:_count_within(texts, args.quality_mb)])


def _count_within(texts: list[str], megabytes: float) -> int:
    total = 0
    for count, text in enumerate(texts, 1):
        total += len(text.encode("utf-8"))
        if total >= megabytes * 1e6:
            return count
    return len(texts)


if __name__ == "__main__":
    main()
