"""Reading WARC files (plain or per-record gzip, as CommonCrawl ships them).

FastWARC (from resiliparse) reads the records, several times faster than warcio; at the
first bytes it cannot parse, warcio takes over from the record where that happened and
does the recovery below, so a bad file gives the same pages and rejections with either
(`engine="warcio"` reads the whole file with warcio; ARC files always are). FastWARC
checks the payload digest only (warcio also the block digest, which covers the HTTP
headers too). A file gzipped as one stream rather than per record is read whole by
FastWARC; warcio's recovery cannot find records inside it.

`read_warc(uri, rules)` streams one file (local, s3://, gs://, https://: through
`stackpipe.sources.storage.open_raw`), record by record, never holding more than one
payload in memory. It yields a `RawFile` for every HTML response page and a `Rejected`
(stage "read") for every other response and for every stretch of the file it cannot
read, then goes on with the rest of the file:

- `http_status`: the HTTP status is not in `read.statuses` (redirects, errors);
- `not_html`: neither Content-Type nor WARC-Identified-Payload-Type is an HTML type;
- `too_large`: a payload above `read.max_html_bytes` (not read);
- `warc_truncated`: a payload shorter than its Content-Length, a record CommonCrawl
  marked `WARC-Truncated`, or a file that ends inside a record;
- `warc_digest_mismatch`: the payload does not match its WARC digest;
- `warc_corrupt`: bytes warcio cannot parse (bad headers, a broken gzip member). The
  reader then looks for the next record start (a gzip member header in a .gz file,
  a `WARC/1.` line otherwise) and carries on from there.

Only `response` records are pages: warcinfo, request, metadata and revisit records
describe a fetch and are not counted as inputs of the read stage. A file that cannot be
opened is one `warc_unreadable` rejection; an I/O error midway (the store, not the
data) is raised, so the runner retries the file.
"""

from __future__ import annotations

import io
from typing import IO, Iterator

from fastwarc.warc import ArchiveIterator as FastIterator
from fastwarc.warc import WarcRecordType
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader, ChunkedDataReader, DecompressingBufferedReader

from stackpipe.records import RawFile, Rejected, source_rejection
from stackpipe.rules import WarcReadRules, WebRules
from stackpipe.sources.storage import open_raw
from stackpipe.web.urls import host_of, normalize_url, registered_domain

SOURCE = "commoncrawl"
STAGE = "read"
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
ARC_SUFFIXES = (".arc", ".arc.gz")
ENGINES = ("fastwarc", "warcio")
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/1."
SCAN_CHUNK = 1 << 20


