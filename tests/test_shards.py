"""`stackpipe tokenizer train`, `stackpipe shards` and `export-megatron` end to end on real code."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import shards as shards_pipeline
from pipelines import tokenizer as tokenizer_pipeline
from stackpipe.cli import main as cli_main
from stdlib_corpus import mark_finished, stdlib_records
from stackpipe.records import FILE_SCHEMA, PACKED_SCHEMA, SHARD_SCHEMA, FileRecord, record_to_row
from stackpipe.tokens.megatron import export_megatron

@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> Path:
    """A curate-style output directory: documents/ in two Parquet parts."""
    root = tmp_path_factory.mktemp("curated")
    (root / "documents").mkdir()
    rows = [record_to_row(r) for r in stdlib_records(160)]
    for index, part in enumerate((rows[:80], rows[80:])):
        pq.write_table(pa.Table.from_pylist(part, schema=FILE_SCHEMA),
                       root / "documents" / f"part-{index:05d}-of-00002.parquet")
    return mark_finished(root)


@pytest.fixture(scope="module")
def tokenizer_file(curated, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer_pipeline.run(["--input", str(curated), "--output", str(path), "--family", "starcoder",
                            "--vocab-size", "3000"])
    return path


def make_shards(curated: Path, tokenizer_file: Path, output: Path, *extra: str) -> dict:
    return shards_pipeline.run(["--input", str(curated), "--output", str(output), "--tokenizer",
                                str(tokenizer_file), "--family", "starcoder", "--seq-len", "2048", *extra])


@pytest.fixture(scope="module")
def sharded(curated, tokenizer_file, tmp_path_factory):
    output = tmp_path_factory.mktemp("shards")
    return output, make_shards(curated, tokenizer_file, output, "--shard-mb", "0.4")


def test_tokenizer_train_writes_a_tokenizer_with_the_family_vocab(tokenizer_file):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    assert tokenizer.get_vocab_size() == 3000
    assert tokenizer.token_to_id("<|endoftext|>") == 0 and tokenizer.token_to_id("<fim_prefix>") == 1


def test_shards_have_the_shard_schema_and_end_with_eos(sharded):
    output, manifest = sharded
    parts = sorted(output.glob("part-*.parquet"))
    assert len(parts) == len(manifest["shards"]) > 1
    eos = manifest["tokenizer"]["special_ids"]["eos"]
    for part in parts:
        table = pq.read_table(part)
        assert table.schema.equals(SHARD_SCHEMA, check_metadata=False)
        for tokens, count in zip(table.column("tokens").to_pylist(), table.column("num_tokens").to_pylist()):
            assert tokens[-1] == eos and len(tokens) == count <= 2048


def test_manifest_hashes_and_counts_match_the_files(sharded):
    output, manifest = sharded
    rows = tokens = 0
    for shard in manifest["shards"]:
        data = (output / shard["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard["sha256"]
        table = pq.read_table(output / shard["path"])
        assert table.num_rows == shard["rows"]
        rows += table.num_rows
        tokens += sum(table.column("num_tokens").to_pylist())
    totals = manifest["totals"]
    assert (rows, tokens) == (totals["rows"], totals["tokens"])
    assert totals["input_documents"] == 160 == totals["documents"] + sum(totals["dropped"].values())
    assert sum(totals["fim"].values()) == rows
    assert sum(v["tokens"] for v in totals["languages"].values()) == tokens
    tokenizer_bytes = (output / "tokenizer.json").read_bytes()
    assert hashlib.sha256(tokenizer_bytes).hexdigest() == manifest["tokenizer"]["sha256"]
    assert manifest["family"] == "starcoder" and manifest["fim"]["rate"] == 0.5 and manifest["seed"] == 0


def test_long_documents_became_several_rows(sharded):
    _, manifest = sharded
    assert manifest["totals"]["split_rows"] > 0
    assert manifest["totals"]["rows"] > manifest["totals"]["documents"]


def test_shards_load_with_datasets(sharded):
    datasets = pytest.importorskip("datasets")
    output, manifest = sharded
    loaded = datasets.load_dataset("parquet", data_files=sorted(map(str, output.glob("part-*.parquet"))),
                                   split="train")
    assert loaded.num_rows == manifest["totals"]["rows"]
    assert set(loaded.column_names) == set(SHARD_SCHEMA.names)


def test_two_workers_write_identical_shards(curated, tokenizer_file, sharded, tmp_path):
    output, manifest = sharded
    other = make_shards(curated, tokenizer_file, tmp_path, "--shard-mb", "0.4", "--workers", "2")
    assert [s["sha256"] for s in other["shards"]] == [s["sha256"] for s in manifest["shards"]]
    assert other["totals"] == manifest["totals"]


def test_packed_samples_are_read_with_their_file_spans(tokenizer_file, tmp_path):
    records = stdlib_records(12)
    content, spans = "", []
    for record in records:
        content += f"# {record.path}\n"
        spans.append({"path": record.path, "language": "Python", "start": len(content),
                      "end": len(content) + len(record.content)})
        content += record.content
    row = record_to_row(FileRecord(id="ab" * 16, repo="python/cpython", path="", language="Python",
                                   content=content, size_bytes=len(content), source="github"))
    row["files"] = spans
    (tmp_path / "packed").mkdir()
    pq.write_table(pa.Table.from_pylist([row], schema=PACKED_SCHEMA), tmp_path / "packed" / "part-0.parquet")
    manifest = shards_pipeline.run(["--input", str(tmp_path / "packed"), "--output", str(tmp_path / "out"),
                                    "--tokenizer", str(tokenizer_file), "--family", "starcoder",
                                    "--seq-len", "100000"])
    assert manifest["totals"]["rows"] == 1 and manifest["totals"]["documents"] == 1
    from tokenizers import Tokenizer

    tokens = pq.read_table(tmp_path / "out" / manifest["shards"][0]["path"]).column("tokens")[0].as_py()
    fim_blocks = tokens.count(manifest["tokenizer"]["special_ids"]["fim_prefix"])
    assert 0 < fim_blocks < len(records)  # file-level FIM inside the sample: some files, not one block
    text = Tokenizer.from_file(str(tokenizer_file)).decode(tokens, skip_special_tokens=False)
    assert all(f"# {r.path}\n" in text for r in records)  # packing's path comments survive


def test_missing_content_column_is_a_clear_error(tokenizer_file, tmp_path):
    pq.write_table(pa.table({"id": ["a"], "text": ["x"]}), tmp_path / "bad.parquet")
    with pytest.raises(shards_pipeline.ShardInputError, match="lacks column.*content"):
        make_shards(tmp_path, tokenizer_file, tmp_path / "out")


def test_cli_reports_a_tokenizer_without_the_family_sentinels(curated, tokenizer_file, tmp_path, capsys):
    code = cli_main(["shards", "--input", str(curated), "--output", str(tmp_path), "--tokenizer",
                     str(tokenizer_file), "--family", "codellama"])
    assert code == 2
    assert "lacks the codellama sentinel '</s>'" in capsys.readouterr().err


def read_megatron(prefix: Path) -> list[np.ndarray]:
    """An independent reader of REFERENCE.md §9's format."""
    index = (prefix.with_suffix(".idx")).read_bytes()
    assert index[:9] == b"MMIDIDX\x00\x00"
    version, code, sequences, documents = struct.unpack_from("<QBQQ", index, 9)
    assert version == 1 and documents == sequences + 1
    offset = 9 + struct.calcsize("<QBQQ")
    lengths = np.frombuffer(index, dtype="<i4", count=sequences, offset=offset)
    pointers = np.frombuffer(index, dtype="<i8", count=sequences, offset=offset + 4 * sequences)
    dtype = {8: "<u2", 4: "<i4"}[code]
    data = prefix.with_suffix(".bin").read_bytes()
    return [np.frombuffer(data, dtype=dtype, count=n, offset=p) for n, p in zip(lengths, pointers)]


def test_megatron_export_of_real_shards_reads_back(sharded, tmp_path):
    output, manifest = sharded
    summary = export_megatron(str(output), str(tmp_path / "corpus"))
    sequences = read_megatron(tmp_path / "corpus")
    expected = [t for s in manifest["shards"] for t in pq.read_table(output / s["path"]).column("tokens").to_pylist()]
    assert summary["dtype"] == "uint16" and len(sequences) == len(expected)
    assert all(seq.tolist() == tokens for seq, tokens in zip(sequences, expected))


def test_manifest_is_valid_json_with_sorted_shards(sharded):
    output, _ = sharded
    manifest = json.loads((output / "manifest.json").read_text())
    assert [s["path"] for s in manifest["shards"]] == sorted(s["path"] for s in manifest["shards"])
