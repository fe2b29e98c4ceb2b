"""Benchmark decontamination: recall per copy variant, false drops per near-miss kind and
on real files, speed (against the implementation at git HEAD when asked).

Recall: every HumanEval and MBPP problem is pasted between two top-level statements of a
held-out standard-library file as one of these variants: `verbatim` (HumanEval prompt +
solution, MBPP solution), `reindented` (two spaces, tabs for HumanEval), `crlf`,
`no_comments` (`#` comments removed), `renamed` (the solution alone, the function under a
new name), `prompt_only` (HumanEval's prompt; MBPP's text as a comment block or a
docstring), `methods` (inside a class, `self` added), `docstring` (MBPP solution with the
problem text as its docstring). A case counts as found when a hit names the problem.

False drops on near misses (held-out hosts, no benchmark inserted whole): `textbook`
(gcd, factorial, binary search, ... written independently, several styles), `name_only`
(a benchmark's `def` line with an unrelated body), `one_line` (one 5-9-word line of a
benchmark solution inside unrelated code). False drops on real files: the held-out half
of this machine's standard library and site-packages (files whose sha256(relative path)
is odd; the even half is the calibration corpus of `--write-df`), each drop listed.

Speed: MB/s per core (process CPU time) of `Decontaminator.apply` on the real files in
this process (one core), and of `apply_many` in the pipeline stage's batches; with `--compare-previous`, the implementation at git HEAD
(stackpipe/decontam/tokens.py, windows.py and index.py with ngram_df.npz as last committed)
on the same files in the same run, the ratio, and whether both keep the same files.

Usage: python benchmarks/decontam.py [--clean-mb 20] [--seed 0] [--compare-previous] [--speed-only] [--repeat 1]
       python benchmarks/decontam.py --write-df   # stackpipe/decontam/ngram_df.npz
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
import tokenize as pytokenize
import types
from dataclasses import replace
from pathlib import Path

from stackpipe.decontam import DecontamReport, Decontaminator, load_benchmark, load_benchmarks
from stackpipe.decontam.windows import DF_FILE, DocumentFrequency, benchmark_windows, count_document_frequency
from stackpipe.records import FileRecord, record_id
from stackpipe.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SITE = Path(sysconfig.get_paths()["purelib"])
EXTENSIONS = (".py", ".pyi", ".c", ".h", ".cpp", ".js", ".ts", ".md", ".rst", ".toml", ".cfg", ".ini", ".yaml",
              ".yml", ".json", ".sh", ".txt", ".html", ".java", ".go", ".rs")
DF_PATH = ROOT / "stackpipe" / "decontam" / DF_FILE


def calibration(root: Path, path: Path) -> bool:
    """The half of the corpus document frequencies are measured on."""
    rel = f"{root.name}/{path.relative_to(root)}"
    return int(hashlib.sha256(rel.encode()).hexdigest(), 16) % 2 == 0


def corpus(want_calibration: bool) -> list[Path]:
    """Text files (<= 1 MB) of the standard library and site-packages, one half of them."""
    out = []
    for root in (STDLIB, SITE):
        for path in sorted(root.rglob("*")):
            if path.suffix not in EXTENSIONS or (root == STDLIB and {"site-packages", "dist-packages"} & set(path.parts)):
                continue
            if path.is_file() and path.stat().st_size <= 1_000_000 and calibration(root, path) == want_calibration:
                out.append(path)
    return out


def write_df(rules) -> None:
    start = time.perf_counter()
    keys = benchmark_windows(load_benchmarks(rules), rules.n, rules.word_n).keys
    files = corpus(True)
    texts = (p.read_text(encoding="utf-8", errors="replace") for p in files)
    found, counts, total = count_document_frequency(keys, texts, rules.n, rules.word_n)
    DocumentFrequency(keys=found, counts=counts, files=total, n=rules.n, word_n=rules.word_n).save(DF_PATH)
    print(f"{DF_PATH.name}: {len(found)} of {len(set(keys.tolist()))} benchmark windows occur in {total} calibration "
          f"files (Python {sys.version.split()[0]} stdlib + site-packages, sha256 even half); "
          f"{DF_PATH.stat().st_size / 1e6:.2f} MB, {time.perf_counter() - start:.0f} s")


# --- variants -------------------------------------------------------------------------

def strip_comments(code: str) -> str:
    try:
        tokens = [t for t in pytokenize.generate_tokens(io.StringIO(code).readline) if t.type != pytokenize.COMMENT]
        return pytokenize.untokenize(tokens)
    except (pytokenize.TokenError, IndentationError, SyntaxError):
        return re.sub(r"#[^\n]*", "", code)


def reindent(code: str, unit: str) -> str:
    out = []
    for line in code.splitlines():
        stripped = line.lstrip(" ")
        out.append(unit * ((len(line) - len(stripped)) // 4) + stripped)
    return "\n".join(out) + "\n"


def entry_name(code: str) -> str | None:
    names = re.findall(r"^def (\w+)", code, re.M)
    return names[-1] if names else None


def rename(code: str, rng: random.Random) -> str:
    name = entry_name(code)
    return re.sub(rf"\b{name}\b", f"my_{name[:3]}_{rng.randint(10, 99)}", code) if name else code


def as_methods(code: str) -> str:
    names = re.findall(r"^def (\w+)", code, re.M)
    code = re.sub(r"^def (\w+)\((\s*\)?)", lambda m: f"def {m[1]}(self{', ' if not m[2].startswith(')') else ''}{m[2]}",
                  code, flags=re.M)
    for name in names:
        code = re.sub(rf"(?<![\w.]){name}\(", f"self.{name}(", code)
        code = code.replace(f"def self.{name}(", f"def {name}(")
    return "class Solution:\n" + "".join("    " + line if line.strip() else line for line in code.splitlines(True))


def with_docstring(code: str, text: str) -> str:
    return re.sub(r"^(def [^\n]*:\n)((\s+))", lambda m: f'{m[1]}{m[3]}"""{text}"""\n{m[3]}', code, count=1, flags=re.M)


def variants(benchmark: str, p, rng: random.Random) -> dict[str, str]:
    prompt, solution = p.fields["prompt"][0], p.fields["solution"][0]
    if benchmark == "humaneval":
        whole = prompt + solution
        return {"verbatim": whole, "reindented": reindent(whole, "\t"), "crlf": whole.replace("\n", "\r\n"),
                "no_comments": strip_comments(whole), "renamed": rename(whole, rng), "prompt_only": prompt,
                "methods": as_methods(whole)}
    comment = "\n".join("# " + line for line in prompt.splitlines())
    return {"verbatim": solution, "reindented": reindent(solution, "  "), "crlf": solution.replace("\n", "\r\n"),
            "no_comments": strip_comments(solution), "renamed": rename(solution, rng),
            "prompt_only": comment if rng.random() < 0.5 else f'"""{prompt}"""\n',
            "methods": as_methods(solution), "docstring": with_docstring(solution, prompt)}


TEXTBOOK = [
    "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n",
    "def gcd(a, b):\n    if b == 0:\n        return a\n    return gcd(b, a % b)\n",
    "def factorial(n):\n    if n == 0:\n        return 1\n    return n * factorial(n - 1)\n",
    "def factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n        result *= i\n    return result\n",
    "def binary_search(arr, target):\n    lo, hi = 0, len(arr) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n"
    "        if arr[mid] == target:\n            return mid\n        elif arr[mid] < target:\n            lo = mid + 1\n"
    "        else:\n            hi = mid - 1\n    return -1\n",
    "def binary_search(items, x):\n    left, right = 0, len(items)\n    while left < right:\n"
    "        mid = (left + right) // 2\n        if items[mid] < x:\n            left = mid + 1\n        else:\n"
    "            right = mid\n    return left\n",
    "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "def is_prime(n):\n    if n < 2:\n        return False\n    for i in range(2, int(n ** 0.5) + 1):\n"
    "        if n % i == 0:\n            return False\n    return True\n",
    "def is_palindrome(s):\n    return s == s[::-1]\n",
    "def reverse_string(s):\n    return s[::-1]\n",
    "def bubble_sort(arr):\n    n = len(arr)\n    for i in range(n):\n        for j in range(0, n - i - 1):\n"
    "            if arr[j] > arr[j + 1]:\n                arr[j], arr[j + 1] = arr[j + 1], arr[j]\n    return arr\n",
    "def lcm(a, b):\n    return a * b // gcd(a, b)\n",
    "def sum_digits(n):\n    total = 0\n    while n > 0:\n        total += n % 10\n        n //= 10\n    return total\n",
    "def count_vowels(s):\n    return sum(1 for c in s.lower() if c in 'aeiou')\n",
    "def flatten(lst):\n    result = []\n    for item in lst:\n        if isinstance(item, list):\n"
    "            result.extend(flatten(item))\n        else:\n            result.append(item)\n    return result\n",
    "def find_max(numbers):\n    largest = numbers[0]\n    for n in numbers:\n        if n > largest:\n"
    "            largest = n\n    return largest\n",
    "def power(base, exp):\n    if exp == 0:\n        return 1\n    return base * power(base, exp - 1)\n",
    "def triangle_area(a, b, c):\n    s = (a + b + c) / 2\n    return (s * (s - a) * (s - b) * (s - c)) ** 0.5\n",
    "def is_leap_year(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n",
    "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n",
    "def remove_duplicates(lst):\n    seen = set()\n    out = []\n    for x in lst:\n        if x not in seen:\n"
    "            seen.add(x)\n            out.append(x)\n    return out\n",
]


def statement_starts(host: str) -> list[int]:
    import ast

    try:
        body = ast.parse(host).body
    except SyntaxError:
        return [0]
    starts = [min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1 for node in body]
    return [0] + starts + [len(host.splitlines())]


def inject(host: str, code: str, rng: random.Random) -> str:
    lines = host.splitlines(keepends=True)
    at = rng.choice(statement_starts(host))
    return "".join(lines[:at]) + "\n\n" + code.rstrip() + "\n\n\n" + "".join(lines[at:])


def near_misses(problems, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, code) negatives: none holds enough of one benchmark problem."""
    out = [("textbook", code) for code in TEXTBOOK]
    out += [("textbook", reindent(code, "  ").replace("return", "return ") ) for code in TEXTBOOK]
    bodies = ["    return None\n", "    raise NotImplementedError\n",
              "    with open(path) as handle:\n        data = json.load(handle)\n    return data['items']\n",
              "    logger.info('called with %r', args)\n    return self.client.get(url, timeout=30)\n"]
    solutions = [(p.benchmark, p.fields["solution"][0]) for p in problems if "solution" in p.fields]
    for benchmark, code in rng.sample(solutions, 300):
        defs = re.findall(r"^def [^\n]*:\s*$", code, re.M)
        if defs:
            out.append(("name_only", defs[-1] + "\n" + rng.choice(bodies)))
        lines = [ln.strip() for ln in code.splitlines() if 5 <= len(re.findall(r"\w+", ln)) <= 9]
        if lines:
            out.append(("one_line", f"def helper(data, options):\n    result = []\n    {rng.choice(lines)}\n"
                                    "    return result\n"))
    return out


