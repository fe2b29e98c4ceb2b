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
- accuracy over real candidate pairs (pairs sharing a 25 x 10 LSH band of our signatures):
  mean |estimated - exact| Jaccard for stackpipe and for datasketch, and mean |ΔJ|
  between the two estimates.

Usage: python benchmarks/dedup.py [--limit-mb 100] [--max-pairs 2000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: every figure is per core

import argparse
import sys
import time
from collections import defaultdict

import numpy as np

from stackpipe.dedup.minhash import (
    MinHasher,
    band_keys,
    estimated_jaccard,
    exact_jaccard,
    optimal_bands,
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
    bands, rows = (rules.bands, rules.rows) if rules.bands else optimal_bands(rules.threshold, num_perm)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit-mb", type=float, default=100.0, help="corpus size cap in MB")
    parser.add_argument("--max-pairs", type=int, default=2000, help="candidate pairs used for the accuracy figures")
    args = parser.parse_args()
    texts = python_sources(int(args.limit_mb * 1e6))
    signature_figures(texts, args.max_pairs)


if __name__ == "__main__":
    main()
