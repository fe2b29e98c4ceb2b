"""Launcher-only paths are refused at submission (stackpipe/beam/submission.py), before any
job is built: each error names the path and what to give instead."""

from __future__ import annotations

import dataclasses

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import curate, dedup
from stackpipe.beam.submission import LauncherOnlyPath, check_submission, worker_placement
from stackpipe.rules import load_rules

DATAFLOW = ["--runner=DataflowRunner", "--project=p", "--region=us-central1", "--temp_location=gs://b/tmp"]
DOCKER = ["--runner=PortableRunner", "--job_endpoint=js:8099", "--environment_type=DOCKER"]
PROCESS = ["--runner=PortableRunner", "--job_endpoint=js:8099", "--environment_type=PROCESS",
           "--environment_options=process_command=/opt/apache/beam/boot"]
LOOPBACK = ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"]


@pytest.mark.parametrize("args, placement", [
    ([], "launcher"),
    (LOOPBACK, "launcher"),
    (["--runner=FlinkRunner"], "launcher"),  # embedded Flink cluster, LOOPBACK workers
    (["--runner=SparkRunner"], "launcher"),  # local[4]
    (DATAFLOW, "containers"),
    (DOCKER, "containers"),
    (["--runner=FlinkRunner", "--flink_master=jm:8081", "--flink_submit_uber_jar"], "containers"),  # DOCKER default
    (PROCESS, "cluster_hosts"),
    (["--runner=SparkRunner", "--environment_type=EXTERNAL", "--environment_config=localhost:50000"], "cluster_hosts"),
])
def test_worker_placement_follows_runner_and_environment(args, placement):
    assert worker_placement(PipelineOptions(args)) == placement


@pytest.mark.parametrize("args", [DATAFLOW, DOCKER, PROCESS])
def test_python_env_is_refused_on_remote_workers(args):
    with pytest.raises(LauncherOnlyPath, match=r"python-env://.*worker's interpreter.*archives"):
        check_submission(args, inputs=["python-env://"], outputs=["gs://b/out"])


def test_python_env_runs_where_the_workers_are_this_process():
    check_submission(LOOPBACK, inputs=["python-env://stdlib"], outputs=["/tmp/out"])
    check_submission([], inputs=["python-env://"], outputs=["out"])


@pytest.mark.parametrize("args", [DATAFLOW, DOCKER])
def test_local_input_and_output_are_refused_on_container_workers(args, tmp_path):
    with pytest.raises(LauncherOnlyPath, match=f"input '{tmp_path}'.*gs://"):
        check_submission(args, inputs=[str(tmp_path)], outputs=["gs://b/out"])
    with pytest.raises(LauncherOnlyPath, match="output 'out/curated'.*gs:// or s3://"):
        check_submission(args, inputs=["gs://b/in"], outputs=["out/curated"])
    check_submission(args, inputs=["gs://b/in/*.parquet", "s3://b/x.tar.gz"], outputs=["gs://b/out"])


def test_local_paths_pass_for_process_workers_on_a_shared_mount():
    check_submission(PROCESS, inputs=["/shared/dumps"], outputs=["/shared/out"])


def test_local_decontam_df_file_is_refused_on_container_workers(tmp_path):
    rules = load_rules(None)
    local = dataclasses.replace(rules, decontam=dataclasses.replace(rules.decontam, df_file=str(tmp_path / "df.npz")))
    with pytest.raises(LauncherOnlyPath, match=r"df_file .*df\.npz.*Leave df_file null"):
        check_submission(DATAFLOW, inputs=["gs://b/in"], outputs=["gs://b/out"], rules=local)
    check_submission(DATAFLOW, inputs=["gs://b/in"], outputs=["gs://b/out"], rules=rules)  # packaged table
    check_submission(LOOPBACK, inputs=["gs://b/in"], outputs=["gs://b/out"], rules=local)


def test_curate_refuses_python_env_on_dataflow_before_planning(tmp_path):
    """The entry point checks before it plans or builds anything."""
    with pytest.raises(LauncherOnlyPath, match="python-env://"):
        curate.run(["--input", "python-env://", "--output", "gs://b/out", *DATAFLOW])


def test_dedup_refuses_a_local_output_on_docker_workers(tmp_path):
    with pytest.raises(LauncherOnlyPath, match="output"):
        dedup.run(["--input", "gs://b/curated", "--output", str(tmp_path / "out"), *DOCKER])
    assert not (tmp_path / "out").exists()


def test_stackpipe_run_refuses_the_demo_config_on_dataflow(tmp_path):
    """deploy/run/demo.yaml reads python-env://: fine here, refused for Dataflow's workers."""
    from pipelines import run as run_pipeline

    with pytest.raises(LauncherOnlyPath, match="python-env://"):
        run_pipeline.run(["deploy/run/demo.yaml", "--output", "gs://b/run", *DATAFLOW])
