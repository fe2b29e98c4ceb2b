"""`decontam_report.json`: which files hit which benchmark problems.

A `DecontamReport` is a mergeable tally: counts add and the listed file ids and matches
are the smallest few (sorted), so `merge` is associative and commutative and a Beam
CombineFn (or any engine's reduce) gives the same report whatever the partitioning.

    {"files": 3,                                   # files dropped by decontam
     "max_listed": 100,
     "benchmarks": {"humaneval": {"files": 2,      # files hitting this benchmark
        "problems": {"HumanEval/0": {"files": 2, "fields": ["prompt", "solution"],
                                     "file_ids": ["...", "..."], "matches": ["from typing ..."],
                                     "coverage": 0.97}}}}}          # highest field coverage
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field

from stackpipe.decontam.index import STAGE, Hit, hits_from_meta, natural_key
from stackpipe.records import Rejected


def _smallest(a: tuple[str, ...], b: tuple[str, ...] | list[str], limit: int) -> tuple[str, ...]:
    return tuple(heapq.nsmallest(limit, set(a) | set(b)))


@dataclass
class ProblemTally:
    files: int = 0
    fields: frozenset[str] = frozenset()
    file_ids: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()
    coverage: float = 0.0  # the highest field coverage among the files


@dataclass
class DecontamReport:
    """Hits per benchmark and problem. `max_listed` bounds the file ids and the matches
    listed per problem (the counts are always exact)."""

    max_listed: int = 100
    files: int = 0
    benchmark_files: dict[str, int] = field(default_factory=dict)
    problems: dict[tuple[str, str], ProblemTally] = field(default_factory=dict)

    def add(self, file_id: str, hits: list[Hit]) -> "DecontamReport":
        """Count one dropped file and its hits (in place; returns self)."""
        if not hits:
            return self
        self.files += 1
        for benchmark in {h.benchmark for h in hits}:
            self.benchmark_files[benchmark] = self.benchmark_files.get(benchmark, 0) + 1
        for hit in hits:
            tally = self.problems.setdefault((hit.benchmark, hit.problem_id), ProblemTally())
            tally.files += 1
            tally.fields |= frozenset(hit.fields)
            tally.file_ids = _smallest(tally.file_ids, [file_id], self.max_listed)
            tally.matches = _smallest(tally.matches, [hit.match], 3)
            tally.coverage = max(tally.coverage, hit.coverage)
        return self

    def add_rejected(self, rejected: Rejected) -> "DecontamReport":
        """Count a rejection if the decontam stage made it (others are ignored)."""
        if rejected.stage == STAGE:
            self.add(rejected.record.id, hits_from_meta(rejected.record.meta))
        return self

    def merge(self, other: "DecontamReport") -> "DecontamReport":
        """Add `other`'s tallies into this report (in place; returns self)."""
        self.files += other.files
        for benchmark, count in other.benchmark_files.items():
            self.benchmark_files[benchmark] = self.benchmark_files.get(benchmark, 0) + count
        for key, theirs in other.problems.items():
            mine = self.problems.setdefault(key, ProblemTally())
            mine.files += theirs.files
            mine.fields |= theirs.fields
            mine.file_ids = _smallest(mine.file_ids, theirs.file_ids, self.max_listed)
            mine.matches = _smallest(mine.matches, theirs.matches, 3)
            mine.coverage = max(mine.coverage, theirs.coverage)
        return self

    @classmethod
    def merged(cls, reports, max_listed: int = 100) -> "DecontamReport":
        total = cls(max_listed=max_listed)
        for report in reports:
            total.merge(report)
        return total

    def to_json(self) -> dict:
        """The `decontam_report.json` structure, problems in natural order."""
        benchmarks: dict[str, dict] = {}
        for (benchmark, problem_id) in sorted(self.problems, key=lambda k: (k[0], natural_key(k[1]))):
            tally = self.problems[(benchmark, problem_id)]
            entry = benchmarks.setdefault(benchmark, {"files": self.benchmark_files.get(benchmark, 0), "problems": {}})
            entry["problems"][problem_id] = {"files": tally.files, "fields": sorted(tally.fields),
                                             "file_ids": list(tally.file_ids), "matches": list(tally.matches),
                                             "coverage": tally.coverage}
        return {"files": self.files, "max_listed": self.max_listed, "benchmarks": benchmarks}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"
