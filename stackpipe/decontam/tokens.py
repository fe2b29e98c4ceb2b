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


# --- the fast path: token hashes straight from the UTF-8 bytes (numpy, no per-token Python) ---
#
# `streams(text)` gives the two token streams decontamination matches, as 64-bit token
# hashes, computed over the bytes with array operations:
#
# - the code stream: words (`[A-Za-z0-9_]` runs, any non-ASCII byte counts as a word byte)
#   and single punctuation characters, case-folded; whitespace, quotes, backticks, `;`,
#   `\\` and parentheses are no tokens (as in `tokenize`); a `#` or `//` comment is left
#   out. A comment starts at a `#` or `//` with an even number of `"` and of `'` before it
#   on its line, so the decision depends on that one line only: a benchmark string
#   tokenizes the same wherever it is pasted. Multi-character operators are several
#   one-character tokens (`==` is `=`, `=`), on both sides alike.
# - the word stream: the words alone, case-folded, comments included: a problem's
#   natural-language text is found whether it is pasted as a docstring, a comment or prose.

import numpy as np  # noqa: E402

_WORD, _PUNCT = 1, 2
_CLASS = np.zeros(256, dtype=np.uint8)
for _b in range(33, 127):
    _CLASS[_b] = _PUNCT
for _b in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _CLASS[_b] = _WORD
_CLASS[128:] = _WORD
for _b in b"\"'`;\\()":
    _CLASS[_b] = 0
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[65:91] += 32
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_PUNCT_CODES = (np.arange(256, dtype=np.uint64) + np.uint64(1)) * _K2
_OFFSETS = np.arange(16)
_S31, _S29, _S32 = np.uint64(31), np.uint64(29), np.uint64(32)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads every input bit over the output."""
    x = (x ^ (x >> _S31)) * _MIX
    return x ^ (x >> _S29)


def _word_hashes(low, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word low[start:end]: its first 16 bytes, its last 8, its length.
    `low`: the lower-cased bytes followed by at least 24 zero bytes (bytes or a uint8 array)."""
    lengths = ends - starts
    # every byte offset read as a little-endian uint64 (an overlapping, unaligned view)
    view = np.ndarray(shape=(len(low) - 8,), dtype="<u8", buffer=low, strides=(1,))
    first = view[starts] & _HEAD_MASK[np.minimum(lengths, 8)]
    second = view[starts + 8] & _HEAD_MASK[np.clip(lengths - 8, 0, 8)]
    h = mix64(first * _K1 + lengths.astype(np.uint64)) ^ (second * _K2)
    long = np.flatnonzero(lengths > 16)
    if len(long):
        h[long] ^= mix64(view[ends[long] - 8] + _K2)
    return mix64(h)


_HEAD_MASK = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_PAD = bytes(24)


_SPECIAL = bytearray(256)
for _b, _v in ((35, 1), (47, 2), (34, 3), (39, 4), (10, 5)):  # # / " ' newline
    _SPECIAL[_b] = _v
_SPECIAL = bytes(_SPECIAL)
_CLASS_TABLE = _CLASS.tobytes()
_LOWER_TABLE = _LOWER.tobytes()
_NO_SPANS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _comment_spans(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends), byte offsets: the `#` and `//` comments of `raw` (see above), each up
    to its line's newline. Works on the few special bytes (`#`, `/`, quotes, newlines) only."""
    if b"#" not in raw and b"//" not in raw:
        return _NO_SPANS
    special = np.frombuffer(raw.translate(_SPECIAL), dtype=np.uint8)
    at = np.flatnonzero(special != 0)
    what = special[at]
    slashes = at[what == 2]
    double = slashes[:-1][np.diff(slashes) == 1] if len(slashes) > 1 else slashes[:0]
    starts = at[what == 1]
    if len(double):
        starts = np.union1d(starts, double)
    if not len(starts):
        return _NO_SPANS
    newlines = at[what == 5]
    line = np.searchsorted(newlines, starts)  # the line holding each candidate
    line_start = np.where(line > 0, newlines[np.maximum(line - 1, 0)] + 1, 0) if len(newlines) else 0 * starts
    even = np.ones(len(starts), dtype=bool)
    for quote in (3, 4):
        quotes = at[what == quote]
        if len(quotes):
            even &= (np.searchsorted(quotes, starts) - np.searchsorted(quotes, line_start)) % 2 == 0
    starts, line = starts[even], line[even]
    if not len(starts):
        return _NO_SPANS
    first = np.ones(len(line), dtype=bool)  # the first comment start of each line
    first[1:] = line[1:] != line[:-1]
    starts, line = starts[first], line[first]
    return starts, np.append(newlines, len(raw))[line]


