"""Decompressing byte streams that notice truncation and stop at a byte bound.

`gzip.GzipFile` reports a truncated stream but cannot bound what one read inflates to,
and zstandard's stream reader returns a truncated frame as a silent short read. These
readers inflate in bounded steps, raise `CorruptStream` when the input ends inside a
gzip member or zstd frame, and raise `StreamLimit` once more than `limit` bytes came out
(the bound that keeps a gzip or zstd bomb from filling a worker's memory).
"""

from __future__ import annotations

import io
import zlib
from typing import IO, Iterator

IN_CHUNK = 1 << 18
OUT_CHUNK = 1 << 20
# zstd has no output cap per call and an RLE block turns 4 bytes into 128 KiB, so feed
# small pieces: at most ~64 MiB can come out of one.
ZSTD_IN_CHUNK = 2048
GZIP_WBITS = 16 + zlib.MAX_WBITS


class CorruptStream(Exception):
    """The compressed input is corrupt or ends before its end-of-stream marker."""


class StreamLimit(Exception):
    """More bytes came out of the stream than the bound allows."""


def decompressed(raw: IO[bytes], codec: str | None, limit: int | None = None) -> IO[bytes]:
    """A buffered reader of `raw` inflated by `codec` ("gz", "zst" or None), bounded by `limit`."""
    if codec is None and limit is None:
        return raw
    if codec == "gz":
        chunks = _gzip_chunks(raw)
    elif codec == "zst":
        chunks = _zstd_chunks(raw)
    elif codec is None:
        chunks = iter(lambda: raw.read(IN_CHUNK), b"")
    else:
        raise ValueError(f"unknown compression {codec!r}; expected gz, zst or None")
    return io.BufferedReader(_ChunkReader(chunks, limit), buffer_size=1 << 16)


def _gzip_chunks(raw: IO[bytes]) -> Iterator[bytes]:
    inflater, data, in_member = zlib.decompressobj(GZIP_WBITS), b"", False
    while True:
        if not data:
            data = raw.read(IN_CHUNK)
            if not data:
                break
        in_member = True
        try:
            out = inflater.decompress(data, OUT_CHUNK)
        except zlib.error as error:
            raise CorruptStream(f"corrupt gzip data: {error}") from None
        data = inflater.unconsumed_tail
        if out:
            yield out
        if inflater.eof:  # a .gz may hold several members back to back
            data = inflater.unused_data + data
            inflater, in_member = zlib.decompressobj(GZIP_WBITS), False
    if in_member:
        raise CorruptStream("gzip stream ends before its end-of-stream marker (truncated)")


def _zstd_chunks(raw: IO[bytes]) -> Iterator[bytes]:
    import zstandard

    def new():
        return zstandard.ZstdDecompressor().decompressobj()

    inflater, in_frame = new(), False
    while True:
        block = raw.read(IN_CHUNK)
        if not block:
            break
        view = memoryview(block)
        while view:
            piece, view = view[:ZSTD_IN_CHUNK], view[ZSTD_IN_CHUNK:]
            in_frame = True
            try:
                out = inflater.decompress(piece)
            except zstandard.ZstdError as error:
                raise CorruptStream(f"corrupt zstd data: {error}") from None
            if out:
                yield out
            if inflater.eof:  # the next frame starts in what this one left unused
                rest = inflater.unused_data
                inflater, in_frame = new(), False
                if rest:
                    view = memoryview(bytes(rest) + bytes(view))
    if in_frame:
        raise CorruptStream("zstd stream ends inside a frame (truncated)")


class _ChunkReader(io.RawIOBase):
    """A raw reader over an iterator of byte chunks, counting what it hands out."""

    def __init__(self, chunks: Iterator[bytes], limit: int | None):
        self._chunks = chunks
        self._limit = limit
        self._pending = memoryview(b"")
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self.count += len(chunk)
            if self._limit is not None and self.count > self._limit:
                raise StreamLimit(f"stream inflated past {self._limit:,} bytes")
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
