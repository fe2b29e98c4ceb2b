"""Gather a run's figures for the data card: pure functions from a run directory to a plain dict.

`discover` (discover.py) finds the parts; each function here turns them into one
section's numbers. Only counts leave this module: Parquet files are read a few columns
at a time (never `content`), and nothing that could hold PII (values, paths, file ids,
benchmark matches) is copied into the result. A section whose part is missing is `None`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from stackpipe.report.discover import RunParts, discover, parquet_batches
from stackpipe.stats import conservation_errors

# The file-level documents of the most downstream kind (that kept its documents) are the
# ones the card describes.
DOCUMENT_PREFERENCE = ("dedup", "curate", "pack", "dedup_repo", "other")
# Length histograms: 8 bins per octave, so quantiles read off the bins are within 9%;
# plots merge them to whole octaves.
BINS_PER_OCTAVE = 8
OCTAVES = 40
FINE_EDGES = 2.0 ** (np.arange(OCTAVES * BINS_PER_OCTAVE + 1) / BINS_PER_OCTAVE)
QUANTILES = (0.5, 0.9, 0.99)


def stage_rows(parts: RunParts) -> list[dict]:
    """One entry per stage directory: its stages' counts and conservation."""
    rows = []
    for name in parts.ordered():
        stats = parts.stats[name]
        errors = conservation_errors(stats["stages"])
        rows.append({
            "dir": name, "kind": parts.kinds[name], "conservation": not errors, "errors": errors,
            "stages": [{"name": stage, "input": entry["input"], "kept": entry["kept"],
                        "dropped": dict(entry["dropped"]), "edited": dict(entry.get("edited", {}))}
                       for stage, entry in stats["stages"].items()],
        })
    for name, manifest in sorted(parts.manifests.items()):
        totals = manifest["totals"]
        dropped = dict(totals.get("dropped", {}))
        balance = totals.get("input_documents", 0) == totals.get("documents", 0) + sum(dropped.values())
        rows.append({
            "dir": name, "kind": "shards", "conservation": balance,
            "errors": [] if balance else [f"shards: input {totals.get('input_documents')} != documents "
                                          f"{totals.get('documents')} + dropped {sum(dropped.values())}"],
            "stages": [{"name": "tokenize", "input": totals.get("input_documents", 0),
                        "kept": totals.get("documents", 0), "dropped": dropped, "edited": {}}],
        })
    return rows


def _document_dirs(parts: RunParts) -> tuple[str, list[str]]:
    """The most downstream kind whose directories kept Parquet documents, and those dirs."""
    for kind in DOCUMENT_PREFERENCE:
        dirs = [d for d in parts.ordered() if parts.kinds[d] == kind and d in parts.documents]
        if dirs:
            return kind, dirs
    return "", []


def _stats_dirs(parts: RunParts) -> tuple[str, list[str]]:
    for kind in DOCUMENT_PREFERENCE:
        dirs = [d for d in parts.ordered() if parts.kinds[d] == kind]
        if dirs:
            return kind, dirs
    return "", []


def languages(parts: RunParts) -> dict | None:
    """Files and bytes per language (stats.json of the most downstream file-level stage),
    rows and tokens per language (shard manifests), largest first."""
    kind, dirs = _stats_dirs(parts)
    table: dict[str, dict] = {}
    for name in dirs:
        for language, entry in parts.stats[name].get("languages", {}).items():
            row = table.setdefault(language or "(none)", {"files": 0, "bytes": 0, "rows": 0, "tokens": 0})
            row["files"] += entry.get("files", 0)
            row["bytes"] += entry.get("bytes", 0)
    for manifest in parts.manifests.values():
        for language, entry in manifest["totals"].get("languages", {}).items():
            row = table.setdefault(language or "(none)", {"files": 0, "bytes": 0, "rows": 0, "tokens": 0})
            row["rows"] += entry.get("rows", 0)
            row["tokens"] += entry.get("tokens", 0)
    if not table:
        return None
    ordered = sorted(table, key=lambda k: (-table[k]["tokens"], -table[k]["files"], k))
    return {"files_from": dirs, "files_kind": kind, "tokens_from": sorted(parts.manifests),
            "rows": {k: table[k] for k in ordered}}


def drops(rows: list[dict]) -> list[dict]:
    """Every (directory, stage, reason) that dropped something, in flow order."""
    return [{"dir": row["dir"], "stage": stage["name"], "reason": reason, "files": count}
            for row in rows for stage in row["stages"] for reason, count in stage["dropped"].items() if count]


