"""The launch scripts in deploy/, run with stand-ins for docker, gcloud, srun, sbatch,
scontrol and torchrun (and for `python -m stackpipe.cli`) that record their arguments:
every example in the READMEs' runner and Slurm sections runs with the variables it shows,
and each script passes the flags the engine needs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
IMAGE = "us-central1-docker.pkg.dev/my-project/stackpipe/worker:1"

RECORDER = """#!/usr/bin/env bash
# Stand-in for {name}: one file per call, one argument per line, and the environment beside it.
n=0
while [[ -e "$RECORD/{name}.$n" ]]; do n=$((n + 1)); done
printf '%s\\n' "$@" > "$RECORD/{name}.$n"
env > "$RECORD/{name}.$n.env"
{extra}
"""
SCONTROL = 'if [[ $1 == show && $2 == hostnames ]]; then printf "node1\\nnode2\\nnode3\\nnode4\\n"; fi'
# sbatch: the resources of its command line become the SLURM_* variables of the script it runs.
SBATCH = """export SLURM_JOB_ID=1234 SLURM_JOB_NODELIST='node[1-4]'
while [[ $# -gt 0 && $1 == --* ]]; do
    case $1 in
        --nodes=*) export SLURM_JOB_NUM_NODES=${1#*=} ;;
        --gpus-per-node=*) export SLURM_GPUS_PER_NODE=${1#*=} ;;
        --cpus-per-task=*) export SLURM_CPUS_PER_TASK=${1#*=} ;;
    esac
    shift
done
exec bash "$@"
"""
# PYTHON: the real interpreter for everything but the stackpipe command the scripts end with.
PYTHON_WRAPPER = """#!/usr/bin/env bash
if [[ ${{1:-}} == -m && ${{2:-}} == stackpipe.cli ]]; then
    shift 2
    exec "{fake}/stackpipe" "$@"
fi
exec "{python}" "$@"
"""


@pytest.fixture
def tools(tmp_path):
    """(environment for the scripts, a function returning the calls recorded for a tool)."""
    fake, record = tmp_path / "bin", tmp_path / "record"
    fake.mkdir()
    record.mkdir()
    extras = {"scontrol": SCONTROL, "sbatch": SBATCH}
    for name in ("docker", "gcloud", "srun", "torchrun", "scontrol", "sbatch", "stackpipe"):
        (fake / name).write_text(RECORDER.format(name=name, extra=extras.get(name, "")))
        (fake / name).chmod(0o755)
    wrapper = fake / "python-wrapper"
    wrapper.write_text(PYTHON_WRAPPER.format(fake=fake, python=sys.executable))
    wrapper.chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin", "PYTHON": str(wrapper), "RECORD": str(record), "HOME": str(tmp_path)}

    def calls(name: str) -> list[list[str]]:
        files = sorted(record.glob(f"{name}.[0-9]"), key=lambda p: int(p.suffix[1:]))
        return [p.read_text().splitlines() for p in files]

    calls.env_of = lambda name, n=0: dict(
        line.split("=", 1) for line in (record / f"{name}.{n}.env").read_text().splitlines() if "=" in line)
    return env, calls


def run(script: str, *args: str, env: dict, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(DEPLOY / script), *args], env={**env, **variables}, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


# --- every README example -------------------------------------------------------------


def readme_commands() -> list[str]:
    """The deploy/ commands in the bash blocks of README.md's runner section and of
    deploy/README.md, continuation lines joined, a trailing `&` dropped."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Runners and scaling out"):]
    section = section[:section.index("\n## ", 1)]
    commands = []
    for text in (section, (DEPLOY / "README.md").read_text()):
        for block in re.findall(r"```bash\n(.*?)```", text, re.S):
            for command in block.replace("\\\n", " ").splitlines():
                command = command.strip().removesuffix("&").strip()
                if not command.startswith("#") and any(_is_launcher(word) for word in shlex.split(command)):
                    commands.append(command)
    return commands


def _is_launcher(word: str) -> bool:
    return word.startswith("deploy/") and word.endswith((".sh", ".sbatch"))


