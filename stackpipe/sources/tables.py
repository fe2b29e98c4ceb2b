"""The Stack-style tables: Parquet (one unit per row group) and JSONL (plain, .gz, .zst).

Column names differ between dumps (The Stack v1 says `max_stars_repo_name`, v2 says
`repo_name`); `TableColumns` lists candidates per field and the first present wins. A
table without any content column is one `missing_column` record; a bad row is one
`malformed_row` record and the rest of the table is still read. A row whose repository or
path cell is not valid text (invalid UTF-8 in a Parquet string, a lone surrogate in JSON)
is `undecodable_path`; any other text cell that is not: `malformed_row`. Empty content:
`empty`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Iterator, Mapping, Sequence

from stackpipe.records import RawFile, Rejected
from stackpipe.rules import SourceRules, TableColumns
from stackpipe.sources.storage import open_raw
from stackpipe.sources.streams import CorruptStream, decompressed
from stackpipe.sources.units import InputUnit, refuse, refuse_undecodable, size_refusal, undecodable_name
from stackpipe.sources.uris import basename, compression

BATCH_ROWS = 1024  # rows turned into Python objects at a time: bounds memory beyond the row group


@dataclass(frozen=True)
class ColumnMap:
    """The column a table uses for each record field; None when it has none."""

    content: str
    repo: str | None = None
    path: str | None = None
    license: str | None = None
    license_type: str | None = None
    stars: str | None = None
    revision: str | None = None
    revision_date: str | None = None
    language: str | None = None

    def names(self) -> list[str]:
        return [v for v in (getattr(self, f.name) for f in fields(self)) if v is not None]


def resolve_columns(present: Sequence[str], candidates: TableColumns) -> ColumnMap | None:
    """Pick each field's first candidate that the table has; None without a content column."""
    have = set(present)
    chosen = {f.name: next((c for c in getattr(candidates, f.name) if c in have), None) for f in fields(ColumnMap)}
    return ColumnMap(**chosen) if chosen["content"] is not None else None


def missing_column(unit: InputUnit, present: Sequence[str], candidates: TableColumns) -> Rejected:
    return refuse(unit, unit.uri, "missing_column",
                  f"table {unit.uri!r} has no content column: tried {', '.join(candidates.content)}; "
                  f"columns present: {', '.join(present) or '(none)'}", repo="")


def spdx_expression(value: Any) -> str:
    """A licence cell as an SPDX expression: a list (The Stack's detected licences) joined by AND."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        unique = dict.fromkeys(str(v).strip() for v in value if v)
        return " AND ".join(v for v in unique if v)
    return str(value).strip()


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError, OverflowError):  # NaN star counts in The Stack v1
        return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def row_file(unit: InputUnit, columns: ColumnMap, row: Mapping[str, Any], data: bytes, fallback_path: str) -> RawFile:
    """A RawFile from one row's metadata cells (content already as bytes)."""
    def cell(name: str | None) -> Any:
        return row.get(name) if name is not None else None

    date = cell(columns.revision_date)
    return RawFile(
        source=unit.source, repo=_as_text(cell(columns.repo)), path=_as_text(cell(columns.path)) or fallback_path,
        data=data, license=spdx_expression(cell(columns.license)), license_type=_as_text(cell(columns.license_type)),
        stars=_as_int(cell(columns.stars)), revision=_as_text(cell(columns.revision)),
        language_hint=_as_text(cell(columns.language)), meta={"revision_date": _as_text(date)} if date else {},
    )


def _fallback_name(uri: str) -> str:
    """The table's file name, for the path of a row without one (escaped if not valid text)."""
    name = basename(uri)
    return undecodable_name(name) or name


