"""Bytes to text: UTF-8 first, a charset guess only when UTF-8 fails.

Almost all code is UTF-8 (or its ASCII subset), so the strict decode is the fast path;
charset-normalizer runs only for the rest, and its guess is refused when the decoded
text looks like mojibake (its "chaos" above `max_chaos`). The Stack v1 drops files it
cannot decode the same way.
"""

from __future__ import annotations

import codecs

from stackpipe.records import Drop

# Single-byte Latin-script code pages differ in a handful of letters, which a short
# comment cannot tell apart; among them cp1252, by far the most common legacy charset of
# source code, wins when it decodes the bytes as cleanly.
LATIN_SINGLE_BYTE = frozenset({
    "cp1250", "cp1252", "cp1254", "cp1257", "latin_1", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_9",
    "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "mac_latin2", "mac_roman",
    "mac_iceland", "mac_turkish", "cp437", "cp775", "cp850", "cp852", "cp857", "cp858", "hp_roman8",
})
# A UTF-16/32 file with a byte-order mark is text despite its NUL bytes.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, max_chaos: float) -> tuple[str, str] | Drop:
    """(text, encoding) of `data`, or Drop("binary" | "undecodable", detail).

    data: the file's bytes. max_chaos: the highest charset-normalizer chaos (0..1)
    accepted for a non-UTF-8 guess.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    else:
        by_bom = _decode_by_bom(data)
        if by_bom is not None:
            return by_bom
    nul = data.find(b"\x00")
    if nul != -1:
        return Drop("binary", f"NUL byte at offset {nul}")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = f"invalid UTF-8 at byte {error.start}"
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is not None and best.encoding in LATIN_SINGLE_BYTE:
        best = next((m for m in matches if m.encoding == "cp1252" and m.chaos <= max_chaos), best)
    if best is None:
        return Drop("undecodable", f"{utf8_error}; no charset decodes it")
    if best.chaos > max_chaos:
        return Drop("undecodable",
                    f"{utf8_error}; best guess {best.encoding} has chaos {best.chaos:.2f} > max_decode_chaos {max_chaos}")
    return str(best), best.encoding


def _decode_by_bom(data: bytes) -> tuple[str, str] | None:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None  # not really UTF-16/32: let the NUL check call it binary
            return (text, encoding) if "\x00" not in text else None
    return None
