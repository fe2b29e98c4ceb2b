"""Export a shard directory as a Megatron-LM indexed dataset (`PREFIX.bin` + `PREFIX.idx`).

Megatron-LM's `MMapIndexedDataset` (megatron/core/datasets/indexed_dataset.py) reads two
files. `.bin` holds every token back to back in one little-endian dtype. `.idx` is:

    magic       9 bytes   b"MMIDIDX\\x00\\x00"
    version     u64       1
    dtype code  u8        8 = uint16, 4 = int32 (Megatron's `DType` enum)
    sequences   u64       N
    documents   u64       len(document_indices) = N + 1 here
    lengths     int32[N]  tokens per sequence
    pointers    int64[N]  byte offset of each sequence in .bin (starts at 0)
    doc indices int64[N+1] sequence index where each document starts, closed by N

Each shard row is one document and one sequence, so the document indices are 0..N.
Rows are taken shard by shard in manifest order and in file order within a shard, which
is the order the pipeline already fixed deterministically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import uuid
from typing import BinaryIO, Iterator, Mapping

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from stackpipe.tokens.manifest import MANIFEST_NAME

INDEX_MAGIC = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
# Megatron's DType codes for the two dtypes we ever write.
DTYPE_CODES = {"uint16": 8, "int32": 4}
# Megatron's own cut-off (DType.optimal_dtype): below it token ids fit in uint16.
UINT16_VOCAB_LIMIT = 65500
# Rows per Arrow batch: bounds memory to one batch of tokens, whatever the shard size.
DEFAULT_BATCH_ROWS = 1024
_HASH_CHUNK = 1 << 20


def token_dtype(vocab_size: int) -> np.dtype:
    """Little-endian dtype for the .bin file: uint16 when the vocabulary allows, else int32."""
    return np.dtype("<u2") if vocab_size < UINT16_VOCAB_LIMIT else np.dtype("<i4")


def dtype_name(dtype: np.dtype) -> str:
    return "uint16" if dtype == np.dtype("<u2") else "int32"


def load_manifest(shard_dir: str) -> dict:
    path = os.path.join(shard_dir, MANIFEST_NAME)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no {MANIFEST_NAME} in shard directory {shard_dir}")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def manifest_vocab_size(manifest: Mapping) -> int:
    """`manifest["tokenizer"]["vocab_size"]`, required: the dtype depends on it."""
    try:
        vocab_size = manifest["tokenizer"]["vocab_size"]
    except (KeyError, TypeError):
        raise ValueError('manifest.json lacks "tokenizer" -> "vocab_size"; cannot choose the token dtype') from None
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size <= 0:
        raise ValueError(f'manifest.json "tokenizer" -> "vocab_size" must be a positive integer, got {vocab_size!r}')
    return vocab_size


def manifest_shards(manifest: Mapping) -> list[Mapping]:
    shards = manifest.get("shards")
    if not isinstance(shards, list) or any(not isinstance(s, Mapping) or "path" not in s for s in shards):
        raise ValueError('manifest.json lacks a "shards" list of {"path": ..., "sha256": ...} entries')
    return shards


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_shard(shard_dir: str, shard: Mapping) -> str:
    """Path of a manifest shard after checking it exists and matches its recorded sha256."""
    name = shard["path"]
    path = os.path.join(shard_dir, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"shard {name} listed in {MANIFEST_NAME} is missing: {path}")
    expected = shard.get("sha256")
    if not expected:
        raise ValueError(f"shard {name} has no sha256 in {MANIFEST_NAME}")
    actual = file_sha256(path)
    if actual != expected:
        raise ValueError(f"shard {name} sha256 mismatch: manifest says {expected}, file has {actual}")
    return path


def token_batches(path: str, batch_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(flat token ids, per-row lengths) for each batch of a shard, in file order."""
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=["tokens"]):
        column = batch.column(0)
        if column.null_count:
            raise ValueError(f"{os.path.basename(path)}: a row has null tokens")
        # flatten() honours the batch's slice offset, unlike .values
        values = column.flatten()
        if values.null_count:
            raise ValueError(f"{os.path.basename(path)}: a token id is null")
        lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
        yield values.to_numpy(zero_copy_only=False), lengths.astype(np.int64, copy=False)


def encode_tokens(tokens: np.ndarray, dtype: np.dtype, where: str) -> np.ndarray:
    """Tokens cast to `dtype`, refusing ids the dtype cannot hold (a cast would wrap silently)."""
    if tokens.size:
        info = np.iinfo(dtype)
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high > info.max:
            bad = high if high > info.max else low
            raise ValueError(f"{where}: token id {bad} does not fit {dtype_name(dtype)} (0..{info.max})")
    return tokens.astype(dtype, copy=False)


