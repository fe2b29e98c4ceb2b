"""Megatron indexed-dataset export, read back with a reader written here from the format spec.

The reader deliberately imports nothing from stackpipe.tokens.megatron, so a layout mistake
in the writer cannot be mirrored by the check.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stackpipe.records import SHARD_SCHEMA
from stackpipe.tokens.megatron import export_megatron, run

# Two shards; ids stay below 2**16 except where a test says otherwise.
SHARD_TOKENS = [
    [[5, 6, 7, 0], [9, 0], [1000, 2000, 3000, 4000, 0]],
    [[42, 0], [65535, 1, 0], [8, 0], [300, 301, 0]],
]
SPEC_DTYPES = {8: np.dtype("<u2"), 4: np.dtype("<i4")}


def write_shard_dir(directory, shards=SHARD_TOKENS, vocab_size=50_000):
    """A shard dir like the pipeline's: part files plus manifest.json with sha256s."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, docs in enumerate(shards):
        name = f"part-{index:05d}-of-{len(shards):05d}.parquet"
        rows = [{"tokens": tokens, "num_tokens": len(tokens), "id": f"{index}-{n}", "repo": "r/r",
                 "language": "Python", "source": "test", "fim": "none"} for n, tokens in enumerate(docs)]
        # Row groups of 2 rows so the reader crosses row-group boundaries.
        pq.write_table(pa.Table.from_pylist(rows, schema=SHARD_SCHEMA), directory / name, row_group_size=2)
        data = (directory / name).read_bytes()
        entries.append({"path": name, "rows": len(rows), "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"format": "stackpipe-shards/1", "tokenizer": {"vocab_size": vocab_size, "sha256": "x"},
                "shards": entries}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def read_index(idx_path):
    """Independent .idx reader, straight from the spec."""
    data = open(idx_path, "rb").read()
    magic = data[:9]
    version, code, sequences, documents = struct.unpack_from("<QBQQ", data, 9)
    offset = 9 + 8 + 1 + 8 + 8
    lengths = np.frombuffer(data, dtype="<i4", count=sequences, offset=offset)
    offset += lengths.nbytes
    pointers = np.frombuffer(data, dtype="<i8", count=sequences, offset=offset)
    offset += pointers.nbytes
    doc_indices = np.frombuffer(data, dtype="<i8", count=documents, offset=offset)
    offset += doc_indices.nbytes
    return {"magic": magic, "version": version, "code": code, "sequences": sequences, "documents": documents,
            "lengths": lengths, "pointers": pointers, "doc_indices": doc_indices, "trailing": len(data) - offset}


def read_sequences(prefix):
    index = read_index(f"{prefix}.idx")
    dtype = SPEC_DTYPES[index["code"]]
    data = open(f"{prefix}.bin", "rb").read()
    return [np.frombuffer(data, dtype=dtype, count=n, offset=p).tolist()
            for n, p in zip(index["lengths"], index["pointers"])]


@pytest.fixture
def exported(tmp_path):
    shard_dir = write_shard_dir(tmp_path / "shards")
    prefix = str(tmp_path / "out" / "train")
    return prefix, export_megatron(str(shard_dir), prefix)


ALL_DOCS = [doc for shard in SHARD_TOKENS for doc in shard]


def test_header_fields(exported):
    prefix, _ = exported
    index = read_index(f"{prefix}.idx")
    assert index["magic"] == b"MMIDIDX\x00\x00"
    assert index["version"] == 1
    assert index["code"] == 8  # uint16
    assert index["sequences"] == len(ALL_DOCS)
    assert index["documents"] == len(ALL_DOCS) + 1  # len(document_indices)
    assert index["trailing"] == 0


def test_sequence_lengths(exported):
    prefix, _ = exported
    assert read_index(f"{prefix}.idx")["lengths"].tolist() == [len(doc) for doc in ALL_DOCS]


def test_pointers_are_cumulative_byte_offsets(exported):
    prefix, _ = exported
    expected = np.concatenate([[0], np.cumsum([len(doc) * 2 for doc in ALL_DOCS])[:-1]])
    assert read_index(f"{prefix}.idx")["pointers"].tolist() == expected.tolist()


def test_one_sequence_per_document(exported):
    prefix, _ = exported
    assert read_index(f"{prefix}.idx")["doc_indices"].tolist() == list(range(len(ALL_DOCS) + 1))


def test_tokens_follow_manifest_then_file_order(exported):
    prefix, _ = exported
    assert read_sequences(prefix) == ALL_DOCS


def test_bin_holds_exactly_the_tokens(exported):
    prefix, _ = exported
    assert os.path.getsize(f"{prefix}.bin") == 2 * sum(len(doc) for doc in ALL_DOCS)


def test_summary(exported):
    prefix, summary = exported
    assert summary == {"sequences": len(ALL_DOCS), "tokens": sum(len(doc) for doc in ALL_DOCS),
                       "dtype": "uint16", "bin": f"{prefix}.bin", "idx": f"{prefix}.idx"}


def test_batch_size_does_not_change_output(tmp_path, exported):
    prefix, _ = exported
    other = str(tmp_path / "small-batches")
    export_megatron(str(tmp_path / "shards"), other, batch_rows=1)
    for suffix in (".bin", ".idx"):
        assert open(prefix + suffix, "rb").read() == open(other + suffix, "rb").read()


def test_large_vocab_uses_int32(tmp_path):
    shards = [[[70_000, 1, 0], [2, 0]], [[99_999, 0]]]
    shard_dir = write_shard_dir(tmp_path / "shards", shards, vocab_size=100_000)
    prefix = str(tmp_path / "big")
    summary = export_megatron(str(shard_dir), prefix)
    index = read_index(f"{prefix}.idx")
    assert summary["dtype"] == "int32" and index["code"] == 4
    assert index["pointers"].tolist() == [0, 12, 20]
    assert read_sequences(prefix) == [doc for shard in shards for doc in shard]


def test_vocab_at_megatron_cutoff_uses_int32(tmp_path):
    shard_dir = write_shard_dir(tmp_path / "shards", vocab_size=65_500)
    assert export_megatron(str(shard_dir), str(tmp_path / "o"))["dtype"] == "int32"


def test_sha256_mismatch_names_the_shard(tmp_path):
    shard_dir = write_shard_dir(tmp_path / "shards")
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    manifest["shards"][1]["sha256"] = "0" * 64
    (shard_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="part-00001-of-00002.parquet.*sha256"):
        export_megatron(str(shard_dir), str(tmp_path / "o"))


def test_missing_shard_names_it(tmp_path):
    shard_dir = write_shard_dir(tmp_path / "shards")
    (shard_dir / "part-00000-of-00002.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="part-00000-of-00002.parquet"):
        export_megatron(str(shard_dir), str(tmp_path / "o"))


def test_token_id_too_big_for_uint16_is_refused(tmp_path):
    shard_dir = write_shard_dir(tmp_path / "shards", [[[1, 65_536, 0]]], vocab_size=1000)
    with pytest.raises(ValueError, match="65536"):
        export_megatron(str(shard_dir), str(tmp_path / "o"))


def test_missing_vocab_size_is_a_clear_error(tmp_path):
    shard_dir = write_shard_dir(tmp_path / "shards")
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    del manifest["tokenizer"]["vocab_size"]
    (shard_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="vocab_size"):
        export_megatron(str(shard_dir), str(tmp_path / "o"))


def test_failed_export_keeps_previous_output_and_leaves_no_temporaries(tmp_path, exported):
    prefix, _ = exported
    before = {suffix: open(prefix + suffix, "rb").read() for suffix in (".bin", ".idx")}
    bad_dir = write_shard_dir(tmp_path / "bad", [[[1, 70_000, 0]]], vocab_size=1000)
    with pytest.raises(ValueError):
        export_megatron(str(bad_dir), prefix)
    assert {suffix: open(prefix + suffix, "rb").read() for suffix in (".bin", ".idx")} == before
    assert sorted(os.listdir(os.path.dirname(prefix))) == ["train.bin", "train.idx"]


def test_empty_shards_give_an_empty_dataset(tmp_path):
    shard_dir = write_shard_dir(tmp_path / "shards", [[], []])
    prefix = str(tmp_path / "empty")
    assert export_megatron(str(shard_dir), prefix)["sequences"] == 0
    index = read_index(f"{prefix}.idx")
    assert (index["sequences"], index["documents"], index["doc_indices"].tolist()) == (0, 1, [0])
    assert os.path.getsize(f"{prefix}.bin") == 0


def test_cli_prints_one_summary_line(tmp_path, capsys):
    shard_dir = write_shard_dir(tmp_path / "shards")
    prefix = str(tmp_path / "cli")
    summary = run(["--input", str(shard_dir), "--output", prefix])
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"stackpipe export-megatron: {len(ALL_DOCS)} sequences, {summary['tokens']} tokens "
                   f"(uint16) -> {prefix}.bin/.idx"]
