"""dedup.yaml: MinHash-LSH near-deduplication."""

from __future__ import annotations

from dataclasses import dataclass

from stackpipe.rules.loader import Checked, fraction, one_of, ranged


@dataclass(frozen=True, kw_only=True)
class DedupRules(Checked):
    """MinHash-LSH near-deduplication (REFERENCE.md §5).

    `bands` and `rows` left `None` are chosen for recall: the banding within `num_perm`
    values under which a pair of Jaccard `recall_similarity` fails to share a band with
    probability at most `max_miss_rate`, with the fewest false positives below the
    verification threshold among those (`stackpipe.dedup.minhash.recall_bands`: 26 x 8
    for 1% at 0.8, 256 values, 0.7); exact-Jaccard verification removes the extra
    candidates. `recall_similarity` is at least the verification threshold (a promise
    below it only adds candidates that verification refutes). `max_miss_rate` `None` takes
    the classic balanced optimum for `threshold` instead
    (`stackpipe.dedup.minhash.optimal_bands`: 25 x 10, 6% missed at 0.8); set `bands` and
    `rows` both to fix the banding. `verify_threshold` `None` means `threshold`. `short_documents`:
    `whole` makes a document with fewer tokens than `shingle_size` one shingle of all its
    tokens; `skip` gives it no signature, so it is never a near-duplicate.
    """

    shingle_size: int = ranged(5, 1, 64)
    num_perm: int = ranged(256, 1, 65536)
    threshold: float = ranged(0.7, 0, 1, open_low=True, open_high=True)
    bands: int | None = ranged(None, 1)
    rows: int | None = ranged(None, 1)
    seed: int = ranged(42, 0, 2**64, open_high=True)
    verify_file_level: bool = True
    verify_threshold: float | None = fraction(None)
    recall_similarity: float = ranged(0.8, 0, 1, open_low=True, open_high=True)
    max_miss_rate: float | None = ranged(0.01, 0, 1, open_low=True, open_high=True)
    short_documents: str = "whole"

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.bands is None) != (self.rows is None):
            raise ValueError(f"bands and rows are set together or both null, got bands={self.bands} rows={self.rows}")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows ({self.bands} x {self.rows}) must fit in num_perm {self.num_perm}")
        if self.recall_similarity < self.effective_verify_threshold:
            raise ValueError(f"recall_similarity {self.recall_similarity} is below the verification threshold "
                             f"{self.effective_verify_threshold}: pairs there are refuted anyway")
        one_of("short_documents", self.short_documents, ("whole", "skip"))

    @property
    def effective_verify_threshold(self) -> float:
        """The exact-Jaccard bar a candidate pair must reach to count as near-duplicates."""
        return self.threshold if self.verify_threshold is None else self.verify_threshold
