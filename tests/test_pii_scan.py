"""The Hyperscan line gate (stackpipe.pii.scan) in front of the PII prefilter: it changes
which lines the exact searches read, never what they find."""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import pytest

from stackpipe.pii.prefilter import Prefilter
from stackpipe.pii.scan import FOLDED_ONTO, caseless

GROUPS = ("email", "obfuscated_email", "ip", "tokens", "aws_secret", "assignments", "urls")
PW = "Tr0ub4" + "dor&3x"


@pytest.fixture(scope="module")
def prefilters(pii_rules):
    secrets, ips = pii_rules.secrets, pii_rules.ip_address
    return Prefilter(secrets, ips), Prefilter(secrets, ips, whole_text=True)


def _real_texts(limit_bytes: int) -> list[str]:
    """Source and config files of this machine's Python installation, several languages."""
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    texts, total = [], 0
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix not in (".py", ".c", ".h", ".js", ".json", ".toml", ".cfg", ".ini", ".txt", ".rst",
                                   ".yaml", ".md") or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            texts.append(text)
            total += len(text)
            if total > limit_bytes // len(roots) * (roots.index(root) + 1):
                break
    return texts


def test_gated_candidates_equal_whole_text_candidates_on_real_files(prefilters):
    gated, whole = prefilters
    for text in _real_texts(6_000_000):
        got, want = gated(text, GROUPS), whole(text, GROUPS)
        for group in GROUPS:
            assert sorted(got[group]) == sorted(want[group]), group


@pytest.mark.parametrize("text", [
    f'password\n\n\n    : "{PW}"',  # `\s*` before the operator reaches across blank lines
    f"- name: cur_token\n  value: {PW}\n",  # a value on the line after the name
    f"x = 1\nname = self.api_token_\nvalue = {PW}\n",  # a name line that is also a value line
    f"ünïcödé = 1\nDB_PASSWORD = '{PW}'  # é\nhost = 'db.acme-corp.io'\n",  # character offsets after non-ASCII
    "contact: jane [at] acme-corp [dot] io",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
    "SECRET_\u212aEY = 'abc'",  # the Kelvin sign lower-cases to k
])
def test_gated_candidates_equal_whole_text_candidates_on_edge_cases(prefilters, text):
    gated, whole = prefilters
    got, want = gated(text, GROUPS), whole(text, GROUPS)
    assert {g: sorted(c) for g, c in got.items()} == {g: sorted(c) for g, c in want.items()}
    assert any(want.values())


def test_folded_letters_are_every_non_ascii_character_python_maps_onto_ascii():
    """Hyperscan reads bytes: the caseless patterns must list what Python's lower() and
    re.IGNORECASE turn into an ASCII letter."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    found: dict[str, str] = {}
    for code in range(0x80, sys.maxunicode + 1):
        char = chr(code)
        lower = char.lower()
        target = lower if len(lower) == 1 and lower.isascii() and lower.isalpha() else None
        if target is None and letter.fullmatch(char):
            target = next(c for c in "abcdefghijklmnopqrstuvwxyz" if re.fullmatch(c, char, re.IGNORECASE))
        if target is not None:
            found[target] = found.get(target, "") + char
    assert found == FOLDED_ONTO


def test_caseless_pattern_matches_folded_spellings():
    import hyperscan

    database = hyperscan.Database()
    database.compile(expressions=[caseless("secret")], ids=[0], elements=1, flags=[0])
    hits = []
    for text in ("SECRET", "Secret", "\u017fecret"):
        database.scan(text.encode(), match_event_handler=lambda *a: hits.append(text))
    assert hits == ["SECRET", "Secret", "\u017fecret"]