# --- the previous implementation -------------------------------------------------------

def previous_decontaminator(rules):
    """A Decontaminator of the implementation at git HEAD (stackpipe/decontam/tokens.py,
    windows.py where it exists, and index.py as last committed, with the document
    frequencies committed beside them: a change of the hashing changes the keys of
    ngram_df.npz), built for the same rules, or None."""
    show = lambda path: subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:{path}"], check=True,
                                       capture_output=True).stdout
    sources = {}
    try:
        for name in ("tokens", "windows", "index"):
            try:
                sources[name] = show(f"stackpipe/decontam/{name}.py").decode()
            except subprocess.CalledProcessError:
                if name != "windows":  # (windows.py split from index.py later)
                    raise
        df = show(f"stackpipe/decontam/{DF_FILE}")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    if "class Decontaminator" not in sources["index"]:
        return None
    modules = {}
    for name, source in sources.items():
        for loaded in modules:
            source = source.replace(f"from stackpipe.decontam.{loaded} import", f"from previous_{loaded} import")
        module = types.ModuleType(f"previous_{name}")
        sys.modules[module.__name__] = module  # (dataclasses look their module up)
        exec(compile(source, f"HEAD:{name}.py", "exec"), module.__dict__)
        modules[name] = module
    if rules.df_file is None:
        df_file = Path(tempfile.mkdtemp()) / DF_FILE
        df_file.write_bytes(df)
        rules = replace(rules, df_file=str(df_file))
    decontaminator = modules["index"].Decontaminator(rules)
    decontaminator.setup()
    return decontaminator


