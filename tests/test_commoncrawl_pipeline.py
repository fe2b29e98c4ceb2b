"""`stackpipe curate --source commoncrawl` end to end: WARC files of real pages, bad records
mixed in, a classifier trained on other pages; the output read by `stackpipe dedup`."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from warcio.warcwriter import WARCWriter

from pipelines import commoncrawl
from stackpipe.records import FILE_SCHEMA, REJECTED_SCHEMA, RawFile
from stackpipe.rules import load_rules
from stackpipe.web import samples
from stackpipe.web.classifier import Page, train
from stackpipe.web.extract import extract_page
from stdlib_corpus import copy_rules

from test_web import records_of


def extracted(items) -> list[Page]:
    rules = load_rules()
    pages = []
    for item in items:
        raw = RawFile(source="commoncrawl", repo="", path=item.url, data=item.html.encode(),
                      meta={"content_type": "text/html"})
        pages.append(Page(item.url, "", extract_page(raw, rules.web).content))
    return pages


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """Two WARC files (gzip and plain), a model trained on other pages, and a rules copy
    that denies one domain."""
    root = tmp_path_factory.mktemp("crawl")
    code = samples.pydoc_pages(30) + samples.source_pages(60)
    other = samples.license_pages(120)
    model = root / "code.bin"
    train(extracted(code[:20] + code[30:65]), extracted(other[:80]), load_rules().web.classifier, str(model))

    crawled_code, crawled_other = code[20:30] + code[65:80], other[80:110]
    denied = samples.SamplePage("https://www.denied-example.com/page", crawled_code[0].html, True)
    first = crawled_code[:12] + crawled_other[:15]
    (root / "warcs").mkdir()
    path_a = samples.write_warc(root / "warcs" / "a.warc.gz", first)
    # A second fetch of a page, later, a redirect and an image appended as gzip members.
    with path_a.open("ab") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(samples.response_record(writer, crawled_code[3], samples.START.replace(year=2025)))
        writer.write_record(samples.response_record(writer, samples.SamplePage(
            "https://docs.example-python.org/old", "<html>moved</html>", False), samples.START,
            status="301 Moved Permanently"))
        writer.write_record(samples.response_record(writer, samples.SamplePage(
            "https://docs.example-python.org/logo.png", "", False), samples.START, content_type="image/png",
            payload=b"\x89PNG\r\n\x1a\n" + bytes(300)))
    path_b = samples.write_warc(root / "warcs" / "b.warc", crawled_code[12:] + crawled_other[15:] + [denied],
                                requests=False)
    offset, _ = records_of(path_b)[3]  # bytes that are no record, between two records
    data = path_b.read_bytes()
    path_b.write_bytes(data[:offset] + b"HTTP/1.1 200 OK\r\nnot a WARC record\r\n\r\n" * 4 + data[offset:])
    rules = copy_rules(root / "rules")
    web = rules / "web.yaml"
    web.write_text(web.read_text().replace("  deny: []", "  deny: [denied-example.com]"))
    return {"warcs": root / "warcs", "model": model, "rules": rules, "code": len(crawled_code),
            "other": len(crawled_other)}


@pytest.fixture(scope="module")
def curated(crawl, tmp_path_factory):
    output = tmp_path_factory.mktemp("out")
    stats = commoncrawl.run(["--input", str(crawl["warcs"]), "--output", str(output), "--rules", str(crawl["rules"]),
                             "--model", str(crawl["model"]), "--no-progress"])
    return output, stats


def test_every_stage_conserves_records(curated):
    _, stats = curated
    assert stats["conservation"]
    assert list(stats["stages"]) == list(commoncrawl.STAGES)
    for name, stage in stats["stages"].items():
        assert stage["input"] == stage["kept"] + sum(stage["dropped"].values()), name


def test_bad_records_are_rejected_with_reasons(curated, crawl):
    _, stats = curated
    stages = stats["stages"]
    assert stages["read"]["dropped"] == {"http_status": 1, "not_html": 1, "warc_corrupt": 1}
    # every response of both files is an input of read: pages, the refetch, the redirect and the image
    assert stages["read"]["input"] == crawl["code"] + crawl["other"] + 1 + 1 + 3
    assert stages["domain"]["dropped"] == {"domain_denied": 1}
    assert stages["url_dedup"]["dropped"] == {"duplicate_url": 1}


def test_classifier_keeps_code_pages_and_drops_the_others(curated, crawl):
    output, stats = curated
    classify = stats["stages"]["classify"]
    print(f"classify: input {classify['input']}, kept {classify['kept']}, dropped {classify['dropped']}")
    documents = pq.read_table(output / "documents").to_pylist()
    licences = [d for d in documents if d["path"].startswith("https://legal.")]
    code = [d for d in documents if not d["path"].startswith("https://legal.")]
    assert len(licences) <= 2 and len(code) >= crawl["code"] - 3  # one code page is fetched twice
    assert classify["dropped"]["low_score"] >= crawl["other"] - 2


def test_documents_are_curate_style_records(curated):
    output, _ = curated
    table = pq.read_table(output / "documents")
    assert table.schema.equals(FILE_SCHEMA)
    row = next(r for r in table.to_pylist() if r["path"].endswith("/textwrap.py") or "/library/" in r["path"])
    meta = json.loads(row["meta"])
    assert row["source"] == "commoncrawl" and row["language"] == "Text" and row["license_type"] == "no_license"
    assert row["repo"] in ("example-python.org", "example-hub.com")
    assert {"warc_record_id", "warc_date", "classifier_score", "url"} <= set(meta)
    rejected = pq.read_table(output / "rejected")
    assert rejected.schema.equals(REJECTED_SCHEMA)
    assert {"warc_corrupt", "duplicate_url", "low_score", "domain_denied"} <= set(rejected.column("reason").to_pylist())
    assert (output / "decontam_report.json").is_file()


def test_dedup_reads_the_output(curated, crawl, tmp_path):
    from pipelines import dedup

    output, stats = curated
    result = dedup.run(["--input", str(output), "--output", str(tmp_path / "dedup"), "--rules", str(crawl["rules"])])
    assert result["conservation"] and result["input_files"] == stats["documents"]


def test_no_classifier_keeps_pages_unclassified(crawl, tmp_path):
    stats = commoncrawl.run(["--input", str(crawl["warcs"] / "b.warc"), "--output", str(tmp_path),
                             "--rules", str(crawl["rules"]), "--no-classifier", "--no-progress"])
    assert "classify" not in stats["stages"] and stats["conservation"]
    documents = pq.read_table(tmp_path / "documents").to_pylist()
    assert any(d["path"].startswith("https://legal.") for d in documents)


def test_model_or_no_classifier_is_required(crawl, tmp_path, capsys):
    with pytest.raises(SystemExit):
        commoncrawl.run(["--input", str(crawl["warcs"]), "--output", str(tmp_path)])
    assert "--model" in capsys.readouterr().err


def test_input_without_warc_files_is_named(tmp_path):
    from stackpipe.sources.units import SourceError

    (tmp_path / "notes.txt").write_text("no crawl here")
    with pytest.raises(SourceError, match="holds no WARC files"):
        commoncrawl.run(["--input", str(tmp_path), "--output", str(tmp_path / "out"), "--no-classifier"])
