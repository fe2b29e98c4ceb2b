"""Reading WARC files (plain or per-record gzip, as CommonCrawl ships them) with warcio.

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

from typing import IO, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader

from stackpipe.records import RawFile, Rejected, source_rejection
from stackpipe.rules import WarcReadRules, WebRules
from stackpipe.sources.storage import open_raw
from stackpipe.web.urls import host_of, normalize_url, registered_domain

SOURCE = "commoncrawl"
STAGE = "read"
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/1."
SCAN_CHUNK = 1 << 20


def is_warc_name(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


def read_warc(uri: str, rules: WebRules) -> Iterator[RawFile | Rejected]:
    """Every response record of the WARC file at `uri` as a page or a rejection."""
    try:
        handle = open_raw(uri)
    except Exception as error:  # missing file, no permission, unreachable store: one rejection
        bad = {"offset": 0, "detail": f"cannot open: {type(error).__name__}: {error}", "fields": None}
        yield _stretch_rejection(uri, bad, 0, "warc_unreadable")
        return
    with handle:
        yield from _read_stream(handle, uri, rules.read)


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


def _read_stream(handle: IO[bytes], uri: str, rules: WarcReadRules) -> Iterator[RawFile | Rejected]:
    compressed = handle.read(2) == GZIP_MAGIC[:2]
    size = handle.seek(0, 2)
    position = 0
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
                if record.rec_type == "response":
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
            position = _next_record_start(handle, failed_at + 1, size, compressed)
            continue
        finally:
            records.close()
        if _only_blank(handle, end, size):
            break
        # warcio stops quietly at a record it cannot start (a file cut inside a gzip member)
        if bad is None:
            bad = {"offset": end, "detail": "unreadable bytes after the last record", "fields": None}
        position = _next_record_start(handle, end + 1, size, compressed)
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
    status = meta["http_status"]
    if not status.isdigit() or int(status) not in rules.statuses:
        return source_rejection(reason="http_status", detail=f"HTTP status {status or 'missing'}", **fields)
    content_type = meta["content_type"]
    identified = record.rec_headers.get_header("WARC-Identified-Payload-Type") or ""
    if not any(_media_type(t) in rules.content_types for t in (content_type, identified) if t):
        return source_rejection(reason="not_html", detail=f"content type {content_type or identified or 'missing'!r}",
                                **fields)
    if length > rules.max_html_bytes:
        return source_rejection(reason="too_large", detail=f"record of {length} bytes > {rules.max_html_bytes}",
                                **fields)
    truncated = record.rec_headers.get_header("WARC-Truncated")
    if truncated:
        return source_rejection(reason="warc_truncated", detail=f"WARC-Truncated: {truncated}", **fields)
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
