"""deploy/: the engine flags (stackpipe/beam/engines.py), the launch scripts, the Dataflow
translation of a real pipeline (offline dry run) and a launcher run through a job server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import (
    FlinkRunnerOptions,
    GoogleCloudOptions,
    PipelineOptions,
    PortableOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.version import __version__ as BEAM_VERSION

from pipelines import curate, dedup, pack, shards
from stackpipe.beam import clusters, engines
from stackpipe.beam.options import make_pipeline, run_to_completion, translates_only
from stackpipe.curation import STAGES
from stackpipe.rules import load_rules
from stackpipe.sources import plan_inputs

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
SCRIPTS = sorted([*(p for folder in ("dataflow", "spark", "flink", "train", "lib")
                    for p in (DEPLOY / folder).glob("*.sh")), DEPLOY / "train" / "slurm.sbatch"])
ENGINE_SCRIPTS = [DEPLOY / "dataflow" / "run.sh", DEPLOY / "spark" / "run.sh", DEPLOY / "flink" / "run.sh"]
STDLIB_JSON = Path(sysconfig.get_paths()["stdlib"]) / "json"
IMAGE = "us-central1-docker.pkg.dev/stackpipe-test/workers/stackpipe:1"
# A syntactically valid bucket: with an invalid one Beam tries to create a default bucket online.
DATAFLOW = dict(project="stackpipe-test", region="us-central1", temp_location="gs://stackpipe-test-bucket/tmp")


def test_dataflow_flags_are_the_beam_options_they_name():
    options = PipelineOptions(engines.dataflow_args(**DATAFLOW, image=IMAGE))
    cloud = options.view_as(GoogleCloudOptions)
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert (cloud.project, cloud.region, cloud.temp_location) == ("stackpipe-test", "us-central1",
                                                                  "gs://stackpipe-test-bucket/tmp")
    assert options.view_as(WorkerOptions).sdk_container_image == IMAGE
    assert options.view_as(SetupOptions).setup_file is None


@pytest.mark.parametrize("settings, variable", [
    (dict(DATAFLOW, temp_location="/tmp/x", image=IMAGE), "TEMP_LOCATION"),
    (dict(DATAFLOW, project="", image=IMAGE), "PROJECT"),
    (dict(DATAFLOW), "IMAGE"),
    (dict(DATAFLOW, image=IMAGE, setup_file=str(REPO / "setup.py")), "IMAGE"),
    (dict(DATAFLOW, setup_file=str(REPO / "README.md")), "SETUP_FILE"),
])
def test_dataflow_settings_errors_name_the_variable(settings, variable):
    with pytest.raises(ValueError, match=variable):
        engines.dataflow_args(**settings)


def test_spark_job_server_flags_select_the_portable_runner():
    options = PipelineOptions(clusters.spark_args(job_endpoint="spark-js:8099", environment_config=IMAGE))
    portable = options.view_as(PortableOptions)
    assert options.view_as(StandardOptions).runner == "PortableRunner"
    assert (portable.job_endpoint, portable.environment_type) == ("spark-js:8099", "DOCKER")
    assert portable.environment_options == [f"docker_container_image={IMAGE}"]


def test_spark_uber_jar_is_refused_naming_the_beam_issue():
    """Beam submits the Spark uber jar as a file: path on this host (apache/beam#23439)."""
    with pytest.raises(ValueError, match="23439"):
        clusters.spark_args(job_endpoint=None, rest_url="http://master:6066", environment_config=IMAGE)


def test_flink_uber_jar_flags_name_master_and_version():
    options = PipelineOptions(clusters.flink_args(master="jobmanager:8081", flink_version="1.20",
                                                  setup_file=str(REPO / "setup.py")))
    flink = options.view_as(FlinkRunnerOptions)
    assert options.view_as(StandardOptions).runner == "FlinkRunner"
    assert (flink.flink_master, flink.flink_version, flink.flink_submit_uber_jar) == ("jobmanager:8081", "1.20", True)
    # No image with stackpipe: Beam's SDK image for this Beam, with the sdist installed at start-up.
    assert options.view_as(PortableOptions).environment_options == [f"docker_container_image={engines.sdk_image()}"]
    assert options.view_as(SetupOptions).setup_file == str(REPO / "setup.py")


def test_flink_job_endpoint_wins_over_flink_master():
    """FLINK_MASTER is the JobManager address in both Flink scripts; with JOB_ENDPOINT the job
    server has it and run.sh submits through the job server."""
    options = PipelineOptions(clusters.flink_args(job_endpoint="js:8099", master="jobmanager:8081",
                                                  environment_config=IMAGE))
    assert options.view_as(StandardOptions).runner == "PortableRunner"


@pytest.mark.parametrize("kind, config, environment_class, setting", [
    ("DOCKER", IMAGE, "DockerEnvironment", ("container_image", IMAGE)),
    ("PROCESS", "/opt/apache/beam/boot", "ProcessEnvironment", ("command", "/opt/apache/beam/boot")),
    ("EXTERNAL", "localhost:50000", "ExternalEnvironment", ("url", "localhost:50000")),
    ("LOOPBACK", None, "PythonLoopbackEnvironment", None),
])
def test_each_environment_type_builds_the_beam_environment_it_names(kind, config, environment_class, setting):
    """The flags of each ENVIRONMENT_TYPE make Beam build that environment with that setting."""
    from apache_beam.transforms import environments

    options = PipelineOptions(clusters.environment_args(kind, config, None)).view_as(PortableOptions)
    environment = environments.Environment.from_options(options)
    assert type(environment).__name__ == environment_class
    if setting is not None:
        assert getattr(environment, setting[0]) == setting[1]


@pytest.mark.parametrize("call, variable", [
    (lambda: clusters.flink_args(master="jm:8081", flink_version="1.12", environment_config=IMAGE), "FLINK_VERSION"),
    (lambda: clusters.flink_args(environment_config=IMAGE), "FLINK_MASTER"),
    (lambda: clusters.flink_args(master="jobmanager", environment_config=IMAGE), "FLINK_MASTER"),
    (lambda: clusters.spark_args(job_endpoint="js", environment_config=IMAGE), "JOB_ENDPOINT"),
    (lambda: clusters.spark_args(job_endpoint=None, environment_config=IMAGE), "JOB_ENDPOINT"),
    (lambda: clusters.spark_args(job_endpoint="js:8099"), "ENVIRONMENT_CONFIG"),
    (lambda: clusters.spark_args(job_endpoint="js:8099", environment="PROCESS", environment_config="boot"),
     "ENVIRONMENT_CONFIG"),
    (lambda: clusters.spark_args(job_endpoint="js:8099", environment="KUBERNETES"), "ENVIRONMENT_TYPE"),
])
def test_portable_settings_errors_name_the_variable(call, variable):
    with pytest.raises(ValueError, match=variable):
        call()


def test_images_carry_the_installed_beam_version():
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert engines.sdk_image() == f"apache/beam_python{python}_sdk:{BEAM_VERSION}"
    assert engines.job_server_image("spark") == f"apache/beam_spark3_job_server:{BEAM_VERSION}"
    assert engines.job_server_image("flink", "1.20") == f"apache/beam_flink1.20_job_server:{BEAM_VERSION}"


def test_translates_only_for_dry_runs_and_templates():
    assert translates_only(PipelineOptions(["--dry_run=True"]))
    assert translates_only(PipelineOptions(["--template_location=gs://b/launch/job_object"]))
    assert not translates_only(PipelineOptions(["--runner=DataflowRunner"]))


def _translate_curate(tmp_path, flags):
    """Translate the real curate pipeline for Dataflow (--dry_run: nothing is staged or
    submitted); returns the runner's job, whose pipeline proto is what Dataflow would run."""
    rules = load_rules(None)
    pipeline = make_pipeline([*flags, "--dry_run=True"])
    curate.build(pipeline, plan_inputs([str(STDLIB_JSON)], rules.sources), rules, str(tmp_path / "out"),
                 shard_bytes=10**6)
    assert run_to_completion(pipeline) is False
    return pipeline.runner.job


def test_dataflow_dry_run_translates_curate_onto_the_worker_image(tmp_path):
    job = _translate_curate(tmp_path, engines.dataflow_args(**DATAFLOW, image=IMAGE))
    assert json.loads(job.json())["type"] == "JOB_TYPE_BATCH"
    top = {t.unique_name for t in job.proto_pipeline.components.transforms.values() if "/" not in t.unique_name}
    stages = {f"Stage_{stage}" for stage in STAGES if stage != "exact_dedup"} | {"DropExactDuplicates"}
    assert stages | {"WriteDocuments", "WriteRejected", "WriteStats", "DecontamReport"} <= top
    environments = list(job.proto_pipeline.components.environments.values())
    assert [e.urn for e in environments] == [common_urns.environments.DOCKER.urn]
    assert beam_runner_api_pb2.DockerPayload.FromString(environments[0].payload).container_image == IMAGE
    assert not (tmp_path / "out" / "stats.json").exists()


def test_dataflow_dry_run_ships_this_repository_as_an_sdist(tmp_path):
    job = _translate_curate(tmp_path, engines.dataflow_args(**DATAFLOW, setup_file=str(REPO / "setup.py")))
    (environment,) = job.proto_pipeline.components.environments.values()
    staged = {}
    for artifact in environment.dependencies:
        name = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(artifact.role_payload).staged_name
        staged[name] = beam_runner_api_pb2.ArtifactFilePayload.FromString(artifact.type_payload).path
    with tarfile.open(staged["workflow.tar.gz"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "pipelines/curate.py", "stackpipe/beam/engines.py",
            "stackpipe/decontam/ngram_df.npz", "stackpipe/decontam/data/mbpp.jsonl.gz"} <= names  # package data too


def test_flex_template_parameters_reach_the_pipeline_flags():
    argv = engines.flex_template_argv(["--pipeline=dedup", "--input=gs://b/in", "--shard_mb=64",
                                       "--template_location=gs://b/launch/job_object"])
    assert argv == ["dedup", "--input=gs://b/in", "--shard-mb=64", "--template_location=gs://b/launch/job_object"]
    with pytest.raises(ValueError, match="pipeline"):
        engines.flex_template_argv(["--input=gs://b/in"])


@pytest.mark.parametrize("name", engines.FLEX_PIPELINES)
def test_flex_template_metadata_declares_the_pipeline_flags_and_which_are_required(name):
    """metadata/NAME.json: every parameter is a flag of `stackpipe NAME`, and it is required
    (isOptional false) exactly when the command requires the flag."""
    module = {"curate": curate, "dedup": dedup, "pack": pack, "shards": shards}[name]
    metadata = json.loads((DEPLOY / "dataflow" / "metadata" / f"{name}.json").read_text())
    actions = {option: action for action in module.build_parser()._actions for option in action.option_strings}
    declared = set()
    for parameter in metadata["parameters"]:
        if parameter["name"] == "pipeline":
            assert parameter["regexes"] == [f"^{name}$"] and parameter["isOptional"] is False
            continue
        flag = engines.FLEX_FLAGS.get(parameter["name"], f"--{parameter['name']}")
        assert flag in actions, parameter["name"]
        assert parameter["isOptional"] is not actions[flag].required, parameter["name"]
        declared.add(flag)
    required = {flag for flag, action in actions.items() if action.required}
    assert required <= declared  # a required flag the template cannot pass would fail every launch


def test_flex_template_metadata_exists_only_for_flex_pipelines():
    assert sorted(p.stem for p in (DEPLOY / "dataflow" / "metadata").glob("*.json")) == sorted(engines.FLEX_PIPELINES)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_script_is_valid_bash(script):
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert "set -euo pipefail" in script.read_text() or script.parent.name == "lib"  # lib/: sourced, not run


@pytest.mark.parametrize("script", ENGINE_SCRIPTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_engine_script_without_a_command_prints_usage(script):
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("usage:")
    assert subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True).returncode == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_spark_launcher_runs_curate_through_a_job_server(tmp_path):
    """deploy/spark/run.sh with JOB_ENDPOINT: the Job API a Spark job server speaks, served here by
    Beam's own local job service in another process, with LOOPBACK workers."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("localhost", port)) != 0:
            assert time.monotonic() < deadline and server.poll() is None, "job service did not start"
            time.sleep(0.2)
        env = {"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "JOB_ENDPOINT": f"localhost:{port}",
               "ENVIRONMENT_TYPE": "LOOPBACK", "HOME": str(tmp_path)}
        result = subprocess.run(["bash", str(DEPLOY / "spark" / "run.sh"), "curate", "--input", str(STDLIB_JSON),
                                 "--output", str(tmp_path / "out"), "--no-progress"],
                                env=env, capture_output=True, text=True, timeout=300)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    documents = pq.read_table(tmp_path / "out" / "documents")
    assert stats["conservation"] and stats["documents"] == documents.num_rows > 0