def checked_row(unit: InputUnit, record: RawFile, size: int, limit: int, where: str) -> RawFile | Rejected:
    """`record` (a row's RawFile, its content `size` bytes) unless its names or other
    text cells are not valid text, or its size is refused."""
    refusal = refuse_undecodable(unit, record.path, size, repo=record.repo)
    if refusal is not None:
        return refusal
    cells = {"license": record.license, "license_type": record.license_type, "revision": record.revision,
             "language": record.language_hint, **record.meta}
    bad = next((name for name, value in cells.items() if undecodable_name(value) is not None), None)
    if bad is not None:
        return refuse(unit, record.path, "malformed_row", f"{where}: its {bad} is not valid UTF-8 text: "
                      f"'{undecodable_name(cells[bad])}'", size, repo=record.repo)
    refusal = size_refusal(unit, record.path, size, limit, repo=record.repo)
    return refusal if refusal is not None else record


def _pylist(column) -> list:
    """Cells as Python values; text that is not valid UTF-8 keeps its bad bytes as surrogate
    escapes (as a file name on disk would), for `checked_row` to refuse, instead of raising."""
    import pyarrow as pa

    def text(value: bytes | None) -> str | None:
        return None if value is None else value.decode("utf-8", "surrogateescape")

    try:
        return column.to_pylist()
    except UnicodeDecodeError:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return [text(v) for v in column.cast(pa.large_binary()).to_pylist()]
        if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and (
                pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)):  # licences
            return [None if cell is None else [text(v) for v in cell]
                    for cell in column.cast(pa.large_list(pa.large_binary())).to_pylist()]
        raise


# --- Parquet -------------------------------------------------------------------------


