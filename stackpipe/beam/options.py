"""Pipeline construction shared by every entry point.

With no `--runner`, pipelines run on Beam's in-process `FnApiRunner`: `DirectRunner`
first tries to download the Prism binary, which fails offline. `--workers N` turns on
Beam's multi-processing mode. Any other Beam option (`--runner=DataflowRunner`,
`--temp_location`, ...) is passed through untouched.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner


def pipeline_options(beam_args: list[str], workers: int) -> PipelineOptions:
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    args = list(beam_args)
    if workers > 1 and not _names_runner(args):
        args += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    return PipelineOptions(args)


def is_local(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner
    return runner is None or runner in ("DirectRunner", "FnApiRunner")


def make_pipeline(beam_args: list[str], workers: int = 1) -> beam.Pipeline:
    options = pipeline_options(beam_args, workers)
    if options.view_as(StandardOptions).runner is None:
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)


def _names_runner(args: list[str]) -> bool:
    return any(a == "--runner" or a.startswith("--runner=") for a in args)
