"""Packed, blended, resumable batches from stackpipe shard directories (DESIGN.md §7).

The trainer reads only the shard format (`manifest.py`), never the pipeline. Each shard
set is one endless token stream: per epoch, its shards in a seeded order and the rows of
each shard in a seeded order, concatenated (rows already end with end-of-text), cut into
windows of `seq_len + 1` tokens without overlap, as torchtitan does: a window's first
`seq_len` tokens are the inputs and its last `seq_len` the labels, so concatenating the
windows gives back the stream, and no token is dropped or repeated within an epoch. An
exhausted set starts its next epoch, and a window may run across the boundary.

Global sequence `g` is drawn from one set, chosen by a low-discrepancy schedule of
(seed, g) (see `set_for_sequence`), and belongs to rank `g % world_size`. So the global
stream depends only on (sets, weights, seed, seq_len), and the state (how many global
sequences were consumed, and where each set's stream stands) is the same on every rank
and for any world size: a checkpoint taken on 8 GPUs resumes on 2.

Every rank advances every set's cursor over all global sequences, but loads a shard's
tokens only when one of its own sequences needs them, and builds tensors only for its
own sequences. Windows are short next to shards, so in practice each rank still reads
every shard once per epoch; that costs far less than the model does.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from stackpipe.train.manifest import DataError, ShardManifest, check_same_tokenizer, fingerprint, read_manifest

STATE_FORMAT = "stackpipe-data/1"
# 2**64 / golden ratio, rounded to odd: the Weyl sequence g * phi mod 1 has the lowest
# discrepancy of any irrational rotation (three-distance theorem), so every set's share
# of any run of N consecutive sequences is within O(log N) sequences of weight * N.
_GOLDEN_STRIDE = 0x9E3779B97F4A7C15
_SPACE = 1 << 64


def blend_spec(text: str) -> list[tuple[str, float]]:
    """Parse `DIR[:WEIGHT],DIR[:WEIGHT],...` into (directory, weight) with weights summing to 1.

    `out/code:0.6,out/math:0.1,out/text:0.3`; a single `out/code` has weight 1. A missing
    weight counts as 1 before normalising. A colon followed by a path (`C:/data`) is part
    of the directory, not a weight.
    """
    entries: list[tuple[str, float]] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise DataError(f"empty entry in blend {text!r}; write DIR[:WEIGHT],DIR[:WEIGHT],...")
        directory, weight = _blend_entry(item, text)
        if any(directory == seen for seen, _ in entries):
            raise DataError(f"directory {directory!r} appears twice in blend {text!r}; give it one weight")
        entries.append((directory, weight))
    total = sum(weight for _, weight in entries)
    return [(directory, weight / total) for directory, weight in entries]


def _blend_entry(item: str, text: str) -> tuple[str, float]:
    directory, colon, suffix = item.rpartition(":")
    if not colon or "/" in suffix or "\\" in suffix:
        return item, 1.0
    try:
        weight = float(suffix)
    except ValueError:
        raise DataError(f"bad weight {suffix!r} for {directory!r} in blend {text!r}; "
                        "a weight is a positive number, e.g. out/code:0.6") from None
    if not math.isfinite(weight) or weight <= 0:
        raise DataError(f"bad weight {suffix!r} for {directory!r} in blend {text!r}; weights must be positive")
    if not directory:
        raise DataError(f"entry {item!r} in blend {text!r} has a weight but no directory")
    return directory, weight


def blend_thresholds(weights: Sequence[float]) -> tuple[int, ...]:
    """Cumulative weights scaled to [0, 2**64]; the last is exactly 2**64 so every draw lands."""
    total = sum(weights)
    cumulative, running = [], 0.0
    for weight in weights[:-1]:
        running += weight
        cumulative.append(int(running / total * _SPACE))
    return (*cumulative, _SPACE)


def schedule_offset(seed: int) -> int:
    """Where the seed starts the blend schedule: a hash, so nearby seeds give unrelated orders."""
    return int.from_bytes(hashlib.sha256(f"stackpipe-blend\x1f{seed}".encode()).digest()[:8], "little")


def set_for_sequence(sequence: int, *, thresholds: Sequence[int], offset: int) -> int:
    """The set that global sequence `sequence` is drawn from.

    A pure function of (seed offset, sequence): u = offset + sequence * 2**64/phi mod 2**64
    picks the set whose slice of [0, 2**64) holds it. Unlike sampling, proportions are
    right over short spans (0.6/0.1/0.3: within ±0.2% over any 1000 consecutive
    sequences, ±2% over 100), and unlike a stateful weighted round-robin, nothing but the
    index is needed to resume.
    """
    return bisect_right(thresholds, (offset + sequence * _GOLDEN_STRIDE) % _SPACE)


def shard_order(*, seed: int, set_index: int, epoch: int, shards: int) -> np.ndarray:
    # The trailing tag (0 here, 1 for rows) keeps the two kinds of draw independent.
    return np.random.default_rng([seed, set_index, epoch, 0]).permutation(shards)


def row_order(*, seed: int, set_index: int, epoch: int, shard: int, rows: int) -> np.ndarray:
    return np.random.default_rng([seed, set_index, epoch, 1, shard]).permutation(rows)


def document_layout(inputs: np.ndarray, eos_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, document ids) of packed inputs (B, T).

    A document starts at each row's first token and after every end-of-text; positions
    count from 0 within it and document ids count documents from 0 within the row. A
    document carried over from the previous window restarts at position 0 (as Megatron's
    reset_position_ids and torchtitan's document masking do): attention never crosses a
    window, so its earlier part is out of reach anyway.
    """
    starts = np.zeros(inputs.shape, dtype=bool)
    starts[:, 1:] = inputs[:, :-1] == eos_id
    index = np.broadcast_to(np.arange(inputs.shape[1]), inputs.shape)
    positions = index - np.maximum.accumulate(np.where(starts, index, 0), axis=1)
    return positions, np.cumsum(starts, axis=1)