def _triple(raw: bytes, quote: bytes, pos: int):
    """The span of the first `quote`-delimited string (a triple quote) opening at or after
    `pos`, or None; None also means that no later one closes."""
    start = raw.find(quote, pos)
    if start < 0:
        return None
    close = raw.find(quote, start + 3)
    return None if close < 0 else (start, close + 3)


def _docstring_spans(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends): the triple-quoted strings of `raw` (docstrings), as the leftmost
    non-overlapping matches of the regex `"{3}[\\s\\S]*?"{3}|'{3}[\\s\\S]*?'{3}`, found with
    `bytes.find` alone. A docstring's words are prose, matched by the word stream; left out
    of the code stream, a docstring added to or removed from a copied function leaves its
    code windows whole."""
    double, single = _triple(raw, b'"""', 0), _triple(raw, b"'''", 0)
    if double is None and single is None:
        return _NO_SPANS
    spans = []
    while double is not None or single is not None:
        span = double if single is None or (double is not None and double[0] < single[0]) else single
        spans.append(span)
        if double is not None and double[0] < span[1]:
            double = _triple(raw, b'"""', span[1])
        if single is not None and single[0] < span[1]:
            single = _triple(raw, b"'''", span[1])
    spans = np.array(spans, dtype=np.int64)
    return spans[:, 0], spans[:, 1]


