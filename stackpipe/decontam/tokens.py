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
#
# Per file, the cost is a few dozen array operations over its bytes and tokens; each
# one also costs a fixed overhead, so the common paths avoid calls that a small file
# would pay for (in-place operations, no `np.add.at`, no branch for what is rare).

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


def _mix64_in_place(x: np.ndarray) -> np.ndarray:
    """mix64, overwriting `x` (fewer temporary arrays)."""
    x ^= x >> _S31
    x *= _MIX
    x ^= x >> _S29
    return x


def _word_hashes(low, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word low[start:end]: its first 16 bytes, its last 8, its length.
    `low`: the lower-cased bytes followed by at least 24 zero bytes (bytes or a uint8 array).
    A word of at most 8 bytes is mixed once (most words: one pass fewer over all of them),
    a longer one once more with its other bytes."""
    lengths = ends - starts
    # every byte offset read as a little-endian uint64 (an overlapping, unaligned view)
    view = np.ndarray(shape=(len(low) - 8,), dtype="<u8", buffer=low, strides=(1,))
    h = view[starts]
    h &= _HEAD_MASK.take(lengths, mode="clip")  # (the index clipped to 8: all 8 bytes)
    h *= _K1
    h += lengths.view(np.uint64)
    _mix64_in_place(h)
    longer = (lengths > 8).nonzero()[0]
    if len(longer):
        rest = lengths[longer] - 8
        second = view[starts[longer] + 8]
        second &= _HEAD_MASK.take(rest, mode="clip")
        second *= _K2
        second ^= h[longer]
        long = (rest > 8).nonzero()[0]
        if len(long):
            second[long] ^= mix64(view[ends[longer[long]] - 8] + _K2)
        h[longer] = _mix64_in_place(second)
    return h


_HEAD_MASK = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_PAD = bytes(24)


_SPECIAL = bytearray(256)
for _b, _v in ((35, 1), (47, 2), (34, 3), (39, 4), (10, 5)):  # # / " ' newline
    _SPECIAL[_b] = _v
_SPECIAL = bytes(_SPECIAL)
_CLASS_TABLE = _CLASS.tobytes()
_LOWER_TABLE = _LOWER.tobytes()
_NO_SPANS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


_QUOTE_BIT = np.zeros(6, dtype=np.uint8)
_QUOTE_BIT[3], _QUOTE_BIT[4] = 1, 2  # `"` flips bit 0 of the quote parity, `'` bit 1


def _comment_spans(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends), byte offsets: the `#` and `//` comments of `raw` (see above), each up
    to its line's newline. Works on the few special bytes (`#`, `/`, quotes, newlines) only."""
    hashes, slashes = b"#" in raw, b"//" in raw
    if not hashes and not slashes:
        return _NO_SPANS
    special = np.frombuffer(raw.translate(_SPECIAL), dtype=np.uint8)
    at = (special != 0).nonzero()[0]
    what = special[at]
    candidate = what == 1  # a `#`, or the first `/` of two adjacent ones
    if slashes:
        slash = what == 2
        candidate[:-1] |= slash[:-1] & slash[1:] & (at[1:] - at[:-1] == 1)
    candidates = candidate.nonzero()[0]  # (indices into `at`)
    if not len(candidates):
        return _NO_SPANS
    newlines = (what == 5).nonzero()[0]
    line = newlines.searchsorted(candidates)  # the line holding each candidate
    # the parities of `"` and `'` from the start of the text, then from each line's start
    parity = np.bitwise_xor.accumulate(_QUOTE_BIT[what])
    line_parity = np.zeros(len(newlines) + 1, dtype=np.uint8)
    line_parity[1:] = parity[newlines]
    even = parity[candidates] == line_parity[line]
    candidates, line = candidates[even], line[even]
    if not len(candidates):
        return _NO_SPANS
    first = np.ones(len(line), dtype=bool)  # the first comment start of each line
    first[1:] = line[1:] != line[:-1]
    line_end = np.empty(len(newlines) + 1, dtype=np.int64)
    line_end[:-1] = at[newlines]
    line_end[-1] = len(raw)
    return at[candidates[first]], line_end[line[first]]


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


def _outside(positions: np.ndarray, comments: tuple[np.ndarray, np.ndarray],
             docstrings: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    """Mask of the `positions` (sorted byte offsets) in none of the [start, end) spans of
    `comments` and `docstrings`; None when every position is. The spans of each kind are
    sorted and disjoint (those of the two kinds may overlap)."""
    depth = None
    for starts, ends in (comments, docstrings):
        if not len(starts):
            continue
        lo, hi = positions.searchsorted(starts), positions.searchsorted(ends)
        some = lo < hi
        if not some.all():
            lo, hi = lo[some], hi[some]
        if not len(lo):
            continue
        if depth is None:
            depth = np.zeros(len(positions) + 1, dtype=np.int32)
        # (each kind's spans are disjoint, so neither `lo` nor `hi` repeats an index)
        depth[lo] += 1
        depth[hi] -= 1
    if depth is None:
        return None
    return depth[:-1].cumsum(dtype=np.int32) == 0


_IS_WORD_BYTE = _CLASS == _WORD


def streams(text: str, positions: bool = False):
    """(code-stream token hashes, word-stream token hashes), both uint64 arrays; with
    `positions`, also the byte offsets (start, end) of each token of both streams and the
    UTF-8 bytes, to show a match."""
    raw = text.encode("utf-8", "surrogatepass")
    codes, _, words, _, offsets = _streams_of([raw], positions)
    return (codes, words, offsets, raw) if positions else (codes, words)


def streams_many(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The streams of several texts at once: (code hashes, code bounds, word hashes, word
    bounds), text i's streams being codes[code_bounds[i]:code_bounds[i + 1]] and words
    likewise, equal to streams(texts[i]). One run of array operations serves them all, so
    a small file does not pay each operation's fixed cost alone."""
    codes, code_bounds, words, word_bounds, _ = _streams_of(
        [text.encode("utf-8", "surrogatepass") for text in texts], False)
    return codes, code_bounds, words, word_bounds


def _streams_of(raws: list[bytes], positions: bool):
    """(codes, code bounds, words, word bounds, token offsets or None) of the UTF-8 texts
    `raws`, joined by a newline: no token crosses it and every comment ends at it (a
    comment's start depends on its own line only), so each text tokenizes as alone."""
    raw = b"\n".join(raws) if len(raws) > 1 else raws[0]
    # (numpy finds the nonzero entries of a boolean array several times faster than of bytes)
    padded = np.frombuffer((b" " + raw + b" ").translate(_CLASS_TABLE), dtype=np.uint8)
    is_word = padded == _WORD
    changes = (is_word[1:] != is_word[:-1]).nonzero()[0]  # alternately a word's start and its end
    word_starts, word_ends = changes[0::2], changes[1::2]
    word_hashes = _word_hashes((raw + _PAD).translate(_LOWER_TABLE), word_starts, word_ends)
    # a token starts at each punctuation byte and at each word byte after a non-word byte
    starts = (padded[1:-1] > (padded[:-2] & _WORD)).nonzero()[0]
    first_bytes = np.frombuffer(raw, dtype=np.uint8)[starts]
    codes = _PUNCT_CODES[first_bytes]
    word_token = _IS_WORD_BYTE[first_bytes]
    codes[word_token] = word_hashes
    if len(raws) > 1:
        file_starts = np.zeros(len(raws) + 1, dtype=np.int64)  # byte offset of each text, then the end + 1
        np.cumsum([len(r) + 1 for r in raws], out=file_starts[1:])
        docstrings = _all_docstring_spans(raws, file_starts)
        file_of = np.repeat(np.arange(len(raws)), np.diff(starts.searchsorted(file_starts)))  # each token's text
    else:
        docstrings = _docstring_spans(raw) if b'"""' in raw or b"'''" in raw else _NO_SPANS
        file_of = None  # (one text: a file looked at alone)
    code = _outside(starts, _comment_spans(raw), docstrings)
    if code is not None:
        codes = codes[code]
        file_of = file_of[code] if file_of is not None else None
    codes, keep = _normalize_code(codes, file_of)
    if file_of is None:
        code_bounds, word_bounds = np.array([0, len(codes)]), np.array([0, len(word_hashes)])
    else:
        file_of = file_of[keep] if keep is not None else file_of
        code_bounds = file_of.searchsorted(np.arange(len(raws) + 1))
        word_bounds = word_starts.searchsorted(file_starts)
    if not positions:
        return codes, code_bounds, word_hashes, word_bounds, None
    ends = starts + 1
    ends[word_token] = word_ends
    if code is not None:
        starts, ends = starts[code], ends[code]
    if keep is not None:
        starts, ends = starts[keep], ends[keep]
    return codes, code_bounds, word_hashes, word_bounds, (starts, ends, word_starts, word_ends)


def _all_docstring_spans(raws: list[bytes], file_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The docstring spans of each text (an unclosed triple quote never pairs with the next
    text's), as offsets into the joined bytes."""
    found = [(spans[0] + file_starts[i], spans[1] + file_starts[i]) for i, r in enumerate(raws)
             if (b'"""' in r or b"'''" in r) and len((spans := _docstring_spans(r))[0])]
    if not found:
        return _NO_SPANS
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


def _constant_hash(word: bytes) -> np.uint64:
    return _word_hashes(word + _PAD, np.array([0]), np.array([len(word)]))[0]


_SELF, _DEF = _constant_hash(b"self"), _constant_hash(b"def")
_DOT_COMMA = _PUNCT_CODES[[ord("."), ord(",")]]
_NAME = np.uint64(0x5DEECE66D2B7E151)  # the placeholder of a defined function's name
_NAME_TABLE_BITS = 16
_PUNCT_INVERSE = np.uint64(pow(int(_K2), -1, 1 << 64))  # _PUNCT_CODES[b] * _PUNCT_INVERSE == b + 1


def _normalize_code(codes: np.ndarray, file_of: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(normalized code stream, mask of the tokens kept or None for all; `codes` may be
    overwritten), `file_of` the text of each token (None: all of one text): `self` and the `.` or `,` after it are
    left out (a function copied into a class as a method matches), and every name a `def`
    in a text defines is one placeholder token wherever it occurs in that text (a copy with
    its functions renamed matches; the document frequencies are measured the same way)."""
    selves = (codes == _SELF).nonzero()[0]
    keep = None
    if len(selves):
        keep = np.ones(len(codes), dtype=bool)
        keep[selves] = False
        after = selves[selves + 1 < len(codes)] + 1
        after = after[(codes[after] == _DOT_COMMA[0]) | (codes[after] == _DOT_COMMA[1])]
        if file_of is not None:
            after = after[file_of[after] == file_of[after - 1]]
        keep[after] = False
        codes = codes[keep]
        file_of = file_of[keep] if file_of is not None else None
    defs = codes[:-1] == _DEF
    if file_of is not None:
        defs &= file_of[:-1] == file_of[1:]
    defs = defs.nonzero()[0]
    if len(defs):
        names = codes[defs + 1]
        # a name is a word: `def` followed by punctuation (`'def',` in a keyword list, the
        # quotes being no tokens) defines nothing
        word = names * _PUNCT_INVERSE > 256
        names = names[word]
        # the tokens whose low 16 bits are some name's, then the exact test on those few
        table = np.zeros(1 << _NAME_TABLE_BITS, dtype=bool)
        table[names.view(np.uint16)[::4]] = True
        candidates = table[codes.view(np.uint16)[::4]].nonzero()[0]
        if len(candidates):
            found = codes[candidates]
            if file_of is None:
                names = np.unique(names)
                same = names[np.minimum(names.searchsorted(found), len(names) - 1)] == found
            else:
                same = _defined_in_own_text(names, file_of[defs][word], found, file_of[candidates])
            codes[candidates[same]] = _NAME
    return codes, keep


def _defined_in_own_text(names: np.ndarray, name_files: np.ndarray, tokens: np.ndarray,
                         token_files: np.ndarray) -> np.ndarray:
    """Mask of the `tokens` that are a name defined in their own text: (token, its text)
    among the (name, text) pairs, looked up as one sorted integer key per pair."""
    distinct, rank = np.unique(names, return_inverse=True)
    width = int(max(name_files.max(), token_files.max())) + 1
    pairs = np.unique(rank.astype(np.int64) * width + name_files)
    at = np.minimum(distinct.searchsorted(tokens), len(distinct) - 1)
    keys = at * width + token_files
    where = np.minimum(pairs.searchsorted(keys), len(pairs) - 1)
    return (distinct[at] == tokens) & (pairs[where] == keys)


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
    levels = [codes]  # runs of 1, 2, 4, ... tokens
    size = 1
    while size * 2 <= k:
        run = levels[-1]
        longer = run[:len(run) - size] * _POWERS[size]
        longer += run[size:]
        levels.append(longer)
        size *= 2
    h, offset = None, 0
    for level in range(len(levels) - 1, -1, -1):
        size = 1 << level
        if k & size:
            piece = levels[level][offset:offset + count]
            if h is None:
                h = piece
            else:
                h = h * _POWERS[size]
                h += piece
            offset += size
    return h


_MIX_INVERSE = np.uint64(pow(int(_MIX), -1, 1 << 64))
_S58, _S62 = np.uint64(58), np.uint64(62)


def unmix64(x: np.ndarray) -> np.ndarray:
    """The inverse of `mix64`: unmix64(mix64(x)) == x."""
    x = x ^ (x >> _S29) ^ (x >> _S58)
    x = x * _MIX_INVERSE
    return x ^ (x >> _S31) ^ (x >> _S62)


_P = np.uint64(0x20000000367)
_POWERS = {size: np.uint64(pow(int(_P), size, 1 << 64)) for size in (1 << b for b in range(7))}  # P^1 .. P^64
