"""`stackpipe run CONFIG.yaml`: the whole flow — sources -> curate -> dedup -> pack -> shards.

Every source is curated on its own and carried to its own shard set, all in one Beam job,
each stage one composite transform under the label SOURCE/STAGE: `CurateFiles` (or
`CurateWarcs`), `NearDedup`, `PackFiles`, `TokenizeShards`;
the run's `manifest.json` records the sources' target proportions and the trainer's
`--data` blend that realises them. Each stage writes its outputs under OUTPUT/<source>/
and, once complete, a `_stage.json` with its fingerprint. A rerun (after a crash or a
kill) reuses every stage whose fingerprint still matches, reads its materialized
documents instead of recomputing them, and gives byte-identical shards.

When the config asks for a tokenizer to be trained on the run's own documents, the job is
split in two at that point: the documents are written, the tokenizer trained, then the
shards job runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass, replace

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines import tokenizer
from pipelines.curate import CurateFiles
from pipelines.dedup import NearDedup
from pipelines.pack import PackFiles
from pipelines.shards import TokenizeShards
from stackpipe.beam.inputs import ReadDocuments
from stackpipe.beam.progress import reporting
from stackpipe.beam.options import is_local, make_pipeline, run_to_completion, translated_only
from stackpipe.beam.signatures import unit_signature, uri_signature
from stackpipe.beam.submission import check_submission
from stackpipe.beam.write import clear_outputs, refuse_foreign_manifest, write_bytes_atomically
from stackpipe.outputs import RUN_MANIFEST_FORMAT, exclusive_output
from stackpipe.rules import DEFAULT_RULES_DIR, load_rules
from stackpipe.runconfig import (
    MARKER,
    RunConfig,
    SourceConfig,
    config_summary,
    digest,
    directory_digest,
    load_run_config,
    stage_fingerprint,
)
from stackpipe.sources import plan_inputs
from stackpipe.tokens.manifest import MANIFEST_NAME
from stackpipe.tokens.samples import SampleSettings
from stackpipe.tokens.tokenizer import bind_family, train_byte_level_bpe

RUN_MANIFEST = "manifest.json"
DOCUMENT_OUTPUTS = ("documents/part-*", "rejected/part-*", "clusters/part-*", "stats.json",
                    "decontam_report.json", MARKER)
SHARD_OUTPUTS = ("part-*", MANIFEST_NAME, "tokenizer.json", MARKER)


@dataclass(frozen=True)
class Stage:
    """One stage of one source: where it writes and what identifies its result."""

    source: str
    name: str  # curated | dedup | packed | shards
    directory: str
    fingerprint: str
    materialize: bool


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe run", description=__doc__.split("\n")[0])
    parser.add_argument("config", metavar="CONFIG.yaml", help="the run configuration (see README: stackpipe run)")
    parser.add_argument("--restart", action="store_true",
                        help="recompute every stage, ignoring completed outputs of an earlier run")
    parser.add_argument("--output", default=None, metavar="DIR", help="override the config's output directory")
    parser.add_argument("--family", default=None, help="override the config's model family")
    parser.add_argument("--workers", type=int, default=None,
                        help="override the config's workers (local runs use one: README, Runners)")
    parser.add_argument("--no-progress", action="store_true", help="do not print progress lines")
    return parser


def stage_chain(source: SourceConfig, level: str) -> list[str]:
    """DESIGN §1: file-level near-dedup before packing, or packing before repo-level dedup."""
    if level == "file":
        return ["curated", "dedup"] + (["packed"] if source.pack else [])
    return ["curated"] + (["packed"] if source.pack else []) + ["dedup"]


def source_units(source: SourceConfig, rules) -> list:
    """A github source's input units, or a commoncrawl source's WARC file URIs."""
    if source.kind == "github":
        return plan_inputs(list(source.inputs), rules.sources)
    from stackpipe.web.stages import plan_warcs

    return plan_warcs(list(source.inputs))


def source_signature(source: SourceConfig, units: list) -> list:
    if source.kind == "github":
        return [unit_signature(u) for u in units]
    return [[uri, *uri_signature(uri)] for uri in units] + ([uri_signature(source.model)] if source.model else [])


def plan_stages(config: RunConfig, source: SourceConfig, units: list, rules_digest: str,
                tokenizer_digest: str, shard_settings: dict) -> list[Stage]:
    upstream = digest(source.kind, source_signature(source, units))
    stages = []
    for name in stage_chain(source, config.level) + ["shards"]:
        settings = {"curated": {"kind": source.kind},
                    "dedup": {"level": config.level, "verify": config.verify},
                    "packed": {},
                    "shards": dict(shard_settings, tokenizer=tokenizer_digest)}[name]
        fingerprint = stage_fingerprint(name, settings, upstream, rules_digest)
        stages.append(Stage(source.name, name, FileSystems.join(config.output, source.name, name), fingerprint,
                            materialize=name == "shards" or name in config.materialize))
        upstream = fingerprint
    return stages


def is_complete(stage: Stage) -> bool:
    """Its marker exists with the same fingerprint (written only after every output)."""
    return _marker_matches(FileSystems.join(stage.directory, MARKER), stage.fingerprint)


def _marker_writer(stage: Stage):
    path = FileSystems.join(stage.directory, MARKER)
    marker = {"stage": stage.name, "source": stage.source, "fingerprint": stage.fingerprint}

    def write(_document):
        write_bytes_atomically(path, (json.dumps(marker, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        return stage.name

    return write


def _documents_pattern(stage: Stage) -> str:
    return FileSystems.join(stage.directory, "documents", "*.parquet")


def add_source(pipeline: beam.Pipeline, config: RunConfig, source: SourceConfig, units: list,
               stages: list[Stage], rules, bound, settings: SampleSettings | None) -> list[str]:
    """Add the source's stages that still need running; returns their names. Stages before
    the first incomplete one are read back from their materialized documents."""
    todo = [s for s in stages if not is_complete(s) and (s.name != "shards" or bound is not None)]
    if not todo:
        return []
    first = stages.index(todo[0])
    shard_bytes = int(config.shard_mb * 1e6)
    records = None
    if first > 0:
        previous = stages[first - 1]
        records = pipeline | f"{source.name}/read-{previous.name}" >> ReadDocuments(_documents_pattern(previous))
    packed = any(s.name == "packed" for s in stages[:first])  # repo level: dedup reads packed samples
    for stage in stages[first:]:
        if stage.name == "shards" and bound is None:
            break
        clear_outputs(stage.directory, SHARD_OUTPUTS if stage.name == "shards" else DOCUMENT_OUTPUTS)
        label = f"{source.name}/{stage.name}"
        if stage.name == "curated":
            result = pipeline | label >> _curation(source, units, rules, stage, shard_bytes)
        elif stage.name == "dedup":
            verify = config.verify if config.verify is not None else (
                config.level == "file" and rules.dedup.verify_file_level)
            result = records | label >> NearDedup(rules, stage.directory, level=config.level, verify=verify,
                                                  packed=packed, shard_bytes=shard_bytes,
                                                  materialize=stage.materialize)
        elif stage.name == "packed":
            result = records | label >> PackFiles(rules, stage.directory, shard_bytes=shard_bytes,
                                                  materialize=stage.materialize)
        else:
            manifest = records | label >> TokenizeShards(bound, settings, stage.directory, family_name=config.family,
                                                         input_uri=stages[-2].directory, shard_bytes=shard_bytes,
                                                         from_records=True)
            manifest | f"{label}/mark" >> beam.Map(_marker_writer(stage))
            break
        packed = packed or stage.name == "packed"
        records = result["documents"]
        if stage.materialize:
            result["stats"] | f"{label}/mark" >> beam.Map(_marker_writer(stage))
    return [s.name for s in stages[first:] if s.name != "shards" or bound is not None]


def _curation(source: SourceConfig, units, rules, stage: Stage, shard_bytes: int) -> beam.PTransform:
    if source.kind == "commoncrawl":
        from pipelines.commoncrawl import CurateWarcs

        return CurateWarcs(units, rules, stage.directory, shard_bytes=shard_bytes, model_path=source.model or None,
                           materialize=stage.materialize)
    return CurateFiles(units, rules, stage.directory, shard_bytes=shard_bytes, materialize=stage.materialize)


def train_run_tokenizer(config: RunConfig, plans: dict[str, list[Stage]], rules, path: str) -> str:
    """Train on each source's final documents, each source's share of `max_mb` in config order."""
    family = rules.fim.family(config.family)
    shares = config.shares()
    texts = []
    for source in config.sources:
        final = plans[source.name][-2]
        texts += tokenizer.training_texts(_documents_pattern(final), int(config.tokenizer.max_mb * 1e6 *
                                                                         shares[source.name]))
    if not texts:
        raise ValueError("the run's documents are empty: nothing to train the tokenizer on")
    trained = train_byte_level_bpe(texts, family, config.tokenizer.vocab_size or family.vocab_size,
                                   min_frequency=config.tokenizer.min_frequency, length=len(texts))
    serialized = trained.to_str(pretty=True)
    bind_family(serialized, config.family, family, source=path)
    write_bytes_atomically(path, serialized.encode("utf-8"))
    return serialized


def run(argv: list[str] | None = None) -> dict:
    """Entry point; returns the run manifest."""
    args, extra_beam_args = build_parser().parse_known_args(argv)
    config = load_run_config(args.config)
    if args.workers is not None:
        config = replace(config, workers=args.workers)
    if args.output is not None:
        config = replace(config, output=args.output)
    if args.family is not None:
        config = replace(config, family=args.family)
    check_submission(list(config.beam_args) + extra_beam_args, inputs=[uri for s in config.sources for uri in s.inputs],
                     outputs=[config.output], rules=load_rules(config.rules or None))
    refuse_foreign_manifest(FileSystems.join(config.output, RUN_MANIFEST), RUN_MANIFEST_FORMAT)
    with exclusive_output(config.output, "run"):
        return _run_locked(config, args, extra_beam_args)


def _run_locked(config: RunConfig, args, extra_beam_args: list[str]) -> dict:
    rules = load_rules(config.rules or None)
    family = rules.fim.family(config.family)
    rules_digest = directory_digest(config.rules) if config.rules else directory_digest(_bundled_rules())
    beam_args = list(config.beam_args) + extra_beam_args
    started = time.monotonic()

    tokenizer_path = config.tokenizer.path or FileSystems.join(config.output, "tokenizer", "tokenizer.json")
    tokenizer_text = _read_text(config.tokenizer.path) if config.tokenizer.path else None
    shard_settings = {"family": config.family, "seed": config.seed, "fim": config.fim, "seq_len": config.seq_len}
    units = {s.name: source_units(s, rules) for s in config.sources}
    if tokenizer_text is not None:
        bound, settings = _bind(config, rules, tokenizer_text, family, tokenizer_path)
    else:
        bound = settings = None
        config = _final_stage_materialized(config)
    # Stages up to the documents do not depend on the tokenizer (its digest only enters the shards').
    plans = _with_tokenizer(config, units, rules_digest, shard_settings, tokenizer_text or "")
    if args.restart:
        for plan in plans.values():
            for stage in plan:
                clear_outputs(stage.directory, (MARKER,))
        clear_outputs(FileSystems.join(config.output, "tokenizer"), (MARKER,))

    # Phase 1 (or the whole job when the tokenizer is given): everything that still needs running.
    try:
        ran = _run_job(config, plans, units, rules, bound, settings, beam_args, args.no_progress)
    except _TranslatedOnly:
        return translated_only("run", config.output)

    if tokenizer_text is None:  # phase 2: the tokenizer, then the shards
        fingerprint = digest("tokenizer", config.tokenizer, config.family,
                             [plans[s.name][-2].fingerprint for s in config.sources])
        marker = FileSystems.join(FileSystems.split(tokenizer_path)[0], MARKER)
        if _marker_matches(marker, fingerprint) and FileSystems.exists(tokenizer_path):
            tokenizer_text = _read_text(tokenizer_path)
        else:
            tokenizer_text = train_run_tokenizer(config, plans, rules, tokenizer_path)
            write_bytes_atomically(marker, json.dumps({"stage": "tokenizer", "fingerprint": fingerprint}).encode())
            ran["tokenizer"] = ["trained"]
        plans = _with_tokenizer(config, units, rules_digest, shard_settings, tokenizer_text)
        bound, settings = _bind(config, rules, tokenizer_text, family, tokenizer_path)
        try:
            second = _run_job(config, plans, units, rules, bound, settings, beam_args, args.no_progress)
        except _TranslatedOnly:
            return translated_only("run", config.output)
        for name, stages in second.items():
            ran.setdefault(name, []).extend(stages)

    manifest = run_manifest(config, plans, tokenizer_path, tokenizer_text, ran)
    write_bytes_atomically(FileSystems.join(config.output, RUN_MANIFEST),
                           (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    elapsed = time.monotonic() - started
    reused = sum(len(p) for p in plans.values()) - sum(len(v) for k, v in ran.items() if k != "tokenizer")
    print(f"stackpipe run: {len(config.sources)} source(s), {manifest['totals']['tokens']:,} tokens in "
          f"{manifest['totals']['rows']:,} rows, {elapsed:,.1f} s; {reused} stage(s) reused; "
          f"train with --data {manifest['train_data']}; output {config.output}", file=sys.stderr)
    return manifest


def _run_job(config: RunConfig, plans, units, rules, bound, settings, beam_args, no_progress) -> dict:
    pipeline = make_pipeline(beam_args, config.workers)
    progress = not no_progress and is_local(pipeline.options)
    ran = {}
    for source in config.sources:
        names = add_source(pipeline, config, source, units[source.name], plans[source.name], rules, bound, settings)
        if names:
            ran[source.name] = names
    with reporting(progress):
        if ran and not run_to_completion(pipeline):
            raise _TranslatedOnly()
    return ran


class _TranslatedOnly(Exception):
    """The runner only translated or submitted the job (Dataflow --dry_run, a template)."""


def _with_tokenizer(config, units, rules_digest, shard_settings, tokenizer_text) -> dict:
    tokenizer_digest = digest(tokenizer_text)
    return {s.name: plan_stages(config, s, units[s.name], rules_digest, tokenizer_digest, shard_settings)
            for s in config.sources}


def _bind(config: RunConfig, rules, tokenizer_text: str, family, path: str):
    bound = bind_family(tokenizer_text, config.family, family, source=path)
    settings = SampleSettings(family=family, special_ids=bound.special_ids, seed=config.seed, fim=config.fim,
                              max_tokens=config.seq_len or family.context_length)
    return bound, settings


def _final_stage_materialized(config: RunConfig) -> RunConfig:
    """A tokenizer trained on the run's documents needs each source's last document stage on disk."""
    finals = {stage_chain(s, config.level)[-1] for s in config.sources}
    return replace(config, materialize=tuple(sorted(set(config.materialize) | finals)))


def _marker_matches(path: str, fingerprint: str) -> bool:
    if not FileSystems.exists(path):
        return False
    try:
        with FileSystems.open(path) as handle:
            return json.load(handle).get("fingerprint") == fingerprint
    except (OSError, ValueError):
        return False


def _read_text(path: str) -> str:
    try:
        with FileSystems.open(path) as handle:
            return handle.read().decode("utf-8")
    except (OSError, IOError) as error:
        raise FileNotFoundError(f"tokenizer {path!r} cannot be read: {error}") from None


def _bundled_rules() -> str:
    return str(DEFAULT_RULES_DIR)


def run_manifest(config: RunConfig, plans: dict[str, list[Stage]], tokenizer_path: str, tokenizer_text: str,
                 ran: dict) -> dict:
    """The run's summary: sources with target and realised shares, the trainer's blend, stages."""
    shares = config.shares()
    sources = {}
    totals = {"documents": 0, "rows": 0, "tokens": 0}
    for source in config.sources:
        shard_stage = plans[source.name][-1]
        with FileSystems.open(FileSystems.join(shard_stage.directory, MANIFEST_NAME)) as handle:
            shard_manifest = json.load(handle)
        counts = shard_manifest["totals"]
        sources[source.name] = {
            "kind": source.kind,
            "inputs": list(source.inputs),
            "weight": source.weight,
            "target_share": round(shares[source.name], 6),
            "shards": shard_stage.directory,
            "documents": counts["input_documents"],
            "rows": counts["rows"],
            "tokens": counts["tokens"],
            "stages": {s.name: {"directory": s.directory, "fingerprint": s.fingerprint,
                                "reused": s.name not in ran.get(source.name, [])}
                       for s in plans[source.name]},
        }
        totals["documents"] += counts["input_documents"]
        totals["rows"] += counts["rows"]
        totals["tokens"] += counts["tokens"]
    for entry in sources.values():
        entry["token_share"] = round(entry["tokens"] / totals["tokens"], 6) if totals["tokens"] else 0.0
    return {
        "format": RUN_MANIFEST_FORMAT,
        "family": config.family,
        "seed": config.seed,
        "level": config.level,
        "tokenizer": {"path": tokenizer_path, "sha256": digest_text(tokenizer_text),
                      "trained_on_run": not config.tokenizer.path},
        "ran": ran,  # what this invocation computed; everything else was reused
        "config": config_summary(config),
        "sources": sources,
        "totals": totals,
        # the trainer samples each set by these weights, whatever the sets' sizes
        "train_data": ",".join(f"{e['shards']}:{e['target_share']:g}" for e in sources.values()),
    }


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


if __name__ == "__main__":
    run()
