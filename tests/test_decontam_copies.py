"""Benchmark decontamination: which partial copies count as a copy of a problem and which
do not (one line, a docstring alone, helpers, short tasks and solutions)."""

from __future__ import annotations

from stackpipe.decontam import NgramIndex, Problem
from stackpipe.decontam.tokens import streams


def problem(pid: str, benchmark: str = "mbpp", **fields: str) -> Problem:
    return Problem(benchmark=benchmark, problem_id=pid, fields={k: (v,) for k, v in fields.items()})


def small(problems, **overrides) -> NgramIndex:
    """An index over `problems` with no document frequencies: every window weighs 1."""
    return NgramIndex(problems, **overrides)


HELPER_PROMPT = '''

def shift_letters(text: str, by: int):
    """Shift every letter of text forward in the alphabet."""
    return "".join(chr((ord(ch) - 97 + by) % 26 + 97) for ch in text)


def unshift_letters(text: str):
    """Undo shift_letters: take the output of shift_letters and return the original text."""
'''
HELPER_SOLUTION = "    return shift_letters(shift_letters(text, 13), 13)\n"


def test_a_humaneval_copy_without_docstrings_calling_a_prompt_helper_is_a_hit():
    """The solution is looked for with the whole prompt in front: the helper it calls is
    defined on both sides, so its name is the same placeholder in both."""
    index = small([problem("HumanEval/38", benchmark="humaneval", prompt=HELPER_PROMPT, solution=HELPER_SOLUTION)])
    copy = ("def shift_letters(text: str, by: int):\n"
            '    return "".join(chr((ord(ch) - 97 + by) % 26 + 97) for ch in text)\n\n'
            "def unshift_letters(text: str):\n" + HELPER_SOLUTION)
    assert [(h.problem_id, h.fields) for h in index.find("import os\n\n" + copy)] == [("HumanEval/38", ("solution",))]


DOCSTRING_PROMPT = '''from typing import List


def running_maximum(numbers: List[int], start: int, stop: int) -> List[int]:
    """ From a given list of integers, generate a list of rolling maximum element found until given moment
    in the sequence, counting from start and stopping before stop.
    >>> running_maximum([1, 2, 3, 2, 3, 4, 2], 0, 7)
    [1, 2, 3, 3, 3, 4, 4]
    """
'''


def test_a_humaneval_docstring_pasted_alone_is_a_hit_on_its_prompt():
    """The entry function's docstring is a text of the prompt of its own: pasted without
    the signature and imports, it is not diluted by them."""
    index = small([problem("HumanEval/9", benchmark="humaneval", prompt=DOCSTRING_PROMPT, solution="    pass\n")],
                  min_coverage=0.9, short_min_coverage=0.9)
    docstring = DOCSTRING_PROMPT.split('"""')[1]
    assert [h.fields for h in index.find(f'x = 1\n"""{docstring}"""\n')] == [("prompt",)]


LINE_SOLUTION = "def adjacent_product(values):\n    return max(a * b for a, b in zip(values, values[1:]))\n"


def test_one_line_of_a_solution_after_a_block_opener_is_no_hit():
    """A window that reaches back only to the `:` ending the line before (any block
    opener) does not make the line a copy of the two-line solution."""
    index = small([problem("366", solution=LINE_SOLUTION)])
    line = LINE_SOLUTION.splitlines()[1].strip()
    assert index.find(f"def process(items):\n    for item in items:\n        {line}\n    return items\n") == []
    assert [h.problem_id for h in index.find("x = 1\n" + LINE_SOLUTION)] == ["366"]


def test_a_solution_on_one_line_is_found_by_that_line():
    """A field with no window across lines needs none to be found."""
    one_line = "def pair_product(values): return max(a * b for a, b in zip(values, values[1:]))\n"
    index = small([problem("366", solution=one_line)])
    assert [h.problem_id for h in index.find("import os\n" + one_line)] == ["366"]


def test_a_short_task_statement_found_whole_is_a_hit_alone():
    """A prompt lighter than min_weight is a copy when all of it is there (a few rare
    phrases in order), with no solution beside it."""
    task = "Write a function to find the nth tetrahedral number."
    index = small([problem("80", prompt=task, solution="def t(n):\n    return n * (n + 1) * (n + 2) / 6\n")],
                  min_weight=5.0)
    assert [h.fields for h in index.find(f"# {task}\nx = 1\n")] == [("prompt",)]
    assert index.find("# Write a function to find the nth tetrahedral\nx = 1\n") == []


def test_a_short_code_prompt_found_whole_is_no_hit_alone():
    """HumanEval-X's prompts are mostly code (imports, a signature): found whole, a light
    one is still no copy by itself."""
    prompt = "use std::collections::HashMap;\nfn same_chars(left: &str, right: &str) -> bool {\n"
    index = small([problem("Rust/54", benchmark="humaneval_x", prompt=prompt)], min_weight=20.0)
    assert index.find(prompt) == []


TINY = "def tuple_to_frozen(items):\n    frozen = frozenset(items)\n    return frozen\n"


def test_a_short_solution_found_whole_is_a_hit_only_under_its_own_name():
    """Code lighter than min_weight is a copy alone only when the benchmark's own name for
    it is in the file too; renamed, it cannot be told from code written independently."""
    index = small([problem("945", solution=TINY)], min_weight=10.0, short_min_weight=1.0)
    assert [h.problem_id for h in index.find("import os\n\n" + TINY)] == ["945"]
    assert index.find("import os\n\n" + TINY.replace("tuple_to_frozen", "freeze")) == []


def test_a_def_in_a_keyword_list_defines_no_name():
    """`'def',` in a list of keywords (quotes are no tokens) makes no placeholder of the
    comma after it: the rest of the file keeps its punctuation."""
    code = "value_map = {'zero': 0, 'one': 1}\n"
    keywords = "KEYWORDS = ['def', 'class', 'return']\n"
    plain = streams(code)[0].tolist()
    assert streams(keywords + code)[0].tolist()[-len(plain):] == plain
