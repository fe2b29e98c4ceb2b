"""Benchmark decontamination: recall on injected solutions, false drops on clean code, speed.

Recall: every HumanEval and MBPP canonical solution is inserted between two top-level
statements of a real file (seeded; host files are standard-library `.py` files), once as is and
once reformatted: parsed and unparsed with `ast` (quotes, spacing and redundant
parentheses normalised, comments gone), reindented to two spaces, long lines reflowed
after commas inside brackets, and new comment lines added. HumanEval's canonical
solution is the complete function (`prompt` + `canonical_solution`); the body alone
(`canonical_solution`, which is not a program by itself) is reported on its own line.
A file counts as found when a hit names the inserted problem.

False drops: clean files of this machine (standard library and site-packages, code and
docs) with no benchmark inserted; every drop is listed with the report's explanation
(problem, field, matched tokens). The standard-library files that built the packaged
common-code vocabulary (`--write-common-tokens`: `.py` files whose sha256(relative
path) is even) are left out, so the measure is on code the vocabulary never saw.

Speed: MB/s of `find` on the clean files in this one process (one core), index build time.

Usage: python benchmarks/decontam.py [--clean-mb 40] [--seed 0] [--benchmarks-dir DIR]
       python benchmarks/decontam.py --write-common-tokens
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import random
import sys
import sysconfig
import time
import tokenize as pytokenize
from dataclasses import replace
from pathlib import Path

from stackpipe.decontam import DecontamReport, Decontaminator, load_benchmark
from stackpipe.decontam.tokens import common_tokens
from stackpipe.rules import load_rules

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SITE = Path(sysconfig.get_paths()["purelib"])
EXTENSIONS = (".py", ".pyi", ".c", ".h", ".cpp", ".js", ".ts", ".md", ".rst", ".toml", ".cfg", ".ini", ".yaml",
              ".yml", ".json", ".sh", ".txt", ".html", ".java", ".go", ".rs")
COMMON_FILE = Path(__file__).resolve().parent.parent / "stackpipe" / "decontam" / "common_tokens.txt"
COMMON_MIN_FRACTION = 0.005


def calibration(path: Path) -> bool:
    """The stdlib `.py` files the common-code vocabulary is built from."""
    rel = str(path.relative_to(STDLIB))
    return path.suffix == ".py" and int(hashlib.sha256(rel.encode()).hexdigest(), 16) % 2 == 0


def stdlib_py() -> list[Path]:
    return [p for p in sorted(STDLIB.rglob("*.py")) if not {"site-packages", "dist-packages"} & set(p.parts)]


def write_common_tokens() -> None:
    files = [p for p in stdlib_py() if calibration(p)]
    words = common_tokens((p.read_text(encoding="utf-8", errors="replace") for p in files), COMMON_MIN_FRACTION)
    COMMON_FILE.write_text(
        f"# Words in >= {COMMON_MIN_FRACTION:.1%} of {len(files)} .py files of the CPython "
        f"{sys.version.split()[0]} standard library\n"
        "# (those whose sha256(relative path) is even): benchmarks/decontam.py --write-common-tokens\n"
        + "\n".join(words) + "\n", encoding="utf-8")
    print(f"common_tokens: {len(words)} words from {len(files)} files -> {COMMON_FILE}")


# --- reformatting --------------------------------------------------------------------


def reflow(code: str, width: int = 60) -> str:
    """Break long lines after commas inside brackets (legal continuation lines)."""
    try:
        tokens = list(pytokenize.generate_tokens(io.StringIO(code).readline))
    except (pytokenize.TokenError, IndentationError, SyntaxError):
        return code
    lines = code.splitlines(keepends=True)
    breaks: dict[int, list[int]] = {}
    depth = 0
    for tok in tokens:
        if tok.type == pytokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == pytokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == pytokenize.OP and tok.string == "," and depth > 0 and len(lines[tok.start[0] - 1]) > width:
            breaks.setdefault(tok.start[0] - 1, []).append(tok.end[1])
    for row, cols in breaks.items():
        line = lines[row]
        indent = " " * (len(line) - len(line.lstrip()) + 8)
        for col in sorted(cols, reverse=True):
            line = line[:col] + "\n" + indent + line[col:].lstrip(" ")
        lines[row] = line
    return "".join(lines)


def reformat(code: str, rng: random.Random) -> str:
    """ast round trip (when it parses), reflow, two-space indent, new comments."""
    try:
        code = ast.unparse(ast.parse(code)) + "\n"
    except SyntaxError:
        pass
    code = reflow(code)
    out = []
    for number, line in enumerate(code.splitlines()):
        stripped = line.lstrip(" ")
        indent = (len(line) - len(stripped)) // 2 * " "  # 4 -> 2, 8 -> 4
        if stripped and number % 3 == 1:
            out.append(f"{indent}# note {rng.randint(0, 999)}: see below")
        out.append(indent + stripped if stripped else "")
    return "\n".join(out) + "\n"


def statement_starts(host: str) -> list[int]:
    """Line numbers (0-based) where a top-level statement of `host` begins, and its end:
    a pasted solution lands between definitions, never inside a docstring."""
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


# --- the measure ---------------------------------------------------------------------


def clean_files(limit_mb: float, rng: random.Random) -> list[tuple[str, str]]:
    candidates = [p for p in stdlib_py() if not calibration(p)]
    candidates += [p for p in sorted(SITE.rglob("*")) if p.suffix in EXTENSIONS and p.is_file()]
    candidates += [p for p in sorted(STDLIB.rglob("*")) if p.suffix in EXTENSIONS and p.suffix != ".py"
                   and p.is_file() and not {"site-packages", "dist-packages"} & set(p.parts)]
    rng.shuffle(candidates)
    out, total = [], 0
    for path in candidates:
        if total >= limit_mb * 1e6:
            break
        if path.stat().st_size > 1_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        out.append((str(path), text))
        total += len(text.encode())
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean-mb", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--benchmarks-dir", default=None,
                        help="your own benchmark copies (default: the copies packaged with stackpipe)")
    parser.add_argument("--write-common-tokens", action="store_true")
    args = parser.parse_args(argv)
    if args.write_common_tokens:
        write_common_tokens()
        return
    rng = random.Random(args.seed)
    rules = replace(load_rules().decontam, benchmarks_dir=args.benchmarks_dir)
    decontaminator = Decontaminator(rules)
    start = time.perf_counter()
    decontaminator.setup()
    print(f"index build: {time.perf_counter() - start:.2f} s, {decontaminator.index.nbytes / 1e6:.1f} MB of arrays, "
          f"{sum(len(k) for k, _ in decontaminator.index.tables.values())} keys")

    hosts = [p.read_text(encoding="utf-8", errors="replace") for p in rng.sample(stdlib_py(), 400)]
    cases = [("humaneval", p.problem_id, p.fields["prompt"][0] + p.fields["solution"][0], "function")
             for p in load_benchmark("humaneval", rules)]
    cases += [("humaneval", p.problem_id, p.fields["solution"][0], "body") for p in load_benchmark("humaneval", rules)]
    cases += [("mbpp", p.problem_id, p.fields["solution"][0], "function") for p in load_benchmark("mbpp", rules)]
    found: dict[tuple[str, str, str], list[int]] = {}
    missed = []
    for benchmark, pid, code, kind in cases:
        for variant, text in (("as_is", code), ("reformatted", reformat(code, rng))):
            hits = decontaminator.find(inject(rng.choice(hosts), text, rng))
            ok = any(h.benchmark == benchmark and h.problem_id == pid for h in hits)
            found.setdefault((benchmark, kind, variant), []).append(ok)
            if not ok and kind == "function":
                missed.append(f"{benchmark} {pid} {variant}")
    for (benchmark, kind, variant), oks in sorted(found.items()):
        print(f"recall {benchmark} {kind} {variant}: {sum(oks) / len(oks):.4f} ({sum(oks)}/{len(oks)})")
    solutions = [ok for (b, kind, v), oks in found.items() if kind == "function" for ok in oks]
    print(f"recall humaneval+mbpp solutions, as is and reformatted: {sum(solutions) / len(solutions):.4f} "
          f"({sum(solutions)}/{len(solutions)})")
    print(f"missed: {', '.join(missed) if missed else 'none'}")

    clean = clean_files(args.clean_mb, rng)
    size = sum(len(text.encode()) for _, text in clean)
    report = DecontamReport()
    dropped = []
    start = time.perf_counter()
    for path, text in clean:
        hits = decontaminator.find(text)
        if hits:
            report.add(path, hits)
            dropped.append((path, hits))
    elapsed = time.perf_counter() - start
    print(f"false drops on clean stdlib + site-packages: {len(dropped)}/{len(clean)} files "
          f"= {len(dropped) / len(clean):.4%} ({size / 1e6:.1f} MB)")
    for path, hits in dropped:
        first = hits[0]
        print(f"  false drop {Path(path).relative_to(Path(path).anchor)}: {first.benchmark} {first.problem_id} "
              f"{'/'.join(first.fields)} {first.match!r}" + (f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""))
    print(f"report: {json.dumps({b: len(v['problems']) for b, v in report.to_json()['benchmarks'].items()})} "
          "problems hit per benchmark")
    print(f"throughput: {size / 1e6 / elapsed:.2f} MB/s per core (find on clean files, one process)")


if __name__ == "__main__":
    main()
