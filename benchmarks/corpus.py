"""The benchmark corpus: this machine's Python installation (python-env://), read once."""

from __future__ import annotations

from stackpipe.records import RawFile
from stackpipe.sources import plan_inputs, read_unit


def collect_corpus(limit_bytes: int, rules) -> list[RawFile]:
    """Raw files of python-env:// in plan order, up to `limit_bytes` of content."""
    files, total = [], 0
    for unit in plan_inputs(["python-env://"], rules.sources):
        for item in read_unit(unit, rules.sources):
            if isinstance(item, RawFile) and b"\x00" not in item.data:
                files.append(item)
                total += len(item.data)
                if total >= limit_bytes:
                    return files
    return files




def curated_documents(limit_bytes: int, rules) -> list:
    """Files of the corpus that curate would keep (decoded, language-tagged, quality-checked)."""
    from stackpipe.ingest import decode_and_detect
    from stackpipe.languages import LanguageDetector
    from stackpipe.quality import check_quality
    from stackpipe.records import Drop, FileRecord

    detector = LanguageDetector(rules.languages)
    documents = []
    for raw in collect_corpus(limit_bytes, rules):
        record = decode_and_detect(raw, rules.sources, rules.languages, detector)
        if isinstance(record, FileRecord) and not isinstance(check_quality(record, rules.quality), Drop):
            documents.append(record)
    return documents
