"""Write sampled pages into a CommonCrawl-style WARC.gz (SPEC.md §3).

One `warcinfo` record, then per page a `request` and a `response` record as CommonCrawl
writes them: HTTP/1.1 200 with `Content-Type: text/html; charset=UTF-8` (or the page's
declared charset), `Content-Length`, a fixed `Date`, `WARC-Target-URI` set to the page's
URL, and warcio's block and payload digests. Records are written in the order given,
dates and record ids fixed, so the same pages give the same file.
"""

from __future__ import annotations

import re
import uuid
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from benchmarks.webpages.collect import Page

WARC_DATE = "2026-01-15T12:00:00Z"
HTTP_DATE = "Thu, 15 Jan 2026 12:00:00 GMT"
_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", re.I)


def charset_of(body: bytes) -> str:
    m = _CHARSET.search(body[:4096])
    return m.group(1).decode("ascii") if m else "UTF-8"


def _record_id(url: str, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, kind + ' ' + url)}>"


def write_warc(path: Path, pages: list[Page]) -> Path:
    """Write `pages` (read from disk now) to the WARC.gz at `path`; returns `path`."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        info = writer.create_warcinfo_record(path.name, {
            "software": "stackpipe benchmarks/webpages", "format": "WARC File Format 1.1",
            "description": "documentation pages of this machine for benchmarks/eval_web.py"})
        info.rec_headers.replace_header("WARC-Date", WARC_DATE)
        writer.write_record(info)
        for page in pages:
            body = page.path.read_bytes()
            host = page.url.split("/")[2]
            request = (f"GET /{page.url.split('/', 3)[3]} HTTP/1.1\r\nHost: {host}\r\n"
                       "User-Agent: CCBot/2.0 (https://commoncrawl.org/faq/)\r\n"
                       "Accept: text/html\r\n\r\n").encode()
            req = writer.create_warc_record(page.url, "request", payload=BytesIO(request),
                                            warc_headers_dict={"WARC-Date": WARC_DATE})
            http = StatusAndHeaders("200 OK", [
                ("Date", HTTP_DATE), ("Server", "nginx"),
                ("Content-Type", f"text/html; charset={charset_of(body)}"),
                ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            resp = writer.create_warc_record(page.url, "response", payload=BytesIO(body),
                                             http_headers=http,
                                             warc_headers_dict={"WARC-Date": WARC_DATE})
            for rec in (req, resp):
                kind = rec.rec_headers.get_header("WARC-Type")
                rec.rec_headers.replace_header("WARC-Record-ID", _record_id(page.url, kind))
            req.rec_headers.add_header("WARC-Concurrent-To", resp.rec_headers.get_header("WARC-Record-ID"))
            writer.write_record(req)
            writer.write_record(resp)
    return path