# --- the measure ----------------------------------------------------------------------

def clean_files(args) -> tuple[list[FileRecord], int]:
    """Held-out real files (shuffled by the seed), `--clean-mb` MB of them, as records."""
    rng = random.Random(args.seed)
    held_out = corpus(False)
    rng.shuffle(held_out)
    records, total = [], 0
    for path in held_out:
        if total >= args.clean_mb * 1e6:
            break
        text = path.read_text(encoding="utf-8", errors="replace")
        records.append(FileRecord(id=record_id("local", "stdlib", str(path)), repo="stdlib", path=str(path),
                                  language="Python" if path.suffix == ".py" else "", content=text,
                                  size_bytes=len(text.encode()), source="local"))
        total += len(text.encode())
    return records, total


def throughput(decontaminator, records: list[FileRecord], total: int, label: str) -> float:
    """MB/s per core of `apply` on `records` (process CPU time: other processes on the
    machine do not count)."""
    start = time.process_time()
    for record in records:
        decontaminator.apply(record)
    speed = total / 1e6 / (time.process_time() - start)
    print(f"[{label}] throughput: {speed:.2f} MB/s per core (apply on {len(records)} real files, "
          f"{total / 1e6:.1f} MB, one process)")
    return speed


def batched_throughput(decontaminator, records: list[FileRecord], total: int, label: str) -> float:
    """MB/s per core of `apply_many` on `records` in the batches the Beam stage gives it."""
    from stackpipe.beam.stages import BATCH_BYTES, BATCH_ELEMENTS

    batches, batch, size = [], [], 0
    for record in records:
        batch.append(record)
        size += record.size_bytes
        if size >= BATCH_BYTES or len(batch) >= BATCH_ELEMENTS:
            batches.append(batch)
            batch, size = [], 0
    batches += [batch] if batch else []
    start = time.process_time()
    for batch in batches:
        decontaminator.apply_many(batch)
    speed = total / 1e6 / (time.process_time() - start)
    print(f"[{label}] throughput batched: {speed:.2f} MB/s per core (apply_many, {len(batches)} batches of "
          f"<= {BATCH_BYTES / 1e6:.0f} MB or {BATCH_ELEMENTS} files, as the pipeline stage runs it)")
    return speed


