"""MinHash signatures and LSH banding (stackpipe.dedup.minhash) and rules/dedup.yaml."""

import random
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from stackpipe.dedup.minhash import (
    MinHasher,
    band_keys,
    candidate_probability,
    estimated_jaccard,
    exact_jaccard,
    optimal_bands,
    recall_bands,
    shingle_hashes,
    token_hashes,
    tokens,
)
from stackpipe.beam.near_dedup import banding
from stackpipe.rules import DEFAULT_RULES_DIR, DedupRules, RulesError, load_rules

STDLIB = Path(sysconfig.get_paths()["stdlib"])
HASHER = MinHasher()


def mutated(text: str, rate: float, rng: random.Random) -> str:
    """`text` with about `rate` of its lines edited the way copies drift: an identifier
    renamed, a line dropped, or a line added."""
    lines = []
    for line in text.splitlines():
        roll = rng.random()
        if roll < rate / 3:
            continue
        if roll < 2 * rate / 3:
            line = line.replace("self", "this").replace("(", "(ctx, ", 1) + "  # edited"
        elif roll < rate:
            lines.append(f"log.debug('{rng.randrange(10**6)}')")
        lines.append(line)
    return "\n".join(lines)


def real_pairs() -> list[tuple[str, str]]:
    """Stdlib modules of 2-40 kB, each against copies of itself edited at 2%, 5% and 10%."""
    rng = random.Random(7)
    modules = [p for p in sorted(STDLIB.glob("*.py")) if 2_000 <= p.stat().st_size <= 40_000][:16]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in modules]
    return [(text, mutated(text, rate, rng)) for text in texts for rate in (0.02, 0.05, 0.1)]


# --- banding math --------------------------------------------------------------------


def test_optimal_banding_for_0_7_and_256_is_25_by_10():
    assert optimal_bands(0.7, 256) == (25, 10)


def test_candidate_probability_matches_the_reference_curve():
    assert [round(candidate_probability(s, 25, 10), 2) for s in (0.6, 0.7, 0.8)] == [0.14, 0.51, 0.94]


