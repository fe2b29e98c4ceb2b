"""Per-stage accounting: every stage's input equals what it kept plus what it dropped, by reason.

Stages report counts as small `(key, (files, bytes))` pairs, summed by the runner; this
module turns the sums into the `stats.json` layout and checks conservation. Grouping
steps report what they shuffled as `((stage, "shuffled", step), (elements, bytes))`:
stats.json's `shuffled_bytes` lists them by stage and step (`write` holds the output
writers' grouping into shards), with their total.
"""

from __future__ import annotations

from typing import Iterable, Mapping

# Keys of the summed counts: (stage, "input" | "kept" | "dropped" | "edited" | "shuffled",
# reason, change or step, or "").
StatKey = tuple[str, str, str]
SHUFFLED = "shuffled"


def stats_document(
    counts: Iterable[tuple[StatKey, tuple[int, int]]],
    stage_order: Iterable[str],
    languages: Iterable[tuple[str, tuple[int, int]]] = (),
    outputs: Mapping[str, list] | None = None,
    chained: bool = False,
) -> dict:
    """Assemble stats.json from summed counts; stages appear in `stage_order`.

    `chained`: the stages form one line, each fed exactly what the one before kept, so a
    stage's input must equal its predecessor's kept count (a record lost or counted twice
    between stages breaks conservation as surely as one lost inside a stage).
    """
    order = list(stage_order)
    stages: dict[str, dict] = {name: _empty_stage() for name in order}
    shuffled: dict[str, dict[str, int]] = {}
    for (stage, kind, reason), (files, size) in sorted(counts):
        if kind == SHUFFLED:  # not a stage of its own: the writers' grouping is `write`
            shuffled.setdefault(stage, {})[reason] = shuffled.get(stage, {}).get(reason, 0) + size
            continue
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
    errors = conservation_errors(stages) + (chain_errors(stages, order) if chained else [])
    if names and outputs:
        errors += written_errors(outputs, stages[names[-1]]["kept"],
                                 sum(sum(s["dropped"].values()) for s in stages.values()))
    document = {
        "stages": {name: stages[name] for name in names},
        "conservation": errors == [],
        "languages": {
            name: {"files": files, "bytes": size} for name, (files, size) in sorted(languages)
        },
    }
    if names:
        document["input_files"] = stages[names[0]]["input"]
        document["documents"] = stages[names[-1]]["kept"]
        document["rejected"] = sum(sum(s["dropped"].values()) for s in stages.values())
    if shuffled:
        document["shuffled_bytes"] = {stage: dict(sorted(steps.items())) for stage, steps in _in_order(shuffled, order)}
        document["shuffled_bytes_total"] = sum(sum(steps.values()) for steps in shuffled.values())
    if errors:
        document["conservation_errors"] = errors
    if outputs:
        document["outputs"] = {kind: sorted(files, key=lambda f: f["path"]) for kind, files in outputs.items()}
    return document


def _in_order(by_stage: Mapping[str, dict], order: list[str]) -> list[tuple[str, dict]]:
    """Stages in flow order, then the others (the writers) by name."""
    return [(s, by_stage[s]) for s in order if s in by_stage] + sorted(
        (s, steps) for s, steps in by_stage.items() if s not in order)


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


def chain_errors(stages: Mapping[str, Mapping], order: Iterable[str]) -> list[str]:
    """Consecutive stages of `order` (those present) whose input is not the previous kept."""
    present = [name for name in order if name in stages]
    return [f"stage {after}: input {stages[after]['input']} != kept {stages[before]['kept']} of stage {before}"
            for before, after in zip(present, present[1:]) if stages[after]["input"] != stages[before]["kept"]]


def written_errors(outputs: Mapping[str, list], kept: int, dropped: int) -> list[str]:
    """The rows written to documents/ and rejected/ must be what the counts say: a record
    lost between the last stage and its shard file is as lost as one lost inside a stage."""
    errors = []
    for kind, expected in (("documents", kept), ("rejected", dropped)):
        if kind in outputs:
            rows = sum(shard["rows"] for shard in outputs[kind])
            if rows != expected:
                errors.append(f"{kind}/: {rows} rows written != {expected} counted")
    return errors
