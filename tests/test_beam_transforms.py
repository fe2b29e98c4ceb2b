"""The jobs as composite transforms (CurateFiles, NearDedup, PackFiles, TokenizeShards),
applied directly in a TestPipeline, and the bytes their grouping steps shuffle."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.commoncrawl import CurateWarcs
from pipelines.curate import CurateFiles
from pipelines.dedup import NearDedup
from pipelines.pack import PackFiles
from pipelines.shards import TokenizeShards
from stackpipe.beam.counting import MeasureShuffle
from stackpipe.beam.dedup import DropExactDuplicates
from stackpipe.records import FileRecord, content_hash, record_id
from stackpipe.rules import load_rules
from stackpipe.sources import plan_inputs

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def pipeline() -> beam.Pipeline:
    return BeamTestPipeline(runner=FnApiRunner())


def record(repo: str, path: str, content: str) -> FileRecord:
    return FileRecord(id=record_id("github", repo, path), repo=repo, path=path, language="Python", content=content,
                      size_bytes=len(content.encode()), source="github", content_hash=content_hash(content))


def summed(stats):
    """Stats pairs -> (key, (files, bytes)) summed over bundles."""
    return stats | "Sum" >> beam.CombinePerKey(lambda pairs: tuple(map(sum, zip(*pairs))))


def test_measure_shuffle_sums_the_encoded_size_of_what_it_sees():
    """The size is the PCollection's coder's (here a typed tuple's), as the runner encodes it."""
    elements = [("k", "x" * 100), ("k", "y" * 10), ("j", "")]
    coder = beam.coders.registry.get_coder(beam.typehints.Tuple[str, str])  # the PCollection's own coder
    expected = sum(coder.estimate_size(e) for e in elements)
    with pipeline() as p:
        measured = p | beam.Create(elements) | MeasureShuffle("exact_dedup", "group")
        assert_that(summed(measured), equal_to([(("exact_dedup", "shuffled", "group"), (3, expected))]))


def test_shuffle_names_must_be_snake_case():
    with pytest.raises(ValueError, match="snake_case"):
        MeasureShuffle("Exact Dedup", "group")


def test_exact_dedup_stats_carry_its_group_shuffle():
    records = [record("o/a", "a.py", "x = 1\n"), record("o/b", "b.py", "x = 1\n"), record("o/a", "c.py", "y = 2\n")]
    with pipeline() as p:
        result = p | beam.Create(records) | DropExactDuplicates()
        counts = summed(result["stats"]) | "Files" >> beam.Map(lambda kv: (kv[0], kv[1][0]))
        assert_that(counts, equal_to([(("exact_dedup", "input", ""), 3), (("exact_dedup", "kept", ""), 2),
                                      (("exact_dedup", "dropped", "exact_duplicate"), 1),
                                      (("exact_dedup", "shuffled", "group"), 3)]))


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def stdlib_files(package: str, limit: int) -> list[FileRecord]:
    paths = sorted((STDLIB / package).glob("*.py"))[:limit]
    return [record(f"python/{package}", p.name, p.read_text(encoding="utf-8")) for p in paths]


def _one_repository(counts, name):
    assert [repo for repo, _ in counts] == [name] and counts[0][1] > 0, counts


def test_curate_files_keeps_real_code_and_reports_its_shuffles(rules, tmp_path):
    units = plan_inputs([f"{STDLIB / 'json'}?layout=repo"], rules.sources)
    with pipeline() as p:
        result = p | CurateFiles(units, rules, str(tmp_path), shard_bytes=10**6)
        kept = result["documents"] | beam.Map(lambda r: r.repo) | beam.combiners.Count.PerElement()
        assert_that(result["stats"] | beam.Map(lambda s: (s["conservation"], sorted(s["shuffled_bytes"]))),
                    equal_to([(True, ["exact_dedup", "license", "read", "write"])]), label="stats")
        assert_that(kept, lambda counts: _one_repository(counts, "json"), label="documents")
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["documents"] > 0 and stats["stages"]["read"]["input"] > stats["documents"] / 2
    assert stats["shuffled_bytes"]["write"]["documents"] >= stats["stages"]["exact_dedup"]["kept_bytes"]
    assert stats["shuffled_bytes_total"] == sum(sum(s.values()) for s in stats["shuffled_bytes"].values())


def test_curate_warcs_keeps_code_pages_and_reports_its_shuffles(rules, tmp_path):
    from stackpipe.web import samples

    warc = samples.write_warc(tmp_path / "crawl.warc.gz", samples.pydoc_pages(6) + samples.license_pages(4))
    with pipeline() as p:
        result = p | CurateWarcs([str(warc)], rules, str(tmp_path / "out"), shard_bytes=10**6, model_path=None)
        assert_that(result["stats"] | beam.Map(lambda s: (s["input_files"], s["conservation"],
                                                          sorted(s["shuffled_bytes"]))),
                    equal_to([(10, True, ["exact_dedup", "read", "url_dedup", "write"])]), label="stats")
    assert (tmp_path / "out" / "stats.json").exists()


def test_near_dedup_drops_a_near_copy_and_writes_its_outputs(rules, tmp_path):
    files = stdlib_files("json", 4)
    copy = record("someone/fork", files[1].path, files[1].content + "\n# a fork\n")
    with pipeline() as p:
        result = (p | beam.Create(files + [copy])
                  | NearDedup(rules, str(tmp_path), level="file", verify=True, packed=False, shard_bytes=10**6))
        assert_that(result["documents"] | beam.combiners.Count.Globally(), equal_to([4]), label="documents")
        assert_that(result["stats"] | beam.Map(lambda s: (s["stages"]["near_dedup"]["dropped"], s["conservation"])),
                    equal_to([({"near_duplicate": 1}, True)]), label="stats")
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert {"buckets", "join_records", "verify_texts"} <= set(stats["shuffled_bytes"]["near_dedup"])
    assert list((tmp_path / "clusters").glob("part-*.parquet"))


def test_near_dedup_refuses_an_unknown_level(rules, tmp_path):
    with pytest.raises(ValueError, match="'dir'"):
        NearDedup(rules, str(tmp_path), level="dir", verify=False, packed=False, shard_bytes=10**6)


def test_pack_files_makes_one_sample_per_small_repository(rules, tmp_path):
    files = stdlib_files("json", 3) + stdlib_files("html", 2)
    with pipeline() as p:
        result = p | beam.Create(files) | PackFiles(rules, str(tmp_path), shard_bytes=10**6, materialize=False)
        assert_that(result["documents"] | beam.Map(lambda s: (s.repo, len(s.files))),
                    equal_to([("python/json", 3), ("python/html", 2)]), label="samples")
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["stages"]["pack"]["kept"] == 5 and stats["conservation"]
    assert stats["shuffled_bytes"]["pack"]["group"] > sum(f.size_bytes for f in files)
    assert "documents" not in stats["shuffled_bytes"].get("write", {})  # not materialized: nothing written
    assert not (tmp_path / "documents").exists()


def test_tokenize_shards_from_records_writes_shards_and_manifest(rules, tmp_path):
    from stackpipe.tokens.samples import SampleSettings
    from stackpipe.tokens.tokenizer import bind_family, train_byte_level_bpe

    files = stdlib_files("json", 4)
    family = rules.fim.family("starcoder")
    text = train_byte_level_bpe([f.content for f in files], family, 1024, min_frequency=2, length=len(files)).to_str()
    bound = bind_family(text, "starcoder", family, source="test")
    settings = SampleSettings(family=family, special_ids=bound.special_ids, seed=1, fim=True, max_tokens=2048)
    with pipeline() as p:
        manifest = p | beam.Create(files) | TokenizeShards(bound, settings, str(tmp_path), family_name="starcoder",
                                                            input_uri="memory", shard_bytes=10**6, from_records=True)
        assert_that(manifest | beam.Map(lambda m: m["totals"]["input_documents"]), equal_to([4]))
    assert json.loads((tmp_path / "manifest.json").read_text())["totals"]["rows"] >= 4