@dataclass(frozen=True, kw_only=True)
class Batch:
    """One rank's micro-batch; every tensor is int64 (B, T) unless noted."""

    input_ids: torch.Tensor
    labels: torch.Tensor  # input_ids shifted by one within the packed stream
    positions: torch.Tensor  # per-document with document masking, else 0..T-1
    document_ids: torch.Tensor | None  # None without document masking
    set_index: torch.Tensor  # (B,) which blended set each row came from, for per-set loss


class _SetStream:
    """One shard set's endless token stream and its cursor (epoch, shard, offset).

    `shard` is a position in the epoch's shuffled shard order and `offset` counts tokens
    into that shard's rows in their shuffled order. Moving the cursor needs only each
    shard's token count (its small `num_tokens` column); tokens are read when asked for.
    """

    def __init__(self, manifest: ShardManifest, *, seed: int, set_index: int):
        if manifest.tokens <= 0 or not manifest.shards:
            raise DataError(f"shard set {manifest.path} holds no tokens; remove it from the blend")
        self.manifest = manifest
        self._seed = seed
        self._set_index = set_index
        self._token_counts: dict[int, int] = {}
        self._order: tuple[int, np.ndarray] | None = None  # (epoch, shard order)
        self._loaded: tuple[tuple[int, int], np.ndarray] | None = None  # ((epoch, shard), tokens)
        self.epoch = self.shard = self.offset = 0

    def cursor(self) -> dict:
        return {"epoch": self.epoch, "shard": self.shard, "offset": self.offset}

    def seek(self, *, epoch: int, shard: int, offset: int) -> None:
        self.epoch, self.shard, self.offset = epoch, shard, offset

    def take(self, count: int, *, materialize: bool) -> np.ndarray | None:
        """Advance by `count` tokens; return them only when `materialize` (int32, (count,))."""
        pieces, empty_run = [], 0
        while count:
            shard_index = self._shard_index()
            available = self._token_count(shard_index) - self.offset
            if available <= 0:
                empty_run += 1
                if empty_run > len(self.manifest.shards):  # a full epoch without a token
                    raise DataError(f"shard set {self.manifest.path}: every shard has num_tokens 0")
                self._next_shard()
                continue
            empty_run = 0
            step = min(count, available)
            if materialize:
                pieces.append(self._tokens(shard_index)[self.offset:self.offset + step])
            self.offset += step
            count -= step
        return np.concatenate(pieces) if materialize else None

    def _next_shard(self) -> None:
        self.shard, self.offset = self.shard + 1, 0
        if self.shard == len(self.manifest.shards):
            self.epoch, self.shard = self.epoch + 1, 0

    def _shard_index(self) -> int:
        if self._order is None or self._order[0] != self.epoch:
            order = shard_order(seed=self._seed, set_index=self._set_index, epoch=self.epoch,
                                shards=len(self.manifest.shards))
            self._order = (self.epoch, order)
        return int(self._order[1][self.shard])

    def _token_count(self, shard_index: int) -> int:
        if shard_index not in self._token_counts:
            path = self.manifest.shards[shard_index].path
            counts = pq.read_table(path, columns=["num_tokens"]).column("num_tokens")
            self._token_counts[shard_index] = int(pc.sum(counts).as_py() or 0)
        return self._token_counts[shard_index]

    def _tokens(self, shard_index: int) -> np.ndarray:
        key = (self.epoch, shard_index)
        if self._loaded is None or self._loaded[0] != key:
            self._loaded = None  # let the previous shard go before reading the next
            self._loaded = (key, self._read_shard(shard_index))
        return self._loaded[1]

    def _read_shard(self, shard_index: int) -> np.ndarray:
        shard = self.manifest.shards[shard_index]
        column = pq.read_table(shard.path, columns=["tokens"]).column("tokens").combine_chunks()
        if len(column) != shard.rows:
            raise DataError(f"shard {shard.path} has {len(column)} rows, its manifest says {shard.rows}")
        order = row_order(seed=self._seed, set_index=self._set_index, epoch=self.epoch, shard=shard_index,
                          rows=shard.rows)
        tokens = column.take(pa.array(order)).flatten().to_numpy(zero_copy_only=False)
        if len(tokens) != self._token_count(shard_index):
            raise DataError(f"shard {shard.path}: num_tokens sums to {self._token_count(shard_index)} "
                            f"but the tokens column holds {len(tokens)}")
        # Cheap next to the read, and an id past the vocabulary would index out of the embedding.
        if len(tokens) and (tokens.min() < 0 or tokens.max() >= self.manifest.vocab_size):
            raise DataError(f"shard {shard.path} holds token ids outside [0, {self.manifest.vocab_size}) "
                            f"(min {tokens.min()}, max {tokens.max()})")
        return tokens


