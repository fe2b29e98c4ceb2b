"""Character-level fill-in-the-middle (REFERENCE.md §8).

A FIM sample is a list of segments: `int` items are sentinel ids placed on purpose,
`str` items are document text still to be encoded (and numpy arrays, text already
encoded). Keeping text and sentinels apart
until encoding is what guarantees that a sentinel id never comes from document text.

PSM: PRE prefix SUF suffix MID middle [END]
SPM: PRE SUF suffix MID prefix middle [END]   (the bigcode Megatron variant)

Every random draw comes from a generator seeded by (seed, record id, purpose). The
result therefore never depends on worker count, bundle order or which other documents
exist.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Mapping, Union

import numpy as np

Segment = Union[int, str, np.ndarray]
FIM_MODES = ("none", "psm", "spm")


@dataclass(frozen=True)
class FimIds:
    """Sentinel ids of one tokenizer; `end` closes the middle where the family has one."""

    prefix: int
    suffix: int
    middle: int
    end: int | None = None

    @classmethod
    def from_special_ids(cls, special_ids: Mapping[str, int]) -> FimIds | None:
        """The FIM sentinels of a role -> id table, or None when the family has none."""
        if not all(role in special_ids for role in ("fim_prefix", "fim_suffix", "fim_middle")):
            return None
        return cls(special_ids["fim_prefix"], special_ids["fim_suffix"], special_ids["fim_middle"],
                   special_ids.get("fim_end"))


def seeded_rng(seed: int, *keys: str) -> random.Random:
    """A generator that depends only on `seed` and `keys` (stable across processes)."""
    digest = hashlib.sha256("\x1f".join([str(seed), *keys]).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def draw_mode(rng: random.Random, rate: float, spm_rate: float) -> str:
    """`none` with probability 1 - rate, else `spm` with probability spm_rate, else `psm`."""
    if rate <= 0 or rng.random() >= rate:
        return "none"
    return "spm" if rng.random() < spm_rate else "psm"


def draw_cuts(rng: random.Random, length: int) -> tuple[int, int]:
    """Two cut points drawn uniformly in [0, length], in order."""
    first, second = rng.randint(0, length), rng.randint(0, length)
    return (first, second) if first <= second else (second, first)


def fim_segments(text: str, mode: str, cuts: tuple[int, int], ids: FimIds) -> list[Segment]:
    """`text` as a FIM sample in `mode` ('psm' or 'spm'), cut at `cuts`."""
    low, high = cuts
    if not 0 <= low <= high <= len(text):
        raise ValueError(f"cuts {cuts} do not fit a text of {len(text)} characters")
    prefix, middle, suffix = text[:low], text[low:high], text[high:]
    if mode == "psm":
        segments: list[Segment] = [ids.prefix, prefix, ids.suffix, suffix, ids.middle, middle]
    elif mode == "spm":
        segments = [ids.prefix, ids.suffix, suffix, ids.middle, prefix, middle]
    else:
        raise ValueError(f"FIM mode {mode!r} is not psm or spm")
    if ids.end is not None:
        segments.append(ids.end)
    return [s for s in segments if s != ""]


def transform(text: str, rng: random.Random, rate: float, spm_rate: float, ids: FimIds | None,
              mode: str | None = None) -> tuple[list[Segment], str]:
    """Draw whether and how to transform `text` (unless `mode` is given); returns its
    segments and the mode. The cut points always come from `rng`."""
    if ids is None:
        mode = "none"
    elif mode is None:
        mode = draw_mode(rng, rate, spm_rate)
    if mode == "none":
        return ([text] if text else []), mode
    return fim_segments(text, mode, draw_cuts(rng, len(text)), ids), mode
