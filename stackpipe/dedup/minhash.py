"""MinHash signatures and LSH banding for near-deduplication (REFERENCE.md §5).

A document is the set of its word 5-gram shingles; two documents whose shingle sets
have Jaccard similarity s collide in at least one of b LSH bands of r rows with
probability 1 - (1 - s^r)^b (Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*,
ch. 3). The classic banding for a 0.7 threshold and 256 values balances false positives
against false negatives: 25 x 10, which still misses 6% of pairs at Jaccard 0.8. The
default (`recall_bands`) instead promises a miss rate at a recall similarity (1% at 0.8:
26 x 8) and takes the banding with the fewest false positives below the verification
threshold that keeps the promise; exact-Jaccard verification removes the extra candidates.

Tokens are maximal runs of ASCII letters, digits and underscore in the UTF-8 bytes
(BigCode's near-dedup splits on `[^A-Za-z_0-9]`); bytes >= 0x80 also count as token
characters, so identifiers and comments in other scripts stay words instead of vanishing.
A document with fewer tokens than the shingle size is one shingle of all its tokens; a
document with no token has no shingle and is never a near-duplicate of anything.

Speed comes from doing per-byte and per-shingle work in a handful of numpy passes:

- tokens: `bytes.translate` classifies every byte, one `diff` finds token boundaries, and
  each token is hashed from unaligned 8-byte loads at its start (longer tokens take one
  more load per 8 bytes), then the MurmurHash3 64-bit finalizer (`fmix64`) mixes it;
- shingles: `fmix64` of a fixed odd-multiplier linear combination of k consecutive token
  hashes, one vector pass per position;
- signature: instead of 256 independent permutations (256 multiply-adds per shingle),
  *Fast Similarity Sketching* (Dahlgaard, Knudsen & Thorup, FOCS 2017, arXiv:1704.04370):
  round 0 is one-permutation hashing (each shingle hashed once to a bin and a value, the
  bin keeps its minimum); bins still empty take further rounds in which every shingle is
  rehashed to a bin, values ordered by round first, until every bin is filled; from round
  `num_perm` on, a shingle's bin advances cyclically so termination is guaranteed. Each
  bin's minimum is a uniformly random element of the union of two sets, so
  Pr[sig_a[i] == sig_b[i]] = J exactly, and the paper proves the K values concentrate as
  well as K independent MinHashes. Cost is O(n + K log K) per document instead of O(nK).

All hashing is deterministic arithmetic on uint64 (never Python's salted `hash()`), so a
signature is the same in every process and on every machine; permutation keys derive
from `seed` by splitmix64. Signature values are uint32 (the low 32 bits of the winning
hash): two different shingles look equal with probability 2^-32.
"""

from __future__ import annotations

import hashlib
import math
import re
from functools import lru_cache

import numpy as np

U64 = np.uint64
EMPTY = np.uint32(0xFFFFFFFF)  # every value of the signature of a document with no shingle

_TOKEN_BYTES = bytes(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") + bytes(range(0x80, 0x100))
_IS_TOKEN = bytes(1 if i in _TOKEN_BYTES else 0 for i in range(256))  # bytes.translate table
_TOKEN_RE = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
_LOW_BYTES = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [(1 << 64) - 1], dtype=U64)  # keep i bytes
_MULT = U64(0x9E3779B97F4A7C15)
_FMIX = (U64(33), U64(0xFF51AFD7ED558CCD), U64(0xC4CEB9FE1A85EC53))
_LOW32 = U64(0xFFFFFFFF)
_UNSET = U64(0xFFFFFFFFFFFFFFFF)  # a bin no shingle has reached yet


def _splitmix64(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 31)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, z ^ (z >> 31)


def _constants(seed: int, count: int) -> np.ndarray:
    state, out = seed, []
    for _ in range(count):
        state, value = _splitmix64(state)
        out.append(value)
    return np.array(out, dtype=U64)


