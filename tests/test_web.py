"""CommonCrawl source: WARC reading, extraction, domains, URL dedup, the fastText classifier.

Pages are real: pydoc's documentation and source listings of this machine's standard
library (code-related) and the licence texts of its installed distributions and IDLE's
NEWS (not), written into WARC files with warcio.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from stackpipe.records import FileRecord, RawFile, Rejected
from stackpipe.rules import ClassifierRules, DomainRules, RulesError, load_rules
from stackpipe.web import samples
from stackpipe.web.classifier import ClassifierError, Page, evaluate, load_model, scores, train
from stackpipe.web.cli import held_out, load_pages, train_classifier_main
from stackpipe.web.extract import extract_page, html_text
from stackpipe.web.stages import split_url_duplicates, web_quality_rules
from stackpipe.web.urls import check_domain, normalize_url, registered_domain
from stackpipe.web.warc import read_warc

STDLIB = Path(sysconfig.get_paths()["stdlib"])
RULES = load_rules()


@pytest.fixture(scope="module")
def corpus():
    """(code pages, other pages) from this machine."""
    code = samples.pydoc_pages(30) + samples.source_pages(60)
    other = samples.license_pages(150) + samples.news_pages()
    return code, other


def as_pages(items: list[samples.SamplePage]) -> list[Page]:
    pages = []
    for item in items:
        raw = RawFile(source="commoncrawl", repo="", path=item.url, data=item.html.encode(),
                      meta={"content_type": "text/html; charset=utf-8"})
        record = extract_page(raw, RULES.web)
        pages.append(Page(item.url, "", record.content))
    return pages


@pytest.fixture(scope="module")
def split(corpus):
    """Train/test split (stable by URL, ~30% held out) of extracted pages."""
    code, other = (as_pages(items) for items in corpus)
    test = lambda pages: [p for p in pages if held_out(p, 0.3)]  # noqa: E731
    train_ = lambda pages: [p for p in pages if not held_out(p, 0.3)]  # noqa: E731
    return {"train": (train_(code), train_(other)), "test": (test(code), test(other))}


@pytest.fixture(scope="module")
def model_path(split, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "code.bin"
    train(*split["train"], RULES.web.classifier, str(path))
    return path


def read(path) -> list[RawFile | Rejected]:
    return list(read_warc(str(path), RULES.web))


def reasons(results) -> list[str]:
    return [r.reason for r in results if isinstance(r, Rejected)]


# --- extraction ----------------------------------------------------------------------


def test_extraction_keeps_code_blocks_with_indentation():
    page = samples.source_pages(None)[samples.STDLIB_MODULES.index("textwrap")]
    extracted = html_text(page.html)
    source = (STDLIB / "textwrap.py").read_text().splitlines()
    method = next(i for i, line in enumerate(source) if line.startswith("    def __init__"))
    assert "\n".join(source[method:method + 12]) in extracted.text  # twelve lines verbatim, indentation included
    assert extracted.code_blocks == extracted.code_kept == 1
    assert "All rights reserved" not in extracted.text  # the footer is boilerplate


def test_code_block_in_a_sidebar_is_left_out():
    """A listing in a sidebar is page furniture, like the sidebar's links: left out and counted."""
    code = "\n".join((STDLIB / "bisect.py").read_text().splitlines()[:40])
    body = "".join(f"<p>{'Some words about searching sorted lists. ' * 6}</p>" for _ in range(5))
    page = (f"<html><body><aside class='sidebar'><pre>{code.replace('<', '&lt;')}</pre></aside>"
            f"<main><article>{body}</article></main></body></html>")
    extracted = html_text(page)
    assert "def insort_right" not in extracted.text and "searching sorted lists" in extracted.text
    assert (extracted.code_blocks, extracted.code_kept) == (1, 0)


def test_pydoc_page_keeps_doctest_examples():
    page = samples.pydoc_pages(None, modules=("json",))[0]
    raw = RawFile(source="commoncrawl", repo="example-python.org", path=page.url, data=page.html.encode(),
                  meta={"content_type": "text/html"})
    record = extract_page(raw, RULES.web)
    assert ">>> import json" in record.content and "json.dumps" in record.content
    assert record.language == "Text" and record.license_type == "no_license"


