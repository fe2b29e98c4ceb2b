"""Find a run's parts: stage outputs, shard sets, cluster tables, decontam reports.

A run directory is whatever the stages wrote, in any layout: one stage's output (a
curate, dedup or pack directory, or a shard directory), the demo's
`out/demo/{curated,dedup,packed,shards}`, or `stackpipe run`'s tree with one folder per
source. `discover` walks it and finds each part by what it holds:

- a directory with `stats.json` is a stage output; its kind follows from its stage
  names (`near_dedup` -> dedup, `pack` -> pack, `read`/`decode`/... -> curate);
- a directory with a `manifest.json` in the shard format is a shard set;
- `clusters/*.parquet` beside a dedup `stats.json` are near-duplicate clusters;
- `decontam_report.json` is a decontamination report.

A part that is there but unreadable is a `ReportInputError` naming the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from stackpipe.outputs import incompleteness

MANIFEST_FORMAT_PREFIX = "stackpipe-shards/"
CURATE_STAGES = frozenset({"read", "decode", "quality", "license", "pii", "decontam", "exact_dedup"})
# Flow order of the kinds (dedup_repo: repository-level dedup of packed samples).
KIND_ORDER = ("curate", "dedup", "pack", "dedup_repo", "other")


class ReportInputError(ValueError):
    """A run directory part that exists but cannot be read; the message names the file."""


@dataclass
class RunParts:
    """Where each kind of output lives under the run directory (relative paths, sorted)."""

    root: Path
    stats: dict[str, dict] = field(default_factory=dict)  # dir -> stats.json document
    kinds: dict[str, str] = field(default_factory=dict)  # dir -> kind
    manifests: dict[str, dict] = field(default_factory=dict)  # dir -> manifest.json document
    clusters: dict[str, list[Path]] = field(default_factory=dict)  # dir -> clusters/*.parquet
    decontam: dict[str, dict] = field(default_factory=dict)  # dir -> decontam_report.json
    documents: dict[str, list[Path]] = field(default_factory=dict)  # dir -> documents/*.parquet

    def ordered(self) -> list[str]:
        """Stage directories in flow order (kind, then path)."""
        return sorted(self.stats, key=lambda d: (KIND_ORDER.index(self.kinds[d]), d))


def read_json(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ReportInputError(f"{path}: not valid JSON ({error}); rerun the stage that wrote it") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReportInputError(f"{path}: cannot be read ({error})") from None
    if not isinstance(document, dict):
        raise ReportInputError(f"{path}: expected a JSON object, got {type(document).__name__}")
    return document


def parquet_batches(path: Path, columns: list[str]):
    """Record batches of only `columns`; a broken file or a missing column names the file."""
    try:
        handle = pq.ParquetFile(path)
        missing = [c for c in columns if c not in handle.schema_arrow.names]
        if missing:
            raise ReportInputError(f"{path}: lacks column(s) {', '.join(missing)}; "
                                   f"columns present: {', '.join(handle.schema_arrow.names)}")
        yield from handle.iter_batches(columns=columns)
    except ReportInputError:
        raise
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise ReportInputError(f"{path}: not a readable Parquet file ({error})") from None


def stage_kind(path: Path, stats: dict) -> str:
    stages = stats.get("stages")
    if not isinstance(stages, dict):
        raise ReportInputError(f"{path}: key 'stages' missing or not an object; is this a stackpipe stats.json?")
    for name, entry in stages.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), int) for k in ("input", "kept")) \
                or not isinstance(entry.get("dropped"), dict):
            raise ReportInputError(f"{path}: stage {name!r} lacks integer 'input'/'kept' or a 'dropped' object")
    if "near_dedup" in stages:
        documents = sorted((path.parent / "documents").glob("*.parquet"))
        packed = bool(documents) and "files" in _schema_names(documents[0])
        return "dedup_repo" if packed else "dedup"
    if "pack" in stages:
        return "pack"
    return "curate" if CURATE_STAGES & set(stages) else "other"


def _schema_names(path: Path) -> list[str]:
    try:
        return pq.read_schema(path).names
    except (OSError, ValueError) as error:
        raise ReportInputError(f"{path}: not a readable Parquet file ({error})") from None


def discover(root: str | os.PathLike) -> RunParts:
    """Find every stage output, shard set, cluster table and decontam report under `root`."""
    root = Path(root)
    if not root.is_dir():
        raise ReportInputError(f"run directory {str(root)!r} does not exist or is not a directory")
    parts = RunParts(root=root)
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d not in ("documents", "rejected"))
        here = Path(directory)
        name = here.relative_to(root).as_posix()
        documents = sorted((here / "documents").glob("*.parquet"))
        if documents:  # never report on a killed or mixed run's partial output
            problem = incompleteness(str(here), read_json(here / "stats.json") if "stats.json" in files else None,
                                     [d.name for d in documents])
            if problem:
                raise ReportInputError(problem)
        if "stats.json" in files:
            parts.stats[name] = read_json(here / "stats.json")
            parts.kinds[name] = stage_kind(here / "stats.json", parts.stats[name])
            if documents:
                parts.documents[name] = documents
            clusters = sorted((here / "clusters").glob("*.parquet"))
            if clusters:
                parts.clusters[name] = clusters
        if "manifest.json" in files:
            manifest = read_json(here / "manifest.json")
            if str(manifest.get("format", "")).startswith(MANIFEST_FORMAT_PREFIX):
                if not isinstance(manifest.get("totals"), dict) or not isinstance(manifest.get("shards"), list):
                    raise ReportInputError(f"{here / 'manifest.json'}: lacks 'totals' or 'shards'")
                parts.manifests[name] = manifest
        if "decontam_report.json" in files:
            report = read_json(here / "decontam_report.json")
            if not isinstance(report.get("benchmarks"), dict):
                raise ReportInputError(f"{here / 'decontam_report.json'}: key 'benchmarks' missing or not an object")
            parts.decontam[name] = report
        if "clusters" in subdirs:
            subdirs.remove("clusters")
    if not (parts.stats or parts.manifests or parts.decontam):
        raise ReportInputError(f"{root} holds no stackpipe outputs (no stats.json, shard manifest.json or "
                               "decontam_report.json at any depth); point `stackpipe report` at a run directory")
    return parts
