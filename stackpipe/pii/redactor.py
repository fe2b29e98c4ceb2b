"""Find, redact or drop PII in a file (REFERENCE.md §4).

`PiiRedactor` is built once per worker (presidio's analyzer and the recognizers);
`find`, `redact` and `apply` are then pure functions of their input. Values never leave
this module: a `Finding` holds the entity, the span and the pattern's name, and counts
are per entity, so nothing logged, counted or reported can carry the PII itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass

from presidio_analyzer import AnalyzerEngine, RecognizerResult

from stackpipe.pii.assignments import AssignedSecretRecognizer, NameClassifier, UrlPasswordRecognizer
from stackpipe.pii.prefilter import CONTEXT_GROUPS, Prefilter, windows
from stackpipe.pii.recognizers import (
    ENTITY_NAMES,
    PATTERN_KEY,
    AwsSecretRecognizer,
    CodeEmailRecognizer,
    CodeIpRecognizer,
    KeyRecognizer,
    ObfuscatedEmailRecognizer,
    analyze,
    build_analyzer,
)
from stackpipe.records import FileRecord, Rejected, content_hash
from stackpipe.rules import PiiRules

STAGE = "pii"
# When findings overlap, the first entity here wins (a URL's password over the
# `pass@host` that looks like an address).
PRIORITY = ("key", "password", "email", "ip_address", "name")



@dataclass(frozen=True)
class Finding:
    """One piece of PII: its entity (`email`, `ip_address`, `key`, `password`, `name`),
    its character span in the text, and the pattern that found it (`github_token`, ...).
    The value itself is deliberately not kept."""

    entity: str
    start: int
    end: int
    kind: str


class PiiRedactor:
    """Detects PII with presidio recognizers, reading only prefiltered lines.

    rules: the `pii` section of the rules (`stackpipe.rules.PiiRules`).
    """

    def __init__(self, rules: PiiRules):
        self.rules = rules
        enabled = set(rules.entities)
        secrets = rules.secrets
        names = NameClassifier(secrets)
        # prefilter group -> its recognizers: each group's prefilter marks every line its
        # recognizers can match, and one presidio analyzer per group reads only those lines
        email = CodeEmailRecognizer(rules.email) if "email" in enabled else None
        assigned = tuple(entity for entity, name in (("KEY", "key"), ("PASSWORD", "password")) if name in enabled)
        groups = {
            "email": [email] if email else [],
            "obfuscated_email": [ObfuscatedEmailRecognizer(rules.email, email.suffixes)] if email else [],
            "ip": [CodeIpRecognizer(rules.ip_address)] if "ip_address" in enabled else [],
            "tokens": [KeyRecognizer(secrets)] if "key" in enabled else [],
            "aws_secret": [AwsSecretRecognizer(secrets)] if "key" in enabled else [],
            "assignments": ([AssignedSecretRecognizer(assigned, secrets, names)] if assigned else []) + (
                [UrlPasswordRecognizer(secrets, connection_strings=True)] if "password" in enabled else []),
            "urls": [UrlPasswordRecognizer(secrets)] if "password" in enabled else [],
        }
        self._groups = {group: build_analyzer(recognizers) for group, recognizers in groups.items() if recognizers}
        every = [r for recognizers in groups.values() for r in recognizers]
        self._whole = build_analyzer(every) if every else None
        self._prefilter = Prefilter(secrets, rules.ip_address)
        self._ner = _ner_analyzer(rules) if "name" in enabled else None
        self._ip_key = rules.ip_address.replacement_key.encode()

    def find(self, text: str, *, prefilter: bool = True) -> list[Finding]:
        """Non-overlapping findings in `text`, by start. `prefilter=False` runs presidio
        over the whole text instead of the candidate lines, through presidio's own
        `AnalyzerEngine.analyze` (same findings, ~30x slower; for tests and benchmarks)."""
        results: list[tuple[RecognizerResult, int, int]] = []
        if prefilter:
            candidates = self._prefilter(text, self._groups)
            for group, analyzer in self._groups.items():
                window = windows(text, candidates[group], line_before=group in CONTEXT_GROUPS)
                if window is None:
                    continue
                for result in analyze(analyzer, window.joined):
                    span = window.to_text(result.start, result.end)
                    if span is not None:
                        results.append((result, *span))
        elif self._whole is not None:
            results += [(r, r.start, r.end) for r in self._whole.analyze(text, language="en")]
        if self._ner is not None:
            results += [(r, r.start, r.end) for r in self._ner.analyze(text, language="en", entities=["PERSON"],
                                                                       score_threshold=self.rules.ner.min_score)]
        return _resolve(results)

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        """`text` with every finding replaced, and the count of findings per entity.

        Emails, keys, passwords and names become their replacement text; a public IP
        address becomes a private one of the same family, derived from the address alone
        with a keyed hash: the same address gets the same replacement in every file, so
        identical files stay identical (and exact dedup still finds them). Text outside
        findings is unchanged.
        """
        findings = self.find(text)
        pieces, counts, at = [], {}, 0
        for finding in findings:
            pieces.append(text[at:finding.start])
            value = text[finding.start:finding.end]
            if finding.entity == "ip_address":
                pieces.append(private_ip(value, key=self._ip_key))
            else:
                pieces.append(self.rules.replacements[finding.entity])
            counts[finding.entity] = counts.get(finding.entity, 0) + 1
            at = finding.end
        pieces.append(text[at:])
        return "".join(pieces), counts

    def apply(self, record: FileRecord) -> FileRecord | Rejected:
        """Redact a record (content, size and content hash updated, `pii_<entity>` counts
        in meta), or in `drop` mode reject a record with any PII, with reason
        `pii_<entity>` (or `pii` when several entities were found). A record without PII
        comes back unchanged."""
        if self.rules.mode == "drop":
            counts: dict[str, int] = {}
            for finding in self.find(record.content):
                counts[finding.entity] = counts.get(finding.entity, 0) + 1
            if not counts:
                return record
            reason = f"pii_{next(iter(counts))}" if len(counts) == 1 else "pii"
            return Rejected(record=_with_counts(record, counts), stage=STAGE, reason=reason)
        content, counts = self.redact(record.content)
        if not counts:
            return record
        return dataclasses.replace(
            _with_counts(record, counts), content=content, size_bytes=len(content.encode("utf-8")),
            content_hash=content_hash(content) if record.content_hash else "")


def _with_counts(record: FileRecord, counts: dict[str, int]) -> FileRecord:
    meta = {**record.meta, **{f"pii_{entity}": str(n) for entity, n in sorted(counts.items())}}
    return dataclasses.replace(record, meta=meta)


def _resolve(results: list[tuple[RecognizerResult, int, int]]) -> list[Finding]:
    """Keep the best of overlapping results: by entity priority, then longest, then first
    (then highest score and pattern name, so the choice never depends on result order)."""
    ranked = sorted(results, key=lambda r: (PRIORITY.index(ENTITY_NAMES[r[0].entity_type]), -(r[2] - r[1]), r[1],
                                            -r[0].score, r[0].recognition_metadata.get(PATTERN_KEY, "")))
    kept: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for result, start, end in ranked:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        kept.append(Finding(entity=ENTITY_NAMES[result.entity_type], start=start, end=end,
                            kind=result.recognition_metadata.get(PATTERN_KEY, "ner")))
    return sorted(kept, key=lambda f: f.start)


def private_ip(value: str, *, key: bytes) -> str:
    """A private address of `value`'s family (10.0.0.0/8 for IPv4, fd00::/8 for IPv6),
    from a keyed hash of the address (canonical form) only, never of the file holding it.
    The key (rules pii.yaml `ip_address.replacement_key`) keeps the mapping from being
    reversed by hashing every IPv4 address: a deployment sets its own secret there."""
    address = ipaddress.ip_address(value)
    digest = hmac.new(key, str(address).encode(), hashlib.sha256).digest()
    if address.version == 4:
        return f"10.{digest[0]}.{digest[1]}.{digest[2] % 254 + 1}"
    return str(ipaddress.IPv6Address(b"\xfd" + digest[:15]))


def _ner_analyzer(rules: PiiRules) -> AnalyzerEngine:
    """presidio with a spaCy NER model for names. The model must be installed: a missing
    one is an error here, never a download."""
    import spacy.util
    from presidio_analyzer import RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    model = rules.ner.model
    if not spacy.util.is_package(model):
        raise ValueError(f"pii: entity 'name' needs the spaCy model {model!r} (rules pii.yaml key 'ner.model'), "
                         f"which is not installed; install its wheel, or remove 'name' from 'entities'")
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    registry = RecognizerRegistry(recognizers=[SpacyRecognizer(supported_entities=["PERSON"])])
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
