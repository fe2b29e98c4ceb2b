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
  code written independently and is never a hit;
- a code field with rare windows across two of its lines (two tokens or more on each
  side of a line break) is found only with one of those: one line of a solution, however
  rare, sits in other code in the file, and a copy holds its neighbours too.

The code stream is normalised (docstrings left out, `self.` dropped, `def`-defined names
one placeholder: stackpipe.decontam.tokens), a Python HumanEval solution carries its
prompt's code (signature, imports, helpers), its docstring is a prompt text of its own,
and every text of a field is an owner of its own (stackpipe.decontam.windows). A field
lighter than `min_weight` is a hit alone when found whole if it is a task in natural
language (an MBPP prompt) or code whose benchmark function name is in the file; other
light code also needs another field of its problem covered `support_min_coverage`
(Euclid's loop is HumanEval/13's whole solution).

Windows hash to 64 bits (a polynomial over the token hashes, vectorised over all windows
of a text). The index keeps the benchmark windows of positive weight as one sorted uint64
array with per-window weights and owners (problem, field); a file's windows are looked up
by their sums before salting and mixing (`tokens.window_sums`; the mixing is a bijection,
so the keys are inverted once instead), each stream among its own fields' keys, through a
table of top bits that answers almost every window of real code before any binary search;
a file where no field has the least weight any hit needs stops there. Built once per
worker (`Decontaminator.setup`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np

from stackpipe.decontam.benchmarks import REGISTRY, Problem, load_benchmarks
from stackpipe.decontam.tokens import salt_bits, streams, streams_many, unmix64, window_hashes, window_sums
from stackpipe.decontam.windows import (DocumentFrequency, benchmark_windows, field_stream, packaged_df_path,
                                        text_windows, window_salt)
from stackpipe.records import FileRecord, Rejected
from stackpipe.rules import DecontamRules

STAGE = "decontam"
_TABLE_BITS = 23  # per stream: 2^23 booleans = 8 MiB
_TOP = np.uint64(64 - _TABLE_BITS)
_NONE = np.zeros(0, dtype=np.int64)


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
        keys, owner_of, self.owners, crossing, self._prose, self._names = benchmark_windows(problems, n, word_n)
        # one entry per distinct (key, owner), crossing lines if any of its windows does
        order = np.lexsort((owner_of, keys))
        keys, owner_of, crossing = keys[order], owner_of[order], crossing[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = (keys[1:] != keys[:-1]) | (owner_of[1:] != owner_of[:-1])
        if len(keys):
            crossing = np.logical_or.reduceat(crossing, first.nonzero()[0])
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
        keys, owner_of, weight, crossing = keys[keep], owner_of[keep], weight[keep], crossing[keep]
        # A field with rare windows across two of its lines is not found by one line: a
        # line of a solution is a common piece of a program, its neighbours are what copies it.
        self._crossing = crossing  # per (key, owner) entry
        self._multiline = np.bincount(owner_of, weights=crossing, minlength=len(self.owners)) > 0
        # the table: distinct keys, each with its weight and a run of owners
        self.keys, self._first = np.unique(keys, return_index=True)
        self._stop = np.append(self._first[1:], len(keys))
        self._owners = owner_of
        self._weight = weight  # per (key, owner) entry
        # Per stream, its keys as window sums (tokens.window_sums: the window hashes before
        # their salt and mixing, a bijection), sorted, with a table of their top bits that
        # answers almost every window of real code before any binary search: a file's
        # windows are looked up without being salted and mixed, each stream only among the
        # keys of its own fields.
        code_owner = np.array([field_stream(b, f) == "code" for b, _, f in self.owners], dtype=bool)
        entry_code = code_owner[self._owners] if len(self._owners) else np.zeros(0, dtype=bool)
        self._streams = []
        for salt, wanted in ((window_salt("code", n), entry_code), (window_salt("word", word_n), ~entry_code)):
            mine = np.zeros(len(self.keys), dtype=bool)
            if len(self.keys):
                mine[np.repeat(np.arange(len(self.keys)), self._stop - self._first)[wanted]] = True
            index = mine.nonzero()[0]
            sums = unmix64(self.keys[index]) ^ salt_bits(salt)
            order = np.argsort(sums)
            table = np.zeros(1 << _TABLE_BITS, dtype=bool)
            table[(sums >> _TOP).astype(np.intp)] = True
            self._streams.append((sums[order], index[order], table))

    @property
    def nbytes(self) -> int:
        return (self.keys.nbytes + self._first.nbytes + self._stop.nbytes + self._owners.nbytes
                + self._weight.nbytes + self.total.nbytes
                + sum(s.nbytes + o.nbytes + t.nbytes for s, o, t in self._streams))

    def _found_keys(self, sums: np.ndarray, stream: int) -> np.ndarray:
        """Indices of the keys among the window sums `sums` of stream 0 (code) or 1 (word)."""
        keys, order, table = self._streams[stream]
        candidates = sums.compress(table.take((sums >> _TOP).view(np.int64)))
        if not len(candidates):
            return _NONE
        at = keys.searchsorted(candidates)
        at[at == len(keys)] = 0
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
        in_code = self._found_keys(window_sums(code, self.n), 0)
        in_words = self._found_keys(window_sums(words, self.word_n), 1)
        if not len(in_code) and not len(in_words):
            return _NONE
        return self._entries(np.unique(np.concatenate((in_code, in_words))))

    def coverage(self, text: str) -> dict[int, tuple[float, float, int, bool]]:
        """owner -> (found weight, coverage, distinct windows found, whether one across two
        of its lines is among them), for every owner with a match."""
        return self._covered(self.matched_entries(text), 0.0)

    def _covered(self, entries: np.ndarray, least: float) -> dict[int, tuple[float, float, int, bool]]:
        """`coverage` of the matched `entries`; empty when no owner has `least` weight found."""
        if not len(entries):
            return {}
        owners = self._owners[entries]
        found = np.bincount(owners, weights=self._weight[entries])
        if found.max() < least:
            return {}
        windows = np.bincount(owners)
        crossed = np.bincount(owners, weights=self._crossing[entries])
        out = {}
        for owner in windows.nonzero()[0].tolist():
            out[owner] = (float(found[owner]), float(found[owner] / self.total[owner]), int(windows[owner]),
                          bool(crossed[owner]))
        return out

    def least_hit_weight(self) -> float:
        """A lower bound of the weight found in a field that `is_hit` (the least of its
        cases): a text where no owner has that much is no hit, whatever its fields."""
        return max(0.0, min(self.min_weight, self.short_min_coverage * self.min_weight,
                            self.short_min_coverage * self.short_min_weight) - 1e-6)

    def is_hit(self, found: float, coverage: float, total: float, problem_found: float,
               support: float = 1.0, lines: bool = True, prose: bool = False, named: bool = False) -> bool:
        """The coverage rule for one field: `found` of its `total` weight (`coverage`),
        `problem_found` the weight found over all the problem's fields (each field's best
        text), `support` the best coverage of another field of the problem; `lines`: a
        window across two of the field's lines was found, or it has none of weight (one
        line of a solution, however rare, is no copy of it); `prose`: a field of natural
        language; `named`: a name the field's text defines is a word of the file."""
        if not lines:
            return False
        if total >= self.large_weight:
            return found >= self.min_weight - 1e-9 and coverage >= self.min_coverage
        if total >= self.min_weight:
            return coverage >= self.short_min_coverage
        if total < self.short_min_weight or coverage < self.short_min_coverage:
            return False
        # Lighter than min_weight: found whole, a problem statement (a few rare phrases of
        # it) or code under its benchmark's own function name is a copy; other code only
        # with another field of the problem (its prompt) largely there too: alone it
        # cannot be told from textbook code.
        if (prose or named) and coverage >= 1.0 - 1e-9:
            return True
        return problem_found >= self.min_weight - 1e-9 and support >= self.support_min_coverage

    def find(self, text: str) -> list[Hit]:
        """Every benchmark problem `text` covers enough of, by benchmark (registry order)
        and problem id."""
        return self._hits(text, self.matched_entries(text))

    def _hits(self, text: str, entries: np.ndarray) -> list[Hit]:
        """`find`, given the (key, owner) entries matched in `text` (by key)."""
        covered = self._covered(entries, self.least_hit_weight())
        words = None  # the file's word hashes, needed only for a light field found whole
        # per problem and field: the best found weight and coverage among the field's texts
        best: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
        for owner, (found, coverage, _, _) in covered.items():
            benchmark, problem_id, field_name = self.owners[owner]
            fields = best.setdefault((benchmark, problem_id), {})
            old = fields.get(field_name, (0.0, 0.0))
            fields[field_name] = (max(old[0], found), max(old[1], coverage))
        problems: dict[tuple[str, str], list] = {}
        for owner, (found, coverage, windows, crossed) in covered.items():
            benchmark, problem_id, field_name = self.owners[owner]
            fields = best[(benchmark, problem_id)]
            problem_found = sum(f for f, _ in fields.values())
            support = max((c for name, (_, c) in fields.items() if name != field_name), default=0.0)
            total = float(self.total[owner])
            named = False
            if total < self.min_weight and coverage >= 1.0 - 1e-9 and self._names[owner]:
                words = frozenset(streams(text)[1].tolist()) if words is None else words
                named = not self._names[owner].isdisjoint(words)
            if not self.is_hit(found, coverage, total, problem_found, support,
                               lines=crossed or not self._multiline[owner], prose=self._prose[owner], named=named):
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

    def find_many(self, texts: list[str]) -> list[list[Hit]]:
        """`find` of each of `texts`. Their streams and window lookups run as one set of
        array operations (a small file alone would pay each operation's fixed cost), and
        only a text where some field has the least weight a hit needs is looked at again,
        alone, by `find`: the answers are `find`'s."""
        out: list[list[Hit]] = [[] for _ in texts]
        if not texts or not len(self.keys):
            return out
        codes, code_bounds, words, word_bounds = streams_many(texts)
        code_files, code_keys = self._found_in_texts(codes, code_bounds, self.n, 0)
        word_files, word_keys = self._found_in_texts(words, word_bounds, self.word_n, 1)
        # each (text, key) once, then its (key, owner) entries and each (text, owner)'s weight
        pairs = np.unique(np.concatenate((code_files, word_files)) * len(self.keys)
                          + np.concatenate((code_keys, word_keys)))
        if not len(pairs):
            return out
        files, keys = pairs // len(self.keys), pairs % len(self.keys)
        entries = self._entries(keys)
        entry_files = np.repeat(files, self._stop[keys] - self._first[keys])
        text_owners, inverse = np.unique(entry_files * len(self.owners) + self._owners[entries], return_inverse=True)
        found = np.bincount(inverse, weights=self._weight[entries])
        # (a hair below `find`'s bound: a sum taken in another order may differ in its last bit)
        candidates = np.unique(text_owners[found >= self.least_hit_weight() - 1e-9] // len(self.owners))
        # each text's entries, by key as `matched_entries` gives them (the pairs are sorted)
        bounds = entry_files.searchsorted(np.stack((candidates, candidates + 1)))
        for i, start, stop in zip(candidates.tolist(), bounds[0].tolist(), bounds[1].tolist()):
            out[i] = self._hits(texts[i], entries[start:stop])
        return out

    def _found_in_texts(self, tokens: np.ndarray, bounds: np.ndarray, k: int, stream: int):
        """(text, key index) of each window of `k` tokens that lies inside one text
        (tokens[bounds[i]:bounds[i + 1]]) and is a key of `stream`."""
        sums = window_sums(tokens, k)
        keys, order, table = self._streams[stream]
        at = table.take((sums >> _TOP).view(np.int64)).nonzero()[0]
        if not len(at):
            return _NONE, _NONE
        text_of = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        at = at[text_of[at] == text_of[at + k - 1]]
        candidates = sums[at]
        where = keys.searchsorted(candidates)
        where[where == len(keys)] = 0
        hit = keys[where] == candidates
        return text_of[at[hit]], order[where[hit]]

    def match(self, text: str, owner: int, limit: int = 200) -> str:
        """The stretch of `text` from the first to the last window of `owner` found in it
        (at most `limit` characters)."""
        code, words, (code_start, code_end, word_start, word_end), raw = streams(text, positions=True)
        benchmark, _, field_name = self.owners[owner]
        if field_stream(benchmark, field_name) == "word":
            k, start, end = self.word_n, word_start, word_end
            h = window_hashes(words, k, window_salt("word", k))
        else:
            k, start, end = self.n, code_start, code_end
            h = window_hashes(code, k, window_salt("code", k))
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
        return _verdict(record, self.find(record.content))

    __call__ = apply

    def apply_many(self, records: list[FileRecord]) -> list[FileRecord | Rejected]:
        """`apply` of each record, their texts looked up together (`NgramIndex.find_many`)."""
        return [_verdict(r, hits) for r, hits in zip(records, self.index.find_many([r.content for r in records]))]


def _verdict(record: FileRecord, hits: list[Hit]) -> FileRecord | Rejected:
    if not hits:
        return record
    return Rejected(record=replace(record, meta={**record.meta, **hits_meta(hits)}), stage=STAGE,
                    reason=f"benchmark_{hits[0].benchmark}")


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
