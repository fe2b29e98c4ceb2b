"""Checks at submission: refuse what the workers of the chosen runner cannot read.

A pipeline is built on the launcher, but its workers open its inputs, write its outputs
and load some resources in `setup()`. A local path passes every check on the launcher
and then fails on each worker of a remote runner, after the job has been staged and
started. `check_submission` looks at the runner and its worker environment before
anything is built, and says what to do instead.

Where the SDK workers run decides what they can read:

- `launcher`: Beam's in-process runners, `--environment_type=LOOPBACK`, and the Flink and
  Spark runners' embedded local clusters: the workers are this process or its children,
  so everything here is readable.
- `cluster_hosts`: `PROCESS` workers on the cluster's hosts, or `EXTERNAL` worker pools
  beside them: local paths work only on a mount that every worker host has at the same
  path, which cannot be verified from here, so they pass.
- `containers`: Dataflow, and `DOCKER` workers of a portable runner (the default on a
  remote cluster): they see no file of this machine and no host mount.

`python-env://` reads the interpreter that the worker runs in, which on any remote worker
is not the one whose distributions were planned here.
"""

from __future__ import annotations

from typing import Iterable

from apache_beam.options.pipeline_options import (
    FlinkRunnerOptions,
    PipelineOptions,
    PortableOptions,
    SparkRunnerOptions,
    StandardOptions,
)

from stackpipe.sources.uris import scheme

LOCAL_RUNNERS = ("DirectRunner", "FnApiRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner", "PrismRunner")
FLINK_LOCAL_MASTERS = ("[local]", "[auto]")  # FlinkRunner starts an embedded cluster with LOOPBACK workers
PYENV_SCHEME = "python-env"


class LauncherOnlyPath(ValueError):
    """A path the workers of the chosen runner cannot read."""


def worker_placement(options: PipelineOptions) -> str:
    """'launcher', 'cluster_hosts' or 'containers': where the SDK workers of `options` run
    (module docstring)."""
    runner = (options.view_as(StandardOptions).runner or "FnApiRunner").rsplit(".", 1)[-1]
    if runner in LOCAL_RUNNERS:
        return "launcher"
    if "Dataflow" in runner:
        return "containers"
    environment = (options.view_as(PortableOptions).environment_type or "").upper()
    if not environment:
        if runner == "FlinkRunner" and options.view_as(FlinkRunnerOptions).flink_master in FLINK_LOCAL_MASTERS:
            return "launcher"
        if runner == "SparkRunner" and options.view_as(SparkRunnerOptions).spark_master_url.startswith("local"):
            return "launcher"
        environment = "DOCKER"  # the portable runners' default worker environment
    if environment in ("LOOPBACK", "EMBEDDED"):
        return "launcher"
    if environment in ("PROCESS", "EXTERNAL"):
        return "cluster_hosts"
    return "containers"


def check_submission(beam_args: list[str], *, inputs: Iterable[str] = (), outputs: Iterable[str] = (),
                     rules=None) -> None:
    """Raise LauncherOnlyPath when the runner named by `beam_args` has workers that cannot
    read an input URI, write an output directory, or open a file the rules name
    (`decontam.df_file`, opened by each worker's decontamination stage in setup()).

    beam_args: the Beam options of the job. inputs, outputs: the job's input URIs and
    output directories, as the user gave them. rules: the loaded rules, or None when the
    job runs no decontamination.
    """
    options = PipelineOptions(list(beam_args))
    placement = worker_placement(options)
    if placement == "launcher":
        return
    where = _runner_words(options)
    for uri in inputs:
        if scheme(uri) == PYENV_SCHEME:
            raise LauncherOnlyPath(
                f"input {uri!r}: python-env:// reads the Python installation of the process that reads it, "
                f"and on {where} that is each worker's interpreter, not this one. Pack this installation "
                "into archives and give their URIs instead (e.g. `tar czf stdlib.tar.gz -C \"$(python -c "
                "'import sysconfig; print(sysconfig.get_paths()[\"stdlib\"])')\" .` and upload it to gs:// or "
                "s3://), or run here (no --runner, or --environment_type=LOOPBACK)")
        if placement == "containers" and scheme(uri) == "file":
            raise LauncherOnlyPath(f"input {uri!r} is a path on this machine, which {where} cannot read: "
                                   "copy it to storage the workers reach (gs://, s3://) and give that URI")
    for uri in outputs:
        if placement == "containers" and scheme(uri) == "file":
            raise LauncherOnlyPath(f"output {uri!r} is a path on this machine; {where} would write it inside "
                                   "each worker, where it is lost: give a gs:// or s3:// directory")
    df_file = getattr(getattr(rules, "decontam", None), "df_file", None)
    if placement == "containers" and df_file is not None and scheme(df_file) == "file":
        raise LauncherOnlyPath(
            f"decontam.yaml df_file {df_file!r} is a file on this machine, and each worker opens it when its "
            f"decontamination stage starts; {where} cannot read it. Leave df_file null to use the table "
            "packaged with stackpipe, or run the workers where the file is mounted at the same path "
            "(ENVIRONMENT_TYPE=PROCESS or EXTERNAL on Spark and Flink: deploy/README.md)")


def _runner_words(options: PipelineOptions) -> str:
    runner = (options.view_as(StandardOptions).runner or "").rsplit(".", 1)[-1]
    if "Dataflow" in runner:
        return "a DataflowRunner worker"
    environment = (options.view_as(PortableOptions).environment_type or "DOCKER").upper()
    return f"a {runner} worker (--environment_type={environment})"
