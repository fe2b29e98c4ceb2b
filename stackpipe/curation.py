"""The stages of `stackpipe curate` as picklable callables over records.

Each is a thin binding of rules to a pure core function, shipped to Beam workers (or
called directly by any other engine). Heavy resources load in `setup()`, once per worker.
"""

from __future__ import annotations

from typing import Iterator, Mapping

from stackpipe.ingest import decode_and_detect
from stackpipe.languages import LanguageDetector
from stackpipe.licenses import apply_license_policy, detect_licenses, is_license_file
from stackpipe.licenses.detect import LicenseMap
from stackpipe.quality import check_quality
from stackpipe.records import Drop, FileRecord, RawFile, Rejected, reject
from stackpipe.rules import Rules
from stackpipe.sources import InputUnit, read_unit

STAGES = ("read", "decode", "quality", "license", "pii", "decontam", "exact_dedup")


class ReadInputs:
    """read: one input unit (repository, archive, table part) -> its files or rejections."""

    def __init__(self, rules: Rules):
        self._rules = rules.sources

    def __call__(self, unit: InputUnit) -> Iterator[RawFile | Rejected]:
        return read_unit(unit, self._rules)


class DecodeFiles:
    """decode: bytes -> language-tagged text, or binary / undecodable / unknown_language."""

    def __init__(self, rules: Rules):
        self._rules = rules
        self._detector: LanguageDetector | None = None

    def setup(self) -> None:
        self._detector = LanguageDetector(self._rules.languages)

    def __call__(self, raw: RawFile) -> FileRecord | Rejected:
        if self._detector is None:
            self.setup()
        return decode_and_detect(raw, self._rules.sources, self._rules.languages, self._detector)


class CheckQuality:
    """quality: the StarCoder-style file filters with per-language thresholds."""

    def __init__(self, rules: Rules):
        self._rules = rules.quality

    def __call__(self, record: FileRecord) -> FileRecord | Rejected:
        verdict = check_quality(record, self._rules)
        return reject(record, "quality", verdict) if isinstance(verdict, Drop) else record


def license_file_text(raw: RawFile) -> Iterator[tuple[str, tuple[str, str]]]:
    """(repo, (path, text)) for a licence-named file (LICENSE, COPYING, NOTICE, ... at any
    depth), taken from the read stage so that decode and quality never hide one."""
    if is_license_file(raw.path):
        yield raw.repo, (raw.path, raw.data.decode("utf-8", errors="replace"))


def license_key(raw: RawFile) -> tuple[str, str]:
    """(repository, the licence its source states): besides the repository's licence files,
    all that its licence map depends on (table rows of one repository may state different
    licences)."""
    return raw.repo, raw.license


def license_maps(grouped) -> Iterator[tuple[tuple[str, str], LicenseMap]]:
    """One repository's licence files and stated licences -> ((repo, stated), licence map).

    The licence map comes from the repository's licence files (nearest directory wins)
    and, where they say nothing, the licence its source states (package metadata, a
    table's licence column)."""
    repo, groups = grouped
    files = list(groups["license_files"])
    for stated in sorted(set(groups["stated"])):
        yield (repo, stated), detect_licenses(files, stated or None)


class AssignLicense:
    """license: a record and the licence maps by (repo, stated licence) -> typed record or
    drop; a file's own SPDX-License-Identifier beats its map."""

    def __init__(self, rules: Rules):
        self._rules = rules.licenses

    def __call__(self, record: FileRecord, maps: Mapping[tuple[str, str], LicenseMap]) -> FileRecord | Rejected:
        license_map = maps.get((record.repo, record.license))
        if license_map is None:  # a record whose read produced no key: decide from what it states
            license_map = detect_licenses((), record.license or None)
        return apply_license_policy(record, license_map, self._rules)


class RedactPii:
    """pii: emails, IPs, keys and passwords replaced (or the file dropped, by rules/pii.yaml).

    presidio loads spaCy on import (~6 s), so the redactor is built once per worker in
    setup(). `edits` reports per-entity counts for stats.json; values never leave the record.
    """

    def __init__(self, rules: Rules):
        self._rules = rules.pii
        self._redactor = None

    def setup(self) -> None:
        from stackpipe.pii import PiiRedactor

        self._redactor = PiiRedactor(self._rules)

    def __call__(self, record: FileRecord) -> FileRecord | Rejected:
        if self._redactor is None:
            self.setup()
        return self._redactor.apply(record)

    @staticmethod
    def edits(record: FileRecord) -> list[tuple[str, int]]:
        return [(key, int(value)) for key, value in record.meta.items() if key.startswith("pii_")]


def benchmark_decontaminator(rules: Rules):
    """decontam: the stage object with the benchmarks loaded here, on the machine that
    builds the pipeline, so workers need no access to the benchmark files; each worker
    builds its n-gram index once (setup)."""
    from stackpipe.decontam import Decontaminator, load_benchmarks

    return Decontaminator(rules.decontam, load_benchmarks(rules.decontam))
