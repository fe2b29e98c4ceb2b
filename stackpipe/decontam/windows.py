"""The benchmark side of decontamination: the texts looked for per problem and field, their
windows (hashes, owners, the lines they cross), and the document frequencies that weigh
them (`ngram_df.npz`, built by `benchmarks/decontam.py --write-df`). The index over them and
the coverage rule are in stackpipe.decontam.index."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, NamedTuple

import numpy as np

from stackpipe.decontam.benchmarks import Problem
from stackpipe.decontam.tokens import streams, tokenize, window_hashes

DF_FILE = "ngram_df.npz"


def window_salt(stream: str, k: int) -> int:
    """The salt of the window hashes of `stream` (`code` or `word`) with `k` tokens."""
    return (1 if stream == "code" else 2) * 1000 + k


def field_stream(benchmark: str, field_name: str) -> str:
    """`word` for natural-language fields (prompts, GSM8K's answers), else `code`."""
    return "word" if field_name == "prompt" or benchmark == "gsm8k" else "code"


@dataclass(frozen=True)
class DocumentFrequency:
    """Number of calibration files holding each benchmark window (absent: none)."""

    keys: np.ndarray  # sorted uint64
    counts: np.ndarray  # uint32, parallel
    files: int
    n: int
    word_n: int

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(len(keys), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.counts[at], 0).astype(np.int64)

    def save(self, path) -> None:
        np.savez_compressed(path, keys=self.keys, counts=self.counts,
                            meta=np.array([self.files, self.n, self.word_n], dtype=np.int64))

    @classmethod
    def load(cls, path) -> "DocumentFrequency":
        with np.load(path) as data:
            files, n, word_n = (int(v) for v in data["meta"])
            return cls(keys=data["keys"], counts=data["counts"], files=files, n=n, word_n=word_n)

    @classmethod
    def empty(cls, n: int, word_n: int) -> "DocumentFrequency":
        return cls(keys=np.zeros(0, np.uint64), counts=np.zeros(0, np.uint32), files=0, n=n, word_n=word_n)


def packaged_df_path():
    return resources.files("stackpipe.decontam").joinpath(DF_FILE)


def text_windows(text: str, n: int, word_n: int) -> np.ndarray:
    """Every window hash of `text`: code windows of n tokens, word windows of word_n words."""
    code, words = streams(text)
    return np.concatenate((window_hashes(code, n, window_salt("code", n)),
                           window_hashes(words, word_n, window_salt("word", word_n))))


def field_windows(benchmark: str, field_name: str, text: str, n: int, word_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(window hashes, crossing) of a field's `text`. crossing[i]: window i has two tokens
    or more on each side of a line break of `text` (code only: prose lines are wrapped
    anywhere, so never for words). A window that only reaches the `:` ending the line
    before does not cross: any block opener ends that way."""
    if field_stream(benchmark, field_name) == "word":
        h = window_hashes(streams(text)[1], word_n, window_salt("word", word_n))
        return h, np.zeros(len(h), dtype=bool)
    code, _, (starts, _, _, _), raw = streams(text, positions=True)
    h = window_hashes(code, n, window_salt("code", n))
    if not len(h):
        return h, np.zeros(0, dtype=bool)
    line = (np.frombuffer(raw, dtype=np.uint8) == 10).nonzero()[0].searchsorted(starts)  # of each token
    inner = 1 if n >= 4 else 0  # the window less its first and last token spans the break
    return h, line[inner:len(h) + inner] != line[n - 1 - inner:len(line) - inner]


def is_prose(text: str) -> bool:
    """Natural language, not code: at most one token in four of `text` is punctuation
    (an MBPP task, a GSM8K question; not HumanEval-X's prompts, mostly imports and a
    signature)."""
    tokens = tokenize(text)
    return bool(tokens) and sum(not token[0].isalnum() and token[0] != "_" for token in tokens) <= len(tokens) / 4


class BenchmarkWindows(NamedTuple):
    """The windows of every text of every field of every problem (`benchmark_windows`)."""

    keys: np.ndarray  # uint64 window hashes
    owner_of: np.ndarray  # int32, parallel: the owner (index into `owners`) of each window
    owners: list[tuple[str, str, str]]  # (benchmark, problem id, field) of each text
    crossing: np.ndarray  # bool, parallel (field_windows)
    prose: np.ndarray  # bool, one per owner: a word field whose text `is_prose`
    names: list[frozenset[int]]  # one per owner: the word hashes of the names its text `def`ines


_DOCSTRING = re.compile(r'"""([\s\S]*?)"""|\'\'\'([\s\S]*?)\'\'\'')


def field_texts(problem: Problem) -> dict[str, tuple[str, ...]]:
    """The texts looked for, by field: the problem's own, except for a Python HumanEval
    problem (HumanEval, HumanEval-X's `Python/`), whose prompt is the code around the task:

    - the solution (a function body) is looked for with the prompt in front: the
      signature, and the imports and helper functions some prompts hold (HumanEval/38's
      `encode_cyclic`). The code stream leaves the docstring out, so a copy of the function
      without its docstring or comments, renamed or not, is found by its code alone, and
      a helper it calls is the same placeholder name on both sides;
    - the prompt is also looked for as its entry function's docstring alone (the task in
      words, examples included): pasted without the signature, the prompt's code would
      otherwise dilute its coverage.
    """
    fields = dict(problem.fields)
    python = problem.benchmark == "humaneval" or problem.problem_id.startswith("Python/")
    if python and fields.get("prompt"):
        prompt = fields["prompt"][0]
        if "solution" in fields:
            fields["solution"] = tuple(prompt + text for text in fields["solution"])
        docstrings = _DOCSTRING.findall(prompt)
        if docstrings:
            fields["prompt"] = fields["prompt"] + (max(docstrings[-1], key=len),)
    return fields


def benchmark_windows(problems: Iterable[Problem], n: int, word_n: int) -> BenchmarkWindows:
    """The windows of every text of every field of every problem (`field_windows`). Each
    text is an owner of its own (MBPP's two prompts, the full and the sanitized one, are
    two owners of the field `prompt`): its coverage is not diluted by the other's;
    identical window sequences (a CRLF copy) are one owner."""
    owners: list[tuple[str, str, str]] = []
    keys, owner_of, crossing, prose, names = [], [], [], [], []
    for problem in problems:
        for field_name, texts in field_texts(problem).items():
            seen = set()
            for text in texts:
                h, across = field_windows(problem.benchmark, field_name, text, n, word_n)
                if not len(h) or h.tobytes() in seen:
                    continue
                seen.add(h.tobytes())
                owner = len(owners)
                owners.append((problem.benchmark, problem.problem_id, field_name))
                keys.append(h)
                owner_of.append(np.full(len(h), owner, dtype=np.int32))
                crossing.append(across)
                prose.append(field_stream(problem.benchmark, field_name) == "word" and is_prose(text))
                names.append(defined_names(text))
    if not keys:
        return BenchmarkWindows(np.zeros(0, np.uint64), np.zeros(0, np.int32), owners, np.zeros(0, dtype=bool),
                                np.zeros(0, dtype=bool), names)
    return BenchmarkWindows(np.concatenate(keys), np.concatenate(owner_of), owners, np.concatenate(crossing),
                            np.array(prose, dtype=bool), names)


_DEF_NAME = re.compile(r"\bdef\s+(\w+)")


def defined_names(text: str) -> frozenset[int]:
    """The word hashes (the word stream's, tokens.streams) of the names `text` defines."""
    return frozenset(streams(" ".join(_DEF_NAME.findall(text)))[1].tolist())


def count_document_frequency(wanted: np.ndarray, texts: Iterable[str], n: int, word_n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(keys, counts, files): how many of `texts` hold each of the `wanted` window hashes
    (only those held by at least one text are returned)."""
    wanted = np.unique(wanted)
    counts = np.zeros(len(wanted), dtype=np.int64)
    files = 0
    for text in texts:
        files += 1
        h = np.unique(text_windows(text, n, word_n))
        at = np.minimum(np.searchsorted(wanted, h), max(len(wanted) - 1, 0))
        found = at[wanted[at] == h] if len(wanted) else at[:0]
        counts[found] += 1
    keep = counts > 0
    return wanted[keep], counts[keep].astype(np.uint32), files