def licenses(parts: RunParts) -> dict | None:
    """License types and SPDX expressions of the kept documents, and the license stage's drops."""
    kind, dirs = _document_dirs(parts)
    types: dict[str, int] = {}
    expressions: dict[str, int] = {}
    for name in dirs:
        for path in parts.documents[name]:
            for batch in parquet_batches(path, ["license", "license_type"]):
                for column, target in ((batch.column(0), expressions), (batch.column(1), types)):
                    for value, count in _value_counts(column):
                        key = value or ("(none)" if target is expressions else "(unset)")
                        target[key] = target.get(key, 0) + count
    dropped: dict[str, int] = {}
    for name, stats in parts.stats.items():
        for reason, count in stats["stages"].get("license", {}).get("dropped", {}).items():
            dropped[reason] = dropped.get(reason, 0) + count
    if not types and not dropped:
        return None
    return {"from": dirs, "kind": kind, "types": _by_count(types), "expressions": _by_count(expressions),
            "dropped": _by_count(dropped)}


def pii(parts: RunParts) -> dict | None:
    """Values redacted and files dropped per PII entity (counts only; values never reach stats.json)."""
    dirs = [d for d in parts.ordered() if "pii" in parts.stats[d]["stages"]]
    if not dirs:
        return None
    entities: dict[str, dict] = {}
    for name in dirs:
        stage = parts.stats[name]["stages"]["pii"]
        for key, count in stage.get("edited", {}).items():
            entity = key.removeprefix("pii_")
            entities.setdefault(entity, {"redacted": 0, "dropped": 0})["redacted"] += count
        for reason, count in stage["dropped"].items():
            entity = reason.removeprefix("pii_") if reason != "pii" else "several"
            entities.setdefault(entity, {"redacted": 0, "dropped": 0})["dropped"] += count
    files = sum(parts.stats[d]["stages"]["pii"]["input"] for d in dirs)
    return {"from": dirs, "files_scanned": files,
            "entities": {k: entities[k] for k in sorted(entities, key=lambda k: (-entities[k]["redacted"], k))}}


def clusters(parts: RunParts) -> dict | None:
    """Near-duplicate cluster sizes (units per representative) from clusters/*.parquet."""
    if not parts.clusters:
        return None
    sizes: dict[str, int] = {}
    units = kept = 0
    for name in sorted(parts.clusters):
        for path in parts.clusters[name]:
            for batch in parquet_batches(path, ["cluster_id", "kept"]):
                units += batch.num_rows
                kept += pc.sum(batch.column(1)).as_py() or 0
                for value, count in _value_counts(batch.column(0)):
                    key = f"{name}\x00{value}"
                    sizes[key] = sizes.get(key, 0) + count
    histogram: dict[int, int] = {}
    for size in sizes.values():
        histogram[size] = histogram.get(size, 0) + 1
    return {"from": sorted(parts.clusters), "clusters": len(sizes), "units": units, "kept": kept,
            "dropped": units - kept, "largest": max(sizes.values(), default=0),
            "sizes": {size: histogram[size] for size in sorted(histogram)}}


def decontam(parts: RunParts) -> dict | None:
    """Files dropped per benchmark, summed over every decontam report; problem ids, no matched text."""
    if not parts.decontam:
        return None
    benchmarks: dict[str, dict] = {}
    files = 0
    for name, report in sorted(parts.decontam.items()):
        files += int(report.get("files", 0))
        for benchmark, entry in report["benchmarks"].items():
            total = benchmarks.setdefault(benchmark, {"files": 0, "problems": {}})
            total["files"] += int(entry.get("files", 0))
            for problem, tally in entry.get("problems", {}).items():
                total["problems"][problem] = total["problems"].get(problem, 0) + int(tally.get("files", 0))
    ordered = sorted(benchmarks, key=lambda b: (-benchmarks[b]["files"], b))
    return {"from": sorted(parts.decontam), "files": files,
            "benchmarks": {b: {"files": benchmarks[b]["files"], "problems": len(benchmarks[b]["problems"]),
                               "top": sorted(benchmarks[b]["problems"].items(), key=lambda p: (-p[1], p[0]))[:3]}
                           for b in ordered}}