def test_declared_charset_decodes_the_page():
    text = "Café, naïve, Zoë: résumé of the day. " * 20
    raw = RawFile(source="commoncrawl", repo="x.org", path="https://x.org/", meta={"content_type": "text/html; "
                  "charset=ISO-8859-1"}, data=f"<html><body><p>{text}</p></body></html>".encode("latin-1"))
    record = extract_page(raw, RULES.web)
    assert "Café, naïve, Zoë" in record.content and record.meta["encoding"] == "iso8859-1"


def test_page_without_text_is_rejected():
    raw = RawFile(source="commoncrawl", repo="x.org", path="https://x.org/", data=b"<html><body><script>x=1"
                  b"</script></body></html>", meta={"content_type": "text/html"})
    result = extract_page(raw, RULES.web)
    assert isinstance(result, Rejected) and (result.stage, result.reason) == ("extract", "empty_text")


# --- WARC reading --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pages.warc", "pages.warc.gz"])
def test_every_response_page_is_read(tmp_path, corpus, name):
    pages = corpus[0][:4] + corpus[1][:4]
    results = read(samples.write_warc(tmp_path / name, pages))
    assert [r.path for r in results] == [p.url for p in pages]  # request and warcinfo records are not pages
    assert all(isinstance(r, RawFile) and r.data == p.html.encode() for r, p in zip(results, pages))
    first = results[0]
    assert first.repo == "example-python.org" and first.meta["host"] == "docs.example-python.org"
    assert first.meta["warc_date"] == "2024-03-01T00:00:00Z" and first.meta["warc_record_id"].startswith("<urn:")