@pytest.mark.parametrize("command", readme_commands())
def test_readme_example_runs_with_the_variables_it_shows(command, tools):
    """Each example sets every variable its script requires: it reaches the tool it launches."""
    env, calls = tools
    result = subprocess.run(["bash", "-c", command], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    launched = {"run.sh": "stackpipe", "job_server.sh": "docker", "build_image.sh": "docker",
                "flex_build.sh": "gcloud", "flex_run.sh": "gcloud", "single_node.sh": "torchrun",
                "multi_node.sh": "torchrun", "slurm.sbatch": "srun"}
    script = next(word for word in shlex.split(command) if _is_launcher(word)).rsplit("/", 1)[1]
    assert calls(launched[script]), f"{command}: {launched[script]} was not called"


def test_readme_examples_cover_every_launcher():
    scripts = {word.rsplit("/", 1)[1] for c in readme_commands() for word in shlex.split(c) if _is_launcher(word)}
    assert {"run.sh", "job_server.sh", "build_image.sh", "flex_build.sh", "flex_run.sh", "single_node.sh",
            "multi_node.sh", "slurm.sbatch"} <= scripts


# --- Slurm and torchrun -----------------------------------------------------------------

SLURM = {"SLURM_JOB_ID": "77", "SLURM_JOB_NODELIST": "node[1-2]", "SLURM_JOB_NUM_NODES": "2",
         "SLURM_CPUS_PER_TASK": "32"}


def test_slurm_passes_cpus_gpus_and_kill_on_bad_exit_to_srun(tools):
    env, calls = tools
    result = run("train/slurm.sbatch", "--data", "/shared/shards", "--output", "/shared/runs/x",
                 env=env, **SLURM, SLURM_GPUS_ON_NODE="4")
    assert result.returncode == 0, result.stderr
    (srun,) = calls("srun")
    torchrun = srun[srun.index("torchrun"):]
    assert {"--cpus-per-task=32", "--kill-on-bad-exit=1", "--ntasks-per-node=1"} <= set(srun[:srun.index("torchrun")])
    assert {"--nnodes=2", "--nproc-per-node=4", "--rdzv-endpoint=node1:29500", "--rdzv-id=77"} <= set(torchrun)
    assert torchrun[-6:] == ["-m", "stackpipe.train", "--data", "/shared/shards", "--output", "/shared/runs/x"]
    srun_env = calls.env_of("srun")
    assert srun_env["SRUN_CPUS_PER_TASK"] == "32" and srun_env["OMP_NUM_THREADS"] == "8"


def test_slurm_reads_a_typed_gpus_per_node_request(tools):
    env, calls = tools
    result = run("train/slurm.sbatch", env=env, **SLURM, SLURM_GPUS_PER_NODE="a100:8")
    assert result.returncode == 0, result.stderr
    assert "--nproc-per-node=8" in calls("srun")[0]


@pytest.mark.parametrize("missing, message", [("SLURM_GPUS_ON_NODE", "--gpus-per-node"),
                                              ("SLURM_CPUS_PER_TASK", "--cpus-per-task")])
def test_slurm_without_an_allocation_stops_before_srun(tools, missing, message):
    env, calls = tools
    variables = {**SLURM, "SLURM_GPUS_ON_NODE": "8"}
    del variables[missing]
    result = run("train/slurm.sbatch", env=env, **variables)
    assert result.returncode == 2 and message in result.stderr
    assert not calls("srun")


def test_multi_node_rendezvous_uses_the_given_node_and_master(tools):
    env, calls = tools
    result = run("train/multi_node.sh", "--data", "d", env=env, NNODES="4", NODE_RANK="1", MASTER_ADDR="10.0.0.1",
                 NPROC="8")
    assert result.returncode == 0, result.stderr
    (torchrun,) = calls("torchrun")
    assert {"--nnodes=4", "--node-rank=1", "--nproc-per-node=8", "--rdzv-endpoint=10.0.0.1:29500"} <= set(torchrun)


def test_multi_node_without_node_rank_fails_naming_it(tools):
    env, calls = tools
    result = run("train/multi_node.sh", env=env, NNODES="4", MASTER_ADDR="10.0.0.1", NPROC="8")
    assert result.returncode != 0 and "NODE_RANK" in result.stderr and not calls("torchrun")


# --- Dataflow -----------------------------------------------------------------------------


def test_build_image_targets_linux_amd64(tools):
    env, calls = tools
    result = run("dataflow/build_image.sh", env=env, IMAGE=IMAGE)
    assert result.returncode == 0, result.stderr
    build, push = calls("docker")
    assert build[:3] == ["build", "--platform", "linux/amd64"] and build[-3:] == ["-t", IMAGE, str(REPO)]
    assert push == ["push", IMAGE]


def test_flex_build_uses_the_pipelines_own_metadata(tools):
    env, calls = tools
    result = run("dataflow/flex_build.sh", "shards", env=env, PROJECT="p", IMAGE=IMAGE,
                 TEMPLATE_PATH="gs://b/templates/stackpipe-shards.json")
    assert result.returncode == 0, result.stderr
    (gcloud,) = calls("gcloud")
    assert gcloud[gcloud.index("--metadata-file") + 1] == str(DEPLOY / "dataflow" / "metadata" / "shards.json")


def test_flex_build_refuses_an_unknown_pipeline(tools):
    env, calls = tools
    result = run("dataflow/flex_build.sh", "train", env=env, PROJECT="p", IMAGE=IMAGE, TEMPLATE_PATH="gs://b/t.json")
    assert result.returncode == 2 and "train" in result.stderr and not calls("gcloud")


def test_dataflow_run_names_the_worker_image(tools):
    env, calls = tools
    result = run("dataflow/run.sh", "curate", "--input", "gs://b/in", "--output", "gs://b/out", env=env,
                 PROJECT="p", REGION="us-central1", TEMP_LOCATION="gs://b/tmp", IMAGE=IMAGE)
    assert result.returncode == 0, result.stderr
    (cli,) = calls("stackpipe")
    assert cli[:5] == ["curate", "--input", "gs://b/in", "--output", "gs://b/out"]
    assert {"--runner=DataflowRunner", f"--sdk_container_image={IMAGE}", "--temp_location=gs://b/tmp"} <= set(cli)


# --- Spark and Flink ------------------------------------------------------------------------


def test_flink_master_alone_submits_the_uber_jar(tools):
    env, calls = tools
    result = run("flink/run.sh", "curate", env=env, FLINK_MASTER="jobmanager:8081", FLINK_VERSION="1.19",
                 ENVIRONMENT_CONFIG=IMAGE)
    assert result.returncode == 0, result.stderr
    assert {"--runner=FlinkRunner", "--flink_master=jobmanager:8081", "--flink_submit_uber_jar",
            f"--environment_options=docker_container_image={IMAGE}"} <= set(calls("stackpipe")[0])


def test_flink_master_means_the_jobmanager_in_both_scripts(tools):
    """One exported FLINK_MASTER serves the job server and run.sh, which then goes through JOB_ENDPOINT."""
    env, calls = tools
    shared = dict(FLINK_MASTER="jobmanager:8081", ARTIFACTS_DIR="gs://b/artifacts", JOB_ENDPOINT="localhost:8099",
                  ENVIRONMENT_TYPE="EXTERNAL", ENVIRONMENT_CONFIG="localhost:50000")
    assert run("flink/job_server.sh", env=env, **shared).returncode == 0
    assert run("flink/run.sh", "dedup", env=env, **shared).returncode == 0
    assert "--flink-master=jobmanager:8081" in calls("docker")[0]
    assert {"--runner=PortableRunner", "--job_endpoint=localhost:8099",
            "--environment_config=localhost:50000"} <= set(calls("stackpipe")[0])


def test_spark_rest_url_is_refused(tools):
    env, calls = tools
    result = run("spark/run.sh", "curate", env=env, SPARK_REST_URL="http://master:6066", ENVIRONMENT_CONFIG=IMAGE)
    assert result.returncode == 2 and "23439" in result.stderr and not calls("stackpipe")


def test_spark_process_workers_get_the_boot_command(tools):
    env, calls = tools
    result = run("spark/run.sh", "curate", env=env, JOB_ENDPOINT="localhost:8099", ENVIRONMENT_TYPE="PROCESS",
                 ENVIRONMENT_CONFIG="/opt/apache/beam/boot")
    assert result.returncode == 0, result.stderr
    assert {"--environment_type=PROCESS",
            "--environment_options=process_command=/opt/apache/beam/boot"} <= set(calls("stackpipe")[0])


@pytest.mark.parametrize("script, master", [("spark/job_server.sh", {"SPARK_MASTER_URL": "spark://m:7077"}),
                                            ("flink/job_server.sh", {"FLINK_MASTER": "jobmanager:8081"})])
def test_job_server_without_shared_artifacts_dir_is_refused(tools, script, master):
    env, calls = tools
    result = run(script, env=env, **master)
    assert result.returncode == 2 and "ARTIFACTS_DIR" in result.stderr and not calls("docker")
    result = run(script, env=env, **master, ARTIFACTS_DIR="relative/dir")
    assert result.returncode == 2 and "ARTIFACTS_DIR" in result.stderr and not calls("docker")


def test_job_server_mounts_a_shared_artifacts_dir_at_its_own_path(tools):
    env, calls = tools
    result = run("spark/job_server.sh", env=env, SPARK_MASTER_URL="spark://m:7077", ARTIFACTS_DIR="/shared/beam")
    assert result.returncode == 0, result.stderr
    (docker,) = calls("docker")
    assert docker[docker.index("-v") + 1] == "/shared/beam:/shared/beam"
    assert docker[-2:] == ["--spark-master-url=spark://m:7077", "--artifacts-dir=/shared/beam"]


def test_job_server_passes_aws_variables_by_name_only(tools):
    """s3:// staging: the container gets the AWS variables with `-e NAME`, the secret never on the command line."""
    env, calls = tools
    result = run("flink/job_server.sh", env=env, FLINK_MASTER="jm:8081", ARTIFACTS_DIR="s3://b/beam",
                 AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="not-a-real-secret")
    assert result.returncode == 0, result.stderr
    (docker,) = calls("docker")
    first = docker.index("-e")
    assert docker[first:first + 4] == ["-e", "AWS_ACCESS_KEY_ID", "-e", "AWS_SECRET_ACCESS_KEY"]
    assert "not-a-real-secret" not in " ".join(docker) and "--artifacts-dir=s3://b/beam" in docker
