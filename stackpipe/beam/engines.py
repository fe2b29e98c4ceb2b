"""Beam flags for Dataflow, and the Docker images that match the installed Beam
(Spark and Flink flags: stackpipe.beam.clusters).

The launch scripts in deploy/ stay thin: they call `python -m stackpipe.beam.engines` to
get the Dataflow flags (one per line) and the image names,
and append them to a stackpipe command. Every flag made here is a real Beam pipeline
option; deploy/README.md says what each engine needs.

Workers must be able to import stackpipe. Two ways: a worker image with stackpipe
installed (deploy/dataflow/Dockerfile; `image`), or `setup_file`, which makes Beam build
an sdist of this repository at submission and install it on every worker at start-up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from apache_beam.options.pipeline_options import FlinkRunnerOptions
from apache_beam.version import __version__ as BEAM_VERSION

PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
FLINK_VERSIONS = tuple(FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS)


def sdk_image() -> str:
    """Beam's Python SDK worker image for this interpreter and this Beam version (workers
    must run the same Beam and Python minor version as the submitting process)."""
    return f"apache/beam_python{PYTHON_VERSION}_sdk:{BEAM_VERSION}"


def job_server_image(engine: str, flink_version: str = FLINK_VERSIONS[0]) -> str:
    """Beam's job-server image for `engine` ('spark' or 'flink'), tagged with this Beam version."""
    if engine == "spark":
        return f"apache/beam_spark3_job_server:{BEAM_VERSION}"
    if engine == "flink":
        return f"apache/beam_flink{_flink_version(flink_version)}_job_server:{BEAM_VERSION}"
    raise ValueError(f"job servers exist for 'spark' and 'flink', not {engine!r}")


def dataflow_args(*, project: str, region: str, temp_location: str, image: str | None = None,
                  setup_file: str | None = None) -> list[str]:
    """DataflowRunner flags.

    project, region: the GCP project id and Dataflow region. temp_location: a gs:// prefix
    for temporary and staged files. image: a worker image with stackpipe installed
    (deploy/dataflow/Dockerfile); setup_file: this repository's setup.py, built and
    installed on each worker instead. Exactly one of the two.
    """
    for name, value in (("project", project), ("region", region)):
        if not value:
            raise ValueError(f"Dataflow needs a {name} (PROJECT / REGION)")
    if not temp_location.startswith("gs://"):
        raise ValueError(f"Dataflow's temp location must be a gs:// path, got {temp_location!r} (TEMP_LOCATION)")
    args = ["--runner=DataflowRunner", f"--project={project}", f"--region={region}",
            f"--temp_location={temp_location}"]
    return args + _worker_code(image, setup_file)


FLEX_PIPELINES = ("curate", "dedup", "pack", "shards")
# Flex-template parameter names are Beam-style (underscores); stackpipe's flags use hyphens.
FLEX_FLAGS = {"shard_mb": "--shard-mb", "seq_len": "--seq-len", "max_chars": "--max-chars"}


def flex_template_argv(argv: list[str]) -> list[str]:
    """The stackpipe command line for a flex-template launch.

    The launcher runs deploy/dataflow/flex_main.py with every parameter as `--name=value`
    (metadata.json declares them) plus its own Beam options. `--pipeline=NAME` picks the
    command; parameters named in FLEX_FLAGS get stackpipe's spelling; the rest pass as given.
    """
    pipeline, rest = None, []
    for arg in argv:
        name, _, value = arg.partition("=")
        if name == "--pipeline":
            pipeline = value
        elif name.startswith("--") and name[2:] in FLEX_FLAGS:
            rest.append(f"{FLEX_FLAGS[name[2:]]}={value}")
        else:
            rest.append(arg)
    if pipeline not in FLEX_PIPELINES:
        raise ValueError(f"flex template: parameter 'pipeline' must be one of {', '.join(FLEX_PIPELINES)}, "
                         f"got {pipeline!r}")
    return [pipeline, *rest]


def _worker_code(image: str | None, setup_file: str | None) -> list[str]:
    if (image is None) == (setup_file is None):
        raise ValueError("workers need stackpipe: give either a worker image with it installed (IMAGE) or this "
                         "repository's setup.py (SETUP_FILE), not both or neither")
    return [f"--sdk_container_image={image}"] if image is not None else [_setup_file_flag(setup_file)]


def _setup_file_flag(setup_file: str) -> str:
    path = Path(setup_file)
    if path.name not in ("setup.py", "pyproject.toml") or not path.is_file():
        raise ValueError(f"setup file {setup_file!r} must be an existing setup.py or pyproject.toml (SETUP_FILE)")
    return f"--setup_file={path.resolve()}"


def _host_port(value: str, variable: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{variable} must be HOST:PORT, got {value!r}")
    return value


def _flink_version(version: str) -> str:
    if version not in FLINK_VERSIONS:
        raise ValueError(f"Flink version {version!r} has no Beam job server; Beam {BEAM_VERSION} publishes "
                         f"{', '.join(FLINK_VERSIONS)} (FLINK_VERSION)")
    return version


def main(argv: list[str] | None = None) -> int:
    """`python -m stackpipe.beam.engines {dataflow,image} ...`: print flags, one per line
    (Spark and Flink flags: `python -m stackpipe.beam.clusters`)."""
    parser = argparse.ArgumentParser(prog="python -m stackpipe.beam.engines", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dataflow = commands.add_parser("dataflow", help="DataflowRunner flags")
    for flag in ("--project", "--region", "--temp-location"):
        dataflow.add_argument(flag, required=True)
    dataflow.add_argument("--image")
    dataflow.add_argument("--setup-file")
    image = commands.add_parser("image", help="a Docker image name matching the installed Beam")
    image.add_argument("which", choices=("sdk", "spark-job-server", "flink-job-server"))
    image.add_argument("--flink-version", default=FLINK_VERSIONS[0])
    args = parser.parse_args(argv)
    try:
        if args.command == "image":
            lines = [sdk_image() if args.which == "sdk" else job_server_image(args.which.split("-")[0],
                                                                                args.flink_version)]
        else:  # the scripts pass unset environment variables as empty strings
            lines = dataflow_args(project=args.project, region=args.region, temp_location=args.temp_location,
                                  image=args.image or None, setup_file=args.setup_file or None)
    except ValueError as error:
        print(f"stackpipe deploy: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
