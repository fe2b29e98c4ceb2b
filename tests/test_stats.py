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