def records_of(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of each record of a WARC file, from warcio."""
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle)
        spans = []
        for _ in iterator:
            spans.append((iterator.get_record_offset(), iterator.get_record_length()))
    return spans


def test_corrupt_gzip_member_is_rejected_and_the_rest_is_read(tmp_path, corpus):
    pages = corpus[0][:3] + corpus[1][:3]
    path = samples.write_warc(tmp_path / "c.warc.gz", pages, requests=False)
    spans = records_of(path)
    offset, length = spans[3]  # the third page's response (record 0 is warcinfo)
    data = bytearray(path.read_bytes())
    data[offset + length // 2: offset + length // 2 + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))
    results = read(path)
    assert reasons(results) == ["warc_corrupt"]
    assert [r.path for r in results if isinstance(r, RawFile)] == [p.url for i, p in enumerate(pages) if i != 2]
    rejected = next(r for r in results if isinstance(r, Rejected))
    assert rejected.record.meta["detail"] and rejected.record.meta["warc_offset"] == str(offset)


def test_garbage_between_plain_records_is_rejected_and_the_rest_is_read(tmp_path, corpus):
    pages = corpus[0][:3] + corpus[1][:3]
    path = samples.write_warc(tmp_path / "g.warc", pages, requests=False)
    offset, _ = records_of(path)[4]
    data = path.read_bytes()
    path.write_bytes(data[:offset] + b"this is not a WARC record\r\n\r\n" * 3 + data[offset:])
    results = read(path)
    assert reasons(results) == ["warc_corrupt"]
    assert [r.path for r in results if isinstance(r, RawFile)] == [p.url for p in pages]


@pytest.mark.parametrize("name", ["t.warc", "t.warc.gz"])
def test_truncated_file_rejects_its_last_record(tmp_path, corpus, name):
    pages = corpus[0][:2] + corpus[1][:2]
    path = samples.write_warc(tmp_path / name, pages, requests=False)
    offset, length = records_of(path)[-1]
    path.write_bytes(path.read_bytes()[: offset + length // 2])
    results = read(path)
    assert reasons(results) == ["warc_truncated"]
    assert [r.path for r in results if isinstance(r, RawFile)] == [p.url for p in pages[:-1]]


def test_payload_not_matching_its_digest_is_rejected(tmp_path, corpus):
    pages = corpus[1][:3]
    path = samples.write_warc(tmp_path / "d.warc", pages, requests=False)
    data = bytearray(path.read_bytes())
    at = data.index(b"TERMS AND CONDITIONS") if b"TERMS AND CONDITIONS" in data else data.index(b"<p>", 2000)
    data[at] ^= 0x20  # same length, one letter's case flipped
    path.write_bytes(bytes(data))
    results = read(path)
    assert reasons(results) == ["warc_digest_mismatch"]
    assert sum(isinstance(r, RawFile) for r in results) == 2


def test_non_html_and_non_200_responses_are_rejected_with_reasons(tmp_path, corpus):
    from warcio.warcwriter import WARCWriter

    page = corpus[0][0]
    path = tmp_path / "mixed.warc.gz"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        when = samples.START
        writer.write_record(samples.response_record(writer, page, when))
        moved = samples.SamplePage("https://docs.example-python.org/old", "<html>moved</html>", False)
        writer.write_record(samples.response_record(writer, moved, when, status="301 Moved Permanently"))
        image = samples.SamplePage("https://docs.example-python.org/logo.png", "", False)
        writer.write_record(samples.response_record(writer, image, when, content_type="image/png",
                                                    payload=b"\x89PNG\r\n\x1a\n" + bytes(200)))
    results = read(path)
    assert [r.reason if isinstance(r, Rejected) else "page" for r in results] == ["page", "http_status", "not_html"]
    assert all(r.stage == "read" for r in results if isinstance(r, Rejected))


def test_remote_warc_is_streamed_over_http(tmp_path, corpus):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    pages = corpus[1][:3]
    samples.write_warc(tmp_path / "remote.warc.gz", pages)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        results = read(f"http://127.0.0.1:{server.server_port}/remote.warc.gz")
    finally:
        server.shutdown()
    assert [r.path for r in results if isinstance(r, RawFile)] == [p.url for p in pages]


def test_missing_warc_file_is_one_rejection(tmp_path):
    results = read(tmp_path / "nowhere.warc.gz")
    assert reasons(results) == ["warc_unreadable"]


# --- domains and URLs ----------------------------------------------------------------


def page_at(url: str, date: str = "2024-03-01T00:00:00Z", record_id: str = "<urn:uuid:1>") -> RawFile:
    from stackpipe.web.urls import host_of

    return RawFile(source="commoncrawl", repo=registered_domain(host_of(url)), path=normalize_url(url), data=b"",
                   meta={"host": host_of(url), "warc_date": date, "warc_record_id": record_id})


def test_deny_list_matches_subdomains_and_wins_over_allow():
    rules = DomainRules(allow=("python.org",), deny=("spam.python.org",))
    verdicts = [check_domain(page_at(u), rules) for u in
                ("https://docs.python.org/3/", "https://eggs.spam.python.org/", "https://notpython.org/")]
    assert [getattr(v, "reason", "keep") for v in verdicts] == ["keep", "domain_denied", "domain_not_allowed"]


def test_url_normalisation_and_registered_domain():
    assert normalize_url("HTTPS://Docs.Python.ORG:443/3/Library/?q=1#top") == "https://docs.python.org/3/Library/?q=1"
    assert normalize_url("http://example.com") == "http://example.com/"
    assert registered_domain("docs.python.org") == "python.org"
    assert registered_domain("user.github.io") == "user.github.io"  # a public suffix of its own
    assert registered_domain("127.0.0.1") == "127.0.0.1"


def test_url_dedup_keeps_the_newest_fetch():
    fetches = [page_at("https://a.org/x", "2023-01-01T00:00:00Z", "<urn:uuid:old>"),
               page_at("https://A.org/x#frag", "2024-06-01T00:00:00Z", "<urn:uuid:new>")]
    records = [extract_like(f) for f in fetches]
    kept, dropped = split_url_duplicates(records)
    assert kept.meta["warc_record_id"] == "<urn:uuid:new>"
    assert dropped.reason == "duplicate_url" and dropped.record.meta["duplicate_of"] == "<urn:uuid:new>"


def extract_like(raw: RawFile) -> FileRecord:
    return FileRecord(id=raw.id, repo=raw.repo, path=raw.path, language="Text", content="x", size_bytes=1,
                      source=raw.source, meta=raw.meta)


# --- classifier ----------------------------------------------------------------------


def test_classifier_separates_held_out_code_and_other_pages(split, model_path):
    model = load_model(str(model_path), RULES.web.classifier)
    code, other = split["test"]
    result = evaluate(model, code, other, RULES.web.classifier)
    print(f"held out: {len(code)} code, {len(other)} other pages; precision {result.precision:.3f}, "
          f"recall {result.recall:.3f}")
    assert len(code) >= 15 and len(other) >= 30
    assert result.precision >= 0.9 and result.recall >= 0.9


def test_training_is_deterministic(split, tmp_path):
    code, other = split["train"]
    paths = [tmp_path / "a.bin", tmp_path / "b.bin"]
    for path in paths:
        train(code[:20], other[:40], RULES.web.classifier, str(path))
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_model_without_the_configured_label_is_refused(model_path):
    rules = ClassifierRules(label="__label__math")
    with pytest.raises(ClassifierError, match=r"no label '__label__math'.*__label__code"):
        load_model(str(model_path), rules)


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(ClassifierError, match="nothing.bin"):
        load_model(str(tmp_path / "nothing.bin"), RULES.web.classifier)


def test_scores_are_probabilities_of_the_label(split, model_path):
    model = load_model(str(model_path), RULES.web.classifier)
    code, other = split["test"]
    values = scores(model, [code[0].text, other[0].text], RULES.web.classifier)
    assert 0.5 < values[0] <= 1.0 + 1e-6 and 0.0 <= values[1] < 0.5


def test_train_classifier_command_with_recall_rounds(tmp_path, corpus, capsys):
    """Seeds and crawl negatives train round 1; round 2 adds what it recalls from the pool."""
    code, other = corpus
    seeds = samples.write_warc(tmp_path / "seeds.warc.gz", code[0::2])
    negatives = samples.write_warc(tmp_path / "negatives.warc.gz", other[:60])
    crawl = samples.write_warc(tmp_path / "crawl.warc.gz", other[60:] + code[1::2][:20])
    output = tmp_path / "model" / "code.bin"
    assert train_classifier_main(["--positives", str(seeds), "--negatives", str(negatives), "--pool", str(crawl),
                                  "--output", str(output), "--rounds", "2", "--holdout", "0.2"]) == 0
    err = capsys.readouterr().err
    print(err)
    assert "round 2:" in err and "precision" in err
    first, second = (int(line.split(": ")[2].split()[0].replace(",", "")) for line in err.splitlines()
                     if "positives," in line)
    assert second > first  # recalled pool pages joined the seeds
    model = load_model(str(output), RULES.web.classifier)
    crawl_code = [p for p in load_pages([str(crawl)], RULES) if "example-other" not in p.id and
                  not p.id.startswith(("https://legal.", "https://news."))]
    recalled = sum(s >= 0.5 for s in scores(model, [p.text for p in crawl_code], RULES.web.classifier))
    assert len(crawl_code) == 20 and recalled >= 16


# --- rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("old, new, message", [
    ("threshold: 0.5", "treshold: 0.5", r"web\.yaml: unknown key 'classifier\.treshold'"),
    ("  deny: []", "  deny: [https://spam.example]", r"web\.yaml: key 'domains'.*'https://spam.example'"),
    ("language: Text", "language: Klingon", r"web\.yaml: key 'language'.*Klingon"),
    ("  min_chars: 200", "  min_charz: 200", r"web\.yaml: unknown key 'quality\.min_charz'"),
])
def test_web_rules_error_names_key_and_value(tmp_path, old, new, message):
    import shutil

    from stackpipe.rules import DEFAULT_RULES_DIR

    shutil.copytree(DEFAULT_RULES_DIR, tmp_path / "rules")
    path = tmp_path / "rules" / "web.yaml"
    original = path.read_text()
    assert old in original
    path.write_text(original.replace(old, new))
    with pytest.raises(RulesError, match=message):
        load_rules(tmp_path / "rules")


def test_web_quality_overrides_apply_to_web_pages_only():
    rules = web_quality_rules(RULES)
    assert rules.quality.for_language("Text").max_mean_line_length is None
    assert rules.quality.for_language("Python") == RULES.quality.for_language("Python")
    assert RULES.quality.for_language("Text").max_mean_line_length == 100
