"""Decontamination by coverage: which share of a benchmark problem a file holds.

A file is not dropped for any one n-gram it shares with a benchmark: `for i in
range(len(arr))` is in HumanEval and in half the code ever written. It is dropped for a
problem when it covers enough of that problem, measured per field (REFERENCE.md §7):

- every benchmark field is cut into windows of tokens (stackpipe.decontam.tokens.streams):
  `solution` and `tests` into windows of `n` code tokens (comments left out, so a copy
  with its comments removed or new ones added still matches), `prompt` (and GSM8K's prose
  answers) into windows of `word_n` words (comments and docstrings included: the problem
  text pasted as a docstring or a comment is found);
- each window weighs by how rare it is in real code: 1 for a window no file of the
  calibration corpus holds, falling with the number of files holding it (its document
  frequency, `ngram_df.npz`, measured once on this machine's standard library and
  site-packages by `benchmarks/decontam.py --write-df`) to 0 at `common_df` files;
  a window shared by more than `max_problems_per_ngram` problems of one benchmark is
  harness boilerplate and weighs nothing either;
- a field's coverage is the weight of its distinct windows found in the file over the
  weight of all of them. The file is dropped for the problem when a field has coverage
  >= `min_coverage` and the found weight is >= `min_weight` (several rare windows: one
  line of a solution, a function name with another body, or textbook code made of
  common windows is not enough). A short field whose whole weight is below
  `min_weight` (a two-line MBPP solution) needs `short_min_coverage` of it, and at
  least `short_min_weight`: a field made only of common code can never be told from
  code written independently and is never a hit.

The code stream is normalised (docstrings left out, `self.` dropped, `def`-defined names
one placeholder: stackpipe.decontam.tokens), a Python HumanEval solution carries its
signature, and every text of a field is an owner of its own (`field_texts`,
`benchmark_windows`). A field lighter than `min_weight` also needs another field of its
problem covered `support_min_coverage` (Euclid's loop is HumanEval/13's whole solution).

Windows hash to 64 bits (a polynomial over the token hashes, vectorised over all windows
of a text). The index keeps the benchmark windows of positive weight as one sorted uint64
array with per-window weights and owners (problem, field); a file's windows are looked up
by their sums before salting and mixing (`tokens.window_sums`; the mixing is a bijection,
so the keys are inverted once instead), through a table of top bits that answers almost
every window of real code before any binary search. Built once per worker
(`Decontaminator.setup`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from importlib import resources
from typing import Iterable

import numpy as np

from stackpipe.decontam.benchmarks import REGISTRY, Problem, load_benchmarks
from stackpipe.decontam.tokens import salt_bits, streams, unmix64, window_hashes, window_sums
from stackpipe.records import FileRecord, Rejected
from stackpipe.rules import DecontamRules

STAGE = "decontam"
DF_FILE = "ngram_df.npz"
_TABLE_BITS = 23  # per stream: 2^23 booleans = 8 MiB
_TOP = np.uint64(64 - _TABLE_BITS)


@dataclass(frozen=True)
class Hit:
    """A benchmark problem found in a text: the fields whose coverage made the hit, the
    number of distinct benchmark windows found, the first match (text of the file) and the
    best field coverage (share of the field's weight found)."""

    benchmark: str
    problem_id: str
    fields: tuple[str, ...]
    count: int
    match: str
    coverage: float = 1.0


def _salt(stream: str, k: int) -> int:
    return (1 if stream == "code" else 2) * 1000 + k


def field_stream(benchmark: str, field_name: str) -> str:
    """`word` for natural-language fields (prompts, GSM8K's answers), else `code`."""
    return "word" if field_name == "prompt" or benchmark == "gsm8k" else "code"


@dataclass(frozen=True)
class DocumentFrequency:
    """Number of calibration files holding each benchmark window (absent: none)."""

    keys: np.ndarray  # sorted uint64
    counts: np.ndarray  # uint32, parallel
    files: int
    n: int
    word_n: int

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(len(keys), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.counts[at], 0).astype(np.int64)

    def save(self, path) -> None:
        np.savez_compressed(path, keys=self.keys, counts=self.counts,
                            meta=np.array([self.files, self.n, self.word_n], dtype=np.int64))

    @classmethod
    def load(cls, path) -> "DocumentFrequency":
        with np.load(path) as data:
            files, n, word_n = (int(v) for v in data["meta"])
            return cls(keys=data["keys"], counts=data["counts"], files=files, n=n, word_n=word_n)

    @classmethod
    def empty(cls, n: int, word_n: int) -> "DocumentFrequency":
        return cls(keys=np.zeros(0, np.uint64), counts=np.zeros(0, np.uint32), files=0, n=n, word_n=word_n)


def packaged_df_path():
    return resources.files("stackpipe.decontam").joinpath(DF_FILE)


def text_windows(text: str, n: int, word_n: int) -> np.ndarray:
    """Every window hash of `text`: code windows of n tokens, word windows of word_n words."""
    code, words = streams(text)
    return np.concatenate((window_hashes(code, n, _salt("code", n)), window_hashes(words, word_n, _salt("word", word_n))))


def field_windows(benchmark: str, field_name: str, text: str, n: int, word_n: int) -> np.ndarray:
    code, words = streams(text)
    if field_stream(benchmark, field_name) == "word":
        return window_hashes(words, word_n, _salt("word", word_n))
    return window_hashes(code, n, _salt("code", n))


_DEF_LINE = re.compile(r"^[ \t]*def [^\n]*:[ \t]*$", re.M)


def field_texts(problem: Problem) -> dict[str, tuple[str, ...]]:
    """The texts looked for, by field: the problem's own, except that a Python HumanEval
    solution (a function body) is prefixed with its signature, the prompt's last `def`
    line, so a copy of the function without its docstring (renamed or not) is found by
    its code alone and a body's lone line is a smaller share of it."""
    fields = dict(problem.fields)
    python = problem.benchmark == "humaneval" or problem.problem_id.startswith("Python/")
    if python and "solution" in fields and fields.get("prompt"):
        signatures = _DEF_LINE.findall(fields["prompt"][0])
        if signatures:
            fields["solution"] = tuple(signatures[-1].strip() + "\n" + text for text in fields["solution"])
    return fields


def benchmark_windows(problems: Iterable[Problem], n: int, word_n: int):
    """(keys, owner per key, owners): the windows of every text of every field of every
    problem. Each text is an owner of its own (MBPP's two prompts, the full and the
    sanitized one, are two owners of the field `prompt`): its coverage is not diluted by
    the other's; identical window sequences (a CRLF copy) are one owner."""
    owners: list[tuple[str, str, str]] = []
    keys, owner_of = [], []
    for problem in problems:
        for field_name, texts in field_texts(problem).items():
            seen = set()
            for text in texts:
                h = field_windows(problem.benchmark, field_name, text, n, word_n)
                if not len(h) or h.tobytes() in seen:
                    continue
                seen.add(h.tobytes())
                owner = len(owners)
                owners.append((problem.benchmark, problem.problem_id, field_name))
                keys.append(h)
                owner_of.append(np.full(len(h), owner, dtype=np.int32))
    if not keys:
        return np.zeros(0, np.uint64), np.zeros(0, np.int32), owners
    return np.concatenate(keys), np.concatenate(owner_of), owners


def count_document_frequency(wanted: np.ndarray, texts: Iterable[str], n: int, word_n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(keys, counts, files): how many of `texts` hold each of the `wanted` window hashes
    (only those held by at least one text are returned)."""
    wanted = np.unique(wanted)
    counts = np.zeros(len(wanted), dtype=np.int64)
    files = 0
    for text in texts:
        files += 1
        h = np.unique(text_windows(text, n, word_n))
        at = np.minimum(np.searchsorted(wanted, h), max(len(wanted) - 1, 0))
        found = at[wanted[at] == h] if len(wanted) else at[:0]
        counts[found] += 1
    keep = counts > 0
    return wanted[keep], counts[keep].astype(np.uint32), files


class NgramIndex:
    """Benchmark windows of positive weight -> (weight, owners), and the coverage rule.

    Arguments are those of `DecontamRules`; `df` the document frequencies (None: every
    window counts as rare, weight 1).
    """

    def __init__(self, problems: Iterable[Problem], *, n: int = 8, word_n: int = 6,
                 df: DocumentFrequency | None = None, common_df: int = 8,
                 min_coverage: float = 0.5, min_weight: float = 4.0,
                 short_min_coverage: float = 0.75, short_min_weight: float = 1.5, large_weight: float = 25.0,
                 support_min_coverage: float = 0.5, max_problems_per_ngram: int | None = 10, allow: Iterable[str] = ()):
        self.n, self.word_n = n, word_n
        self.min_coverage, self.min_weight = min_coverage, min_weight
        self.short_min_coverage, self.short_min_weight = short_min_coverage, short_min_weight
        self.large_weight, self.support_min_coverage = large_weight, support_min_coverage
        problems = list(problems)
        keys, owner_of, self.owners = benchmark_windows(problems, n, word_n)
        # one entry per distinct (key, owner)
        order = np.lexsort((owner_of, keys))
        keys, owner_of = keys[order], owner_of[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = (keys[1:] != keys[:-1]) | (owner_of[1:] != owner_of[:-1])
        keys, owner_of = keys[first], owner_of[first]

        if df is None or (df.files and (df.n, df.word_n) != (n, word_n)):
            if df is not None:
                raise ValueError(f"document frequencies were measured for n={df.n}, word_n={df.word_n}, "
                                 f"not n={n}, word_n={word_n}: rebuild them (benchmarks/decontam.py --write-df)")
            df = DocumentFrequency.empty(n, word_n)
        counts = df.lookup(keys)
        weight = np.clip(1.0 - np.log1p(counts) / math.log1p(common_df), 0.0, 1.0)
        if max_problems_per_ngram is not None and len(keys):
            benchmark_number = {name: i for i, name in enumerate(REGISTRY)}
            owner_benchmark = np.array([benchmark_number[b] for b, _, _ in self.owners], dtype=np.int64)
            problem_number = {}
            owner_problem = np.array([problem_number.setdefault((b, p), len(problem_number))
                                      for b, p, _ in self.owners], dtype=np.int64)
            weight[_boilerplate(keys, owner_problem[owner_of], owner_benchmark[owner_of], max_problems_per_ngram)] = 0
        allowed = [text_windows(text, n, word_n) for text in allow]
        if allowed:
            weight[np.isin(keys, np.concatenate(allowed))] = 0
        self.total = np.bincount(owner_of, weights=weight, minlength=len(self.owners))
        keep = weight > 0
        keys, owner_of, weight = keys[keep], owner_of[keep], weight[keep]
        # the table: distinct keys, each with its weight and a run of owners
        self.keys, self._first = np.unique(keys, return_index=True)
        self._stop = np.append(self._first[1:], len(keys))
        self._owners = owner_of
        self._weight = weight  # per (key, owner) entry
        # Per stream, the keys as window sums (tokens.window_sums: the window hashes before
        # their salt and mixing, a bijection), sorted, with a table of their top bits that
        # answers almost every window of real code before any binary search: a file's
        # windows are looked up without being salted and mixed.
        self._streams = []
        for salt in (_salt("code", n), _salt("word", word_n)):
            sums = unmix64(self.keys) ^ salt_bits(salt)
            order = np.argsort(sums).astype(np.int32)
            table = np.zeros(1 << _TABLE_BITS, dtype=bool)
            table[(sums >> _TOP).astype(np.intp)] = True
            self._streams.append((sums[order], order, table))

    @property
    def nbytes(self) -> int:
        return (self.keys.nbytes + self._first.nbytes + self._stop.nbytes + self._owners.nbytes
                + self._weight.nbytes + self.total.nbytes
                + sum(s.nbytes + o.nbytes + t.nbytes for s, o, t in self._streams))

    def _found_keys(self, sums: np.ndarray, stream: int) -> np.ndarray:
        """Indices of the keys among the window sums `sums` of stream 0 (code) or 1 (word)."""
        keys, order, table = self._streams[stream]
        candidates = sums[table[(sums >> _TOP).view(np.int64)]]
        if not len(candidates) or not len(keys):
            return np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, candidates), len(keys) - 1)
        return order[at[keys[at] == candidates]]

    def _entries(self, found: np.ndarray) -> np.ndarray:
        """Indices of the (key, owner) entries of the keys `found` (sorted, distinct)."""
        if not len(found):
            return np.zeros(0, dtype=np.int64)
        first, stop = self._first[found], self._stop[found]
        lengths = stop - first
        return np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))

    def _matched_entries(self, hashes: np.ndarray) -> np.ndarray:
        """Indices of the (key, owner) entries whose key is among the window hashes `hashes`
        (the plain lookup: `coverage` finds the same entries from the window sums)."""
        candidates = np.unique(hashes)
        if not len(candidates) or not len(self.keys):
            return np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, candidates), len(self.keys) - 1)
        return self._entries(at[self.keys[at] == candidates])

    def matched_entries(self, text: str) -> np.ndarray:
        """Indices of the (key, owner) entries whose key is a window of `text`, by key."""
        code, words = streams(text)
        found = (self._found_keys(window_sums(code, self.n), 0), self._found_keys(window_sums(words, self.word_n), 1))
        return self._entries(np.unique(np.concatenate(found)))

    def coverage(self, text: str) -> dict[int, tuple[float, float, int]]:
        """owner -> (found weight, coverage, distinct windows found), for every owner with a match."""
        entries = self.matched_entries(text)
        if not len(entries):
            return {}
        owners = self._owners[entries]
        found = np.bincount(owners, weights=self._weight[entries])
        windows = np.bincount(owners)
        out = {}
        for owner in np.flatnonzero(windows).tolist():
            out[owner] = (float(found[owner]), float(found[owner] / self.total[owner]), int(windows[owner]))
        return out

    def is_hit(self, found: float, coverage: float, total: float, problem_found: float,
               support: float = 1.0) -> bool:
        """The coverage rule for one field: `found` of its `total` weight (`coverage`),
        `problem_found` the weight found over all the problem's fields (each field's best
        text), `support` the best coverage of another field of the problem."""
        if total >= self.large_weight:
            return found >= self.min_weight - 1e-9 and coverage >= self.min_coverage
        if total >= self.min_weight:
            return coverage >= self.short_min_coverage
        # lighter than min_weight: only with another field of the problem (its prompt)
        # largely there too; alone it cannot be told from textbook code
        return (total >= self.short_min_weight and coverage >= self.short_min_coverage
                and problem_found >= self.min_weight - 1e-9 and support >= self.support_min_coverage)

    def find(self, text: str) -> list[Hit]:
        """Every benchmark problem `text` covers enough of, by benchmark (registry order)
        and problem id."""
        covered = self.coverage(text)
        # per problem and field: the best found weight and coverage among the field's texts
        best: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
        for owner, (found, coverage, _) in covered.items():
            benchmark, problem_id, field_name = self.owners[owner]
            fields = best.setdefault((benchmark, problem_id), {})
            old = fields.get(field_name, (0.0, 0.0))
            fields[field_name] = (max(old[0], found), max(old[1], coverage))
        problems: dict[tuple[str, str], list] = {}
        for owner, (found, coverage, windows) in covered.items():
            benchmark, problem_id, field_name = self.owners[owner]
            fields = best[(benchmark, problem_id)]
            problem_found = sum(f for f, _ in fields.values())
            support = max((c for name, (_, c) in fields.items() if name != field_name), default=0.0)
            if not self.is_hit(found, coverage, float(self.total[owner]), problem_found, support):
                continue
            entry = problems.setdefault((benchmark, problem_id), [[], 0, 0.0, owner])
            if field_name not in entry[0]:
                entry[0].append(field_name)
            entry[1] += windows
            if coverage > entry[2]:
                entry[2], entry[3] = coverage, owner
        if not problems:
            return []
        rank = {name: i for i, name in enumerate(REGISTRY)}
        hits = [Hit(benchmark=b, problem_id=p, fields=tuple(sorted(f)), count=c, match=self.match(text, o),
                    coverage=round(min(cov, 1.0), 3))
                for (b, p), (f, c, cov, o) in problems.items()]
        return sorted(hits, key=lambda hit: (rank[hit.benchmark], natural_key(hit.problem_id)))

    def match(self, text: str, owner: int, limit: int = 200) -> str:
        """The stretch of `text` from the first to the last window of `owner` found in it
        (at most `limit` characters)."""
        code, words, (code_start, code_end, word_start, word_end), raw = streams(text, positions=True)
        benchmark, _, field_name = self.owners[owner]
        if field_stream(benchmark, field_name) == "word":
            k, h, start, end = self.word_n, window_hashes(words, self.word_n, _salt("word", self.word_n)), word_start, word_end
        else:
            k, h, start, end = self.n, window_hashes(code, self.n, _salt("code", self.n)), code_start, code_end
        at = np.minimum(np.searchsorted(self.keys, h), max(len(self.keys) - 1, 0))
        hit = np.flatnonzero(self.keys[at] == h) if len(self.keys) else at[:0]
        hit = [i for i in hit.tolist() if owner in self._owners[self._first[at[i]]:self._stop[at[i]]]]
        if not hit:
            return ""
        span = raw[start[hit[0]]:end[hit[-1] + k - 1]].decode("utf-8", "replace")
        return " ".join(span.split())[:limit]


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
    """decontam: drop a file that covers enough of a benchmark problem (REFERENCE.md §7).

    A picklable stage: the index is built by `setup()` (or on first use), once per
    worker, and is never pickled. `apply(record)` returns the record, or
    `Rejected(stage="decontam", reason="benchmark_<name>")` naming the first benchmark
    (registry order) it hits; the rejected record's meta holds `decontam_hits` (JSON: a
    list of [benchmark, problem_id, fields, windows, match, coverage]) and a readable
    `detail`. `problems` replaces the rules' benchmark files (tests, callers with their own data).
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
        df = DocumentFrequency.load(rules.df_file if rules.df_file is not None else packaged_df_path())
        problems = self._problems if self._problems is not None else load_benchmarks(rules)
        self._index = NgramIndex(problems, n=rules.n, word_n=rules.word_n, df=df, common_df=rules.common_df,
                                 min_coverage=rules.min_coverage, min_weight=rules.min_weight,
                                 short_min_coverage=rules.short_min_coverage, short_min_weight=rules.short_min_weight,
                                 large_weight=rules.large_weight, support_min_coverage=rules.support_min_coverage,
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
    return {"decontam_hits": json.dumps([[h.benchmark, h.problem_id, list(h.fields), h.count, h.match[:200], h.coverage]
                                         for h in hits]),
            "detail": f"{first.benchmark} {first.problem_id} {'/'.join(first.fields)} coverage {first.coverage:.0%}: "
                      f"{first.match[:120]!r}{more}"}


def hits_from_meta(meta) -> list[Hit]:
    """The hits a decontam rejection's meta records (older records have no coverage)."""
    raw = json.loads((meta or {}).get("decontam_hits", "[]"))
    return [Hit(benchmark=h[0], problem_id=h[1], fields=tuple(h[2]), count=h[3], match=h[4],
                coverage=h[5] if len(h) > 5 else 1.0) for h in raw]