_SHINGLE_MULT = _constants(0x5348494E474C45, 64) | U64(1)  # odd multipliers, fixed: shingle hashes never depend on the seed


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, in place: a bijection with full avalanche."""
    shift, m1, m2 = _FMIX
    h ^= h >> shift
    h *= m1
    h ^= h >> shift
    h *= m2
    h ^= h >> shift
    return h


def tokens(text: str) -> list[str]:
    """The words of `text` as the shingler sees them (for reading and tests; the hot path
    never builds this list)."""
    return [t.decode("utf-8", "surrogateescape") for t in _TOKEN_RE.findall(text.encode("utf-8", "surrogatepass"))]


def token_hashes(text: str) -> np.ndarray:
    """(n_tokens,) uint64: one hash per token, in document order."""
    data = text.encode("utf-8", "surrogatepass")
    flags = np.frombuffer((b"\0" + data + b"\0").translate(_IS_TOKEN), dtype=np.int8)
    bounds = np.flatnonzero(np.diff(flags) != 0)  # alternating start, end (end exclusive)
    starts, lengths = bounds[0::2], bounds[1::2] - bounds[0::2]
    padded = np.frombuffer(data + bytes(8), dtype=np.uint8)
    # (len(data) + 1,) uint64 view: words[i] = the 8 bytes starting at byte i (little-endian)
    words = np.ndarray(len(data) + 1, dtype="<u8", buffer=padded, strides=(1,))
    h = words[starts] & _LOW_BYTES[np.minimum(lengths, 8)]
    # token bytes are never 0, so a masked word of a token up to 8 bytes is the token itself
    longer = np.flatnonzero(lengths > 8)
    offset = 8
    while len(longer):
        rest = lengths[longer] - offset
        h[longer] = _fmix64(h[longer] * _MULT) ^ (words[starts[longer] + offset] & _LOW_BYTES[np.minimum(rest, 8)])
        longer = longer[rest > 8]
        offset += 8
    return _fmix64(h.astype(U64, copy=False))


def shingle_stream(text: str, shingle_size: int, short_documents: str = "whole") -> np.ndarray:
    """(n_shingles,) uint64 hashes of every shingle in document order, repeats included.

    Shingle i hashes tokens i..i+k-1. A document with fewer than k tokens is one shingle
    of all of them (`short_documents="whole"`) or none (`"skip"`); no token, no shingle.
    """
    t = token_hashes(text)
    n = len(t) - shingle_size + 1
    if n <= 0:
        if len(t) == 0 or short_documents == "skip":
            return np.empty(0, dtype=U64)
        return _fmix64(np.array([(t * _SHINGLE_MULT[: len(t)]).sum(dtype=U64)], dtype=U64))
    s = t[:n] * _SHINGLE_MULT[0]
    for i in range(1, shingle_size):
        s += t[i : i + n] * _SHINGLE_MULT[i]
    return _fmix64(s)


def shingle_hashes(text: str, shingle_size: int = 5, short_documents: str = "whole") -> np.ndarray:
    """Sorted unique uint64 hashes of the document's shingles: its set, for exact Jaccard."""
    return np.unique(shingle_stream(text, shingle_size, short_documents))


class MinHasher:
    """Signatures of `num_perm` values for shingles of `shingle_size` tokens, from `seed`.

    Holds the per-round hash keys; cheap to build, safe to share (no mutable state).
    """

    def __init__(self, *, num_perm: int = 256, shingle_size: int = 5, seed: int = 42,
                 short_documents: str = "whole") -> None:
        if num_perm < 1 or num_perm > 1 << 16:
            raise ValueError(f"num_perm must be within [1, 65536], got {num_perm}")
        if shingle_size < 1 or shingle_size > len(_SHINGLE_MULT):
            raise ValueError(f"shingle_size must be within [1, {len(_SHINGLE_MULT)}], got {shingle_size}")
        if short_documents not in ("whole", "skip"):
            raise ValueError(f"short_documents must be whole or skip, got {short_documents!r}")
        self.num_perm, self.shingle_size, self.seed = num_perm, shingle_size, seed
        self.short_documents = short_documents
        self._round_keys = _constants(seed, 2 * num_perm)  # rounds >= 2K are never needed
        self._k = U64(num_perm)

    @classmethod
    def from_rules(cls, rules) -> MinHasher:
        """From a `DedupRules` (rules/dedup.yaml)."""
        return cls(num_perm=rules.num_perm, shingle_size=rules.shingle_size, seed=rules.seed,
                   short_documents=rules.short_documents)

    def shingle_hashes(self, text: str) -> np.ndarray:
        """Sorted unique shingle hashes of a text (its set, for exact Jaccard)."""
        return shingle_hashes(text, self.shingle_size, self.short_documents)

    def sign(self, text: str) -> np.ndarray:
        """Signature of a text: shingling and hashing in one pass, repeats never deduplicated
        (they cannot change a minimum)."""
        return self.signature(shingle_stream(text, self.shingle_size, self.short_documents))

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        """(num_perm,) uint32 signature of a set of shingle hashes (repeats allowed).
        An empty set gives all `EMPTY`."""
        hashes = np.asarray(hashes, dtype=U64)
        k, n = self.num_perm, len(hashes)
        if n == 0:
            return np.full(k, EMPTY, dtype=np.uint32)
        best = np.full(k, _UNSET, dtype=U64)
        # round 0: one-permutation hashing. bin = high 32 bits scaled to [0, k) (Lemire's
        # multiply-shift range reduction), value = low 32 bits.
        h = _fmix64(hashes ^ self._round_keys[0])
        bins0 = ((h >> U64(32)) * self._k) >> U64(32)
        np.minimum.at(best, bins0, h & _LOW32)
        filled = best != _UNSET
        next_round = 1
        while not filled.all():
            # rounds enough to leave < 1 empty bin in expectation (coupon collector)
            count = min(max(1, math.ceil(k * math.log(k + 1) / n)), 2 * k - next_round)
            rounds = np.arange(next_round, next_round + count)
            h = _fmix64(hashes[None, :] ^ self._round_keys[rounds][:, None])  # (rounds, n)
            random_bins = ((h >> U64(32)) * self._k) >> U64(32)
            cyclic_bins = (bins0[None, :] + rounds[:, None].astype(U64)) % self._k
            bins = np.where((rounds >= k)[:, None], cyclic_bins, random_bins)
            values = (rounds.astype(U64)[:, None] << U64(32)) | (h & _LOW32)  # earlier rounds win
            np.minimum.at(best, bins.ravel(), values.ravel())
            filled = best != _UNSET
            next_round += count
        return (best & _LOW32).astype(np.uint32)