def measure(decontaminator, rules, args, label: str) -> None:
    find = decontaminator.find
    rng = random.Random(args.seed)
    held_out = [p for p in corpus(False)]
    hosts = [p.read_text(encoding="utf-8", errors="replace") for p in
             rng.sample([p for p in held_out if p.suffix == ".py" and p.is_relative_to(STDLIB)], 200)]
    found: dict[tuple[str, str], list[bool]] = {}
    missed = []
    for benchmark in ("humaneval", "mbpp"):
        problems = load_benchmark(benchmark, rules)
        for p in rng.sample(problems, min(args.problems, len(problems))):
            for variant, text in variants(benchmark, p, rng).items():
                hits = find(inject(rng.choice(hosts), text, rng))
                ok = any(h.benchmark == benchmark and h.problem_id == p.problem_id for h in hits)
                found.setdefault((benchmark, variant), []).append(ok)
                if not ok:
                    missed.append(f"{benchmark} {p.problem_id} {variant}")
    for (benchmark, variant), oks in sorted(found.items()):
        print(f"[{label}] recall {benchmark} {variant}: {sum(oks) / len(oks):.3f} ({sum(oks)}/{len(oks)})")
    every = [ok for oks in found.values() for ok in oks]
    print(f"[{label}] recall overall: {sum(every) / len(every):.4f} ({sum(every)}/{len(every)})")
    if args.verbose:
        print(f"[{label}] missed: {', '.join(missed[:60])}")

    drops: dict[str, list[bool]] = {}
    problems = load_benchmark("humaneval", rules) + load_benchmark("mbpp", rules)
    for kind, code in near_misses(problems, rng):
        hits = find(inject(rng.choice(hosts), code, rng))
        drops.setdefault(kind, []).append(bool(hits))
        if hits and args.verbose:
            print(f"[{label}]   near-miss drop {kind}: {hits[0].benchmark} {hits[0].problem_id} {code[:80]!r}")
    for kind, flags in sorted(drops.items()):
        print(f"[{label}] false drops {kind}: {sum(flags) / len(flags):.3f} ({sum(flags)}/{len(flags)})")
    every = [f for flags in drops.values() for f in flags]
    print(f"[{label}] false drops near misses overall: {sum(every) / len(every):.3f} ({sum(every)}/{len(every)})")

    records, total = clean_files(args)
    report, dropped = DecontamReport(), []
    for record in records:
        hits = find(record.content)
        if hits:
            report.add(record.path, hits)
            dropped.append((record.path, hits))
    print(f"[{label}] false drops on real files (held-out stdlib + site-packages): {len(dropped)}/{len(records)} "
          f"= {len(dropped) / len(records):.4%} ({total / 1e6:.1f} MB)")
    for path, hits in dropped:
        first = hits[0]
        print(f"[{label}]   false drop {path}: {first.benchmark} {first.problem_id} {'/'.join(first.fields)} "
              f"{first.match[:100]!r}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean-mb", type=float, default=20.0)
    parser.add_argument("--problems", type=int, default=1000, help="problems per benchmark for recall")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--benchmarks-dir", default=None)
    parser.add_argument("--compare-previous", action="store_true",
                        help="also the implementation at git HEAD, its throughput on the same files and the ratio")
    parser.add_argument("--speed-only", action="store_true", help="throughput alone (no recall, no false drops)")
    parser.add_argument("--repeat", type=int, default=1, help="throughput passes (each implementation in turn)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--write-df", action="store_true")
    args = parser.parse_args(argv)
    rules = replace(load_rules().decontam, benchmarks_dir=args.benchmarks_dir)
    if args.write_df:
        write_df(rules)
        return
    decontaminator = Decontaminator(rules)
    start = time.perf_counter()
    decontaminator.setup()
    print(f"index build: {time.perf_counter() - start:.2f} s, {decontaminator.index.nbytes / 1e6:.1f} MB of arrays, "
          f"{len(decontaminator.index.keys)} keys")
    if not args.speed_only:
        measure(decontaminator, rules, args, "coverage")
    previous = previous_decontaminator(rules) if args.compare_previous else None
    if args.compare_previous and previous is None:
        print("previous implementation: not found at git HEAD")
    if previous is not None and not args.speed_only:
        measure(previous, rules, args, "previous")
    records, total = clean_files(args)
    # the two implementations take turns on the same files in this process (the best pass of each)
    speed = batched = old = 0.0
    for _ in range(args.repeat):
        speed = max(speed, throughput(decontaminator, records, total, "coverage"))
        batched = max(batched, batched_throughput(decontaminator, records, total, "coverage"))
        if previous is not None:
            old = max(old, throughput(previous, records, total, "previous"))
    print(f"speed ratio batched / one file at a time: {batched / speed:.2f}x")
    if previous is not None:
        same = [decontaminator.apply(r) is r for r in records] == [previous.apply(r) is r for r in records]
        print(f"speed ratio coverage / previous: {speed / old:.2f}x, batched / previous: {batched / old:.2f}x "
              f"(files kept: {'same' if same else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
