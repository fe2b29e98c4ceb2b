"""Real code of this machine's standard library as curated documents, for tests."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stackpipe.records import FILE_SCHEMA, FileRecord, record_id, record_to_row

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def stdlib_records(limit: int, packages: tuple[str, ...] = ("email",)) -> list[FileRecord]:
    """Real Python files: modules of the given stdlib packages, then top-level modules."""
    paths = [p for package in packages for p in sorted((STDLIB / package).rglob("*.py"))]
    paths = (paths + sorted(STDLIB.glob("*.py")))[:limit]
    records = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = str(path.relative_to(STDLIB))
        records.append(FileRecord(id=record_id("github", "python/cpython", rel), repo="python/cpython", path=rel,
                                  language="Python", content=text, size_bytes=len(text.encode()),
                                  source="github", stars=100))
    return records


def write_documents(root: Path, records: list[FileRecord]) -> Path:
    """A curate-style output directory (documents/part-*.parquet)."""
    (root / "documents").mkdir(parents=True)
    rows = [record_to_row(r) for r in records]
    pq.write_table(pa.Table.from_pylist(rows, schema=FILE_SCHEMA), root / "documents" / "part-00000-of-00001.parquet")
    return root


def copy_rules(target: Path) -> Path:
    """A copy of the bundled rules/ to edit in a test (its benchmarks are the packaged copies)."""
    import shutil

    from stackpipe.rules import DEFAULT_RULES_DIR

    shutil.copytree(DEFAULT_RULES_DIR, target, dirs_exist_ok=True)
    return target