def is_empty(signature: np.ndarray) -> bool:
    """True for the signature of a document with no shingle."""
    return bool((signature == EMPTY).all())


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[bytes]:
    """One 10-byte bucket key per band: the band index (2 bytes, big-endian) then an
    8-byte BLAKE2b digest of its `rows` values. Equal keys = equal band. A document with
    no shingle has no key, so it never becomes a candidate."""
    if bands * rows > len(signature):
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} values, the signature has {len(signature)}")
    if is_empty(signature):
        return []
    data = np.ascontiguousarray(signature[: bands * rows], dtype="<u4").tobytes()
    width = 4 * rows
    return [
        band.to_bytes(2, "big") + hashlib.blake2b(data[band * width : (band + 1) * width], digest_size=8).digest()
        for band in range(bands)
    ]


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Share of equal signature values; 0.0 when either document has no shingle."""
    if is_empty(sig_a) or is_empty(sig_b):
        return 0.0
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def exact_jaccard(hashes_a: np.ndarray, hashes_b: np.ndarray) -> float:
    """|A ∩ B| / |A ∪ B| of two sorted unique hash arrays; 0.0 when either is empty."""
    if len(hashes_a) == 0 or len(hashes_b) == 0:
        return 0.0
    common = len(np.intersect1d(hashes_a, hashes_b, assume_unique=True))
    return common / (len(hashes_a) + len(hashes_b) - common)


def candidate_probability(s: float, bands: int, rows: int) -> float:
    """Probability that a pair of Jaccard `s` shares at least one band: 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - s**rows) ** bands


@lru_cache(maxsize=64)
def optimal_bands(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimising the weighted area of false
    positives (candidate probability below `threshold`) and false negatives (its
    complement above it) — the criterion of datasketch's `MinHashLSH`. 0.7 and 256 give
    (25, 10)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be within (0, 1), got {threshold}")
    low = np.linspace(0.0, threshold, 1001)
    high = np.linspace(threshold, 1.0, 1001)

    def area(y: np.ndarray, x: np.ndarray) -> np.ndarray:  # trapezoid rule along the last axis
        return ((y[:, 1:] + y[:, :-1]) * np.diff(x)).sum(axis=1) / 2

    best, best_error = (1, 1), math.inf
    for b in range(1, num_perm + 1):
        r = np.arange(1, num_perm // b + 1, dtype=np.float64)[:, None]
        fp = area(1.0 - (1.0 - low**r) ** b, low)
        fn = area((1.0 - high**r) ** b, high)
        error = false_positive_weight * fp + false_negative_weight * fn
        i = int(np.argmin(error))
        if error[i] < best_error:
            best, best_error = (b, i + 1), float(error[i])
    return best


@lru_cache(maxsize=64)
def recall_bands(similarity: float, max_miss_rate: float, num_perm: int, threshold: float) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm under which a pair of Jaccard
    `similarity` fails to become a candidate with probability at most `max_miss_rate`
    ((1 - s^r)^b <= max_miss_rate), choosing among those the one with the smallest
    false-positive area (candidate probability integrated over [0, threshold]: the pairs
    verification will have to refute).
    1% at 0.8 with 256 values and a 0.7 threshold gives (26, 8): 0.992 at 0.8, 0.79 at
    0.7, 0.10 at 0.5."""
    if not 0.0 < similarity < 1.0:
        raise ValueError(f"similarity must be within (0, 1), got {similarity}")
    if not 0.0 < max_miss_rate < 1.0:
        raise ValueError(f"max_miss_rate must be within (0, 1), got {max_miss_rate}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be within (0, 1), got {threshold}")
    low = np.linspace(0.0, threshold, 1001)
    best, best_area = None, math.inf
    for r in range(1, num_perm + 1):
        # the fewest bands of r rows that keep the promise: more only add false positives
        p = similarity**r
        if p >= 1.0 or p <= 0.0:
            continue
        b = max(1, math.ceil(math.log(max_miss_rate) / math.log1p(-p) - 1e-12))
        if b * r > num_perm:
            continue
        y = 1.0 - (1.0 - low**r) ** b
        area = float(((y[1:] + y[:-1]) * np.diff(low)).sum() / 2)
        if area < best_area - 1e-15:
            best, best_area = (b, r), area
    if best is None:
        raise ValueError(f"no banding within {num_perm} values misses at most {max_miss_rate} of pairs at "
                         f"Jaccard {similarity}")
    return best
