"""Pipeline construction shared by every entry point.

With no `--runner`, pipelines run on Beam's in-process `FnApiRunner`: `DirectRunner`
first tries to download the Prism binary, which fails offline. Any other Beam option
(`--runner=DataflowRunner`, `--temp_location`, ...) is passed through untouched.

`--workers N` does not turn on the FnApiRunner's multi-process mode: in Beam 2.77 that
mode silently drops records at shuffles (a 40-element CoGroupByKey pipeline loses about a
third of its values with 2 workers and none with 1; `make demo` lost 11,120 of 31,952
records before the licence stage), so local runs use one SDK worker and say so.
"""

from __future__ import annotations

import json
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DebugOptions,
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
    TestOptions,
)
from apache_beam.runners.portability.fn_api_runner import FnApiRunner


LOCAL_WORKERS_WARNING = (
    "stackpipe: --workers {workers} runs as 1 worker on the local runner: Beam's multi-process FnApiRunner "
    "drops records at shuffles; use a distributed runner (Dataflow, Flink, Spark) to scale out"
)


def pipeline_options(beam_args: list[str], workers: int) -> PipelineOptions:
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    if workers > 1 and not _names_runner(beam_args):
        print(LOCAL_WORKERS_WARNING.format(workers=workers), file=sys.stderr)
    return PipelineOptions(list(beam_args))


def is_local(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner
    return runner is None or runner in ("DirectRunner", "FnApiRunner")


def translates_only(options: PipelineOptions) -> bool:
    """True when running the pipeline builds (and perhaps stages) a job without executing it:
    Dataflow's `--dry_run=True`, or `--template_location` (a classic template, and the way the
    Dataflow flex-template launcher submits a job). Outputs such as stats.json do not exist
    after such a run, so a pipeline must not read them back."""
    return bool(options.view_as(TestOptions).dry_run or options.view_as(GoogleCloudOptions).template_location)


def run_to_completion(pipeline: beam.Pipeline) -> bool:
    """Run `pipeline` and wait for it; False when the runner only translated or staged the job
    (`translates_only`), True when the job ran and its outputs are written."""
    pipeline.run().wait_until_finish()
    if not translates_only(pipeline.options):
        return True
    write_dry_run_job_file(pipeline)
    return False


def write_dry_run_job_file(pipeline: beam.Pipeline) -> str | None:
    """Honour `--dataflow_job_file` on a Dataflow `--dry_run`, which Beam skips: write the job
    and the portable pipeline proto Dataflow would receive, so a translation can be inspected
    (and diffed) without a GCP project. Returns the path written, or None."""
    path = pipeline.options.view_as(DebugOptions).dataflow_job_file
    job = getattr(pipeline.runner, "job", None)
    if not path or not pipeline.options.view_as(TestOptions).dry_run or job is None:
        return None
    from google.protobuf.json_format import MessageToDict

    from stackpipe.beam.write import write_bytes_atomically  # write imports this module

    document = {"job": json.loads(job.json()), "pipeline": MessageToDict(job.proto_pipeline)}
    write_bytes_atomically(path, (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return path


def translated_only(command: str, output: str) -> dict:
    """What a pipeline returns when its job was only translated, staged or submitted: there is
    nothing to read back here, the runner writes the outputs."""
    print(f"stackpipe {command}: job translated or submitted, not run here; its outputs go to {output}",
          file=sys.stderr)
    return {"translated_only": True, "output": output}


def make_pipeline(beam_args: list[str], workers: int = 1) -> beam.Pipeline:
    options = pipeline_options(beam_args, workers)
    if options.view_as(StandardOptions).runner is None:
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)


def _names_runner(args: list[str]) -> bool:
    return any(a == "--runner" or a.startswith("--runner=") for a in args)
