"""Per-stage accounting: every stage's input equals what it kept plus what it dropped, by reason.

Stages report counts as small `(key, (files, bytes))` pairs, summed by the runner; this
module turns the sums into the `stats.json` layout and checks conservation.
"""

from __future__ import annotations

from typing import Iterable, Mapping

# Keys of the summed counts: (stage, "input" | "kept" | "dropped", reason or "").
StatKey = tuple[str, str, str]


def stats_document(
    counts: Iterable[tuple[StatKey, tuple[int, int]]],
    stage_order: Iterable[str],
    languages: Iterable[tuple[str, tuple[int, int]]] = (),
    outputs: Mapping[str, list] | None = None,
) -> dict:
    """Assemble stats.json from summed counts; stages appear in `stage_order`."""
    order = list(stage_order)
    stages: dict[str, dict] = {name: _empty_stage() for name in order}
    for (stage, kind, reason), (files, size) in sorted(counts):
        entry = stages.setdefault(stage, _empty_stage())
        if kind == "edited":
            entry.setdefault("edited", {})[reason] = entry.get("edited", {}).get(reason, 0) + files
        elif kind == "dropped":
            entry["dropped"][reason] = entry["dropped"].get(reason, 0) + files
            entry["dropped_bytes"][reason] = entry["dropped_bytes"].get(reason, 0) + size
        else:
            entry[kind] += files
            entry[f"{kind}_bytes"] += size
    for entry in stages.values():
        entry["dropped"] = dict(sorted(entry["dropped"].items()))
        entry["dropped_bytes"] = dict(sorted(entry["dropped_bytes"].items()))
    names = [s for s in order if s in stages] + sorted(set(stages) - set(order))
    document = {
        "stages": {name: stages[name] for name in names},
        "conservation": conservation_errors(stages) == [],
        "languages": {
            name: {"files": files, "bytes": size} for name, (files, size) in sorted(languages)
        },
    }
    if names:
        document["input_files"] = stages[names[0]]["input"]
        document["documents"] = stages[names[-1]]["kept"]
        document["rejected"] = sum(sum(s["dropped"].values()) for s in stages.values())
    if outputs:
        document["outputs"] = {kind: sorted(files, key=lambda f: f["path"]) for kind, files in outputs.items()}
    return document


def _empty_stage() -> dict:
    return {"input": 0, "input_bytes": 0, "kept": 0, "kept_bytes": 0, "dropped": {}, "dropped_bytes": {}}


def conservation_errors(stages: Mapping[str, Mapping]) -> list[str]:
    """Stages whose input differs from kept + sum(dropped), as human-readable lines."""
    errors = []
    for name, entry in stages.items():
        dropped = sum(entry["dropped"].values())
        if entry["input"] != entry["kept"] + dropped:
            errors.append(f"stage {name}: input {entry['input']} != kept {entry['kept']} + dropped {dropped}")
    return errors
