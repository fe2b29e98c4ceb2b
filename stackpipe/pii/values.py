"""Checks on a candidate secret's value: is it random enough to be a key, plausible as a
password, or a placeholder, hash, UUID or test vector that code is full of?

StarCoder ran detect-secrets' high-entropy plugins and then a gibberish detector over
every candidate so that hashes and words were not taken for keys (REFERENCE.md §4).
These are the same ideas, written small: Shannon entropy per character, a share of
common English letter pairs (words score high, random strings low), and runs of
repeated or ascending characters (test vectors such as `0123456789abcdef`).
"""

from __future__ import annotations

import math
import re
from collections import Counter

# The most frequent letter pairs of English text (and of English-named identifiers).
# Random letters hit this set ~7% of the time, English words about half the time.
_COMMON_BIGRAMS = frozenset(
    "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de "
    "hi ri ro ic ne ea ra ce li ch ll be ma si om ur".split()
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_LETTER_RUN = re.compile(r"[a-z]{2,}")
# templates and references to a variable: ${VAR}, $(cmd), $VAR/$var, %VAR% (cmd.exe), $env:VAR
# (PowerShell), #{...} (Ruby), <%= %> (ERB), %(var)s, {{ var }}, {var}, <var>, @@VAR@@,
# __VAR__, [VAR], ENV['VAR'] / process.env.VAR / getenv(...); masks: ***, ..., xxxx
_TEMPLATE = re.compile(r"\$\{|\$\(|^\$[A-Za-z_]\w*$|^%[A-Za-z_]\w*%$|\$env:|#\{|<%|%\(|\{\{|\{\w*\}|<[^<>]+>"
                       r"|^@@\w+@@$|^__\w+__$|^\[\[?[A-Za-z_][\w -]*\]\]?$|(?i:\benv\[|environ\[|process\.env\.|getenv\()"
                       r"|\*{3}|\.\.\.|^[xX.#_*-]+$")
# printf's %s %d %r: a template when what is left is no random string (`%s`, `secret_%s`,
# `user%d`), not when a random password holds a percent sign (`MiPmHG4hNe%s`, `u+%d528KI`)
_PRINTF = re.compile(r"%[sdr]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z_.\-]*[0-9]{0,2}$")
# code, not a secret: `x25519.X25519PrivateKey`, `ck::tensor_operation::PassThrough`
_QUALIFIED_NAME = re.compile(r"^[A-Za-z_]\w*(?:(?:\.|::)[A-Za-z_]\w*)+$|::")


def entropy(value: str) -> float:
    """Shannon entropy of the characters of `value`, in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def english_bigram_fraction(value: str) -> float:
    """Share of letter pairs (inside runs of letters) that are common in English; 0 when
    `value` has fewer than three such pairs, which is too little evidence either way."""
    pairs = [run[i:i + 2] for run in _LETTER_RUN.findall(value.lower()) for i in range(len(run) - 1)]
    if len(pairs) < 3:
        return 0.0
    return sum(pair in _COMMON_BIGRAMS for pair in pairs) / len(pairs)


def sequential_fraction(value: str) -> float:
    """Share of neighbouring characters that repeat or ascend by one (`aaaa`, `0123`, `abcd`)."""
    if len(value) < 2:
        return 1.0
    steps = sum(0 <= ord(b) - ord(a) <= 1 for a, b in zip(value, value[1:]))
    return steps / (len(value) - 1)


def char_classes(value: str) -> int:
    """How many of lower case, upper case, digits and other characters `value` uses."""
    return (any(c.islower() for c in value) + any(c.isupper() for c in value)
            + any(c.isdigit() for c in value) + any(not c.isalnum() for c in value))


def is_placeholder(value: str, placeholders: tuple[str, ...]) -> bool:
    """A template, a masked value or a documentation stand-in (`<your key>`, `${TOKEN}`,
    `****`, `AKIAIOSFODNN7EXAMPLE`, `changeme`), not a credential."""
    if _TEMPLATE.search(value) or _holds_placeholder_word(value, placeholders):
        return True
    if "%" in value and _PRINTF.search(value):
        rest = _PRINTF.sub("", value)
        core = rest.replace("_", "").replace("-", "").replace(".", "")
        return len(rest) < 8 or not (char_classes(core) >= 3 or random_letters(rest))
    return False


def _holds_placeholder_word(value: str, placeholders: tuple[str, ...]) -> bool:
    """Whether one of `placeholders` is in `value`, written in one case or capitalized
    (`YOUR_KEY`, `your-token`, `MyFakeSecret`): a random password holding the letters
    in mixed case (`yoUrsxls7Z8xG_`) does not count."""
    lowered = value.lower()
    for word in placeholders:
        at = lowered.find(word)
        while at != -1:
            written = value[at:at + len(word)]
            if written in (word, word.upper(), word.capitalize()):
                return True
            at = lowered.find(word, at + 1)
    return False


def is_filler(value: str, *, min_entropy: float) -> bool:
    """A run of repeated or counting characters, or too few distinct ones to be random:
    test fixtures like `ghp_000...`, `sk_test_1234567890abcdef`."""
    return sequential_fraction(value) >= 0.5 or entropy(value) < min_entropy


def looks_random(value: str, *, min_length: int, min_entropy: float, max_english: float,
                 placeholders: tuple[str, ...]) -> bool:
    """Whether a string assigned to a secret-like name is plausibly a generated key.

    Rejects what code assigns to such names that is not a key: words and identifiers
    (`"refresh_token"`, `"MySecretValue"`), UUIDs, templates, and test vectors.
    `min_entropy` is scaled down for short strings, whose entropy cannot reach it.
    """
    if len(value) < min_length or _UUID.match(value) or is_placeholder(value, placeholders):
        return False
    if _QUALIFIED_NAME.search(value):
        return False
    if sequential_fraction(value) >= 0.5:
        return False
    ceiling = math.log2(min(len(value), 64))
    if entropy(value) < min(min_entropy, 0.8 * ceiling):
        return False
    english = 0.0 if _HEX.match(value) else english_bigram_fraction(value)  # a-f pair up often
    # words joined by _ . - (at most a trailing number) need less English to be words
    if english > max_english or (_IDENTIFIER.match(value) and not _HEX.match(value) and english > max_english / 2):
        return False
    return char_classes(value) >= 2


def plausible_password(value: str, *, min_length: int, placeholders: tuple[str, ...]) -> bool:
    """Whether a literal assigned to a password-like name is a password rather than a
    prompt, a field name, an environment variable's name or a placeholder."""
    if len(value) < min_length or is_placeholder(value, placeholders) or _UUID.match(value):
        return False
    if "::" in value:  # a C++/Rust path
        return False
    if _CONSTANT.match(value):  # B2B_GEMM_PASS: a constant's name
        return False
    if _camel_phrase(value):
        return False  # PassWordMustBeAtLeast6Chars.: a phrase in camelCase, not a password
    has_digit_or_symbol = any(c.isdigit() or (not c.isalnum() and c not in "_-.") for c in value)
    if not has_digit_or_symbol:  # letters, perhaps joined by _ - .: random, or a word or identifier
        return random_letters(value)
    return char_classes(value) >= 2 and sequential_fraction(value) < 0.7


_CAMEL_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_CONSTANT = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


def _camel_phrase(value: str) -> bool:
    """English words run together (`PassWordMustBeAtLeast6Chars.`): four or more camelCase
    words of two letters or more, holding nearly all the letters, mostly common English
    letter pairs. Random strings break into one-letter pieces (`QSi%l0OvE1-b`)."""
    words = [w for w in _CAMEL_WORD.findall(value) if len(w) >= 2]
    letters = sum(c.isalpha() for c in value)
    return (len(words) >= 4 and sum(map(len, words)) >= 0.8 * letters
            and english_bigram_fraction(value) > 0.4)


def random_letters(value: str) -> bool:
    """Letters only (perhaps joined by _ - .), yet random rather than words: `qXbTmRwKzPa` and
    `VAyZJsb-aYMhIx` are passwords, `MyPassword`, `getPwd`, `hunter`, `Some-Random-Name` are
    words or identifiers. Mixed case at least 8 letters long, several capitals inside the
    string, short camelCase words, and few common English letter pairs."""
    letters = value.replace("_", "").replace("-", "").replace(".", "")
    if len(letters) < 8 or not letters.isalpha() or letters.isupper() or letters.islower():
        return False
    capitals = sum(c.isupper() for c in letters[1:])
    words = _CAMEL_WORD.findall(value)
    # two separators cut a random string into short pieces already (`tj-b_TfkPh`)
    enough_capitals = 2 if len(value) - len(letters) >= 2 else 3
    return (capitals >= enough_capitals and len(letters) / len(words) < 3.5
            and english_bigram_fraction(value) <= 0.25)

