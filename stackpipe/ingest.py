"""The decode + language stage: raw bytes from a source become a language-tagged FileRecord.

Binary files, text no charset can be found for, and files of no known language are
dropped here with their reason (DESIGN.md §1: `decode+language`).
"""

from __future__ import annotations

from stackpipe.languages import LanguageDetector
from stackpipe.records import Drop, FileRecord, RawFile, Rejected, content_hash, rejected_from_raw
from stackpipe.rules import LanguageRules, SourceRules
from stackpipe.sources import decode_text

STAGE = "decode"


def decode_and_detect(
    raw: RawFile, sources: SourceRules, languages: LanguageRules, detector: LanguageDetector
) -> FileRecord | Rejected:
    """Decode `raw` to text and tag its language, or reject it with the reason."""
    decoded = decode_text(raw.data, sources.max_decode_chaos)
    if isinstance(decoded, Drop):
        return rejected_from_raw(raw, STAGE, decoded.reason, decoded.detail)
    text, encoding = decoded
    language = detector.detect(raw.path, text, raw.language_hint)
    if language is None:
        if not languages.keep_unknown:
            return rejected_from_raw(raw, STAGE, "unknown_language", f"no language for {_suffix(raw.path)}")
        language = "unknown"
    meta = dict(raw.meta)
    if encoding != "utf-8":
        meta["source_encoding"] = encoding  # kept so users can audit charset guesses
    return FileRecord(
        id=raw.id,
        repo=raw.repo,
        path=raw.path,
        language=language,
        content=text,
        size_bytes=len(raw.data),
        source=raw.source,
        license=raw.license,
        license_type=raw.license_type,
        stars=raw.stars,
        revision=raw.revision,
        content_hash=content_hash(text),
        meta=meta,
    )


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return f"extension '{name[name.index('.'):]}'" if "." in name else f"file name '{name}'"
