"""Exact dedup: normalization and the deterministic keep policy."""

from dataclasses import replace

from stackpipe.dedup.exact import dedup_key, normalize_for_hash, split_duplicates
from stackpipe.dedup.policy import choose_representative
from stackpipe.records import FileRecord, Rejected, content_hash


def make(path, content="x = 1\n", **fields):
    base = dict(id=f"{hash(path) & 0xFFFFFFFF:032x}", repo="o/r", path=path, language="Python",
                content=content, size_bytes=len(content), source="github", content_hash=content_hash(content))
    base.update(fields)
    return FileRecord(**base)


def test_whitespace_variants_share_a_key():
    a = make("a.py", "def f():\n    return 1\n")
    b = make("b.py", "\n\ndef f():   \r\n    return 1\r\n\n")
    assert dedup_key(a) == dedup_key(b)


def test_different_code_has_different_keys():
    assert dedup_key(make("a.py", "x = 1\n")) != dedup_key(make("b.py", "x = 2\n"))


def test_normalization_keeps_leading_indentation():
    assert normalize_for_hash("  x\n") == "  x"


def test_permissive_license_wins_over_stars():
    permissive = make("a.py", license_type="permissive", stars=1, id="b" * 32)
    restricted = make("b.py", license_type="non_permissive", stars=1000, id="a" * 32)
    assert choose_representative([restricted, permissive]) is permissive


def test_more_stars_then_newer_revision_then_id():
    low = make("a.py", stars=3, id="0" * 32)
    high = make("b.py", stars=9, id="f" * 32)
    assert choose_representative([low, high]) is high
    old = make("c.py", stars=9, id="1" * 32, meta={"revision_date": "2020-01-01T00:00:00Z"})
    new = make("d.py", stars=9, id="2" * 32, meta={"revision_date": "2023-05-01T00:00:00+00:00"})
    assert choose_representative([old, new]) is new
    tie_a, tie_b = make("e.py", id="3" * 32), make("f.py", id="4" * 32)
    assert choose_representative([tie_b, tie_a]) is tie_a


def test_choice_does_not_depend_on_order():
    records = [make(f"{i}.py", id=f"{i:032x}", stars=i % 3) for i in range(10)]
    assert choose_representative(records) is choose_representative(list(reversed(records)))


def test_split_keeps_one_and_rejects_the_rest_with_the_winner_id():
    records = [make(f"{i}.py", id=f"{i:032x}") for i in range(4)]
    results = list(split_duplicates(records))
    kept = [r for r in results if isinstance(r, FileRecord)]
    dropped = [r for r in results if isinstance(r, Rejected)]
    assert [r.id for r in kept] == ["0" * 32]
    assert len(dropped) == 3
    assert all(r.reason == "exact_duplicate" and r.record.meta["duplicate_of"] == "0" * 32 for r in dropped)


def test_same_file_given_twice_is_kept_once():
    record = make("a.py")
    results = list(split_duplicates([record, replace(record)]))
    assert sum(isinstance(r, FileRecord) for r in results) == 1