def _outside(positions: np.ndarray, *spans: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    """Mask of the `positions` (sorted byte offsets) in none of the [start, end) `spans`;
    None when every position is."""
    lo = [np.searchsorted(positions, s) for s, _ in spans if len(s)]
    if not lo:
        return None
    lo = np.concatenate(lo)
    hi = np.concatenate([np.searchsorted(positions, e) for s, e in spans if len(s)])
    some = lo < hi
    if not some.any():
        return None
    depth = np.zeros(len(positions) + 1, dtype=np.int32)
    np.add.at(depth, lo[some], 1)
    np.add.at(depth, hi[some], -1)
    return np.cumsum(depth[:-1]) == 0


def streams(text: str, positions: bool = False):
    """(code-stream token hashes, word-stream token hashes), both uint64 arrays; with
    `positions`, also the byte offsets (start, end) of each token of both streams and the
    UTF-8 bytes, to show a match."""
    raw = text.encode("utf-8", "surrogatepass")
    if not raw:
        empty = np.zeros(0, dtype=np.uint64)
        return (empty, empty, (np.zeros(0, np.int64),) * 4, b"") if positions else (empty, empty)
    # (numpy finds the nonzero entries of a boolean array several times faster than of bytes)
    padded = np.frombuffer((b" " + raw + b" ").translate(_CLASS_TABLE), dtype=np.uint8)
    kind = padded[1:-1]
    is_word = padded == _WORD
    changes = np.flatnonzero(is_word[1:] != is_word[:-1])  # alternately a word's start and its end
    word_starts, word_ends = changes[0::2], changes[1::2]
    word_hashes = _word_hashes((raw + _PAD).translate(_LOWER_TABLE), word_starts, word_ends)
    # a token starts at each punctuation byte and at each word byte after a non-word byte
    starts = np.flatnonzero(kind > (padded[:-2] & _WORD))
    codes = _PUNCT_CODES[np.frombuffer(raw, dtype=np.uint8)[starts]]
    word_token = kind[starts] == _WORD
    codes[word_token] = word_hashes
    comments = _comment_spans(raw)
    docstrings = _docstring_spans(raw) if b'"""' in raw or b"'''" in raw else _NO_SPANS
    code = _outside(starts, comments, docstrings)
    codes, keep = _normalize_code(codes if code is None else codes[code])
    if not positions:
        return codes, word_hashes
    ends = starts + 1
    ends[word_token] = word_ends
    if code is not None:
        starts, ends = starts[code], ends[code]
    return codes, word_hashes, (starts[keep], ends[keep], word_starts, word_ends), raw


def _constant_hash(word: bytes) -> np.uint64:
    return _word_hashes(word + _PAD, np.array([0]), np.array([len(word)]))[0]


_SELF, _DEF = _constant_hash(b"self"), _constant_hash(b"def")
_DOT_COMMA = _PUNCT_CODES[[ord("."), ord(",")]]
_NAME = np.uint64(0x5DEECE66D2B7E151)  # the placeholder of a defined function's name
_NAME_TABLE_BITS = 16


def _normalize_code(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(normalized code stream, mask of the tokens kept; `codes` may be overwritten): `self` and the `.` or `,` after
    it are left out (a function copied into a class as a method matches), and every name
    a `def` in the text defines is one placeholder token wherever it occurs (a copy with
    its functions renamed matches; the document frequencies are measured the same way)."""
    selves = np.flatnonzero(codes == _SELF)
    keep = np.ones(len(codes), dtype=bool)
    if len(selves):
        keep[selves] = False
        after = selves[selves + 1 < len(codes)] + 1
        after = after[(codes[after] == _DOT_COMMA[0]) | (codes[after] == _DOT_COMMA[1])]
        keep[after] = False
        codes = codes[keep]
    defs = np.flatnonzero(codes[:-1] == _DEF)
    if len(defs):
        names = np.unique(codes[defs + 1])
        # the tokens whose low 16 bits are some name's, then the exact test on those few
        table = np.zeros(1 << _NAME_TABLE_BITS, dtype=bool)
        table[names.view(np.uint16)[::4]] = True
        candidates = np.flatnonzero(table[codes.view(np.uint16)[::4]])
        if len(candidates):
            found = codes[candidates]
            at = np.minimum(np.searchsorted(names, found), len(names) - 1)
            codes[candidates[names[at] == found]] = _NAME
    return codes, keep


def window_hashes(codes: np.ndarray, k: int, salt: int) -> np.ndarray:
    """The hash of every window of `k` consecutive token hashes, mixed with `salt` (the
    stream and k): mix64(window_sums(codes, k) ^ salt_bits(salt))."""
    return mix64(window_sums(codes, k) ^ salt_bits(salt))


def salt_bits(salt: int) -> np.uint64:
    return np.uint64((salt * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)


def window_sums(codes: np.ndarray, k: int) -> np.ndarray:
    """The polynomial sum(codes[i + j] * P^(k-1-j)) mod 2^64 of every window of `k`
    consecutive token hashes (before the salt and the mixing of `window_hashes`, a
    bijection: `unmix64` inverts it), vectorised over all windows and built by doubling
    (H(A+B) = H(A) * P^len(B) + H(B)): hashes of runs of 1, 2, 4, ... tokens, joined along
    k's binary digits, about 2*log2(k) array operations instead of 2*k (the same values as
    Horner's rule). The result may share memory with `codes`' copies; do not write to it."""
    count = len(codes) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    levels = {1: codes}
    size = 1
    while size * 2 <= k:
        run = levels[size]
        levels[size * 2] = run[:len(run) - size] * _power(size) + run[size:]
        size *= 2
    h, offset = None, 0
    while size:
        if k & size:
            piece = levels[size][offset:offset + count]
            h = piece if h is None else h * _power(size) + piece
            offset += size
        size //= 2
    return h


_MIX_INVERSE = np.uint64(pow(int(_MIX), -1, 1 << 64))
_S58, _S62 = np.uint64(58), np.uint64(62)


def unmix64(x: np.ndarray) -> np.ndarray:
    """The inverse of `mix64`: unmix64(mix64(x)) == x."""
    x = x ^ (x >> _S29) ^ (x >> _S58)
    x = x * _MIX_INVERSE
    return x ^ (x >> _S31) ^ (x >> _S62)


def _power(size: int) -> np.uint64:
    return np.uint64(pow(int(_P), size, 1 << 64))


_P = np.uint64(0x20000000367)
