"""presidio recognizers for PII in source code, and the analyzer that runs them offline.

Every recognizer is a presidio `PatternRecognizer`: named `Pattern`s, a validation step
per match, and context words scored by `LineContextEnhancer`. Two things presidio's own
pattern matching lacks are added by `SpanRecognizer`: a pattern may mark the PII with a
named group `value` (the password of `postgres://user:PASS@host`, the string assigned to
`api_key`), and validation sees the whole text around the match (a dotted quad after
`__version__` is a version). The analyzer uses presidio's `NoOpNlpEngine`: no spaCy
model is loaded and nothing is fetched from the network.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re as stdre
from typing import Callable

import tldextract
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from stackpipe.pii import values
from stackpipe.rules import EmailRules, IpRules, SecretRules

# presidio entity type -> stackpipe entity name (rules/pii.yaml, meta keys)
ENTITY_NAMES = {"EMAIL_ADDRESS": "email", "IP_ADDRESS": "ip_address", "KEY": "key", "PASSWORD": "password",
                "PERSON": "name"}
PATTERN_KEY = "pattern"  # recognition_metadata key holding the matched pattern's name
_FLAGS = stdre.MULTILINE


class SpanRecognizer(PatternRecognizer):
    """A PatternRecognizer whose patterns may capture the PII as group `value`, and whose
    `check(value, match, text)` accepts or rejects each match seeing the whole text."""

    def __init__(self, entity: str, patterns: list[Pattern], context: list[str] | None = None):
        super().__init__(supported_entity=entity, patterns=patterns, context=context, global_regex_flags=_FLAGS)
        self._compiled = [(p, stdre.compile(p.regex, _FLAGS)) for p in patterns]

    def check(self, value: str, match: stdre.Match, text: str) -> bool:
        return True

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None) -> list[RecognizerResult]:
        results = []
        for pattern, compiled in self._compiled:
            for match in compiled.finditer(text):
                start, end = value_span(match)
                if start == end or not self.check(text[start:end], match, text):
                    continue
                results.append(RecognizerResult(
                    entity_type=self.supported_entities[0], start=start, end=end, score=pattern.score,
                    recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                          RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          PATTERN_KEY: pattern.name}))
        return EntityRecognizer.remove_duplicates(results)


def value_span(match: stdre.Match) -> tuple[int, int]:
    """The span of group `value` (or `value2`, for a pattern with two alternatives), else the match."""
    for group in ("value", "value2"):
        if group in match.re.groupindex and match.start(group) != -1:
            return match.span(group)
    return match.span()


class LineContextEnhancer(ContextAwareEnhancer):
    """Raise a result's score when one of its recognizer's context words appears on its
    line (before or after it) or on the line before (case-insensitive). presidio's lemma-based
    enhancer needs the tokens of an NLP model, which the no-op engine does not produce."""

    def __init__(self, boost: float = 0.4, min_score_with_context: float = 0.5):
        super().__init__(context_similarity_factor=boost, min_score_with_context_similarity=min_score_with_context,
                         context_prefix_count=0, context_suffix_count=0)

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        words = {r.id: [w.lower() for w in r.context] for r in recognizers if getattr(r, "context", None)}
        for result in raw_results:
            wanted = words.get(result.recognition_metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if not wanted:
                continue
            line_start = text.rfind("\n", 0, result.start) + 1
            line_end = text.find("\n", result.end)
            around = (text[text.rfind("\n", 0, max(line_start - 1, 0)) + 1 if line_start else 0:result.start]
                      + "\n" + text[result.end:len(text) if line_end == -1 else line_end]).lower()
            if any(word in around for word in wanted):
                result.score = min(max(result.score + self.context_similarity_factor,
                                       self.min_score_with_context_similarity), self.MAX_SCORE)
        return raw_results


# --- emails ---------------------------------------------------------------------------

EMAIL_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.%+-")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
# Message-IDs (`<20050713212311.GC4701@host>`, `<674392CA.4347091@host>`) look like
# addresses but name a message: groups joined by . - $, mostly digits.
_MESSAGE_ID_LOCAL = stdre.compile(r"^[0-9A-Za-z]+(?:[.\-$][0-9A-Za-z]+)+$")


def _is_message_id(local: str) -> bool:
    digits = sum(c.isdigit() for c in local)
    return bool(_MESSAGE_ID_LOCAL.match(local)) and digits >= 8 and 2 * digits >= sum(c.isalnum() for c in local)


_ALLOW_ENTRY = stdre.compile(r"^\*?[a-z0-9._+\-]*[a-z0-9][a-z0-9._+\-]*\*?$")


def _allow_list(entries: tuple[str, ...], key: str) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]:
    """An allow-list as (exact entries, prefixes of `prefix*`, suffixes of `*suffix`), lower
    case. An entry is a name, or a name with `*` at its start or end (`bug-*`, `*-list`,
    `lists.*`); anything else is an error naming the `pii.yaml` key."""
    exact, prefixes, suffixes = set(), [], []
    for entry in entries:
        lowered = entry.lower()
        if not _ALLOW_ENTRY.match(lowered) or lowered.count("*") > 1:
            raise ValueError(f"pii.yaml email.{key} entry {entry!r} is not a name, nor a name with one '*' "
                             f"at its start or end (bug-*, *-list, lists.*)")
        if lowered.endswith("*"):
            prefixes.append(lowered[:-1])
        elif lowered.startswith("*"):
            suffixes.append(lowered[1:])
        else:
            exact.add(lowered)
    return frozenset(exact), tuple(prefixes), tuple(suffixes)


def public_domain_checker(rules: EmailRules, suffixes: Callable) -> Callable[[str], bool]:
    """domain (lower case) -> whether it can reach a person: it ends in a real public
    suffix (tldextract's bundled list, never fetched) and is not an allow-listed domain
    or one of its subdomains, nor has labels an allow-listed prefix starts (`lists.*`:
    lists.python.org, mail.lists.acme.io)."""
    exact, prefixes, endings = _allow_list(rules.allow_domains, "allow_domains")
    allowed = tuple(exact) + tuple(endings)

    def is_public(domain: str) -> bool:
        if any(domain == d or domain.endswith("." + d) for d in allowed) or any(
                domain.startswith(p) or "." + p in domain for p in prefixes):
            return False
        parts = suffixes(domain)
        return bool(parts.suffix and parts.domain)

    return is_public


class CodeEmailRecognizer(SpanRecognizer):
    """Addresses whose domain ends in a real public suffix (tldextract's bundled list,
    never fetched), except allow-listed domains and local parts, URL user names and
    templates. Allow-listed local parts are mailboxes of a role or a list, not of a person
    (RFC 2142's postmaster, abuse, ...; `*-users`, `*-dev` lists; `git` of SSH remotes);
    a `+tag` is ignored (`noreply+123@...`)."""

    def __init__(self, rules: EmailRules):
        pattern = rf"(?<![\w.%+\-$])(?P<value>[A-Za-z0-9_%+\-](?:[A-Za-z0-9_.%+\-]{{0,62}}[A-Za-z0-9_%+\-])?@{_LABEL}(?:\.{_LABEL})+)"
        super().__init__("EMAIL_ADDRESS", [Pattern("email", pattern, 0.8)])
        self.suffixes = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
        self._is_public = public_domain_checker(rules, self.suffixes)
        self._allow_local, self._allow_local_prefixes, self._allow_local_suffixes = _allow_list(
            rules.allow_local_parts, "allow_local_parts")

    def is_role(self, local: str) -> bool:
        """Whether a local part is an allow-listed role or list mailbox (`+tag` ignored)."""
        name = local.lower().split("+", 1)[0]
        return (name in self._allow_local or name.startswith(self._allow_local_prefixes)
                or name.endswith(self._allow_local_suffixes))

    def check(self, value, match, text):
        local, _, domain = value.rpartition("@")
        domain = domain.lower()
        if ".." in local or "%" in local or self.is_role(local) or _is_message_id(local):
            return False  # `%` : a printf template (`%s@host`, `%(user)s@host`), never a person's
        if match.start() and text[match.start() - 1] in ")}>]":
            return False  # the end of a template: `{user}@host`, `${USER}@host`, `<user>@host`
        if text.startswith("/", match.end()):
            return False  # a path (`\x01Z@google.golang.org/genproto` in a descriptor), not an address
        token_start = max(text.rfind(c, 0, match.start()) for c in " \t\n\"'<>(),;=")
        if "://" in text[token_start + 1:match.start()]:  # user name of a URL (its password is found elsewhere)
            return False
        return self._is_public(domain)


# Obfuscated addresses: `jane [at] acme [dot] com`, `jane(at)acme.com`, `jane AT acme DOT com`.
_OBF_AT_BRACKETED = r"[ \t]?[\[({<][ \t]?(?i:at)[ \t]?[\])}>][ \t]?"
_OBF_DOT_BRACKETED = r"[ \t]?[\[({<][ \t]?(?i:dot)[ \t]?[\])}>][ \t]?"
_OBF_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
OBFUSCATED_EMAIL = (rf"(?<![\w.%+\-])(?P<value>[A-Za-z0-9](?:[A-Za-z0-9_.%+\-]{{0,62}}[A-Za-z0-9_%+\-])?"
                    rf"(?P<at>{_OBF_AT_BRACKETED}|[ \t]+AT[ \t]+|[ \t]+at[ \t]+)"
                    rf"{_OBF_LABEL}(?:(?:{_OBF_DOT_BRACKETED}|[ \t]+DOT[ \t]+|[ \t]+dot[ \t]+|\.){_OBF_LABEL}){{1,6}})"
                    r"(?![\w\-]|\.\w)")
_OBF_DOT = stdre.compile(rf"{_OBF_DOT_BRACKETED}|[ \t]+(?:DOT|dot)[ \t]+")
# what the prefilter looks for in lower-cased text: a bracketed word, or a spelled-out dot
# (which ` AT ` and ` at ` need, so ` DOT `/` dot ` mark their lines)
OBFUSCATED_EMAIL_PREFILTERS = tuple(rf"\{o} ?(?:at|dot) ?\{c}" for o, c in ("[]", "()", "{}", "<>")) + (" dot ",)


class ObfuscatedEmailRecognizer(SpanRecognizer):
    """Addresses written to dodge harvesters: `[at]`/`(at)`/`{at}`/`<at>`/` AT ` for `@`,
    `[dot]`/`(dot)`/` DOT ` or `.` for the dots. A bare word ` at ` or ` AT ` needs a
    spelled-out dot as well (`look AT foo.bar` is prose); the domain, its dots restored,
    must end in a public suffix and not be an allow-listed one."""

    def __init__(self, rules: EmailRules, suffixes: Callable):
        super().__init__("EMAIL_ADDRESS", [Pattern("obfuscated_email", OBFUSCATED_EMAIL, 0.8)])
        self._is_public = public_domain_checker(rules, suffixes)

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None) -> list[RecognizerResult]:
        # a rejected match (`mail me at jane [at] ...` read from `me`) is searched again after its `at`
        pattern, compiled = self._compiled[0]
        results, at = [], 0
        while (match := compiled.search(text, at)) is not None:
            if self.check(match.group("value"), match, text):
                results.append(RecognizerResult(
                    entity_type=self.supported_entities[0], start=match.start("value"), end=match.end("value"),
                    score=pattern.score,
                    recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                          RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          PATTERN_KEY: pattern.name}))
                at = match.end()
            else:
                at = match.end("at")
        return results

    def check(self, value, match, text):
        at = match.group("at")
        domain_part = value[match.end("at") - match.start("value"):]
        spelled = _OBF_DOT.findall(domain_part)
        if not any(c in at for c in "[({<"):
            if not spelled or (at.strip() == "AT") != all(d.strip() == "DOT" for d in spelled):
                return False  # a bare ` at ` pairs with ` dot `, ` AT ` with ` DOT ` (or brackets)
            local = match.group("value")[:match.start("at") - match.start("value")]
            line_start = text.rfind("\n", 0, match.start()) + 1
            opener = text[line_start:match.start()].rstrip()[-1:]
            if at.strip() == "at" and local.isalpha() and opener not in ("", "<", "(", "[", ":", "\"", "'", "=", ","):
                return False  # `we meet at noon dot com`: prose, unless the address stands alone
        return self._is_public(_OBF_DOT.sub(".", domain_part).lower())


# --- IP addresses ---------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"(?<![\w.])(?P<value>{_OCTET}(?:\.{_OCTET}){{3}})(?!\w|\.\d)"
IPV6 = (r"(?<![\w:.])(?P<value>(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?)"
        r"(?![\w:]|\.\w)")
# letters before a version word that make an English word of it (conversion, intersection)
_ENGLISH_PREFIXES = ("con", "in", "sub", "di", "per", "re", "bi", "dis", "inter")
_DOTTED_TAIL = stdre.compile(r"\.[A-Za-z0-9]")
_VERSION_TAIL = stdre.compile(r"[-+._]?(?:dev|rc|alpha|beta|post|pre|final|a\d|b\d)|[+-]\d{4}\b", stdre.IGNORECASE)


class CodeIpRecognizer(SpanRecognizer):
    """Public IPv4 and IPv6 addresses (validated by `ipaddress`). Left alone: allow-listed
    networks (private, loopback, documentation, ...) and addresses (DNS resolvers), and
    dotted quads that are versions: part of a longer dotted number, after a version word
    on their line or a comparison (`pkg==1.2.3.4`), or with a release suffix."""

    def __init__(self, rules: IpRules):
        super().__init__("IP_ADDRESS", [Pattern("ipv4", IPV4, 0.7), Pattern("ipv6", IPV6, 0.7)])
        self._allow_networks = [ipaddress.ip_network(n) for n in rules.allow_ranges]
        self._allow_addresses = frozenset(ipaddress.ip_address(a) for a in rules.allow_addresses)
        # whole words, camelCase parts (`appVersion`, `FileVersion`) and, for words of five
        # letters or more, compounds (`APPVERSION`, `__versionstr__`) but not English words
        short = [w.lower() for w in rules.version_words if len(w) < 5]
        long = [w.lower() for w in rules.version_words if len(w) >= 5]
        alternatives = []
        if long:
            words, titles = "|".join(map(stdre.escape, long)), "|".join(stdre.escape(w.title()) for w in long)
            # English words that end in one (conversion, intersection, prerelease is fine) are not names
            english = "".join(f"(?<!{prefix})" for prefix in _ENGLISH_PREFIXES)
            alternatives += [rf"(?<![A-Za-z])(?i:{words})", rf"(?<=[a-z])(?:{titles})", rf"(?i:{english}(?:{words}))"]
        if short:
            lower = "|".join(map(stdre.escape, short))
            title = "|".join(stdre.escape(w.title()) for w in short)
            alternatives += [rf"(?<![A-Za-z])(?i:{lower})(?![A-Za-z])",  # ver, VER_, ver=
                             rf"(?<=[a-z])(?:{title})(?![a-z])",  # fileVer
                             rf"(?<![A-Za-z])(?:{lower}|{title})(?=[A-Z])"]  # verInfo, VerInfo
        self._version_word = stdre.compile("|".join(alternatives)) if alternatives else None
        self._version_digits = rules.version_single_digit_octets

    def check(self, value, match, text):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not self.is_public(address):
            return False
        if address.version == 4:
            start, end = match.span("value")
            line_start = text.rfind("\n", 0, start) + 1
            before = text[line_start:start]
            if before.lower().endswith(("==", ">=", "<=", "~=", "!=", "v", "v.")) or _VERSION_TAIL.match(text, end):
                return False
            if _DOTTED_TAIL.match(text, end):  # 11.0.5.0.sb0042.r1: part of a longer dotted name
                return False
            if self._version_word is not None and self._version_word.search(before):
                return False
            octets = value.split(".")
            if octets[0] in ("1", "2") and len(octets[1]) == 1:
                return False  # 2.5.29.14, 1.3.101.112: an OID (first arc 0-2), not an address
            if (self._version_digits is not None and len(octets[0]) == 1
                    and sum(len(o) == 1 for o in octets) >= self._version_digits):
                return False  # 2.7.0.40, 1.3.6.1, 8.1.2.2: a version, OID or section number
        return True

    def is_public(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return address not in self._allow_addresses and not any(
            address.version == n.version and address in n for n in self._allow_networks)


# --- keys and passwords ---------------------------------------------------------------

# (name, regex, literal prefixes the prefilter looks for). The value must not touch
# other token characters, so a token inside a longer identifier is not taken.
TOKEN_PATTERNS = (
    ("aws_access_key_id", r"(?<![A-Za-z0-9])(?P<value>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])", r"A[KS]IA"),
    ("github_token", r"(?<![A-Za-z0-9_])(?P<value>gh[pousr]_[A-Za-z0-9]{36,251})(?![A-Za-z0-9_])",
     r"gh[pousr]_"),
    ("github_token", r"(?<![A-Za-z0-9_])(?P<value>github_pat_[A-Za-z0-9_]{22,244})(?![A-Za-z0-9_])", r"github_pat_"),
    ("gitlab_token", r"(?<![A-Za-z0-9_\-])(?P<value>gl(?:pat|dt|rt|ptt|ft|soat|oas)-[A-Za-z0-9_\-]{20,255})(?![A-Za-z0-9_\-])",
     r"gl(?:pat|dt|rt|ptt|ft|soat|oas)-"),
    ("slack_token", r"(?<![A-Za-z0-9])(?P<value>xox[abposre]-[A-Za-z0-9\-]{10,250})(?![A-Za-z0-9\-])", r"xox"),
    ("slack_webhook", r"(?P<value>https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{20,200})",
     r"hooks\.slack\.com"),
    ("stripe_key", r"(?<![A-Za-z0-9_])(?P<value>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247})(?![A-Za-z0-9_])",
     r"k_(?:live|test)_"),
    ("google_api_key", r"(?<![A-Za-z0-9_\-])(?P<value>AIza[0-9A-Za-z_\-]{35})(?![A-Za-z0-9_\-])", r"AIza"),
    ("google_oauth_token", r"(?<![A-Za-z0-9_\-])(?P<value>ya29\.[0-9A-Za-z_\-]{20,2048})(?![A-Za-z0-9_\-])", r"ya29\."),
    ("google_client_secret", r"(?<![A-Za-z0-9_\-])(?P<value>GOCSPX-[0-9A-Za-z_\-]{28})(?![A-Za-z0-9_\-])", r"GOCSPX-"),
    ("huggingface_token", r"(?<![A-Za-z0-9_])(?P<value>hf_[A-Za-z0-9]{34,40})(?![A-Za-z0-9_])", r"hf_"),
    ("npm_token", r"(?<![A-Za-z0-9_])(?P<value>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])", r"npm_"),
    # OpenAI legacy (sk-<48>), project, service-account and admin keys; Anthropic keys
    ("openai_key", r"(?<![A-Za-z0-9_\-])(?P<value>sk-(?!ant-)(?:[a-zA-Z]{2,8}-)?[A-Za-z0-9_\-]{20,300})(?![A-Za-z0-9_\-])",
     r"sk-"),
    ("anthropic_key", r"(?<![A-Za-z0-9_\-])(?P<value>sk-ant-[a-z]{2,8}\d{0,3}-[A-Za-z0-9_\-]{32,300})(?![A-Za-z0-9_\-])",
     r"sk-"),
    ("pypi_token", r"(?<![A-Za-z0-9_\-])(?P<value>pypi-Ag[A-Za-z0-9_\-]{50,300})(?![A-Za-z0-9_\-])", r"pypi-Ag"),
    ("sendgrid_key", r"(?<![A-Za-z0-9_\-])(?P<value>SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{30,50})(?![A-Za-z0-9_\-])",
     r"SG\."),
    ("mailgun_key", r"(?<![A-Za-z0-9_\-])(?P<value>key-[0-9a-f]{32})(?![A-Za-z0-9_\-])", r"key-"),
    ("telegram_bot_token", r"(?<![A-Za-z0-9_\-:])(?P<value>\d{8,10}:AA[A-Za-z0-9_\-]{32,34})(?![A-Za-z0-9_\-])", r":AA"),
    ("azure_storage_key", r"(?:[Aa]ccount|[Ss]hared[Aa]ccess)[Kk]ey[ \t]*=[ \t]*(?P<value>[A-Za-z0-9+/]{30,100}={0,2})(?![A-Za-z0-9+/=])",
     r"cc(?:ount|ess)[Kk]ey"),
    ("azure_sas_signature", r"(?<=[?&;\s\"'])sig=(?P<value>[A-Za-z0-9%+/=]{20,200})(?=[&;\"'\s]|$)", r"sig="),
    ("twilio_sid", r"(?<![A-Za-z0-9])(?P<value>AC[0-9a-f]{32})(?![A-Za-z0-9])", r"AC[0-9a-f]{32}"),
    ("twilio_sid", r"(?<![A-Za-z0-9])(?P<value>SK[0-9a-f]{32})(?![A-Za-z0-9])", r"SK[0-9a-f]{32}"),
    ("discord_bot_token", r"(?<![A-Za-z0-9_\-])(?P<value>[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})"
                          r"(?![A-Za-z0-9_\-])", r"\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27}"),
    ("jwt", r"(?<![A-Za-z0-9_\-])(?P<value>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{0,1024})"
            r"(?![A-Za-z0-9_\-])", r"eyJ"),
)
# Tokens whose random part always mixes upper and lower case.
MIXED_CASE_TOKENS = frozenset({"openai_key", "anthropic_key", "pypi_token", "sendgrid_key", "telegram_bot_token",
                               "azure_storage_key", "discord_bot_token", "huggingface_token"})
PEM_BEGIN = "-----BEGIN"
PEM_END = stdre.compile(r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----")
PRIVATE_KEY = (r"(?P<value>-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]{64,65536}?"
               r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----)")
AWS_SECRET = r"(?<![A-Za-z0-9/+])(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
# An unlabelled one closing a comment, a line or a string after at most five words (`# TODO:
# rotate KEY`, `/* use KEY */`, `"_comment": "use KEY"`, a prose line `use KEY`).
AWS_SECRET_UNLABELLED = (r"(?:(?:^|(?<=[ \t]))(?:#|//|/\*|;)[ \t]*|^[ \t]*|[\"'`])"
                         r"(?P<label>(?:[A-Za-z][\w'\-]*:?[ \t]+){0,5})" + AWS_SECRET
                         + r"[ \t]*(?:\*/|[\"'`],?)?[ \t]*\r?$")
_LABELLED = stdre.compile(r"[:=][ \t]*$")  # `# expected: KEY` names it (a test vector, a digest)
# the name a value is assigned to on its line (`test_vector=`, `"expected": "`), and the
# words that name test data
_LABEL_BEFORE = stdre.compile(r"([A-Za-z_][\w.\-]*)[\"'`]?\]?[ \t]*[:=][ \t]*[\"'`]?$")
_WORDS = stdre.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_TEST_DATA_WORDS = frozenset({"test", "tests", "vector", "vectors", "expected", "encoded", "decoded", "sample",
                              "fixture", "example", "mock", "dummy", "fake"})
_BASE64_LINE_END = stdre.compile(r"[A-Za-z0-9/+]{40}=*[ \t]*(?:\*/)?[ \t]*\r?$")


def _base64_of_text(value: str) -> bool:
    """Whether base64 `value` decodes to printable text (`eyJ0eXAiOi...` is JSON): a key is
    random bytes, never text."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return sum(32 <= b < 127 or b in (9, 10, 13) for b in decoded) >= 0.9 * len(decoded)


class KeyRecognizer(SpanRecognizer):
    """Keys and tokens that announce themselves: provider prefixes, private key blocks,
    JWTs. Fillers (low entropy, counting runs, placeholders) are test data, not keys."""

    def __init__(self, rules: SecretRules):
        patterns = [Pattern(name, pattern, 0.9) for name, pattern, _ in TOKEN_PATTERNS]
        super().__init__("KEY", patterns + [Pattern("private_key", PRIVATE_KEY, 0.9)])
        self._rules = rules
        self._mixed = {pattern: name in MIXED_CASE_TOKENS for name, pattern, _ in TOKEN_PATTERNS}

    def check(self, value, match, text):
        if value.startswith(PEM_BEGIN):
            body = value[value.index("-----", 5) + 5:value.rindex("-----END")]
            # random base64 holds any short word now and then: only templates and elisions are stand-ins
            return not values.is_placeholder(body, ()) and len(stdre.sub(r"[^A-Za-z0-9+/]", "", body)) >= 64
        if value.startswith("eyJ") and not _jwt_header(value):
            return False
        kind = match.re.pattern
        if self._mixed.get(kind) and not (any(c.isupper() for c in value) and any(c.islower() for c in value)):
            return False  # generated keys mix upper and lower case; `sk-learn-contrib-...` does not
        # the part after the provider prefix (`ghp_`, `sk_live_`, `xoxb-`; AKIA/AIza have no separator)
        separators = [i for i, c in enumerate(value[:12]) if c in "_-."]
        body = value[separators[-1] + 1:] if separators else value[4:]
        return not (values.is_placeholder(value, self._rules.placeholders)
                    or values.is_filler(body, min_entropy=self._rules.min_token_entropy))


def _jwt_header(token: str) -> bool:
    header = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict) and ("alg" in decoded or "typ" in decoded)


class AwsSecretRecognizer(SpanRecognizer):
    """AWS secret access keys: 40 random base64 characters, taken with `aws` or `secret`
    in context (score below the analyzer's threshold otherwise), or unlabelled after a few
    words at the end of a comment, line or string (`# TODO: rotate KEY`): hashes are hex,
    base64 digests are 28 or 44 characters, and test vectors are assigned to a name
    (`expected = ...`) or passed to a call (`b64decode("...")`)."""

    def __init__(self, rules: SecretRules):
        super().__init__("KEY", [Pattern("aws_secret_access_key", AWS_SECRET, 0.1),
                                 Pattern("aws_secret_unlabelled", AWS_SECRET_UNLABELLED, 0.5)],
                         context=list(rules.aws_secret_context))
        self._rules = rules
        self._context = tuple(w.lower() for w in rules.aws_secret_context)

    def check(self, value, match, text):
        if not (any(c.isupper() for c in value) and any(c.islower() for c in value)
                and any(c.isdigit() for c in value) and values.entropy(value) >= 4.0
                and not values.is_placeholder(value, self._rules.placeholders)) or _base64_of_text(value):
            return False
        if match.re.pattern != AWS_SECRET_UNLABELLED:
            # a context word on another line does not make a value named as test data a key
            line_start = text.rfind("\n", 0, match.start("value")) + 1
            label = _LABEL_BEFORE.search(text, line_start, match.start("value"))
            if label is None or any(word in label.group(1).lower() for word in self._context):
                return True
            return not _TEST_DATA_WORDS.intersection(w.lower() for w in _WORDS.findall(label.group(1)))
        label = match.group("label")
        if _LABELLED.search(label) or (not label and match.group(0).lstrip()[:1] in ("\"", "'", "`", value[0])):
            return False  # `# expected: KEY`, `b64decode("KEY")`, a line of base64 alone: named, passed or data
        if values.english_bigram_fraction(value) > self._rules.max_english_fraction:
            return False  # words: `# SphericalHarmonicYGeneral/26/01/02/0001/`, the rest of a URL
        # the last line of a base64 block (a certificate in comments) is no key
        line_start = text.rfind("\n", 0, match.start("value")) + 1
        return not (line_start and _BASE64_LINE_END.search(text, max(0, line_start - 200), line_start - 1))


MIN_SCORE = 0.3  # results below it (context-dependent patterns without context) drop


def build_analyzer(recognizers: list[EntityRecognizer]) -> AnalyzerEngine:
    """presidio's AnalyzerEngine over `recognizers` with the no-op NLP engine: no model,
    no download. Results under `MIN_SCORE` drop."""
    engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    registry = RecognizerRegistry(recognizers=recognizers, global_regex_flags=_FLAGS, supported_languages=["en"])
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"],
                          default_score_threshold=MIN_SCORE, context_aware_enhancer=LineContextEnhancer())


def analyze(analyzer: AnalyzerEngine, text: str) -> list[RecognizerResult]:
    """What `analyzer.analyze(text, language="en")` returns for an analyzer of
    `build_analyzer` (same results, up to order), without its per-call work that these
    recognizers do not use (an NLP pass, registry lookups, the decision trace): each
    recognizer, then the context enhancer, the score threshold and de-duplication. Called
    once per prefilter group and file, where that work was a tenth of the time."""
    recognizers = analyzer.registry.recognizers
    results = [result for recognizer in recognizers for result in recognizer.analyze(text, None)]
    results = analyzer.context_aware_enhancer.enhance_using_context(text, results, None, recognizers)
    return EntityRecognizer.remove_duplicates([result for result in results if result.score >= MIN_SCORE])
