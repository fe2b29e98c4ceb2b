"""Code-aware, whitespace-normalised tokens for benchmark decontamination.

Benchmark text and corpus text go through the same tokenizer, so what matters is which
edits leave the token sequence unchanged. Reindenting, reflowing (re-wrapping lines,
collapsing blank lines, spaces around operators, a trailing comma before a closing
bracket, `;` or `\\` at a line end) and rewriting comments all must, because a copied
solution is rarely pasted byte for byte:

- comments (`# ...`, `// ...`, `/* ... */`) are removed;
- string and docstring delimiters (`'`, `"`, triple quotes, backticks) are dropped and
  the contents are kept as tokens, so a docstring re-wrapped or re-quoted still matches;
- identifiers and numbers (`\\w+`), common multi-character operators and single
  punctuation characters are tokens; whitespace, `;`, `\\` and parentheses are not
  (formatters add and remove redundant parentheses: `return (res)`, `if (a > b):`).

The tokenizer is language-agnostic: it sees Python, C-family, Go, Rust and prose the same
way, so a benchmark solution pasted into a Markdown file or a notebook is found too.
Python's `//` (floor division) starts a "comment" here; that is harmless because both
sides lose the same tokens.
"""

from __future__ import annotations

import re

# Strings first (so a `#` or `//` inside one is not a comment), then comments, then a
# comma right before a closing bracket. Each string keeps its contents in a group; the
# rest are replaced by a space.
_STRUCTURE = re.compile(
    r'"""([\s\S]*?)"""'
    r"|'''([\s\S]*?)'''"
    r'|"((?:[^"\\\n]|\\.)*)"'
    r"|'((?:[^'\\\n]|\\.)*)'"
    r"|`([^`]*)`"
    r"|#[^\n]*"
    r"|//[^\n]*"
    r"|/\*[\s\S]*?\*/"
    r"|,(?=\s*[)\]}])"
)

_TOKEN = re.compile(
    r"\w+"
    r"|\*\*=|//=|>>=|<<=|\.\.\.|==|!=|<=|>=|->|=>|\*\*|<<|>>|&&|\|\||\+\+|--"
    r"|\+=|-=|\*=|/=|%=|&=|\|=|\^=|::|:="
    r"|[^\w\s\"'`;\\()]"
)


def _keep_contents(match: re.Match) -> str:
    # a string alternative sets lastindex to its contents group; a comment sets none
    return f" {match[match.lastindex]} " if match.lastindex else " "


def normalize(text: str) -> str:
    """`text` with comments removed and string delimiters dropped (contents kept)."""
    return _STRUCTURE.sub(_keep_contents, text)


def tokenize(text: str) -> list[str]:
    """The code-aware tokens of `text` (see the module docstring)."""
    return _TOKEN.findall(normalize(text))


def is_word(token: str) -> bool:
    """An identifier or word (not a number, not punctuation): the only kind of token that
    can make an n-gram distinctive."""
    return (token[0].isalpha() or token[0] == "_") if token else False


def common_tokens(texts, min_fraction: float) -> list[str]:
    """Words found in at least `min_fraction` of `texts` (document frequency), sorted.

    Run over ordinary code (benchmarks/decontam.py uses half of the standard library) it
    gives the vocabulary every codebase shares (`self`, `range`, `append`, `data`); an
    n-gram made only of such words and punctuation names no benchmark problem.
    """
    counts: dict[str, int] = {}
    total = 0
    for text in texts:
        total += 1
        for token in {t for t in tokenize(text) if is_word(t)}:
            counts[token] = counts.get(token, 0) + 1
    return sorted(t for t, c in counts.items() if c >= min_fraction * total)
