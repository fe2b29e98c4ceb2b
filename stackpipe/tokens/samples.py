"""Documents and packed repository samples -> token rows of the shard format (DESIGN.md §3).

One row per document: [bos] [metadata] body [eos], where the body is the text, a FIM
sample of it, or (for a packed repository sample) its files in order with FIM applied
per file and never across a file boundary. A document longer than `max_tokens` is split
into several rows (between files, then between lines), never truncated.

All text is encoded in one `encode_batch` call per batch of documents. That keeps the
shard stage close to the raw speed of the tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
from tokenizers import Tokenizer

from stackpipe.rules import FamilySpec
from stackpipe.tokens.fim import FimIds, Segment, draw_cuts, fim_segments, seeded_rng, transform
from stackpipe.tokens.tokenizer import TextEncoder

# A record over the token limit is cut by length into pieces aimed at this share of the
# limit, so that uneven token density rarely pushes a piece over; a piece that still is
# over is cut again, up to MAX_SPLIT_ROUNDS times, and then sliced.
SPLIT_FILL = 0.9
MAX_SPLIT_ROUNDS = 4
SPLIT_HEADROOM = 16  # token-space cuts: room for the piece's own metadata draw
MIN_MAX_TOKENS = 64


@dataclass(frozen=True)
class FileSpan:
    """One file of a packed repository sample: `content[start:end]` (character offsets)."""

    path: str
    language: str
    start: int
    end: int


@dataclass(frozen=True)
class ShardSource:
    """What the shard stage tokenizes: a curated document or a packed repository sample."""

    id: str
    repo: str
    path: str
    language: str
    source: str
    content: str
    stars: int | None = None
    files: tuple[FileSpan, ...] = ()
    # Set on the pieces of a split document: the FIM decision of the whole document, and
    # the piece's tokens when they can be reused as they are.
    fim_decision: str | None = None
    content_ids: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_row(cls, row: Mapping) -> ShardSource:
        """From a row of documents/*.parquet (FILE_SCHEMA or PACKED_SCHEMA)."""
        spans = tuple(FileSpan(s["path"] or "", s["language"] or "", int(s["start"]), int(s["end"]))
                      for s in (row.get("files") or ()))
        return cls(id=row["id"], repo=row.get("repo") or "", path=row.get("path") or "",
                   language=row.get("language") or "", source=row.get("source") or "",
                   content=row.get("content") or "", stars=row.get("stars"), files=spans)


class SourceProblem(ValueError):
    """A record the shard stage cannot turn into tokens; `reason` names why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class SampleSettings:
    """Everything that decides a row's tokens besides the text itself."""

    family: FamilySpec
    special_ids: Mapping[str, int]
    seed: int
    fim: bool = True
    max_tokens: int = 8192
    fim_ids: FimIds | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fim_ids", FimIds.from_special_ids(self.special_ids) if self.fim else None)
        if self.max_tokens < MIN_MAX_TOKENS:
            raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}, got {self.max_tokens}")


def check_spans(source: ShardSource) -> None:
    """Spans must lie inside the content, in order and without overlap."""
    position = 0
    for span in source.files:
        if not position <= span.start <= span.end <= len(source.content):
            raise SourceProblem("bad_spans", f"record {source.id}: span {span.path!r} [{span.start}, {span.end}) "
                                f"is out of order or outside the {len(source.content)}-character content")
        position = span.end


def metadata_segments(source: ShardSource, settings: SampleSettings) -> list[Segment]:
    """StarCoder's <reponame>/<filename>/<gh_stars> prefixes, each kept with metadata_rate."""
    rate = settings.family.metadata_rate
    if rate <= 0:
        return []
    rng = seeded_rng(settings.seed, source.id, "metadata")
    values = {"reponame": source.repo, "filename": "" if source.files else source.path,
              "gh_stars": "" if source.stars is None else str(source.stars)}
    segments: list[Segment] = []
    for role, value in values.items():
        drawn = rng.random() < rate  # drawn even when the value is empty, so draws stay aligned
        if drawn and value:
            segments += [settings.special_ids[role], value]
    return segments + ["\n"] if segments else []


def packed_body(source: ShardSource, settings: SampleSettings) -> tuple[list[Segment], str]:
    """A repository sample's files with FIM per file (repo-level FIM for StarCoder2)."""
    family, ids = settings.family, settings.fim_ids
    rng = seeded_rng(settings.seed, source.id, "repo")
    if family.fim.repo_rate is not None:  # StarCoder2: choose repositories, then files within them
        selected = ids is not None and rng.random() < family.fim.repo_rate
        file_rate = family.fim.repo_file_rate if selected else 0.0
    else:
        file_rate = family.fim.rate if ids is not None else 0.0
    mode = "spm" if rng.random() < family.fim.spm_rate else "psm"  # one order per sample
    starcoder2 = family.repo_format == "starcoder2"
    segments: list[Segment] = [settings.special_ids["repo_name"], source.repo] if starcoder2 else []
    transformed = False
    position = 0
    for index, span in enumerate(source.files):
        if starcoder2:  # the path travels in the separator; packing's path comments are dropped
            segments += [settings.special_ids["file_sep"], f"{span.path}\n"]
        else:
            segments.append(source.content[position:span.start])
        text = source.content[span.start:span.end]
        file_rng = seeded_rng(settings.seed, source.id, "file", str(index))
        if ids is not None and text and file_rng.random() < file_rate:
            segments += fim_segments(text, mode, draw_cuts(file_rng, len(text)), ids)
            transformed = True
        else:
            segments.append(text)
        position = span.end
    if not starcoder2:
        segments.append(source.content[position:])
    return [s for s in segments if s != ""], (mode if transformed else "none")


@dataclass(frozen=True)
class Layout:
    """A row before encoding: its segments, FIM mode, and where the body starts."""

    segments: list[Segment]
    mode: str
    body_start: int


def layout(source: ShardSource, settings: SampleSettings) -> Layout:
    """The segments of one row: [bos] [metadata] body eos."""
    family, special = settings.family, settings.special_ids
    head: list[Segment] = [special["bos"]] if "bos" in special else []
    head += metadata_segments(source, settings)
    if source.files:
        body, mode = packed_body(source, settings)
    else:
        rng = seeded_rng(settings.seed, source.id, "fim")
        body, mode = transform(source.content, rng, family.fim.rate, family.fim.spm_rate, settings.fim_ids,
                               mode=source.fim_decision)
        if mode == "none" and source.content_ids is not None:
            body = [source.content_ids]
    return Layout(head + body + [special["eos"]], mode, len(head))


def encode_layouts(layouts: Sequence[Layout], encoder: TextEncoder) -> list[tuple[np.ndarray, int]]:
    """Token ids of each layout and the offset where its body starts; all text in one batch."""
    texts = [s for item in layouts for s in item.segments if isinstance(s, str)]
    encoded = iter(encoder.encode(texts))
    rows = []
    for item in layouts:
        ids: list[int] = []
        body_offset = 0
        for index, segment in enumerate(item.segments):
            if index == item.body_start:
                body_offset = len(ids)
            if isinstance(segment, str):
                ids += next(encoded)
            elif isinstance(segment, np.ndarray):
                ids += segment.tolist()
            else:
                ids.append(segment)
        rows.append((np.asarray(ids, dtype=np.int32), body_offset))
    return rows


def piece_id(record_id: str, index: int) -> str:
    """Id of the index-th piece of a split record (keeps the hex prefix that picks the shard)."""
    return f"{record_id}-{index:04d}"


def split_source(source: ShardSource, pieces: int) -> list[ShardSource]:
    """Cut a record into about `pieces` parts of equal length.

    A packed sample is cut between files and keeps its spans. A plain document, or a
    file too long to share a piece, is cut between lines, and a line that is too long
    is cut by characters.
    """
    if pieces <= 1:
        raise ValueError(f"split_source needs at least 2 pieces, got {pieces}")
    if source.files:
        return _split_packed(source, pieces)
    return [replace(source, id=piece_id(source.id, i), content=text)
            for i, text in enumerate(_cut_text(source.content, pieces))]


def _cut_text(text: str, pieces: int) -> list[str]:
    target = max(1, -(-len(text) // pieces))
    cut: list[str] = []
    current: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        parts = [line[i:i + target] for i in range(0, len(line), target)] if len(line) > target else [line]
        for part in parts:
            if current and used + len(part) > target:
                cut.append("".join(current))
                current, used = [], 0
            current.append(part)
            used += len(part)
    if current:
        cut.append("".join(current))
    return cut


def _split_packed(source: ShardSource, pieces: int) -> list[ShardSource]:
    """Group whole files into pieces; a file longer than a piece becomes plain pieces of its own."""
    target = max(1, -(-len(source.content) // pieces))
    # each file's chunk runs from the end of the previous file, so packing's path comment stays with it
    bounds = [0] + [span.end for span in source.files[:-1]] + [len(source.content)]
    out: list[ShardSource] = []
    group: list[int] = []

    def close_group() -> None:
        if group:
            start, end = bounds[group[0]], bounds[group[-1] + 1]
            spans = tuple(replace(source.files[i], start=source.files[i].start - start,
                                  end=source.files[i].end - start) for i in group)
            out.append(replace(source, id=piece_id(source.id, len(out)), content=source.content[start:end],
                               files=spans))
            group.clear()

    for index, span in enumerate(source.files):
        chunk = source.content[bounds[index]:bounds[index + 1]]
        if len(chunk) > target:
            close_group()
            for text in _cut_text(chunk, -(-len(chunk) // target)):
                out.append(replace(source, id=piece_id(source.id, len(out)), path=span.path,
                                   language=span.language, content=text, files=()))
            continue
        if group and bounds[index + 1] - bounds[group[0]] > target:
            close_group()
        group.append(index)
    close_group()
    return out


def hard_split(tokens: np.ndarray, limit: int) -> list[np.ndarray]:
    """Last resort for a piece still over `limit` after splitting: consecutive slices."""
    return [tokens[i:i + limit] for i in range(0, len(tokens), limit)]


@dataclass(frozen=True)
class TokenRow:
    """One row of a training shard (SHARD_SCHEMA)."""

    id: str
    tokens: np.ndarray
    repo: str
    language: str
    source: str
    fim: str
    split: bool = False

    def to_row(self) -> dict:
        return {"tokens": self.tokens, "num_tokens": len(self.tokens), "id": self.id, "repo": self.repo,
                "language": self.language, "source": self.source, "fim": self.fim}


def tokenize_sources(sources: Sequence[ShardSource], settings: SampleSettings,
                     encoder: TextEncoder | Tokenizer) -> list[TokenRow]:
    """Rows for a batch of sources, in input order (the pieces of a split record in piece order).

    Each record is encoded once. One that comes out over `max_tokens` is cut into pieces
    that inherit its FIM decision. A document without FIM is cut between lines in token
    space and its tokens are reused. Any other record is cut by length, aiming at
    SPLIT_FILL of the limit, and its pieces are encoded, each with its own cut points.
    Raises SourceProblem for a record with broken spans; the Beam stage checks each record
    with `check_spans` first.
    """
    if not isinstance(encoder, TextEncoder):
        encoder = TextEncoder(encoder)
    for source in sources:
        check_spans(source)
    done: list[tuple[tuple, TokenRow]] = []
    pending = [((index,), source) for index, source in enumerate(sources)]
    for round_ in range(MAX_SPLIT_ROUNDS + 1):
        laid_out = [layout(source, settings) for _, source in pending]
        encoded = encode_layouts(laid_out, encoder)
        retry = []
        for (order, source), item, (tokens, body_offset) in zip(pending, laid_out, encoded):
            split = len(order) > 1
            if len(tokens) <= settings.max_tokens:
                done.append((order, _row(source, tokens, item.mode, split=split)))
            elif round_ < MAX_SPLIT_ROUNDS:
                pieces = _pieces(source, item.mode, tokens, body_offset, settings, encoder)
                retry += [(order + (i,), piece) for i, piece in enumerate(pieces)]
            else:  # density so uneven that cutting by length failed repeatedly
                done += [(order + (i,), _row(replace(source, id=piece_id(source.id, i)), part, item.mode, split=True))
                         for i, part in enumerate(hard_split(tokens, settings.max_tokens))]
        pending = retry
        if not pending:
            break
    return [row for _, row in sorted(done, key=lambda item: item[0])]


def _pieces(source: ShardSource, mode: str, tokens: np.ndarray, body_offset: int, settings: SampleSettings,
            encoder: TextEncoder) -> list[ShardSource]:
    """Pieces of an over-long record, inheriting its FIM decision."""
    if not source.files and mode == "none":
        body = tokens[body_offset:-1]
        budget = settings.max_tokens - (len(tokens) - len(body)) - SPLIT_HEADROOM
        parts = cut_tokens_at_lines(body, max(budget, 1), encoder.line_ends, encoder.line_starts)
        texts = [encoder.decode(part) for part in parts]
        if "".join(texts) == source.content:  # cuts fell on character boundaries
            return [replace(source, id=piece_id(source.id, i), content=text, content_ids=part, fim_decision="none")
                    for i, (text, part) in enumerate(zip(texts, parts))]
    count = max(2, -(-len(tokens) // int(settings.max_tokens * SPLIT_FILL)))
    decision = None if source.files else mode
    return [replace(piece, fim_decision=decision, content_ids=None) for piece in split_source(source, count)]


def cut_tokens_at_lines(ids: np.ndarray, budget: int, line_ends: np.ndarray,
                        line_starts: np.ndarray) -> list[np.ndarray]:
    """Cut `ids` into runs of at most `budget` at line boundaries where possible: after a
    token that ends with a newline, or before one that starts with a newline."""
    boundary = line_ends[ids[:-1]] | line_starts[ids[1:]]
    cuts = np.flatnonzero(boundary) + 1
    parts, start = [], 0
    while len(ids) - start > budget:
        limit = start + budget
        best = cuts[np.searchsorted(cuts, limit, side="right") - 1] if len(cuts) else 0
        end = best if best > start else limit  # a line longer than the budget: cut inside it
        parts.append(ids[start:end])
        start = end
    parts.append(ids[start:])
    return parts


def _row(source: ShardSource, tokens: np.ndarray, mode: str, *, split: bool) -> TokenRow:
    return TokenRow(id=source.id, tokens=tokens, repo=source.repo, language=source.language,
                    source=source.source, fim=mode, split=split)
