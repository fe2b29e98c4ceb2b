"""A compact n-gram index of benchmark strings, and the decontamination stage over it.

What is looked for (REFERENCE.md §7, DeepSeek-Coder's rule, made usable on real code):

- every n-gram (n = 10 tokens) of every benchmark string;
- every benchmark string of `short_min` to n-1 tokens, whole;
- but only windows holding at least `min_distinctive_tokens` distinctive words: words
  outside the vocabulary all code shares (`common_tokens.txt`, numbers and punctuation
  never count). `= [ ] for i in range ( len (` is in HumanEval and in half the code
  ever written; `def rgb_to_hsv (` names something;
- a string of n tokens or more with no distinctive window (an MBPP solution such as
  `def maximum(a, b): if a >= b: ...`) must occur whole: its first n-gram is indexed
  as an anchor, and a hit on it is confirmed by comparing the whole token sequence.

Tokens (stackpipe.decontam.tokens) map to small ids; a token no benchmark uses maps to 0
and ends every window that holds it. A window of k ids hashes to 64 bits, a polynomial
over per-token random codes (Horner's rule vectorised over every window of a text). The
index keeps, per window length, a sorted uint64 key array with a parallel int32 owner
array (benchmark, problem, field), and a 4 MiB bitmap of the keys' top bits that answers
most windows before any binary search. Built once per worker (`Decontaminator.setup`).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, replace
from importlib import resources
from typing import Iterable

import numpy as np

from stackpipe.decontam.benchmarks import REGISTRY, Problem, load_benchmarks
from stackpipe.decontam.tokens import is_word, tokenize
from stackpipe.records import FileRecord, Rejected
from stackpipe.rules import DecontamRules

STAGE = "decontam"
_P = np.uint64(0x20000000367)  # odd multiplier of the polynomial hash
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_BITMAP_BITS = 25  # 2^25 bits = 4 MiB
_SEED = 0x5EED


@dataclass(frozen=True)
class Hit:
    """A benchmark problem found in a text: the fields whose strings matched, how many
    token windows matched, and the first match (tokens joined by spaces)."""

    benchmark: str
    problem_id: str
    fields: tuple[str, ...]
    count: int
    match: str


def packaged_common_tokens() -> frozenset[str]:
    """The common-code vocabulary shipped with stackpipe (see common_tokens.txt's header)."""
    text = resources.files("stackpipe.decontam").joinpath("common_tokens.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _finalize(h: np.ndarray, length: int) -> np.ndarray:
    """Mix in the window length and spread the bits (splitmix64-style): top bits index the bitmap."""
    x = h ^ np.uint64((length * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    x = (x ^ (x >> np.uint64(31))) * _MIX
    return x ^ (x >> np.uint64(29))


class NgramIndex:
    """Benchmark n-grams and short strings -> owners (benchmark, problem, field).

    Arguments are those of `DecontamRules`; `common` is the common-code vocabulary.
    Building the index over every registered benchmark takes about a second.
    """

    def __init__(self, problems: Iterable[Problem], *, n: int = 10, short_min: int = 3,
                 min_distinctive_tokens: int = 1, common: frozenset[str] = frozenset(),
                 max_problems_per_ngram: int | None = 10, allow: Iterable[str] = ()):
        self.n, self.short_min, self.min_distinctive = n, short_min, min_distinctive_tokens
        self.vocab: dict[str, int] = {}
        self.owners: list[tuple[str, str, str]] = []
        self.anchors: list[tuple[int, np.ndarray]] = []  # (owner, whole id sequence); owner ids >= len(owners)
        problem_of, benchmark_of, strings = [], [], []
        benchmark_number = {name: i for i, name in enumerate(REGISTRY)}
        for p_index, problem in enumerate(problems):
            for field_name, texts in problem.fields.items():
                owner = len(self.owners)
                self.owners.append((problem.benchmark, problem.problem_id, field_name))
                problem_of.append(p_index)
                benchmark_of.append(benchmark_number[problem.benchmark])
                for text in texts:
                    ids = [self.vocab.setdefault(t, len(self.vocab) + 1) for t in tokenize(text)]
                    strings.append((owner, np.array(ids, dtype=np.uint64)))
        rng = np.random.default_rng(_SEED)
        self._codes = rng.integers(0, 2**63, size=len(self.vocab) + 1, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._distinctive = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        for token, i in self.vocab.items():
            self._distinctive[i] = is_word(token) and token not in common

        parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for owner, ids in strings:
            k = min(len(ids), n)
            if k < short_min:
                continue
            hashes, _ = self._window_hashes(ids, k)
            keep = self._informative(ids, k)
            if keep.any():
                parts.setdefault(k, []).append((hashes[keep], np.full(int(keep.sum()), owner, dtype=np.int32)))
            elif len(ids) >= n:  # no distinctive n-gram: the whole string must occur
                anchor = len(self.owners) + len(self.anchors)
                self.anchors.append((owner, ids))
                parts.setdefault(n, []).append((hashes[:1], np.array([anchor], dtype=np.int32)))
        owner_problem = np.array(problem_of + [problem_of[o] for o, _ in self.anchors], dtype=np.int64)
        owner_benchmark = np.array(benchmark_of + [benchmark_of[o] for o, _ in self.anchors], dtype=np.int64)
        allow_ids = [self.ids(text) for text in allow]

        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for length, pieces in sorted(parts.items()):
            keys = np.concatenate([k for k, _ in pieces])
            owners = np.concatenate([o for _, o in pieces])
            keep = np.ones(len(keys), dtype=bool)
            if max_problems_per_ngram is not None and length == n:
                keep &= ~_boilerplate(keys, owner_problem[owners], owner_benchmark[owners], max_problems_per_ngram)
            allowed = [h[v] for h, v in (self._window_hashes(ids, length) for ids in allow_ids if len(ids) >= length)]
            if allowed:
                keep &= ~np.isin(keys, np.concatenate(allowed))
            keys, owners = keys[keep], owners[keep]
            order = np.lexsort((owners, keys))
            keys, owners = keys[order], owners[order]
            first = np.ones(len(keys), dtype=bool)
            first[1:] = (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])
            self.tables[length] = (keys[first], owners[first])
        self._bitmap = np.zeros(1 << (_BITMAP_BITS - 3), dtype=np.uint8)
        for keys, _ in self.tables.values():
            slot = keys >> np.uint64(64 - _BITMAP_BITS)
            np.bitwise_or.at(self._bitmap, (slot >> np.uint64(3)).astype(np.int64),
                             np.left_shift(1, (slot & np.uint64(7)).astype(np.uint8)).astype(np.uint8))

    @property
    def nbytes(self) -> int:
        """Memory of the key tables, bitmap, token codes and anchors (not the vocabulary dict)."""
        return (sum(k.nbytes + o.nbytes for k, o in self.tables.values()) + self._bitmap.nbytes
                + self._codes.nbytes + self._distinctive.nbytes + sum(ids.nbytes for _, ids in self.anchors))

    def ids(self, text: str) -> np.ndarray:
        """Token ids of `text` (0 for a token no benchmark string uses)."""
        tokens = tokenize(text)
        return np.fromiter(map(self.vocab.get, tokens, itertools.repeat(0)), dtype=np.uint64, count=len(tokens))

    def _window_hashes(self, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(hash of every k-window, mask of the windows free of unknown tokens)."""
        codes = self._codes[ids.astype(np.int64)]
        count = len(ids) - k + 1
        h = np.zeros(count, dtype=np.uint64)
        for j in range(k):  # Horner's rule over all windows at once: k array operations
            h = h * _P + codes[j:count + j]
        unknown = np.concatenate(([0], np.cumsum(ids == 0)))
        return _finalize(h, k), unknown[k:] == unknown[:-k]

    def _informative(self, ids: np.ndarray, k: int) -> np.ndarray:
        """Mask of the k-windows holding at least `min_distinctive` distinctive words."""
        counts = np.concatenate(([0], np.cumsum(self._distinctive[ids.astype(np.int64)])))
        return counts[k:] - counts[:-k] >= self.min_distinctive

    def find(self, text: str) -> list[Hit]:
        """Every benchmark problem with an indexed n-gram or whole string in `text`,
        ordered by benchmark (registry order) and problem id."""
        ids = self.ids(text)
        found: dict[int, list] = {}  # owner -> [distinct windows, first position, first length]
        for length, (keys, owners) in self.tables.items():
            if len(ids) < length:
                continue
            hashes, valid = self._window_hashes(ids, length)
            slot = hashes >> np.uint64(64 - _BITMAP_BITS)
            bits = self._bitmap[(slot >> np.uint64(3)).astype(np.int64)] >> (slot & np.uint64(7)).astype(np.uint8)
            positions = np.flatnonzero(valid & (bits & 1).astype(bool))
            if not len(positions):
                continue
            lo = np.searchsorted(keys, hashes[positions], side="left")
            hi = np.searchsorted(keys, hashes[positions], side="right")
            matched = hi > lo
            for position, start, stop in zip(positions[matched].tolist(), lo[matched], hi[matched]):
                for owner in owners[start:stop].tolist():
                    span = length
                    if owner >= len(self.owners):  # an anchor: the whole string must follow
                        owner, whole = self.anchors[owner - len(self.owners)]
                        if not np.array_equal(ids[position:position + len(whole)], whole):
                            continue
                        span = len(whole)
                    entry = found.setdefault(owner, [set(), position, span])
                    entry[0].add(position)
        if not found:
            return []
        tokens = tokenize(text)
        problems: dict[tuple[str, str], list] = {}
        for owner, (positions, first, span) in sorted(found.items(), key=lambda item: item[1][1]):
            benchmark, problem_id, field_name = self.owners[owner]
            entry = problems.setdefault((benchmark, problem_id), [set(), set(), " ".join(tokens[first:first + span])])
            entry[0].add(field_name)
            entry[1] |= positions
        rank = {name: i for i, name in enumerate(REGISTRY)}
        hits = [Hit(benchmark=b, problem_id=p, fields=tuple(sorted(f)), count=len(w), match=m)
                for (b, p), (f, w, m) in problems.items()]
        return sorted(hits, key=lambda hit: (rank[hit.benchmark], natural_key(hit.problem_id)))


def _boilerplate(keys: np.ndarray, problems: np.ndarray, benchmarks: np.ndarray, limit: int) -> np.ndarray:
    """Mask of the keys found in more than `limit` distinct problems of their benchmark."""
    order = np.lexsort((problems, benchmarks, keys))
    k, b, p = keys[order], benchmarks[order], problems[order]
    group_start = np.ones(len(k), dtype=bool)
    group_start[1:] = (k[1:] != k[:-1]) | (b[1:] != b[:-1])
    new_problem = group_start.copy()
    new_problem[1:] |= p[1:] != p[:-1]
    starts = np.flatnonzero(group_start)
    if not len(starts):
        return np.zeros(0, dtype=bool)
    counts = np.add.reduceat(new_problem.astype(np.int64), starts)
    mask = np.empty(len(k), dtype=bool)
    mask[order] = np.repeat(counts > limit, np.diff(np.append(starts, len(k))))
    return mask


def natural_key(text: str) -> tuple:
    """Sort key that puts `HumanEval/2` before `HumanEval/10`."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text))


class Decontaminator:
    """decontam: drop a file that holds benchmark text (REFERENCE.md §7).

    A picklable stage: the index is built by `setup()` (or on first use), once per
    worker, and is never pickled. `apply(record)` returns the record, or
    `Rejected(stage="decontam", reason="benchmark_<name>")` naming the first benchmark
    (registry order) it hits; the rejected record's meta holds `decontam_hits` (JSON: a
    list of [benchmark, problem_id, fields, windows, match]) and a readable `detail`.
    `problems` replaces the rules' benchmark files (tests, callers with their own data).
    """

    def __init__(self, rules: DecontamRules, problems: list[Problem] | None = None):
        self.rules = rules
        self._problems = problems
        self._index: NgramIndex | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_index": None}

    def setup(self) -> None:
        if self._index is not None:
            return
        rules = self.rules
        if rules.common_tokens_file is None:
            common = packaged_common_tokens()
        else:
            with open(rules.common_tokens_file, encoding="utf-8") as handle:
                common = frozenset(line.strip() for line in handle if line.strip() and not line.startswith("#"))
        problems = self._problems if self._problems is not None else load_benchmarks(rules)
        self._index = NgramIndex(problems, n=rules.n, short_min=rules.short_min,
                                 min_distinctive_tokens=rules.min_distinctive_tokens, common=common,
                                 max_problems_per_ngram=rules.max_problems_per_ngram, allow=rules.allow)

    @property
    def index(self) -> NgramIndex:
        self.setup()
        return self._index

    def find(self, text: str) -> list[Hit]:
        return self.index.find(text)

    def apply(self, record: FileRecord) -> FileRecord | Rejected:
        hits = self.find(record.content)
        if not hits:
            return record
        return Rejected(record=replace(record, meta={**record.meta, **hits_meta(hits)}), stage=STAGE,
                        reason=f"benchmark_{hits[0].benchmark}")

    __call__ = apply


def hits_meta(hits: list[Hit]) -> dict[str, str]:
    """The meta entries of a decontam rejection (read back by `hits_from_meta`)."""
    first = hits[0]
    more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
    return {"decontam_hits": json.dumps([[h.benchmark, h.problem_id, list(h.fields), h.count, h.match[:200]]
                                         for h in hits]),
            "detail": f"{first.benchmark} {first.problem_id} {'/'.join(first.fields)}: {first.match[:120]!r}{more}"}


def hits_from_meta(meta) -> list[Hit]:
    """The hits a decontam rejection's meta records."""
    raw = json.loads((meta or {}).get("decontam_hits", "[]"))
    return [Hit(benchmark=b, problem_id=p, fields=tuple(f), count=c, match=m) for b, p, f, c, m in raw]