class PackedBatches:
    """An endless iterator of this rank's packed micro-batches from weighted shard sets.

    sets: (shard directory, weight) pairs, e.g. from `blend_spec`; weights are normalised.
    seq_len: tokens per row; each row is a window of seq_len + 1 tokens of one set's stream.
    micro_batch: rows per rank per call of `next`; one call consumes micro_batch *
        world_size global sequences, of which this rank gets those with g % world_size == rank.
    seed: the blend schedule and every set's per-epoch shard and row order.
    document_masking: give per-document positions and `document_ids` so the model can
        keep attention within documents; without it positions are 0..T-1 and attention is
        plain causal across documents (per-document positions without the mask would put
        a document's first token next to the previous document at a negative distance).

    The state (`state_dict`) is the same on every rank; save it from any one of them.
    Check the sets against the model with `validate_manifests(self.manifests, ...)`.
    """

    def __init__(self, sets: Sequence[tuple[str, float]], *, seq_len: int, micro_batch: int, rank: int,
                 world_size: int, seed: int, document_masking: bool):
        for name, value, minimum in (("seq_len", seq_len, 1), ("micro_batch", micro_batch, 1),
                                     ("world_size", world_size, 1), ("seed", seed, 0)):
            if not isinstance(value, int) or value < minimum:
                raise DataError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if not 0 <= rank < world_size:
            raise DataError(f"rank {rank} is outside world_size {world_size}")
        if not sets:
            raise DataError("no shard sets given; pass at least one shard directory")
        weights = [float(weight) for _, weight in sets]
        if any(not math.isfinite(w) or w <= 0 for w in weights):
            raise DataError(f"blend weights must be positive, got {weights}")
        self.manifests = tuple(read_manifest(directory) for directory, _ in sets)
        check_same_tokenizer(self.manifests)
        self.weights = tuple(w / sum(weights) for w in weights)
        self.seq_len, self.micro_batch, self.rank, self.world_size = seq_len, micro_batch, rank, world_size
        self.seed, self.document_masking = seed, document_masking
        self._eos_id = self.manifests[0].eos_id
        self._thresholds = blend_thresholds(self.weights)
        self._offset = schedule_offset(seed)
        self._streams = [_SetStream(m, seed=seed, set_index=i) for i, m in enumerate(self.manifests)]
        self._sequence = 0  # global sequences consumed

    def __iter__(self) -> PackedBatches:
        return self

    def __next__(self) -> Batch:
        rows, set_indices = [], []
        for sequence in range(self._sequence, self._sequence + self.micro_batch * self.world_size):
            set_index = set_for_sequence(sequence, thresholds=self._thresholds, offset=self._offset)
            mine = sequence % self.world_size == self.rank
            window = self._streams[set_index].take(self.seq_len + 1, materialize=mine)
            if mine:
                rows.append(window)
                set_indices.append(set_index)
        self._sequence += self.micro_batch * self.world_size
        windows = np.stack(rows).astype(np.int64)  # (B, T+1)
        inputs = windows[:, :-1]
        if self.document_masking:
            positions, document_ids = document_layout(inputs, self._eos_id)
        else:
            positions, document_ids = np.tile(np.arange(self.seq_len), (len(rows), 1)), None
        return Batch(
            input_ids=torch.from_numpy(np.ascontiguousarray(inputs)),
            labels=torch.from_numpy(np.ascontiguousarray(windows[:, 1:])),
            positions=torch.from_numpy(positions.astype(np.int64)),
            document_ids=None if document_ids is None else torch.from_numpy(document_ids.astype(np.int64)),
            set_index=torch.tensor(set_indices, dtype=torch.int64),
        )

    def state_dict(self) -> dict:
        """JSON-serialisable position: global sequences consumed and each set's cursor.

        `sets[i]` also records the directory (for people), the weight and a fingerprint of
        the set's shards, so that loading it against other data is an error.
        """
        return {
            "format": STATE_FORMAT,
            "seed": self.seed,
            "seq_len": self.seq_len,
            "sequence": self._sequence,
            "sets": [{"directory": m.path, "fingerprint": fingerprint(m), "weight": w, **stream.cursor()}
                     for m, w, stream in zip(self.manifests, self.weights, self._streams)],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue exactly where `state` left off, with this instance's rank and world size."""
        if state.get("format") != STATE_FORMAT:
            raise DataError(f"data state has format {state.get('format')!r}, expected {STATE_FORMAT!r}")
        for key in ("seed", "seq_len"):
            if state.get(key) != getattr(self, key):
                raise DataError(f"data state has {key} {state.get(key)!r} but this run uses {getattr(self, key)!r}; "
                                f"resume with the same {key}")
        sequence, saved = state.get("sequence"), state.get("sets")
        if not isinstance(sequence, int) or sequence < 0 or sequence % self.world_size:
            raise DataError(f"data state sequence {sequence!r} is not a non-negative multiple of world_size "
                            f"{self.world_size}; keep the global batch (micro_batch * world_size) a divisor of it")
        if not isinstance(saved, list) or len(saved) != len(self._streams):
            raise DataError(f"data state holds {len(saved) if isinstance(saved, list) else saved!r} sets, "
                            f"this run blends {len(self._streams)}")
        for manifest, weight, stream, entry in zip(self.manifests, self.weights, self._streams, saved):
            _check_saved_set(entry, manifest, weight)
            stream.seek(epoch=entry["epoch"], shard=entry["shard"], offset=entry["offset"])
        self._sequence = sequence


def _check_saved_set(entry: Mapping[str, Any], manifest: ShardManifest, weight: float) -> None:
    if entry.get("fingerprint") != fingerprint(manifest):
        raise DataError(f"data state set {entry.get('directory')!r} has other shards than {manifest.path} "
                        f"(fingerprint {entry.get('fingerprint')!r} vs {fingerprint(manifest)!r})")
    if not math.isclose(entry.get("weight", -1.0), weight, rel_tol=1e-9):
        raise DataError(f"data state weight {entry.get('weight')!r} for {manifest.path} differs from {weight!r}; "
                        "a changed blend is a new schedule, start it without the data state")
    for key, limit in (("epoch", None), ("shard", len(manifest.shards)), ("offset", None)):
        value = entry.get(key)
        if not isinstance(value, int) or value < 0 or (limit is not None and value >= limit):
            raise DataError(f"data state {key} {value!r} for {manifest.path} is out of range")
