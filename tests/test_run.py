"""`stackpipe run CONFIG.yaml`: config checking, mixing, resuming and byte-identical shards."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipelines import run as run_pipeline
from stackpipe.runconfig import RunConfigError, load_run_config

STDLIB = Path(json.__file__).resolve().parent.parent
REPO_ROOT = Path(__file__).resolve().parent.parent


def repository(package: str) -> str:
    """A standard-library package read as one repository."""
    return f"{STDLIB / package}?layout=repo"


def write_config(directory: Path, **overrides) -> Path:
    """Two real sources from the standard library, mixed 70/30; a small tokenizer trained on them."""
    config = {
        "output": "out",
        "family": "starcoder",
        "seed": 3,
        "tokenizer": {"max_mb": 2, "vocab_size": 1024},
        "sources": [
            {"name": "code", "inputs": [repository("json"), repository("html")], "weight": 0.7},
            {"name": "markup", "inputs": [repository("xml")], "weight": 0.3},
        ],
    }
    config.update(overrides)
    path = directory / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def shard_hashes(output: Path) -> dict[str, str]:
    return {str(p.relative_to(output)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(output.glob("*/shards/part-*.parquet"))}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("run")
    manifest = run_pipeline.run([str(write_config(directory)), "--no-progress"])
    return directory, manifest


def test_unknown_config_key_names_key(tmp_path):
    path = write_config(tmp_path, shard_size=3)
    with pytest.raises(RunConfigError, match="unknown key 'shard_size'"):
        load_run_config(str(path))


def test_bad_source_value_names_key_and_value(tmp_path):
    path = write_config(tmp_path, sources=[{"name": "code", "inputs": ["x"], "weight": -1}])
    with pytest.raises(RunConfigError, match=r"sources\[0\]\.weight.*-1"):
        load_run_config(str(path))


def test_relative_paths_resolve_from_config_folder(tmp_path):
    config = load_run_config(str(write_config(tmp_path)))
    assert config.output == str(tmp_path / "out")


def test_manifest_records_target_shares_and_blend(finished_run):
    directory, manifest = finished_run
    sources = manifest["sources"]
    assert (sources["code"]["target_share"], sources["markup"]["target_share"]) == (0.7, 0.3)
    assert manifest["train_data"] == f"{directory}/out/code/shards:0.7,{directory}/out/markup/shards:0.3"
    assert manifest["totals"]["tokens"] == sources["code"]["tokens"] + sources["markup"]["tokens"] > 0


def test_every_stage_keeps_conservation(finished_run):
    directory, _ = finished_run
    stats = sorted((directory / "out").glob("*/*/stats.json"))
    assert len(stats) == 6  # curated, dedup, packed for each source
    assert all(json.loads(p.read_text())["conservation"] for p in stats)


def test_rerun_reuses_every_stage(finished_run):
    directory, first = finished_run
    before = shard_hashes(directory / "out")
    again = run_pipeline.run([str(directory / "run.yaml"), "--no-progress"])
    reused = [s["reused"] for source in again["sources"].values() for s in source["stages"].values()]
    assert all(reused) and again["ran"] == {}
    assert shard_hashes(directory / "out") == before


def test_given_tokenizer_runs_one_job_with_identical_shards(finished_run, tmp_path):
    directory, _ = finished_run
    path = write_config(tmp_path, tokenizer=str(directory / "out" / "tokenizer" / "tokenizer.json"))
    run_pipeline.run([str(path), "--no-progress"])
    assert shard_hashes(tmp_path / "out") == shard_hashes(directory / "out")


def test_killed_run_resumes_to_identical_shards(finished_run, tmp_path):
    directory, _ = finished_run
    config = write_config(tmp_path)
    job = subprocess.Popen([sys.executable, "-m", "stackpipe.cli", "run", str(config), "--no-progress"],
                           cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    marker = tmp_path / "out" / "code" / "curated" / "_stage.json"
    deadline = time.monotonic() + 240
    while not marker.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), "the first stage never completed"
    os.killpg(job.pid, signal.SIGKILL)  # mid-way: later stages have not finished
    job.wait()
    assert not (tmp_path / "out" / "manifest.json").exists()

    resumed = run_pipeline.run([str(config), "--no-progress"])
    assert resumed["sources"]["code"]["stages"]["curated"]["reused"]
    assert shard_hashes(tmp_path / "out") == shard_hashes(directory / "out")


def test_portable_runner_gives_identical_shards(finished_run, tmp_path):
    # The path Spark and Flink job servers take, with Beam's embedded job server.
    directory, _ = finished_run
    path = write_config(tmp_path, tokenizer=str(directory / "out" / "tokenizer" / "tokenizer.json"))
    run_pipeline.run([str(path), "--no-progress", "--runner=PortableRunner", "--job_endpoint=embed",
                      "--environment_type=LOOPBACK"])
    assert shard_hashes(tmp_path / "out") == shard_hashes(directory / "out")


def test_dataflow_dry_run_translates_every_source_and_stage(finished_run, tmp_path, monkeypatch):
    from stackpipe.beam import engines
    from stackpipe.beam.options import run_to_completion

    directory, _ = finished_run
    path = write_config(tmp_path, tokenizer=str(directory / "out" / "tokenizer" / "tokenizer.json"))
    translated = []

    def keep_pipeline(pipeline):
        translated.append(pipeline)
        return run_to_completion(pipeline)

    monkeypatch.setattr(run_pipeline, "run_to_completion", keep_pipeline)
    # the inputs here are local paths, which the submission check refuses for Dataflow's
    # workers (tests of stackpipe/beam/submission.py); this test is about the translation
    monkeypatch.setattr(run_pipeline, "check_submission", lambda *args, **kwargs: None)
    # a well-formed bucket name: with a malformed one Beam tries to create a default bucket online
    flags = engines.dataflow_args(project="stackpipe-test", region="us-central1",
                                  temp_location="gs://stackpipe-test-bucket/tmp",
                                  image="us-docker.pkg.dev/stackpipe-test/workers/stackpipe:1")
    job_file = tmp_path / "job.json"
    result = run_pipeline.run([str(path), "--no-progress", *flags, "--dry_run=True", f"--dataflow_job_file={job_file}"])
    assert result["translated_only"] and len(translated) == 1
    transforms = json.loads(job_file.read_text())["pipeline"]["components"]["transforms"].values()
    top = {t["uniqueName"] for t in transforms if t["uniqueName"].count("/") == 1}
    expected = {f"{source}/{stage}" for source in ("code", "markup") for stage in ("curated", "dedup", "packed", "shards")}
    assert expected <= top
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_commoncrawl_source_mixes_into_its_own_shard_set(finished_run, tmp_path):
    import pyarrow.parquet as pq

    from stackpipe.web import samples

    directory, _ = finished_run
    warc = samples.write_warc(tmp_path / "crawl.warc.gz", samples.pydoc_pages(12) + samples.license_pages(8))
    path = write_config(
        tmp_path, tokenizer=str(directory / "out" / "tokenizer" / "tokenizer.json"),
        sources=[{"name": "code", "inputs": [repository("json")], "weight": 0.7},
                 {"name": "web", "kind": "commoncrawl", "inputs": [str(warc)], "model": "none", "weight": 0.3}])
    manifest = run_pipeline.run([str(path), "--no-progress"])
    web = manifest["sources"]["web"]
    assert list(web["stages"]) == ["curated", "dedup", "shards"]  # web pages are not packed
    assert web["target_share"] == 0.3 and web["rows"] > 0
    (shard,) = (tmp_path / "out" / "web" / "shards").glob("part-*.parquet")
    assert set(pq.read_table(shard, columns=["source"]).column("source").to_pylist()) == {"commoncrawl"}
    curated = json.loads((tmp_path / "out" / "web" / "curated" / "stats.json").read_text())
    assert curated["conservation"] and curated["stages"]["read"]["input"] == 20


def test_commoncrawl_source_without_model_is_a_config_error(tmp_path):
    path = write_config(tmp_path, sources=[{"name": "web", "kind": "commoncrawl", "inputs": ["c.warc"]}])
    with pytest.raises(RunConfigError, match=r"sources\[0\]\.model"):
        load_run_config(str(path))


def test_repo_level_resumes_after_packing(finished_run, tmp_path):
    directory, _ = finished_run
    path = write_config(tmp_path, level="repo", tokenizer=str(directory / "out" / "tokenizer" / "tokenizer.json"))
    first = run_pipeline.run([str(path), "--no-progress"])
    assert list(first["sources"]["code"]["stages"]) == ["curated", "packed", "dedup", "shards"]
    before = shard_hashes(tmp_path / "out")
    for stage in ("dedup", "shards"):  # as if the job died after packing
        (tmp_path / "out" / "code" / stage / "_stage.json").unlink()
    again = run_pipeline.run([str(path), "--no-progress"])
    assert again["ran"] == {"code": ["dedup", "shards"]}
    assert shard_hashes(tmp_path / "out") == before
