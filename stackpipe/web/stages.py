"""The stages of the CommonCrawl flow as picklable callables over records, and input planning.

read (WARC file -> pages) -> domain (allow/deny) -> extract (HTML -> text) -> url_dedup
-> classify -> quality -> pii -> decontam -> exact_dedup. The last four are curate's
own stages (stackpipe.curation); quality runs with rules/web.yaml's overrides. The size
check of a page's text runs at extract, where its code blocks are known
(stackpipe.web.quality).

Web pages carry no licence: they get `license_type` `no_license` and no licence stage,
so nothing downstream drops them for it (the dedup keep policy ranks them after
permissively licensed copies of the same text).
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Iterator, Sequence

from stackpipe.records import Drop, FileRecord, RawFile, Rejected, reject, rejected_from_raw
from stackpipe.rules import QualityRules, Rules
from stackpipe.sources.storage import expand_glob, stat_uri, walk
from stackpipe.sources.units import SourceError
from stackpipe.sources.uris import basename, has_glob
from stackpipe.web.extract import STAGE as EXTRACT, extract_page
from stackpipe.web.quality import check_page_text, page_text_rules
from stackpipe.web.urls import check_domain
from stackpipe.web.warc import is_warc_name, read_warc

STAGES = ("read", "domain", "extract", "url_dedup", "classify", "quality", "pii", "decontam", "exact_dedup")
URL_DEDUP = "url_dedup"


def plan_warcs(uris: Sequence[str]) -> list[str]:
    """The WARC files of `uris` (files, directories searched for *.warc[.gz], globs),
    deduplicated and sorted; SourceError naming a URI that holds none."""
    return expand_files(uris, is_warc_name, "WARC files (*.warc, *.warc.gz)")


def expand_files(uris: Sequence[str], accepts, what: str) -> list[str]:
    """The files of `uris` (files, directories searched recursively, globs) whose names
    `accepts`, deduplicated and sorted. A named file of another kind, or a URI that holds
    none, is a SourceError naming it and `what` was expected."""
    if isinstance(uris, str):
        raise TypeError(f"expected a list of URIs, got the string {uris!r}")
    found: set[str] = set()
    for uri in uris:
        matched = expand_glob(uri) if has_glob(uri) else [uri]
        files = []
        for item in matched:
            kind = stat_uri(item)
            if kind == "dir":
                files += [e.uri for e in walk(item) if e.kind == "file" and accepts(e.rel)]
            elif kind == "file":
                if not accepts(basename(item)):
                    raise SourceError(f"input {item!r} is not one of the {what}")
                files.append(item)
        if not files:
            raise SourceError(f"input {uri!r} holds no {what}")
        found.update(files)
    return sorted(found)


class ReadWarcs:
    """read: one WARC file -> its response records as pages or rejections."""

    def __init__(self, rules: Rules):
        self._rules = rules.web

    def __call__(self, uri: str) -> Iterator[RawFile | Rejected]:
        return read_warc(uri, self._rules)


class CheckDomains:
    """domain: rules/web.yaml's allow and deny lists on the page's host."""

    def __init__(self, rules: Rules):
        self._rules = rules.web.domains

    def __call__(self, raw: RawFile) -> RawFile | Rejected:
        verdict = check_domain(raw, self._rules)
        return rejected_from_raw(raw, "domain", verdict.reason, verdict.detail) if isinstance(verdict, Drop) else raw


class ExtractPages:
    """extract: HTML bytes -> main text with code blocks (`empty_text` when none,
    `too_few_chars` when shorter than the web pages' minimum for its code)."""

    def __init__(self, rules: Rules):
        self._rules = rules.web
        self._sizes = page_text_rules(rules)

    def __call__(self, raw: RawFile) -> FileRecord | Rejected:
        record = extract_page(raw, self._rules)
        if isinstance(record, Rejected):
            return record
        verdict = check_page_text(record, self._sizes)
        return reject(record, EXTRACT, verdict) if isinstance(verdict, Drop) else record


def url_dedup_key(record: FileRecord) -> str:
    """Fetches of one page share the normalised URL, which is the record's path."""
    return record.path


def split_url_duplicates(records: Iterable[FileRecord]) -> list[FileRecord | Rejected]:
    """url_dedup: of the fetches of one URL keep the newest, the others become
    `duplicate_url` with `meta["duplicate_of"]` naming the kept WARC record."""
    # newest fetch first (ISO-8601 WARC-Dates sort as text), ties by WARC record id
    ordered = sorted(records, key=lambda r: r.meta.get("warc_record_id", ""))
    ordered.sort(key=lambda r: r.meta.get("warc_date", ""), reverse=True)
    kept = ordered[0]
    results: list[FileRecord | Rejected] = [kept]
    for other in ordered[1:]:
        other = dataclasses.replace(other, meta={**other.meta, "duplicate_of": kept.meta.get("warc_record_id", "")})
        results.append(Rejected(record=other, stage=URL_DEDUP, reason="duplicate_url"))
    return results


def web_quality_rules(rules: Rules) -> Rules:
    """`rules` whose quality thresholds for the web language carry rules/web.yaml's
    `quality` overrides (the other languages' thresholds are unchanged). Its `min_chars`
    is the fewest characters any page may have: pages with whole code blocks need fewer
    (stackpipe.web.quality), checked at extract."""
    language = rules.web.language
    base = rules.quality.overrides.get(language, {})
    web = {**base, **rules.web.quality}
    floor = page_text_rules(rules).floor
    if floor is not None:
        web["min_chars"] = floor
    overrides = {**rules.quality.overrides, language: web}
    return dataclasses.replace(rules, quality=QualityRules(defaults=rules.quality.defaults, overrides=overrides))