def length_histogram(paths: list[Path], column: str) -> dict | None:
    """Count, mean, quantiles and an octave histogram of one integer column over Parquet files."""
    counts = np.zeros(len(FINE_EDGES) - 1, dtype=np.int64)
    total = smallest = largest = rows = 0
    for path in paths:
        for batch in parquet_batches(path, [column]):
            values = batch.column(0).to_numpy(zero_copy_only=False).astype(np.int64)
            if not len(values):
                continue
            counts += np.histogram(np.maximum(values, 1), bins=FINE_EDGES)[0]
            smallest = int(values.min()) if rows == 0 else min(smallest, int(values.min()))
            largest = max(largest, int(values.max()))
            total += int(values.sum())
            rows += len(values)
    if rows == 0:
        return None
    cumulative = np.cumsum(counts)
    quantiles = {}
    for q in QUANTILES:
        index = int(np.searchsorted(cumulative, q * rows))
        middle = math.sqrt(FINE_EDGES[index] * FINE_EDGES[index + 1])
        quantiles[f"p{round(q * 100)}"] = min(max(int(round(middle)), smallest), largest)
    octave = counts.reshape(OCTAVES, BINS_PER_OCTAVE).sum(axis=1)
    used = np.nonzero(octave)[0]
    first, last = int(used[0]), int(used[-1]) + 1
    return {"count": rows, "mean": total / rows, "min": smallest, "max": largest, "quantiles": quantiles,
            "edges": [2 ** k for k in range(first, last + 1)], "counts": octave[first:last].tolist()}


def lengths(parts: RunParts) -> dict | None:
    kind, dirs = _document_dirs(parts)
    documents = length_histogram([p for d in dirs for p in parts.documents[d]], "size_bytes") if dirs else None
    shard_files = [parts.root / name / shard["path"] for name, m in sorted(parts.manifests.items())
                   for shard in m["shards"]]
    tokens = length_histogram(shard_files, "num_tokens") if shard_files else None
    if documents is None and tokens is None:
        return None
    return {"documents": documents, "documents_from": dirs, "documents_kind": kind,
            "tokens": tokens, "tokens_from": sorted(parts.manifests)}


def shards(parts: RunParts) -> dict | None:
    """Totals of every shard set: rows, tokens, FIM modes, sources, settings."""
    if not parts.manifests:
        return None
    sets = []
    for name, manifest in sorted(parts.manifests.items()):
        totals = manifest["totals"]
        sets.append({"dir": name, "family": manifest.get("family", ""),
                     "vocab_size": manifest.get("tokenizer", {}).get("vocab_size"),
                     "max_tokens": manifest.get("max_tokens"), "seed": manifest.get("seed"),
                     "fim_rate": manifest.get("fim", {}).get("rate"), "documents": totals.get("documents", 0),
                     "rows": totals.get("rows", 0), "tokens": totals.get("tokens", 0),
                     "shards": len(manifest["shards"]), "fim": dict(totals.get("fim", {})),
                     "sources": {k: dict(v) for k, v in totals.get("sources", {}).items()}})
    return {"sets": sets}


def summary(parts: RunParts, rows: list[dict], shard_info: dict | None) -> dict:
    kind, dirs = _stats_dirs(parts)
    curate_dirs = [d for d in parts.ordered() if parts.kinds[d] == "curate"] or parts.ordered()[:1]
    languages_seen = {lang for d in dirs for lang in parts.stats[d].get("languages", {})}
    return {
        "input_files": sum(parts.stats[d].get("input_files", 0) for d in curate_dirs),
        "documents": sum(parts.stats[d].get("documents", 0) for d in dirs),
        "documents_from": dirs,
        "dropped": sum(count for row in rows for stage in row["stages"] for count in stage["dropped"].values()),
        "languages": len(languages_seen),
        "tokens": sum(s["tokens"] for s in shard_info["sets"]) if shard_info else None,
        "rows": sum(s["rows"] for s in shard_info["sets"]) if shard_info else None,
        "conservation": all(r["conservation"] for r in rows),
    }


def collect(root: str | os.PathLike) -> dict:
    """Every figure of the data card for the run directory `root`, as a JSON-ready dict.

    Sections absent from the run are None; see the module docstring for what is read.
    """
    parts = discover(root)
    rows = stage_rows(parts)
    shard_info = shards(parts)
    return {
        "run": str(Path(root)),
        "found": {"stats": [d for d in parts.ordered()], "shards": [d for d in sorted(parts.manifests)],
                  "clusters": [d for d in sorted(parts.clusters)],
                  "decontam": [d for d in sorted(parts.decontam)]},
        "summary": summary(parts, rows, shard_info),
        "stages": rows,
        "drops": drops(rows),
        "languages": languages(parts),
        "licenses": licenses(parts),
        "pii": pii(parts),
        "clusters": clusters(parts),
        "decontam": decontam(parts),
        "lengths": lengths(parts),
        "shards": shard_info,
    }


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return {k: counts[k] for k in sorted(counts, key=lambda k: (-counts[k], k))}


def _value_counts(column) -> list[tuple]:
    counts = column.value_counts()
    return list(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
