"""Benchmark decontamination (REFERENCE.md §7): registry and loaders, code-aware tokens,
the n-gram index with the `decontam` stage, and the mergeable `decontam_report.json`."""

from stackpipe.decontam.benchmarks import (REGISTRY, BenchmarkError, BenchmarkSpec, Problem, benchmark_locations,
                                           load_benchmark, load_benchmarks)
from stackpipe.decontam.index import STAGE, Decontaminator, Hit, NgramIndex, hits_from_meta
from stackpipe.decontam.report import DecontamReport
from stackpipe.decontam.tokens import tokenize

__all__ = ["REGISTRY", "STAGE", "BenchmarkError", "BenchmarkSpec", "DecontamReport", "Decontaminator", "Hit",
           "NgramIndex", "Problem", "benchmark_locations", "hits_from_meta", "load_benchmark", "load_benchmarks", "tokenize"]
