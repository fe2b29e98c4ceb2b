"""Beam flags for Spark and Flink clusters of several hosts (deploy/spark, deploy/flink).

What works on a multi-host cluster (deploy/README.md, *Spark and Flink*, says it for users):

- Artifacts (the pipeline's staged files: `submission_environment_dependencies.txt`,
  `workflow.tar.gz` with `--setup_file`) must be readable by every task manager or
  executor. Through a job server they are staged under its `--artifacts-dir`, which must
  be shared storage (deploy/*/job_server.sh makes ARTIFACTS_DIR required); Flink's
  uber-jar route packs them into the jar it uploads to the JobManager, so it needs no
  shared storage. Spark's uber-jar route submits a `file:` URI of a jar that exists only
  on the submitting host (apache/beam#23439), so it is not offered: use the job server.
- Where the Python SDK workers run (`environment`):
  DOCKER: a container per worker on each host, from `environment_config` (an image with
  stackpipe; Beam's SDK image with `setup_file`). The container sees no host mount and
  none of the host's environment variables: data must be on an object store the
  container can authenticate to by itself (instance credentials).
  PROCESS: `environment_config` is the SDK boot command (`/opt/apache/beam/boot` of a
  Beam Python install) present on every worker host, with stackpipe installed in its
  Python; workers inherit the task manager's environment and see the host's mounts.
  EXTERNAL: `environment_config` is HOST:PORT of a worker pool started beside each task
  manager (the worker image run with `--worker_pool`, with whatever `-e`/`-v` it needs).
  LOOPBACK: the workers run in the submitting process: a cluster on this machine only.
"""

from __future__ import annotations

import argparse
import sys

from stackpipe.beam.engines import FLINK_VERSIONS, _flink_version, _host_port, _setup_file_flag, sdk_image

ENVIRONMENT_TYPES = ("DOCKER", "PROCESS", "EXTERNAL", "LOOPBACK")
SPARK_UBER_JAR_REFUSED = (
    "Spark's uber-jar route (SPARK_REST_URL) is not supported: Beam submits the jar as a file: path that exists "
    "only on this host, so executors on other hosts cannot start it (apache/beam#23439). Start a job server "
    "(deploy/spark/job_server.sh, with ARTIFACTS_DIR on shared storage) and set JOB_ENDPOINT instead")


def spark_args(*, job_endpoint: str | None, environment: str = "DOCKER", environment_config: str | None = None,
               setup_file: str | None = None, rest_url: str | None = None) -> list[str]:
    """PortableRunner flags for a Spark job server at `job_endpoint` (HOST:PORT); the other
    arguments are those of `environment_args`. `rest_url` is refused (module docstring)."""
    if rest_url:
        raise ValueError(SPARK_UBER_JAR_REFUSED)
    if not job_endpoint:
        raise ValueError("Spark: set JOB_ENDPOINT to the HOST:PORT of a Beam Spark job server "
                         "(deploy/spark/job_server.sh)")
    return (["--runner=PortableRunner", f"--job_endpoint={_host_port(job_endpoint, 'JOB_ENDPOINT')}"]
            + environment_args(environment, environment_config, setup_file))


def flink_args(*, job_endpoint: str | None = None, master: str | None = None, flink_version: str = FLINK_VERSIONS[0],
               environment: str = "DOCKER", environment_config: str | None = None, setup_file: str | None = None,
               job_server_jar: str | None = None) -> list[str]:
    """Flink flags: through a job server at `job_endpoint` when given (the job server
    knows the JobManager; `master` is then not used), else Beam's uber jar submitted to
    the JobManager's REST address `master` (HOST:PORT, normally :8081), built for
    `flink_version` (the cluster's) from `job_server_jar` or a download from Maven Central.
    """
    if job_endpoint:
        args = ["--runner=PortableRunner", f"--job_endpoint={_host_port(job_endpoint, 'JOB_ENDPOINT')}"]
    elif master:
        args = ["--runner=FlinkRunner", f"--flink_master={_host_port(master, 'FLINK_MASTER')}",
                f"--flink_version={_flink_version(flink_version)}", "--flink_submit_uber_jar"]
        if job_server_jar:
            args.append(f"--flink_job_server_jar={job_server_jar}")
    else:
        raise ValueError("Flink: set JOB_ENDPOINT (a Beam Flink job server, deploy/flink/job_server.sh) or "
                         "FLINK_MASTER (the JobManager's REST address HOST:8081, for the uber jar)")
    return args + environment_args(environment, environment_config, setup_file)


def environment_args(kind: str, config: str | None, setup_file: str | None) -> list[str]:
    """--environment_type and its options for where the SDK workers run (module docstring),
    and --setup_file when given."""
    if kind not in ENVIRONMENT_TYPES:
        raise ValueError(f"environment type must be one of {', '.join(ENVIRONMENT_TYPES)}, got {kind!r} "
                         "(ENVIRONMENT_TYPE)")
    if kind == "LOOPBACK":
        if config:
            raise ValueError(f"a LOOPBACK environment takes no ENVIRONMENT_CONFIG, got {config!r}")
        args = ["--environment_type=LOOPBACK"]
    elif kind == "EXTERNAL":
        # --environment_config: Beam 2.77 ignores external_service_address in --environment_options here.
        args = ["--environment_type=EXTERNAL", f"--environment_config={_host_port(config or '', 'ENVIRONMENT_CONFIG')}"]
    elif kind == "PROCESS":
        if not config or not config.startswith("/"):
            raise ValueError("PROCESS workers need the absolute path of Beam's SDK boot command on every worker host, "
                             f"e.g. /opt/apache/beam/boot, got {config!r} (ENVIRONMENT_CONFIG)")
        args = ["--environment_type=PROCESS", f"--environment_options=process_command={config}"]
    else:
        if not config and not setup_file:
            raise ValueError("DOCKER workers need stackpipe: give a worker image with it installed "
                             "(ENVIRONMENT_CONFIG) or this repository's setup.py (SETUP_FILE)")
        args = ["--environment_type=DOCKER", f"--environment_options=docker_container_image={config or sdk_image()}"]
    return args + ([_setup_file_flag(setup_file)] if setup_file else [])


def main(argv: list[str] | None = None) -> int:
    """`python -m stackpipe.beam.clusters {spark,flink} ...`: print the flags, one per line."""
    parser = argparse.ArgumentParser(prog="python -m stackpipe.beam.clusters", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    spark = commands.add_parser("spark", help="Spark flags (through a job server)")
    spark.add_argument("--rest-url")
    flink = commands.add_parser("flink", help="Flink flags (job server or uber jar)")
    flink.add_argument("--master")
    flink.add_argument("--flink-version", default=FLINK_VERSIONS[0])
    flink.add_argument("--job-server-jar")
    for engine in (spark, flink):
        engine.add_argument("--job-endpoint")
        engine.add_argument("--environment", default="DOCKER")
        engine.add_argument("--environment-config")
        engine.add_argument("--setup-file")
    args = parser.parse_args(argv)
    given = {key: value or None for key, value in vars(args).items()}  # the scripts pass unset variables as ""
    common = {key: given[key] for key in ("job_endpoint", "environment_config", "setup_file")}
    try:
        if args.command == "spark":
            lines = spark_args(rest_url=given["rest_url"], environment=args.environment, **common)
        else:
            lines = flink_args(master=given["master"], flink_version=args.flink_version,
                               job_server_jar=given["job_server_jar"], environment=args.environment, **common)
    except ValueError as error:
        print(f"stackpipe deploy: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
