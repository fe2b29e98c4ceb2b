"""The two WARC readers (FastWARC with warcio's recovery, and warcio alone) give the same
pages and rejections on the same files: good, gzip per record, gzip as one stream, and
damaged ones (a broken gzip member, bytes that are no record, a cut file, a bad digest)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from stackpipe.records import RawFile, Rejected
from stackpipe.rules import load_rules
from stackpipe.web import samples
from stackpipe.web.warc import read_warc

from test_web import records_of

RULES = load_rules()


@pytest.fixture(scope="module")
def pages():
    return samples.source_pages(4) + samples.license_pages(3)


def summary(item: RawFile | Rejected) -> tuple:
    """What a reader says of a record; the wording of a rejection's detail may differ."""
    if isinstance(item, RawFile):
        return "page", item.path, item.data, item.meta
    meta = {k: v for k, v in item.record.meta.items() if k != "detail"}
    return item.reason, item.record.path, item.record.size_bytes, meta


def both(path: Path) -> tuple[list, list]:
    return ([summary(r) for r in read_warc(str(path), RULES.web, engine="fastwarc")],
            [summary(r) for r in read_warc(str(path), RULES.web, engine="warcio")])


def damage(path: Path, kind: str) -> Path:
    data = bytearray(path.read_bytes())
    if kind == "broken_member":
        offset, length = records_of(path)[3]
        data[offset + length // 2: offset + length // 2 + 64] = b"\x00" * 64
    elif kind == "garbage":
        offset, _ = records_of(path)[4]
        data[offset:offset] = b"this is not a WARC record\r\n\r\n" * 3
    elif kind == "cut":
        offset, length = records_of(path)[-1]
        del data[offset + length // 2:]
    elif kind == "digest":
        at = data.index(b"<p>", 2000)
        data[at] ^= 0x20
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("name", ["pages.warc", "pages.warc.gz"])
def test_readers_agree_on_a_good_file(tmp_path, pages, name):
    fast, slow = both(samples.write_warc(tmp_path / name, pages))
    assert fast == slow and [s[0] for s in fast] == ["page"] * len(pages)


def test_file_gzipped_as_one_stream_gives_the_plain_file_pages(tmp_path, pages):
    """FastWARC reads it like the plain file (warcio's recovery takes it for corrupt)."""
    plain = samples.write_warc(tmp_path / "pages.warc", pages)
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(plain.read_bytes()))
    fast = [summary(r) for r in read_warc(str(whole), RULES.web)]
    expected = [summary(r) for r in read_warc(str(plain), RULES.web)]
    assert [s[:3] for s in fast] == [s[:3] for s in expected] and len(fast) == len(pages)


@pytest.mark.parametrize("name, kind, reason", [
    ("b.warc.gz", "broken_member", "warc_corrupt"),
    ("g.warc", "garbage", "warc_corrupt"),
    ("c.warc", "cut", "warc_truncated"),
    ("c.warc.gz", "cut", "warc_truncated"),
    ("d.warc", "digest", "warc_digest_mismatch"),
])
def test_readers_agree_on_a_damaged_file(tmp_path, pages, name, kind, reason):
    """The bad record is one rejection with its reason; every other page is read."""
    path = damage(samples.write_warc(tmp_path / name, pages, requests=False), kind)
    fast, slow = both(path)
    assert fast == slow
    assert [s[0] for s in fast if s[0] != "page"] == [reason]
    assert sum(s[0] == "page" for s in fast) == len(pages) - (kind != "garbage")


def test_readers_agree_on_a_gzip_content_encoded_payload(tmp_path, pages):
    """Both give the page as the browser sees it, Content-Encoding undone."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    body = gzip.compress(pages[0].html.encode("utf-8"))
    path = tmp_path / "encoded.warc.gz"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                                           ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(pages[0].url, "response", payload=io.BytesIO(body),
                                                      http_headers=http))
    fast, slow = both(path)
    assert fast == slow and fast[0][2] == pages[0].html.encode("utf-8")


def test_unknown_reader_engine_is_named(tmp_path):
    with pytest.raises(ValueError, match="'warcreader'"):
        list(read_warc(str(tmp_path / "x.warc"), RULES.web, engine="warcreader"))
