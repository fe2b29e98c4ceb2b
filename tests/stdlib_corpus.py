"""Real code of this machine's standard library as curated documents, for tests."""

from __future__ import annotations

import json
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


def write_documents(root: Path, records: list[FileRecord], *, finished: bool = True) -> Path:
    """A curate-style output directory (documents/part-*.parquet), with the stats.json
    completion record a finished job writes last (`finished=False`: a killed job's)."""
    (root / "documents").mkdir(parents=True)
    rows = [record_to_row(r) for r in records]
    pq.write_table(pa.Table.from_pylist(rows, schema=FILE_SCHEMA), root / "documents" / "part-00000-of-00001.parquet")
    return mark_finished(root) if finished else root


def mark_finished(root: Path) -> Path:
    """Write the stats.json a finished curate job ends with: it lists documents/'s shards."""
    shards = [{"path": p.name, "rows": pq.read_metadata(p).num_rows} for p in sorted((root / "documents").glob("*.parquet"))]
    (root / "stats.json").write_text(json.dumps({"stages": {}, "outputs": {"documents": shards}}))
    return root


def copy_rules(target: Path) -> Path:
    """A copy of the bundled rules/ to edit in a test (its benchmarks are the packaged copies)."""
    import shutil

    from stackpipe.rules import DEFAULT_RULES_DIR

    shutil.copytree(DEFAULT_RULES_DIR, target, dirs_exist_ok=True)
    return target
