"""The trainer's data side: manifests, packing, blending, rank sharding and resume."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stackpipe.train.data import PackedBatches, blend_spec
from stackpipe.train.manifest import DataError, read_manifest, validate_manifests

EOS = 2
VOCAB = 128
SPECIAL_IDS = {"eos": EOS, "fim_prefix": 3, "fim_middle": 4, "fim_suffix": 5}


def documents(seed: int, count: int, low: int, high: int) -> list[list[int]]:
    """Distinct documents of ids in [low, high), each ending with end-of-text."""
    rng = np.random.default_rng(seed)
    return [[*rng.integers(low, high, size=int(rng.integers(1, 12))).tolist(), index % 7 + low, EOS]
            for index in range(count)]


def write_set(root: Path, docs: list[list[int]], *, shards: int = 3, tokenizer_sha: str = "a" * 64,
              vocab_size: int = VOCAB, special_ids: dict | None = None, family: str = "starcoder") -> str:
    """A shard directory as `stackpipe shards` writes it, built directly with pyarrow."""
    root.mkdir(parents=True)
    entries = []
    for index in range(shards):
        part = docs[index::shards]
        name = f"part-{index:05d}-of-{shards:05d}.parquet"
        table = pa.table({
            "tokens": pa.array(part, type=pa.list_(pa.int32())),
            "num_tokens": pa.array([len(d) for d in part], type=pa.int32()),
            "id": [f"doc-{index}-{i}" for i in range(len(part))],
            "repo": ["o/r"] * len(part), "language": ["Python"] * len(part),
            "source": ["github"] * len(part), "fim": ["none"] * len(part),
        })
        pq.write_table(table, root / name)
        data = (root / name).read_bytes()
        entries.append({"path": name, "rows": len(part), "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {
        "format": "stackpipe-shards/1", "family": family,
        "tokenizer": {"sha256": tokenizer_sha, "vocab_size": vocab_size, "family": family,
                      "special_ids": special_ids or SPECIAL_IDS, "file": "tokenizer.json"},
        "fim": {"enabled": False}, "seed": 0, "max_tokens": 64, "input": "memory",
        "totals": {"rows": len(docs), "tokens": sum(map(len, docs)), "documents": len(docs)},
        "shards": entries,
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return str(root)


@pytest.fixture
def code_set(tmp_path) -> str:
    return write_set(tmp_path / "code", documents(0, 60, 10, 40))


def batches(sets, count: int, **options) -> list:
    settings = dict(seq_len=16, micro_batch=4, rank=0, world_size=1, seed=7, document_masking=True) | options
    loader = PackedBatches(sets, **settings)
    return [next(loader) for _ in range(count)]


def windows(batch) -> np.ndarray:
    """The seq_len + 1 stream tokens behind each row."""
    return np.concatenate([batch.input_ids.numpy(), batch.labels.numpy()[:, -1:]], axis=1)


def test_labels_are_inputs_shifted_by_one(code_set):
    for batch in batches([(code_set, 1.0)], 3):
        assert batch.input_ids.shape == batch.labels.shape == (4, 16)
        assert (batch.labels[:, :-1] == batch.input_ids[:, 1:]).all()


def test_positions_restart_after_each_end_of_text(code_set):
    for batch in batches([(code_set, 1.0)], 3):
        inputs, positions = batch.input_ids.numpy(), batch.positions.numpy()
        assert (positions[:, 0] == 0).all()
        after_eos = inputs[:, :-1] == EOS
        assert (positions[:, 1:][after_eos] == 0).all()
        assert (positions[:, 1:][~after_eos] == positions[:, :-1][~after_eos] + 1).all()


def test_document_ids_change_exactly_at_boundaries(code_set):
    for batch in batches([(code_set, 1.0)], 3):
        inputs, ids = batch.input_ids.numpy(), batch.document_ids.numpy()
        assert (ids[:, 0] == 0).all()
        assert np.array_equal(np.diff(ids, axis=1), (inputs[:, :-1] == EOS).astype(ids.dtype))


def test_without_document_masking_positions_are_plain_and_ids_absent(code_set):
    batch = batches([(code_set, 1.0)], 1, document_masking=False)[0]
    assert batch.document_ids is None
    assert (batch.positions == np.arange(16)).all()


def test_blend_proportions_follow_weights_and_each_row_comes_from_one_set(tmp_path):
    ranges = [(10, 40), (40, 70), (70, 100)]
    sets = [(write_set(tmp_path / f"s{k}", documents(k, 40, low, high), shards=2), weight)
            for k, ((low, high), weight) in enumerate(zip(ranges, (0.6, 0.1, 0.3)))]
    drawn = batches(sets, 25, seq_len=8, micro_batch=50)  # 1250 sequences
    counts = np.zeros(3)
    for batch in drawn:
        for row, set_index in zip(windows(batch), batch.set_index.tolist()):
            low, high = ranges[set_index]
            assert ((row == EOS) | ((row >= low) & (row < high))).all()
            counts[set_index] += 1
    assert np.allclose(counts / counts.sum(), (0.6, 0.1, 0.3), atol=0.02)


def test_same_seed_gives_same_batches_and_another_seed_differs(code_set):
    first, again = batches([(code_set, 1.0)], 4), batches([(code_set, 1.0)], 4)
    other = batches([(code_set, 1.0)], 4, seed=8)
    assert all((a.input_ids == b.input_ids).all() for a, b in zip(first, again))
    assert any((a.input_ids != b.input_ids).any() for a, b in zip(first, other))


def test_each_epoch_yields_every_row_once(tmp_path):
    docs = documents(3, 50, 10, 60)
    directory = write_set(tmp_path / "set", docs, shards=3)
    total = sum(map(len, docs))
    drawn = batches([(directory, 1.0)], 2 * total // (4 * 17) + 1, seq_len=16)
    stream = np.concatenate([windows(b).reshape(-1) for b in drawn]).tolist()
    epochs = [stream[:total], stream[total:2 * total]]

    def split(tokens):
        rows, start = [], 0
        for end, token in enumerate(tokens):
            if token == EOS:
                rows.append(tokens[start:end + 1])
                start = end + 1
        assert start == len(tokens), "an epoch ends with a whole row"
        return rows

    first, second = split(epochs[0]), split(epochs[1])
    assert sorted(first) == sorted(second) == sorted(docs)
    assert first != second, "each epoch has its own order"


def test_resume_continues_with_the_same_batches(tmp_path, code_set):
    sets = [(code_set, 0.7), (write_set(tmp_path / "text", documents(1, 30, 40, 90)), 0.3)]
    uninterrupted = batches(sets, 9)
    loader = PackedBatches(sets, seq_len=16, micro_batch=4, rank=0, world_size=1, seed=7, document_masking=True)
    for _ in range(5):
        next(loader)
    state = json.loads(json.dumps(loader.state_dict()))
    resumed = PackedBatches(sets, seq_len=16, micro_batch=4, rank=0, world_size=1, seed=7, document_masking=True)
    resumed.load_state_dict(state)
    for expected in uninterrupted[5:]:
        got = next(resumed)
        assert (got.input_ids == expected.input_ids).all() and (got.labels == expected.labels).all()
        assert (got.positions == expected.positions).all()


def test_resume_on_two_ranks_splits_the_one_rank_continuation(tmp_path, code_set):
    """A world-size-1 state resumed on 2 ranks: rank r gets global sequences g % 2 == r."""
    sets = [(code_set, 0.5), (write_set(tmp_path / "text", documents(1, 30, 40, 90)), 0.5)]
    single = PackedBatches(sets, seq_len=16, micro_batch=4, rank=0, world_size=1, seed=7, document_masking=True)
    for _ in range(3):
        next(single)
    state = single.state_dict()
    expected = np.concatenate([windows(next(single)) for _ in range(4)])  # 16 sequences

    ranks = []
    for rank in (0, 1):
        loader = PackedBatches(sets, seq_len=16, micro_batch=2, rank=rank, world_size=2, seed=7,
                               document_masking=True)
        loader.load_state_dict(state)
        ranks.append(np.concatenate([windows(next(loader)) for _ in range(4)]))
        assert loader.state_dict() == single.state_dict(), "the state does not depend on rank or world size"
    interleaved = np.stack(ranks, axis=1).reshape(expected.shape)
    assert np.array_equal(interleaved, expected)


def test_loading_a_state_from_another_seed_is_an_error(code_set):
    state = PackedBatches([(code_set, 1.0)], seq_len=16, micro_batch=4, rank=0, world_size=1, seed=7,
                          document_masking=True).state_dict()
    loader = PackedBatches([(code_set, 1.0)], seq_len=16, micro_batch=4, rank=0, world_size=1, seed=8,
                           document_masking=True)
    with pytest.raises(DataError, match="seed 7"):
        loader.load_state_dict(state)


def test_read_manifest_gives_tokenizer_shards_and_totals(code_set):
    manifest = read_manifest(code_set, verify=True)
    assert manifest.family == "starcoder" and manifest.vocab_size == VOCAB and manifest.eos_id == EOS
    assert len(manifest.shards) == 3 and sum(s.rows for s in manifest.shards) == manifest.rows == 60


def test_missing_manifest_names_the_directory(tmp_path):
    with pytest.raises(DataError, match=f"no manifest.json in shard directory {tmp_path}"):
        read_manifest(str(tmp_path))


def test_manifest_errors_name_the_key_or_file(code_set):
    path = Path(code_set) / "manifest.json"
    document = json.loads(path.read_text())
    del document["tokenizer"]["sha256"]
    path.write_text(json.dumps(document))
    with pytest.raises(DataError, match='lacks "tokenizer" -> "sha256"'):
        read_manifest(code_set)
    document["tokenizer"]["sha256"] = "a" * 64
    document["format"] = "other/2"
    path.write_text(json.dumps(document))
    with pytest.raises(DataError, match="'other/2'"):
        read_manifest(code_set)


def test_a_listed_shard_missing_on_disk_is_named(code_set):
    (Path(code_set) / "part-00001-of-00003.parquet").unlink()
    with pytest.raises(DataError, match="part-00001-of-00003.parquet listed in .* is missing"):
        read_manifest(code_set)


def test_verify_catches_a_changed_shard(code_set):
    with open(Path(code_set) / "part-00000-of-00003.parquet", "ab") as handle:
        handle.write(b"x")
    read_manifest(code_set)
    with pytest.raises(DataError, match="part-00000-of-00003.parquet sha256 mismatch"):
        read_manifest(code_set, verify=True)


def test_tokenizer_larger_than_the_model_is_rejected(code_set):
    with pytest.raises(DataError, match="vocab_size\" is 128, larger than the model's vocab_size 100"):
        validate_manifests([read_manifest(code_set)], vocab_size=100)


def test_special_id_beyond_the_model_vocabulary_is_rejected(tmp_path):
    directory = write_set(tmp_path / "s", documents(0, 6, 10, 20), vocab_size=64,
                          special_ids={**SPECIAL_IDS, "fim_pad": 90})
    with pytest.raises(DataError, match='special id "fim_pad" = 90 is out of range for .* vocab_size 64'):
        validate_manifests([read_manifest(directory)], vocab_size=64)


def test_blended_sets_with_different_tokenizers_are_rejected(tmp_path, code_set):
    other = write_set(tmp_path / "other", documents(1, 6, 10, 20), tokenizer_sha="b" * 64)
    with pytest.raises(DataError, match=f"{'b' * 64} differs from {'a' * 64}"):
        validate_manifests([read_manifest(code_set), read_manifest(other)], vocab_size=VOCAB)
    with pytest.raises(DataError, match="share one tokenizer"):
        PackedBatches([(code_set, 1.0), (other, 1.0)], seq_len=8, micro_batch=1, rank=0, world_size=1, seed=0,
                      document_masking=False)


def test_family_mismatch_is_rejected_and_a_match_passes(code_set):
    manifests = [read_manifest(code_set)]
    validate_manifests(manifests, vocab_size=VOCAB, family="starcoder")
    with pytest.raises(DataError, match="'starcoder' but the model is 'deepseek'"):
        validate_manifests(manifests, vocab_size=VOCAB, family="deepseek")


def test_blend_spec_normalises_weights():
    assert blend_spec("out/code:0.6,out/math:0.1,out/text:0.3") == [
        ("out/code", pytest.approx(0.6)), ("out/math", pytest.approx(0.1)), ("out/text", pytest.approx(0.3))]
    assert blend_spec("out/a:3,out/b:1") == [("out/a", 0.75), ("out/b", 0.25)]
    assert blend_spec("out/code") == [("out/code", 1.0)]


def test_blend_spec_bad_weight_names_it():
    with pytest.raises(DataError, match="bad weight 'lots' for 'out/math'"):
        blend_spec("out/code:0.6,out/math:lots")
    with pytest.raises(DataError, match="bad weight '-1'"):
        blend_spec("out/code:-1")


def test_the_data_side_imports_nothing_of_the_pipeline():
    """DESIGN.md §2: the trainer reads only the shard format."""
    import subprocess
    import sys
    code = ("import sys, stackpipe.train.data; "
            "print([m for m in sys.modules if m.split('.')[0] in ('apache_beam', 'pipelines') "
            "or m.startswith(('stackpipe.tokens', 'stackpipe.beam', 'stackpipe.rules', 'stackpipe.records'))])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