def is_warc_name(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


def read_warc(uri: str, rules: WebRules, engine: str = "fastwarc") -> Iterator[RawFile | Rejected]:
    """Every response record of the WARC file at `uri` as a page or a rejection, read by
    `engine` ("fastwarc", or "warcio" alone)."""
    if engine not in ENGINES:
        raise ValueError(f"WARC reader engine {engine!r} is not one of {', '.join(ENGINES)}")
    try:
        handle = open_raw(uri)
    except Exception as error:  # missing file, no permission, unreachable store: one rejection
        bad = {"offset": 0, "detail": f"cannot open: {type(error).__name__}: {error}", "fields": None}
        yield _stretch_rejection(uri, bad, 0, "warc_unreadable")
        return
    with handle:
        if engine == "warcio" or uri.lower().endswith(ARC_SUFFIXES):
            yield from _read_stream(handle, uri, rules.read)
        else:
            yield from _read_fast(handle, uri, rules.read)


def _read_fast(handle: IO[bytes], uri: str, rules: WarcReadRules) -> Iterator[RawFile | Rejected]:
    """FastWARC over the file; from a record it cannot read on, warcio's reader."""
    done = -1  # offset of the last record handled
    current = -1  # offset of the record being handled, while it is
    try:
        for record in FastIterator(handle, parse_http=True, auto_decode="none"):
            current = record.stream_pos
            if record.record_type == WarcRecordType.response:
                described = _describe_fast(record, uri, current)
                page = _fast_page(record, described, rules)
                current, done = -1, described["offset"]
                yield page
            else:
                current, done = -1, record.stream_pos
    except Exception:  # FastWARC raises OSError or ValueError for bad bytes: warcio says what they are
        if current >= 0:
            yield from _read_stream(handle, uri, rules, begin=current, after=current - 1)
        else:
            yield from _read_stream(handle, uri, rules, begin=max(done, 0), after=done)


def _describe_fast(record, uri: str, offset: int) -> dict:
    """`_describe` for a FastWARC record."""
    headers = record.headers
    target = headers.get("WARC-Target-URI") or ""
    url = normalize_url(target)
    host = host_of(url)
    http = record.http_headers if record.is_http else None
    status = http.status_code if http is not None else None
    meta = {
        "url": target,
        "host": host,
        "warc_record_id": headers.get("WARC-Record-ID") or "",
        "warc_date": headers.get("WARC-Date") or "",
        "revision_date": headers.get("WARC-Date") or "",
        "warc_file": uri,
        "warc_offset": str(offset),
        "content_type": (http.get("Content-Type") if http is not None else "") or "",
        "http_status": str(status) if status is not None else "",
    }
    length = headers.get("Content-Length") or "0"
    return {"source": SOURCE, "repo": registered_domain(host), "path": url, "stage": STAGE,
            "size_bytes": int(length) if length.isdigit() else 0, "meta": meta, "offset": offset}


def _fast_page(record, described: dict, rules: WarcReadRules) -> RawFile | Rejected:
    """`_page` for a FastWARC record: the same checks in the same order."""
    fields = {k: v for k, v in described.items() if k != "offset"}
    meta, length = fields["meta"], fields["size_bytes"]
    identified = record.headers.get("WARC-Identified-Payload-Type") or ""
    rejection = _header_checks(meta, identified, length, record.headers.get("WARC-Truncated"), rules)
    if rejection is not None:
        return source_rejection(**fields, **rejection)
    expected = record.content_length  # the payload's bytes, HTTP headers read (verifying changes it)
    digest_ok = (record.verify_payload_digest() if rules.verify_digests and record.headers.get("WARC-Payload-Digest")
                 else True)
    raw = _read_up_to(record.reader, max(expected, rules.max_html_bytes + 1))
    if len(raw) < expected:
        return source_rejection(reason="warc_truncated", detail=f"record ends {expected - len(raw)} bytes short "
                                f"of its Content-Length {length}", **fields)
    data = _decoded(raw, record.http_headers if record.is_http else None, rules.max_html_bytes + 1)
    if len(data) > rules.max_html_bytes:
        return source_rejection(reason="too_large", detail=f"payload inflates past {rules.max_html_bytes} bytes",
                                **fields)
    if not digest_ok:
        return source_rejection(reason="warc_digest_mismatch", detail="payload digest mismatch", **fields)
    return RawFile(source=SOURCE, repo=fields["repo"], path=fields["path"], data=data, license_type="no_license",
                   meta=meta)


def _decoded(raw: bytes, http, limit: int) -> bytes:
    """The payload with its Transfer-Encoding and Content-Encoding undone, as warcio's
    `content_stream` does (an unknown encoding is left as it is)."""
    if http is None:
        return raw[:limit]
    encoding = (http.get("Content-Encoding") or "").lower() or None
    if encoding not in BufferedReader.get_supported_decompressors():
        encoding = None
    if http.get("Transfer-Encoding") == "chunked":
        return _read_up_to(ChunkedDataReader(io.BytesIO(raw), decomp_type=encoding), limit)
    if encoding:
        return _read_up_to(BufferedReader(io.BytesIO(raw), decomp_type=encoding), limit)
    return raw[:limit]


class _StrictReader(DecompressingBufferedReader):
    """warcio's reader, except that a gzip member that stops inflating midway raises
    (warcio writes the zlib error to stderr and ends the record early, which would hide
    a corrupt member as a short one)."""

    def _decompress(self, data):
        if self.decompressor is not None and data and self.num_block_read:
            return self.decompressor.decompress(data)
        return super()._decompress(data)


class _Records(ArchiveIterator):
    def __init__(self, handle: IO[bytes], check_digests: bool):
        super().__init__(handle, check_digests=check_digests)
        self.reader = _StrictReader(self.fh, block_size=self.reader.block_size)


def _read_stream(handle: IO[bytes], uri: str, rules: WarcReadRules, begin: int = 0,
                 after: int = -1) -> Iterator[RawFile | Rejected]:
    """warcio from offset `begin` on; records at or before offset `after` were read
    already and are passed over."""
    handle.seek(0)
    compressed = handle.read(2) == GZIP_MAGIC[:2]
    size = handle.seek(0, 2)
    position = begin
    bad: dict | None = None  # an unreadable stretch not reported yet: offset, detail, what is known of it
    while position < size:
        handle.seek(position)
        records = _Records(handle, rules.verify_digests)
        started = False
        current: dict | None = None
        try:
            for record in records:
                start = records.offset
                if bad is not None:  # parsing resumed: report what was skipped
                    yield _stretch_rejection(uri, bad, start, "warc_corrupt")
                    bad = None
                started, current = True, None
                if record.rec_type == "response" and start > after:  # `start`: this record's offset
                    current = _describe(record, uri, start)
                    yield _page(record, current, rules)
            end = records.offset if started else position
        except OSError:
            raise  # the store failed, not the data: let the runner retry the file
        except Exception as error:  # warcio raises many types for bad bytes; each one is recorded
            failed_at = records.offset if started else position
            if bad is None:
                bad = {"offset": failed_at, "detail": f"{type(error).__name__}: {str(error).strip()[:200]}",
                       "fields": current if current is not None and current["offset"] == failed_at else None}
            # always forward: warcio's offsets inside a file gzipped as one stream are no file offsets
            position = _next_record_start(handle, max(failed_at, position) + 1, size, compressed)
            continue
        finally:
            records.close()
        if _only_blank(handle, end, size):
            break
        # warcio stops quietly at a record it cannot start (a file cut inside a gzip member)
        if bad is None:
            bad = {"offset": end, "detail": "unreadable bytes after the last record", "fields": None}
        position = _next_record_start(handle, max(end, position) + 1, size, compressed)
    if bad is not None:
        yield _stretch_rejection(uri, bad, size, "warc_truncated")


def _describe(record, uri: str, offset: int) -> dict:
    """What the headers of a response record say: URL, domain, WARC ids and HTTP fields."""
    headers = record.rec_headers
    target = headers.get_header("WARC-Target-URI") or ""
    url = normalize_url(target)
    host = host_of(url)
    http = record.http_headers
    meta = {
        "url": target,
        "host": host,
        "warc_record_id": headers.get_header("WARC-Record-ID") or "",
        "warc_date": headers.get_header("WARC-Date") or "",
        "revision_date": headers.get_header("WARC-Date") or "",  # the dedup keep policy prefers newer pages
        "warc_file": uri,
        "warc_offset": str(offset),
        "content_type": (http.get_header("Content-Type") if http else "") or "",
        "http_status": (http.get_statuscode() if http else "") or "",
    }
    return {"source": SOURCE, "repo": registered_domain(host), "path": url, "stage": STAGE,
            "size_bytes": record.length or 0, "meta": meta, "offset": offset}


def _page(record, described: dict, rules: WarcReadRules) -> RawFile | Rejected:
    """One response record -> its HTML page, or why not."""
    fields = {k: v for k, v in described.items() if k != "offset"}
    meta, length = fields["meta"], fields["size_bytes"]
    identified = record.rec_headers.get_header("WARC-Identified-Payload-Type") or ""
    rejection = _header_checks(meta, identified, length, record.rec_headers.get_header("WARC-Truncated"), rules)
    if rejection is not None:
        return source_rejection(**fields, **rejection)
    data = _read_up_to(record.content_stream(), rules.max_html_bytes + 1)
    if len(data) > rules.max_html_bytes:  # a small record whose Content-Encoding inflates past the bound
        return source_rejection(reason="too_large", detail=f"payload inflates past {rules.max_html_bytes} bytes",
                                **fields)
    while record.raw_stream.read(SCAN_CHUNK):  # bytes after the decoded payload: completes the digest
        pass
    missing = getattr(record.raw_stream, "limit", 0)
    if missing:
        return source_rejection(reason="warc_truncated", detail=f"record ends {missing} bytes short of its "
                                f"Content-Length {length}", **fields)
    if record.digest_checker.passed is False:
        return source_rejection(reason="warc_digest_mismatch", detail="; ".join(record.digest_checker.problems),
                                **fields)
    return RawFile(source=SOURCE, repo=fields["repo"], path=fields["path"], data=data, license_type="no_license",
                   meta=meta)


def _header_checks(meta: dict, identified: str, length: int, truncated: str | None,
                   rules: WarcReadRules) -> dict | None:
    """The reason and detail of a response record rejected on its headers alone."""
    status = meta["http_status"]
    if not status.isdigit() or int(status) not in rules.statuses:
        return {"reason": "http_status", "detail": f"HTTP status {status or 'missing'}"}
    content_type = meta["content_type"]
    if not any(_media_type(t) in rules.content_types for t in (content_type, identified) if t):
        return {"reason": "not_html", "detail": f"content type {content_type or identified or 'missing'!r}"}
    if length > rules.max_html_bytes:
        return {"reason": "too_large", "detail": f"record of {length} bytes > {rules.max_html_bytes}"}
    if truncated:
        return {"reason": "warc_truncated", "detail": f"WARC-Truncated: {truncated}"}
    return None


def _read_up_to(stream, limit: int) -> bytes:
    """Up to `limit` bytes, reading until the stream ends (one read may return fewer)."""
    parts, total = [], 0
    while total < limit:
        part = stream.read(min(SCAN_CHUNK, limit - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _stretch_rejection(uri: str, bad: dict, until: int, reason: str) -> Rejected:
    """A rejection for bytes from `bad["offset"]` to `until` that are no readable record;
    named by the record's URL when its headers were read, else by the file and offset."""
    length = max(until - bad["offset"], 0)
    detail = f"{bad['detail']}; the file ends inside this record" if reason == "warc_truncated" else bad["detail"]
    fields = bad["fields"]
    if fields is not None:
        return source_rejection(**{k: v for k, v in fields.items() if k not in ("offset", "size_bytes")},
                                reason=reason, detail=detail, size_bytes=length)
    return source_rejection(source=SOURCE, repo="", path=f"{uri}#offset={bad['offset']}", stage=STAGE,
                            reason=reason, size_bytes=length, detail=detail,
                            meta={"warc_file": uri, "warc_offset": str(bad["offset"])})


def _next_record_start(handle: IO[bytes], position: int, size: int, compressed: bool) -> int:
    """Offset of the next possible record start at or after `position` (a gzip member
    header, or `WARC/1.` at the start of a line); `size` when there is none."""
    magic = GZIP_MAGIC if compressed else WARC_MAGIC
    base = max(position - 1, 0)  # one byte before, for the start-of-line test
    handle.seek(base)
    window = b""
    while base < size:
        chunk = handle.read(SCAN_CHUNK)
        if not chunk:
            break
        window += chunk
        at = window.find(magic)
        while at >= 0:
            offset = base + at
            if offset >= position and (compressed or offset == 0 or window[at - 1:at] == b"\n"):
                return offset
            at = window.find(magic, at + 1)
        keep = len(magic)  # a magic split across reads, and the byte before it
        base += len(window) - keep
        window = window[-keep:]
    return size


def _only_blank(handle: IO[bytes], position: int, size: int) -> bool:
    """Whether the bytes from `position` to the end are only line breaks (or nothing)."""
    if position >= size:
        return True
    handle.seek(position)
    while True:
        chunk = handle.read(SCAN_CHUNK)
        if not chunk:
            return True
        if chunk.strip(b"\r\n"):
            return False
