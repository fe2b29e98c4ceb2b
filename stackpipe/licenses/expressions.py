"""SPDX licence expressions: normalising what sources say, and classifying by the rules.

Parsing uses `license-expression` (nexB, the library behind ScanCode), which knows every
SPDX id and its deprecated spellings (`GPL-2.0+` -> `GPL-2.0-or-later`, `mit` -> `MIT`).
Free-text names that are not SPDX ids ("MIT License", "BSD") go through a short alias
table first.
"""

from __future__ import annotations

import functools
import re

from license_expression import ExpressionError, LicenseSymbol, get_spdx_licensing

from stackpipe.rules import LicenseRules

UNKNOWN = "LicenseRef-unknown"
_SPDX_LIKE = re.compile(r"[A-Za-z0-9.+-]+")

# Free-text names seen in license columns and package metadata, lower-cased. "BSD" alone
# names no variant; 3-clause is by far the most common, and every variant is permissive.
NAME_ALIASES = {
    "mit license": "MIT", "the mit license": "MIT", "mit licence": "MIT", "expat": "MIT",
    "bsd": "BSD-3-Clause", "bsd license": "BSD-3-Clause", "new bsd license": "BSD-3-Clause",
    "3-clause bsd license": "BSD-3-Clause", "bsd 3-clause": "BSD-3-Clause", "modified bsd license": "BSD-3-Clause",
    "2-clause bsd license": "BSD-2-Clause", "simplified bsd license": "BSD-2-Clause", "bsd 2-clause": "BSD-2-Clause",
    "apache": "Apache-2.0", "apache 2": "Apache-2.0", "apache 2.0": "Apache-2.0", "apache2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0", "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0", "apache software license": "Apache-2.0",
    "isc license": "ISC", "psf": "PSF-2.0", "python software foundation license": "PSF-2.0",
    "mpl 2.0": "MPL-2.0", "mozilla public license 2.0": "MPL-2.0", "public domain": "LicenseRef-public-domain",
    "gpl": "GPL-2.0-or-later", "gplv2": "GPL-2.0-only", "gplv3": "GPL-3.0-only", "lgpl": "LGPL-2.1-or-later",
    "agpl": "AGPL-3.0-only", "unlicense": "Unlicense", "the unlicense": "Unlicense",
}


@functools.lru_cache(maxsize=1)
def licensing():
    """The SPDX licensing of `license-expression` (loaded once per process, ~40 ms)."""
    return get_spdx_licensing()


def normalize_expression(text: str) -> str:
    """An SPDX expression for `text`, which may be an expression, an id in any case, a
    deprecated id or a common licence name. "" for empty text; ids nobody knows become
    `LicenseRef-unknown`, so they classify as non-permissive."""
    text = " ".join(text.split())
    if not text:
        return ""
    alias = NAME_ALIASES.get(text.lower())
    if alias:
        return alias
    try:
        parsed = licensing().parse(text, validate=False)
    except ExpressionError:
        return UNKNOWN
    if parsed is None:
        return ""
    unknown = {s.key for s in licensing().license_symbols(parsed, decompose=True) if not _known(s)}
    if not unknown:
        return str(parsed)
    rendered = str(parsed)
    for key in sorted(unknown, key=len, reverse=True):
        replacement = NAME_ALIASES.get(key.lower()) or (key if key.startswith("LicenseRef-") else UNKNOWN)
        rendered = rendered.replace(key, replacement)
    return str(licensing().parse(rendered, validate=False))


def _known(symbol: LicenseSymbol) -> bool:
    return symbol.key in licensing().known_symbols or (symbol.key.startswith("LicenseRef-")
                                                         and _SPDX_LIKE.fullmatch(symbol.key) is not None)


def license_ids(expression: str) -> frozenset[str]:
    """The licence ids an expression names (exceptions left out)."""
    if not expression:
        return frozenset()
    try:
        parsed = licensing().parse(expression, validate=False)
    except ExpressionError:
        return frozenset({UNKNOWN})
    return frozenset(s.key for s in licensing().license_symbols(parsed, decompose=True)
                     if not getattr(s, "is_exception", False))


def classify(expression: str, rules: LicenseRules) -> str:
    """`permissive`, `no_license` or `non_permissive` for an SPDX expression.

    "" is `no_license`. A licence id is permissive when `rules.permissive` lists it (an
    exception, `X WITH e`, follows X); `A AND B` needs both permissive, `A OR B` either.
    Anything that does not parse is non-permissive: the safe side.
    """
    if not expression:
        return "no_license"
    try:
        parsed = licensing().parse(expression, validate=False)
    except ExpressionError:
        return "non_permissive"
    linking = _permissive_ids(getattr(rules, "linking_exceptions", ()))
    return "permissive" if _permissive(parsed, _permissive_ids(rules.permissive), linking) else "non_permissive"


@functools.lru_cache(maxsize=8)
def _permissive_ids(permissive: tuple[str, ...]) -> frozenset[str]:
    return frozenset(i.lower() for i in permissive)


def _permissive(node, allowed: frozenset[str], linking: frozenset[str] = frozenset()) -> bool:
    lic = licensing()
    if isinstance(node, lic.AND):
        # A component under a linking exception (`GPL-3.0-or-later WITH GCC-exception-3.1`,
        # a runtime library) does not bind the code beside it: the other terms decide.
        rest = [arg for arg in node.args if not _linking_exception(arg, linking)] or node.args
        return all(_permissive(arg, allowed, linking) for arg in rest)
    if isinstance(node, lic.OR):
        return any(_permissive(arg, allowed, linking) for arg in node.args)
    symbol = getattr(node, "license_symbol", node)  # `X WITH e` -> X
    return symbol.key.lower() in allowed


def _linking_exception(node, linking: frozenset[str]) -> bool:
    exception = getattr(node, "exception_symbol", None)
    return exception is not None and exception.key.lower() in linking