def test_banding_recall_follows_the_curve():
    """Pairs of random sets at Jaccard 0.6 and 0.8 share a band about as often as 1-(1-s^r)^b says."""
    rng = np.random.default_rng(3)
    for s, expected in ((0.6, 0.14), (0.8, 0.94)):
        hits = 0
        for _ in range(200):
            union = rng.integers(0, 2**63, 400, dtype=np.uint64)
            shared = round(s * 400)
            a = union[: shared + (400 - shared) // 2]
            b = np.concatenate([union[:shared], union[shared + (400 - shared) // 2 :]])
            keys_a, keys_b = band_keys(HASHER.signature(a), 25, 10), band_keys(HASHER.signature(b), 25, 10)
            hits += any(x == y for x, y in zip(keys_a, keys_b))
        assert abs(hits / 200 - expected) < 0.07


def test_default_banding_makes_99_percent_of_pairs_at_0_8_candidates():
    bands, rows = banding(load_rules().dedup)
    assert bands * rows <= 256 and candidate_probability(0.8, bands, rows) >= 0.99


def test_recall_banding_is_the_cheapest_that_keeps_the_miss_rate():
    """1% at 0.8 in 256 values: 26 x 8. Every other banding that keeps the promise makes
    more pairs below the 0.7 verification bar candidates (here: at 0.5 and at 0.6)."""
    assert recall_bands(0.8, 0.01, 256, 0.7) == (26, 8)
    rivals = [(b, r) for r in range(1, 257) for b in range(1, 256 // r + 1)
              if 1 - candidate_probability(0.8, b, r) <= 0.01 and (b, r) != (26, 8)]
    assert rivals and all(candidate_probability(s, b, r) > candidate_probability(s, 26, 8)
                          for b, r in rivals for s in (0.5, 0.6))


def test_max_miss_rate_null_takes_the_balanced_banding():
    assert banding(DedupRules(max_miss_rate=None)) == (25, 10)
    assert banding(DedupRules(bands=32, rows=8)) == (32, 8)


def test_default_banding_finds_planted_pairs_at_0_8():
    """300 pairs of random sets at Jaccard 0.8 (the recall bar): at least 97.5% share a band
    of the default banding (the curve says 0.992; 25 x 10 found 0.94)."""
    bands, rows = banding(load_rules().dedup)
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(300):
        union = rng.integers(0, 2**63, 450, dtype=np.uint64)  # 360 shared + 45 + 45: J = 0.8
        a, b = union[:405], np.concatenate([union[:360], union[405:]])
        keys_a, keys_b = band_keys(HASHER.signature(a), bands, rows), band_keys(HASHER.signature(b), bands, rows)
        hits += any(x == y for x, y in zip(keys_a, keys_b))
    assert hits / 300 >= 0.975


def test_band_keys_differ_across_bands():
    """Bands holding the same values still get different keys: the key carries the band index."""
    signature = np.tile(np.arange(10, dtype=np.uint32), 26)[:256]
    keys = band_keys(signature, 25, 10)
    assert len(keys) == 25 and len(set(keys)) == 25 and all(len(key) == 10 for key in keys)


# --- tokens, shingles, signatures -----------------------------------------------------


def test_tokens_split_on_non_alphanumerics():
    assert tokens("def f_1(x): return x+ü") == ["def", "f_1", "x", "return", "x", "ü"]


def test_token_hashes_identify_tokens():
    """Equal tokens hash equal and different tokens differ, long tokens included."""
    text = (STDLIB / "argparse.py").read_text(encoding="utf-8") + " " + "a" * 30 + " " + "a" * 31 + " " + "a" * 30
    words, hashes = tokens(text), token_hashes(text)
    assert len(words) == len(hashes)
    by_word = {}
    for word, value in zip(words, hashes.tolist()):
        by_word.setdefault(word, set()).add(value)
    assert all(len(values) == 1 for values in by_word.values())
    assert len({v for values in by_word.values() for v in values}) == len(by_word)


def test_signature_is_the_same_in_a_fresh_process():
    text = (STDLIB / "textwrap.py").read_text(encoding="utf-8")
    code = ("import sys; from stackpipe.dedup.minhash import MinHasher; "
            "sys.stdout.write(MinHasher().sign(sys.stdin.read()).tobytes().hex())")
    fresh = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, check=True)
    assert fresh.stdout == HASHER.sign(text).tobytes().hex()


def test_seed_changes_the_signature_not_the_shingles():
    text = "import os\nprint(os.getcwd())\n"
    assert not np.array_equal(MinHasher(seed=1).sign(text), MinHasher(seed=2).sign(text))
    assert np.array_equal(MinHasher(seed=1).shingle_hashes(text), MinHasher(seed=2).shingle_hashes(text))


def test_short_document_is_one_shingle_of_all_its_tokens():
    assert len(shingle_hashes("x = f(y)", 5)) == 1
    assert exact_jaccard(shingle_hashes("x = f(y)", 5), shingle_hashes("x=f( y )", 5)) == 1.0
    assert exact_jaccard(shingle_hashes("x = f(y)", 5), shingle_hashes("x = f(z)", 5)) == 0.0
    assert estimated_jaccard(HASHER.sign("x = f(y)"), HASHER.sign("x = f(y)\n")) == 1.0


def test_short_document_under_skip_has_no_signature():
    hasher = MinHasher(short_documents="skip")
    assert band_keys(hasher.sign("x = f(y)"), 25, 10) == []
    assert len(band_keys(hasher.sign("a b c d e"), 25, 10)) == 25


def test_document_without_tokens_is_never_a_near_duplicate():
    empty = HASHER.sign("  {}();\n")
    assert band_keys(empty, 25, 10) == []
    assert estimated_jaccard(empty, HASHER.sign("")) == 0.0
    assert exact_jaccard(shingle_hashes("{}"), shingle_hashes("()")) == 0.0


# --- accuracy against datasketch -------------------------------------------------------


def test_estimates_are_at_least_as_accurate_as_datasketch_on_real_pairs():
    """Stdlib modules against edited copies: our error to exact Jaccard is no larger than
    datasketch's (256 permutations, SHA-1), and the two estimates agree within the noise of
    two independent 256-value sketches."""
    datasketch = pytest.importorskip("datasketch")

    def peer(text):
        words = [t.encode() for t in tokens(text)]
        minhash = datasketch.MinHash(num_perm=256)
        minhash.update_batch({b" ".join(words[i:i + 5]) for i in range(len(words) - 4)})
        return minhash

    exact, ours, theirs = [], [], []
    for a, b in real_pairs():
        exact.append(exact_jaccard(shingle_hashes(a), shingle_hashes(b)))
        ours.append(estimated_jaccard(HASHER.sign(a), HASHER.sign(b)))
        theirs.append(peer(a).jaccard(peer(b)))
    exact, ours, theirs = map(np.array, (exact, ours, theirs))
    ours_error, their_error = np.abs(ours - exact).mean(), np.abs(theirs - exact).mean()
    print(f"mean |ΔJ| ours-exact {ours_error:.4f}, datasketch-exact {their_error:.4f}, "
          f"ours-datasketch {np.abs(ours - theirs).mean():.4f} over {len(exact)} pairs, mean J {exact.mean():.3f}")
    assert 0.5 < exact.mean() < 0.95
    assert ours_error <= their_error + 0.003
    assert np.abs(ours - theirs).mean() <= 0.03


# --- rules/dedup.yaml ----------------------------------------------------------------


def test_bundled_dedup_rules():
    rules = load_rules().dedup
    assert (rules.shingle_size, rules.num_perm, rules.threshold) == (5, 256, 0.7)
    assert (rules.bands, rules.rows) == (None, None) and rules.effective_verify_threshold == 0.7
    assert (rules.recall_similarity, rules.max_miss_rate) == (0.8, 0.01)


def test_banding_fields_are_range_checked():
    """Every numeric DedupRules field declares its range, so a bad value names its key."""
    import dataclasses
    numeric = [f for f in dataclasses.fields(DedupRules) if f.name not in ("verify_file_level", "short_documents")]
    assert {"recall_similarity", "max_miss_rate"} <= {f.name for f in numeric}
    assert all("range" in f.metadata for f in numeric)


@pytest.mark.parametrize("edits, message", [
    ({"bands: null": "bands: 25"}, r"dedup\.yaml: key '<top>'.*bands and rows are set together.*bands=25 rows=None"),
    ({"bands: null": "bands: 25", "rows: null": "rows: 11"}, r"dedup\.yaml: key '<top>'.*25 x 11.*num_perm 256"),
    ({"short_documents: whole": "short_document: whole"}, r"dedup\.yaml: unknown key 'short_document' \(value 'whole'\)"),
    ({"threshold: 0.7": "threshold: 1.5"}, r"dedup\.yaml: key 'threshold'.*1\.5"),
    ({"max_miss_rate: 0.01": "max_miss_rate: 0"}, r"dedup\.yaml: key 'max_miss_rate'.*within \(0, 1\)"),
    ({"recall_similarity: 0.8": "recall_similarity: 1.0"}, r"dedup\.yaml: key 'recall_similarity'.*within \(0, 1\)"),
    ({"recall_similarity: 0.8": "recall_similarity: 0.6"},
     r"dedup\.yaml: key '<top>'.*recall_similarity 0\.6 is below the verification threshold 0\.7"),
])
def test_bad_dedup_rules_name_file_key_and_value(tmp_path, edits, message):
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    path = target / "dedup.yaml"
    text = path.read_text()
    for old, new in edits.items():
        text = text.replace(old, new)
    path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_rules(target)
