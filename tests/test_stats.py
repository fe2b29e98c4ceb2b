"""stats.json assembly and the conservation check."""

from stackpipe.stats import conservation_errors, stats_document


def test_counts_are_grouped_by_stage_in_flow_order():
    counts = [
        (("quality", "input", ""), (3, 30)),
        (("quality", "kept", ""), (2, 20)),
        (("quality", "dropped", "max_line_length"), (1, 10)),
        (("read", "input", ""), (3, 30)),
        (("read", "kept", ""), (3, 30)),
    ]
    document = stats_document(counts, ["read", "quality"])
    assert list(document["stages"]) == ["read", "quality"]
    assert document["stages"]["quality"]["dropped"] == {"max_line_length": 1}
    assert document["input_files"] == 3 and document["documents"] == 2 and document["rejected"] == 1
    assert document["conservation"] is True


def test_imbalance_is_reported():
    stages = {"quality": {"input": 3, "kept": 1, "dropped": {"a": 1}}}
    assert conservation_errors(stages) == ["stage quality: input 3 != kept 1 + dropped 1"]


def test_stage_with_no_traffic_still_appears():
    document = stats_document([], ["read", "decode"])
    assert document["stages"]["decode"]["input"] == 0 and document["conservation"] is True


def _balanced(stage: str, kept: int, dropped: int) -> list:
    return [((stage, "input", ""), (kept + dropped, 0)), ((stage, "kept", ""), (kept, 0))] + (
        [((stage, "dropped", "r"), (dropped, 0))] if dropped else [])


def test_records_lost_between_chained_stages_break_conservation():
    counts = _balanced("read", 10, 0) + _balanced("quality", 8, 1) + _balanced("license", 7, 0)
    document = stats_document(counts, ["read", "quality", "license"], chained=True)
    assert document["conservation"] is False
    assert document["conservation_errors"] == [
        "stage quality: input 9 != kept 10 of stage read",
        "stage license: input 7 != kept 8 of stage quality",
    ]


def test_unchained_stages_are_only_checked_one_by_one():
    counts = _balanced("files", 10, 0) + _balanced("samples", 3, 0)
    assert stats_document(counts, ["files", "samples"])["conservation"] is True


def test_rows_written_must_match_the_counts():
    counts = _balanced("read", 10, 2)
    outputs = {"documents": [{"path": "part-00000-of-00001.parquet", "rows": 7}],
               "rejected": [{"path": "part-00000-of-00001.parquet", "rows": 2}]}
    document = stats_document(counts, ["read"], outputs=outputs)
    assert document["conservation"] is False
    assert document["conservation_errors"] == ["documents/: 7 rows written != 10 counted"]


def test_shuffled_bytes_are_listed_by_stage_and_step_not_counted_as_stages():
    counts = _balanced("read", 4, 0) + _balanced("exact_dedup", 3, 1) + [
        (("exact_dedup", "shuffled", "group"), (4, 400)),
        (("write", "shuffled", "rejected"), (1, 50)),
        (("write", "shuffled", "documents"), (3, 300)),
    ]
    document = stats_document(counts, ["read", "exact_dedup"], chained=True)
    assert list(document["stages"]) == ["read", "exact_dedup"] and document["documents"] == 3
    assert document["shuffled_bytes"] == {"exact_dedup": {"group": 400}, "write": {"documents": 300, "rejected": 50}}
    assert document["shuffled_bytes_total"] == 750 and document["conservation"] is True


def test_no_shuffle_counted_no_shuffled_bytes_key():
    assert "shuffled_bytes" not in stats_document(_balanced("read", 2, 0), ["read"])
