"""The licence stage: give a record its licence and type, and keep or drop it by policy.

Opt-out comes first (The Stack's "Am I in The Stack?" requests remove a repository or a
whole owner whatever its licence); then the licence type must be allowed by the rules:
`allow` for permissive / non_permissive, `no_license` for files nothing licenses.
"""

from __future__ import annotations

import dataclasses

from stackpipe.licenses.detect import LicenseMap, spdx_header
from stackpipe.licenses.expressions import classify
from stackpipe.licenses.headers import strip_license_header
from stackpipe.records import FileRecord, Rejected, content_hash
from stackpipe.rules import LicenseRules

STAGE = "license"


def is_opted_out(repo: str, rules: LicenseRules) -> bool:
    """Whether `repo` (`owner/name`) or its owner is on the opt-out list (case-insensitive)."""
    repo = repo.lower()
    owner = repo.split("/", 1)[0]
    return repo in _lowered(rules.opt_out.repositories) or owner in _lowered(rules.opt_out.owners)


def _lowered(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


def apply_license_policy(record: FileRecord, license_map: LicenseMap, rules: LicenseRules) -> FileRecord | Rejected:
    """The record with `license`, `license_type` and `meta["license_detail"]` set (and its
    licence header stripped when `rules.strip_headers`), or a Rejected with stage
    "license" and reason `opted_out`, `license_non_permissive` or `license_no_license`."""
    # The record's own SPDX tag wins even when the map was built from licence files only.
    header = spdx_header(record.content)
    expression, evidence = (header, "spdx header") if header else license_map.explain(record.path)
    license_type = classify(expression, rules)
    detail = f"{expression or 'no licence'} ({evidence})"
    record = dataclasses.replace(record, license=expression, license_type=license_type,
                                 meta={**record.meta, "license_detail": detail})
    if is_opted_out(record.repo, rules):
        return Rejected(record=record, stage=STAGE, reason="opted_out")
    kept = rules.no_license == "keep" if license_type == "no_license" else license_type in rules.allow
    if not kept:
        return Rejected(record=record, stage=STAGE, reason=f"license_{license_type}")
    if rules.strip_headers:
        stripped = strip_license_header(record.content, record.language)
        if stripped != record.content:
            record = dataclasses.replace(record, content=stripped, size_bytes=len(stripped.encode("utf-8")),
                                         content_hash=content_hash(stripped) if record.content_hash else "",
                                         meta={**record.meta, "license_header_stripped": "true"})
    return record
