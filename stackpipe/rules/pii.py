"""pii.yaml: which personal data is redacted, how it is found and what replaces it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Mapping

from stackpipe.rules.loader import Checked, fraction, one_of, ranged

PII_ENTITIES = ("email", "ip_address", "key", "password", "name")


@dataclass(frozen=True, kw_only=True)
class EmailRules:
    """Addresses left alone: reserved documentation domains (RFC 2606/6761, subdomains
    included) and local parts that name a service rather than a person (`git@host`)."""

    allow_domains: tuple[str, ...] = ()
    allow_local_parts: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class IpRules(Checked):
    """Addresses left alone (networks and single addresses, e.g. public DNS resolvers),
    words that make a dotted quad a version (`__version__ = "1.2.3.4"`), how many
    single-digit octets make one starting with a single digit a version (`None`: off),
    and the key of the hash that maps a public address to its private replacement."""

    allow_ranges: tuple[str, ...] = ()
    allow_addresses: tuple[str, ...] = ()
    version_words: tuple[str, ...] = ("version",)
    version_single_digit_octets: int | None = ranged(3, 1, 4)  # of an IPv4 address's 4 octets
    replacement_key: str = "stackpipe-pii"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, parse_one, what in (("allow_ranges", ipaddress.ip_network, "network (a.b.c.d/n)"),
                                      ("allow_addresses", ipaddress.ip_address, "address")):
            for item in getattr(self, name):
                try:
                    parse_one(item)
                except ValueError:
                    raise ValueError(f"{name} entry {item!r} is not an IP {what}") from None


@dataclass(frozen=True, kw_only=True)
class SecretRules(Checked):
    """Secrets assigned to names, and the randomness checks that keep hashes, UUIDs,
    identifiers and test vectors from being taken for keys. A name is split into words
    (`_ . -`, camelCase); `key_word_pairs` are two adjacent words (`api key`)."""

    password_words: tuple[str, ...] = ("password", "passwd", "pass", "pwd", "passphrase")
    key_words: tuple[str, ...] = ("secret", "token", "apikey", "credential", "credentials")
    key_word_pairs: tuple[str, ...] = ("api key", "access key", "private key", "secret key")
    exclude_words: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = ()
    min_key_length: int = ranged(16, 8)
    min_key_entropy: float = ranged(3.0, 0)  # bits per character
    max_english_fraction: float = fraction(0.4)
    min_password_length: int = ranged(6, 1)
    min_token_entropy: float = ranged(2.5, 0)
    aws_secret_context: tuple[str, ...] = ("aws", "secret")

    def __post_init__(self) -> None:
        super().__post_init__()
        for pair in self.key_word_pairs:
            if len(pair.split()) != 2:
                raise ValueError(f"key_word_pairs entry {pair!r} is not two words")


@dataclass(frozen=True, kw_only=True)
class NerRules(Checked):
    """Names need an NER model (off unless `name` is in `entities`); the spaCy model must
    be installed already: nothing is downloaded at run time."""

    model: str = "en_core_web_lg"
    min_score: float = fraction(0.85)


@dataclass(frozen=True, kw_only=True)
class PiiRules:
    """PII redaction (REFERENCE.md §4). `mode`: `redact` replaces each finding, `drop`
    rejects a file with any finding. IP addresses become a private address of the same
    family; the other entities become their `replacements` text. `rejected_content`: what
    `rejected/` keeps of a dropped file, `metadata` (no content: many drops happen before
    this stage) or `redacted` (its content after redaction, whatever stage dropped it)."""

    mode: str = "redact"
    rejected_content: str = "metadata"
    entities: tuple[str, ...] = ("email", "ip_address", "key", "password")
    replacements: Mapping[str, str] = field(default_factory=lambda: {
        "email": "<EMAIL>", "key": "<KEY>", "password": "<PASSWORD>", "name": "<NAME>"})
    email: EmailRules = EmailRules()
    ip_address: IpRules = IpRules()
    secrets: SecretRules = SecretRules()
    ner: NerRules = NerRules()

    def __post_init__(self) -> None:
        one_of("mode", self.mode, ("redact", "drop"))
        one_of("rejected_content", self.rejected_content, ("metadata", "redacted"))
        for entity in self.entities:
            one_of("entities entry", entity, PII_ENTITIES)
        for entity in self.replacements:
            one_of("replacements key", entity, tuple(e for e in PII_ENTITIES if e != "ip_address"))
        missing = [e for e in self.entities if e != "ip_address" and e not in self.replacements]
        if missing:
            raise ValueError(f"replacements has no text for {', '.join(missing)}")