def read_parquet(unit: InputUnit, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    """Rows of row group `unit.part` (every group when None) of the Parquet file `unit.uri`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        raw = open_raw(unit.uri)
    except OSError as error:
        yield refuse(unit, unit.uri, "corrupt_input", f"cannot open {unit.uri!r}: {error}", repo="")
        return
    with raw:
        try:
            table_file = pq.ParquetFile(raw)
        except (pa.ArrowException, OSError) as error:
            yield refuse(unit, unit.uri, "corrupt_input", f"{unit.uri!r} is not readable Parquet: {error}", repo="")
            return
        present = table_file.schema_arrow.names
        columns = resolve_columns(present, rules.table_columns)
        if columns is None:
            yield missing_column(unit, present, rules.table_columns)
            return
        metadata = table_file.metadata
        parts = range(metadata.num_row_groups) if unit.part is None else (unit.part,)
        for part in parts:
            first_row = sum(metadata.row_group(i).num_rows for i in range(part))
            try:
                table = table_file.read_row_group(part, columns=columns.names())
            except (pa.ArrowException, OSError, IndexError) as error:
                yield refuse(unit, f"{unit.uri}#row_group={part}", "corrupt_input",
                             f"row group {part} of {unit.uri!r} is not readable: {error}", repo="")
                continue
            for batch in table.to_batches(max_chunksize=BATCH_ROWS):
                yield from _batch_rows(unit, batch, columns, rules, first_row)
                first_row += batch.num_rows


def _batch_rows(unit: InputUnit, batch, columns: ColumnMap, rules: SourceRules, first_row: int) -> Iterator:
    import pyarrow as pa
    import pyarrow.compute as pc

    content = batch.column(columns.content)
    if pa.types.is_large_string(content.type):  # string -> binary is a zero-copy cast
        content = content.cast(pa.large_binary())
    elif pa.types.is_string(content.type):
        content = content.cast(pa.binary())
    elif not (pa.types.is_binary(content.type) or pa.types.is_large_binary(content.type)):
        yield refuse(unit, f"{unit.uri}#row={first_row}", "missing_column",
                     f"content column {columns.content!r} of {unit.uri!r} holds {content.type}, not text; "
                     f"{batch.num_rows} rows not read", repo="")
        return
    limit = rules.max_file_bytes
    lengths = pc.binary_length(content)
    too_large = pc.greater(lengths, limit)
    if pc.any(too_large).as_py():  # keep oversize cells out of Python memory
        content = pc.if_else(too_large, pa.scalar(None, content.type), content)
    datas, sizes = content.to_pylist(), lengths.to_pylist()
    others = {name: _pylist(batch.column(name)) for name in columns.names() if name != columns.content}
    name = _fallback_name(unit.uri)
    for index, (data, size) in enumerate(zip(datas, sizes)):
        row = {key: values[index] for key, values in others.items()}
        fallback = f"{name}:{first_row + index}"
        oversize = size is not None and size > limit  # its cell was nulled above
        if data is None and not oversize:
            record = row_file(unit, columns, row, b"", fallback)
            yield refuse(unit, record.path, "malformed_row",
                         f"row {first_row + index} of {unit.uri!r} has a null {columns.content!r}", repo=record.repo)
        else:
            yield checked_row(unit, row_file(unit, columns, row, data or b"", fallback), size, limit,
                              f"row {first_row + index} of {unit.uri!r}")


# --- JSONL ---------------------------------------------------------------------------


def read_jsonl(unit: InputUnit, rules: SourceRules) -> Iterator[RawFile | Rejected]:
    """Rows of the JSON-lines file `unit.uri`; the first row decides which columns are used."""
    name, limit = _fallback_name(unit.uri), rules.max_file_bytes
    max_line = 6 * limit + (1 << 20)  # JSON may escape every character as \\uXXXX
    try:
        raw = open_raw(unit.uri)
    except OSError as error:
        yield refuse(unit, unit.uri, "corrupt_input", f"cannot open {unit.uri!r}: {error}", repo="")
        return
    columns, line_no = None, 0
    with raw:
        stream = decompressed(raw, compression(name))
        try:
            while line := stream.readline(max_line):
                line_no += 1
                where = f"line {line_no} of {unit.uri!r}"
                if len(line) == max_line and not line.endswith(b"\n"):
                    while (rest := stream.readline(max_line)) and not rest.endswith(b"\n"):
                        pass  # skip the rest of the over-long line without holding it
                    yield refuse(unit, f"{name}:{line_no}", "too_large", f"{where} is longer than {max_line:,} bytes",
                                 repo="")
                    continue
                if not line.strip():
                    continue
                row = _parse_line(line)
                if columns is None and isinstance(row, dict):  # the first object names the columns
                    columns = resolve_columns(list(row), rules.table_columns)
                    if columns is None:
                        yield missing_column(unit, list(row), rules.table_columns)
                        return
                yield _jsonl_row(unit, columns, row, where, f"{name}:{line_no}", limit)
        except (CorruptStream, EOFError, OSError) as error:
            yield refuse(unit, f"{name}:{line_no + 1}", "corrupt_input",
                         f"{unit.uri!r} is damaged after line {line_no}: {error}", repo="")


def _parse_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError as error:
        return error


def _jsonl_row(unit: InputUnit, columns: ColumnMap | None, row: Any, where: str, fallback: str,
               limit: int) -> RawFile | Rejected:
    if isinstance(row, ValueError):
        return refuse(unit, fallback, "malformed_row", f"{where} is not valid JSON: {row}", repo="")
    if not isinstance(row, dict) or columns is None:
        return refuse(unit, fallback, "malformed_row", f"{where} is a JSON {type(row).__name__}, not an object", repo="")
    content = row.get(columns.content)
    if not isinstance(content, str):
        record = row_file(unit, columns, row, b"", fallback)
        what = "lacks" if content is None else f"has a {type(content).__name__} in"
        return refuse(unit, record.path, "malformed_row", f"{where} {what} its content column {columns.content!r}",
                      repo=record.repo)
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError as error:
        record = row_file(unit, columns, row, b"", fallback)
        return refuse(unit, record.path, "malformed_row", f"{where}: content holds a lone surrogate at {error.start}",
                      repo=record.repo)
    return checked_row(unit, row_file(unit, columns, row, data if len(data) <= limit else b"", fallback),
                       len(data), limit, where)
