"""Totals and `manifest.json` of a shard directory (DESIGN.md §3).

The manifest is what the trainer checks before it starts: the tokenizer's hash and
special ids, the family and FIM settings, the seed, totals, and every shard's rows and
sha256. Totals are built from small per-row tallies merged associatively, so any runner
can sum them in any order.
"""

from __future__ import annotations

import json
from typing import Iterable, Mapping

from stackpipe.rules import FamilySpec
from stackpipe.tokens.fim import FIM_MODES
from stackpipe.tokens.samples import TokenRow

MANIFEST_FORMAT = "stackpipe-shards/1"
MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.json"


def row_tally(row: TokenRow) -> dict:
    tokens = len(row.tokens)
    return {"rows": 1, "tokens": tokens, "split_rows": int(row.split),
            "languages": {row.language: {"rows": 1, "tokens": tokens}},
            "sources": {row.source: {"rows": 1, "tokens": tokens}},
            "fim": {row.fim: 1}}


def source_tally(outcome: str) -> dict:
    """One input record: `tokenized`, or the reason it was dropped."""
    if outcome == "tokenized":
        return {"documents": 1}
    return {"dropped": {outcome: 1}}


def merge_tallies(tallies: Iterable[Mapping]) -> dict:
    """Sum nested count dictionaries (associative and commutative, for CombineGlobally)."""
    merged: dict = {}
    for tally in tallies:
        _add_into(merged, tally)
    return merged


def _add_into(target: dict, addition: Mapping) -> None:
    for key, value in addition.items():
        if isinstance(value, Mapping):
            _add_into(target.setdefault(key, {}), value)
        else:
            target[key] = target.get(key, 0) + value


def totals_document(tally: Mapping) -> dict:
    """Tallies in the manifest's fixed shape, with zeros where nothing was counted."""
    dropped = dict(sorted(tally.get("dropped", {}).items()))
    documents = tally.get("documents", 0)
    return {
        "input_documents": documents + sum(dropped.values()),
        "documents": documents,
        "dropped": dropped,
        "rows": tally.get("rows", 0),
        "tokens": tally.get("tokens", 0),
        "split_rows": tally.get("split_rows", 0),
        "fim": {mode: tally.get("fim", {}).get(mode, 0) for mode in FIM_MODES},
        "languages": _sorted_by_tokens(tally.get("languages", {})),
        "sources": _sorted_by_tokens(tally.get("sources", {})),
    }


def _sorted_by_tokens(groups: Mapping[str, Mapping]) -> dict:
    return {name: dict(groups[name]) for name in sorted(groups, key=lambda n: (-groups[n]["tokens"], n))}


def fim_settings(family: FamilySpec, enabled: bool) -> dict:
    fim = family.fim
    return {"enabled": enabled, "rate": fim.rate if enabled else 0.0, "spm_rate": fim.spm_rate,
            "repo_rate": fim.repo_rate if enabled else None, "repo_file_rate": fim.repo_file_rate,
            "metadata_rate": family.metadata_rate, "repo_format": family.repo_format}


def manifest_document(*, family_name: str, tokenizer: Mapping, fim: Mapping, seed: int, max_tokens: int,
                      input_uri: str, tally: Mapping, shards: Iterable[Mapping]) -> dict:
    return {
        "format": MANIFEST_FORMAT,
        "family": family_name,
        "tokenizer": dict(tokenizer, file=TOKENIZER_NAME),
        "fim": dict(fim),
        "seed": seed,
        "max_tokens": max_tokens,
        "input": input_uri,
        "totals": totals_document(tally),
        "shards": sorted(shards, key=lambda s: s["path"]),
    }


def manifest_bytes(manifest: Mapping) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
