"""Documents and packed repository samples -> token rows of the shard format (DESIGN.md §3).

One row per document: [bos] [metadata] body [eos], where the body is the text, a FIM
sample of it, or (for a packed repository sample) its files in order with FIM applied
per file and never across a file boundary. A document longer than `max_tokens` is split
into several rows (at file boundaries, then at line boundaries), never truncated.

All text is encoded in one `encode_batch` call per batch of documents. That keeps the
shard stage close to the raw speed of the tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

import numpy as np
from tokenizers import Tokenizer

from stackpipe.rules import FamilySpec
from stackpipe.tokens.fim import FimIds, Segment, draw_cuts, draw_mode, fim_segments, seeded_rng, transform
from stackpipe.tokens.tokenizer import encode_texts

# Room left in a split piece for sentinels, metadata prefixes and tokens that merge
# differently once a text is cut: the final check below still catches any excess.
SPLIT_HEADROOM = 64


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
        if self.max_tokens <= 2 * SPLIT_HEADROOM:
            raise ValueError(f"max_tokens must exceed {2 * SPLIT_HEADROOM}, got {self.max_tokens}")


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


def layout(source: ShardSource, settings: SampleSettings) -> tuple[list[Segment], str]:
    """The segments of one row and its FIM mode."""
    family, special = settings.family, settings.special_ids
    segments: list[Segment] = [special["bos"]] if "bos" in special else []
    segments += metadata_segments(source, settings)
    if source.files:
        body, mode = packed_body(source, settings)
    else:
        rng = seeded_rng(settings.seed, source.id, "fim")
        body, mode = transform(source.content, rng, family.fim.rate, family.fim.spm_rate, settings.fim_ids)
    return segments + body + [special["eos"]], mode


def encode_layouts(layouts: Sequence[list[Segment]], tokenizer: Tokenizer) -> list[np.ndarray]:
    """Token ids of each layout, all its text encoded in one batch."""
    texts = [s for segments in layouts for s in segments if isinstance(s, str)]
    encoded = iter(encode_texts(tokenizer, texts))
    rows = []
    for segments in layouts:
        ids: list[int] = []
        for segment in segments:
            if isinstance(segment, str):
                ids += next(encoded)
            else:
                ids.append(segment)
        rows.append(np.asarray(ids, dtype=np.int32))
    return rows


def piece_id(record_id: str, index: int) -> str:
    """Id of the index-th piece of a split record (keeps the hex prefix that picks the shard)."""
    return f"{record_id}-{index:04d}"


def split_source(source: ShardSource, budget: int, count_tokens: Callable[[list[str]], list[int]]) -> list[ShardSource]:
    """Split an over-long record into pieces of about `budget` tokens at most.

    A packed sample splits between files and keeps its spans; a single file (or a file
    too long for any piece) splits between lines, and a line too long splits by characters.
    """
    if source.files:
        return _split_packed(source, budget, count_tokens)
    pieces = _split_text(source.content, budget, count_tokens)
    return [replace(source, id=piece_id(source.id, i), content=text) for i, text in enumerate(pieces)]


def _split_text(text: str, budget: int, count_tokens: Callable[[list[str]], list[int]]) -> list[str]:
    lines = text.splitlines(keepends=True)
    pieces: list[str] = []
    current, used = [], 0
    for line, tokens in zip(lines, count_tokens(lines)):
        if tokens > budget:  # e.g. a minified line: cut by characters (a character is at most 4 byte tokens)
            step = max(1, budget // 4)
            parts = [line[i:i + step] for i in range(0, len(line), step)]
        else:
            parts = [line]
        for part in parts:
            cost = tokens if len(parts) == 1 else budget
            if current and used + cost > budget:
                pieces.append("".join(current))
                current, used = [], 0
            current.append(part)
            used += cost
    if current:
        pieces.append("".join(current))
    return pieces


def _split_packed(source: ShardSource, budget: int, count_tokens: Callable[[list[str]], list[int]]) -> list[ShardSource]:
    """Group whole files into pieces; a file over budget becomes plain documents of its own."""
    bounds = [0] + [span.end for span in source.files[:-1]] + [len(source.content)]
    chunks = [source.content[bounds[i]:bounds[i + 1]] for i in range(len(source.files))]
    costs = count_tokens(chunks)
    pieces: list[ShardSource] = []
    group: list[int] = []
    used = 0

    def close_group() -> None:
        nonlocal group, used
        if group:
            start, end = bounds[group[0]], bounds[group[-1] + 1]
            spans = tuple(replace(source.files[i], start=source.files[i].start - start,
                                  end=source.files[i].end - start) for i in group)
            pieces.append(replace(source, id=piece_id(source.id, len(pieces)),
                                  content=source.content[start:end], files=spans))
        group, used = [], 0

    for index, cost in enumerate(costs):
        if cost > budget:
            close_group()
            span = source.files[index]  # its chunk keeps the path comment packing put before it
            for text in _split_text(chunks[index], budget, count_tokens):
                pieces.append(replace(source, id=piece_id(source.id, len(pieces)), path=span.path,
                                      language=span.language, content=text, files=()))
            continue
        if group and used + cost > budget:
            close_group()
        group.append(index)
        used += cost
    close_group()
    return pieces


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


def tokenize_sources(sources: Sequence[ShardSource], settings: SampleSettings, tokenizer: Tokenizer) -> list[TokenRow]:
    """Rows for a batch of sources. Raises SourceProblem for a record with broken spans;
    callers that must not stop on one bad record check each with `check_spans` first."""
    for source in sources:
        check_spans(source)
    laid_out = [layout(source, settings) for source in sources]
    encoded = encode_layouts([segments for segments, _ in laid_out], tokenizer)
    rows: list[TokenRow] = []
    for source, (_, mode), tokens in zip(sources, laid_out, encoded):
        if len(tokens) <= settings.max_tokens:
            rows.append(_row(source, tokens, mode, split=False))
        else:
            rows += _split_rows(source, settings, tokenizer)
    return rows


def _row(source: ShardSource, tokens: np.ndarray, mode: str, *, split: bool) -> TokenRow:
    return TokenRow(id=source.id, tokens=tokens, repo=source.repo, language=source.language,
                    source=source.source, fim=mode, split=split)


def _split_rows(source: ShardSource, settings: SampleSettings, tokenizer: Tokenizer) -> list[TokenRow]:
    def count_tokens(texts: list[str]) -> list[int]:
        return [len(ids) for ids in encode_texts(tokenizer, texts)]

    pieces = split_source(source, settings.max_tokens - SPLIT_HEADROOM, count_tokens)
    laid_out = [layout(piece, settings) for piece in pieces]
    encoded = encode_layouts([segments for segments, _ in laid_out], tokenizer)
    rows = []
    for piece, (_, mode), tokens in zip(pieces, laid_out, encoded):
        if len(tokens) <= settings.max_tokens:
            rows.append(_row(piece, tokens, mode, split=True))
        else:
            rows += [_row(replace(piece, id=piece_id(piece.id, i)), part, mode, split=True)
                     for i, part in enumerate(hard_split(tokens, settings.max_tokens))]
    return rows