def write_tokens(shard_dir: str, shards: list[Mapping], dtype: np.dtype, out: BinaryIO,
                 batch_rows: int) -> np.ndarray:
    """Stream every shard's tokens into `out`; returns the per-sequence lengths (int64)."""
    lengths: list[np.ndarray] = []
    for shard in shards:
        path = verify_shard(shard_dir, shard)
        for tokens, row_lengths in token_batches(path, batch_rows):
            out.write(encode_tokens(tokens, dtype, f"shard {shard['path']}").tobytes())
            lengths.append(row_lengths)
    return np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)


def index_bytes(lengths: np.ndarray, dtype: np.dtype) -> bytes:
    """The whole .idx file for one-sequence-per-document data with these sequence lengths."""
    count = len(lengths)
    if count and int(lengths.max()) > np.iinfo(np.int32).max:
        raise ValueError(f"a sequence of {int(lengths.max())} tokens exceeds the int32 length field")
    pointers = np.zeros(count, dtype="<i8")
    if count:
        np.cumsum(lengths[:-1] * dtype.itemsize, out=pointers[1:])
    document_indices = np.arange(count + 1, dtype="<i8")
    # Megatron stores len(document_indices) as the "document count", not the number of documents.
    header = struct.pack("<9sQBQQ", INDEX_MAGIC, INDEX_VERSION, DTYPE_CODES[dtype_name(dtype)],
                         count, len(document_indices))
    return b"".join((header, lengths.astype("<i4").tobytes(), pointers.tobytes(), document_indices.tobytes()))


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def export_megatron(shard_dir: str, output_prefix: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> dict:
    """Write `output_prefix.bin` and `output_prefix.idx` from the shards in `shard_dir`.

    Every shard is checked against its manifest sha256 before it is read (ValueError on a
    mismatch, FileNotFoundError when missing). Tokens are streamed batch by batch into the
    .bin; only the per-sequence lengths stay in memory. Both files are written to
    `*.tmp-<uuid>` siblings and moved into place with `os.replace`, so local paths only;
    the .idx is moved last, so a finished .idx always has its .bin beside it. On any error
    the temporaries are removed and earlier outputs at the prefix are left as they were.

    Returns {"sequences", "tokens", "dtype" ("uint16" | "int32"), "bin", "idx"}.
    """
    if batch_rows <= 0:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    manifest = load_manifest(shard_dir)
    dtype = token_dtype(manifest_vocab_size(manifest))
    shards = manifest_shards(manifest)

    bin_path, idx_path = f"{output_prefix}.bin", f"{output_prefix}.idx"
    os.makedirs(os.path.dirname(os.path.abspath(bin_path)), exist_ok=True)
    tag = uuid.uuid4().hex
    bin_tmp, idx_tmp = f"{bin_path}.tmp-{tag}", f"{idx_path}.tmp-{tag}"
    try:
        with open(bin_tmp, "wb") as out:
            lengths = write_tokens(shard_dir, shards, dtype, out, batch_rows)
        with open(idx_tmp, "wb") as out:
            out.write(index_bytes(lengths, dtype))
        os.replace(bin_tmp, bin_path)
        os.replace(idx_tmp, idx_path)
    finally:
        _remove_quietly(bin_tmp)
        _remove_quietly(idx_tmp)
    return {"sequences": int(len(lengths)), "tokens": int(lengths.sum()), "dtype": dtype_name(dtype),
            "bin": bin_path, "idx": idx_path}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe export-megatron",
                                     description="Shard directory -> Megatron-LM indexed dataset (.bin/.idx).")
    parser.add_argument("--input", required=True, metavar="SHARD_DIR",
                        help="local directory with manifest.json and part-*.parquet")
    parser.add_argument("--output", required=True, metavar="PREFIX",
                        help="writes PREFIX.bin and PREFIX.idx (local path)")
    return parser


def run(argv: list[str] | None = None) -> dict:
    """CLI entry point; prints one summary line to stderr and returns the summary."""
    args = build_parser().parse_args(argv)
    summary = export_megatron(args.input, args.output)
    print(f"stackpipe export-megatron: {summary['sequences']:,} sequences, {summary['tokens']:,} tokens "
          f"({summary['dtype']}) -> {args.output}.bin/.idx", file=sys.stderr)
    return summary
