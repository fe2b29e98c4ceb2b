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
                start, end = _value_span(match)
                if start == end or not self.check(text[start:end], match, text):
                    continue
                results.append(RecognizerResult(
                    entity_type=self.supported_entities[0], start=start, end=end, score=pattern.score,
                    recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                          RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          PATTERN_KEY: pattern.name}))
        return EntityRecognizer.remove_duplicates(results)


def _value_span(match: stdre.Match) -> tuple[int, int]:
    """The span of group `value` (or `value2`, for a pattern with two alternatives), else the match."""
    for group in ("value", "value2"):
        if group in match.re.groupindex and match.start(group) != -1:
            return match.span(group)
    return match.span()


class LineContextEnhancer(ContextAwareEnhancer):
    """Raise a result's score when one of its recognizer's context words appears earlier
    on its line or on the line before (case-insensitive). presidio's lemma-based
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
            before = text[text.rfind("\n", 0, max(line_start - 1, 0)) + 1 if line_start else 0:result.start].lower()
            if any(word in before for word in wanted):
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


class CodeEmailRecognizer(SpanRecognizer):
    """Addresses whose domain ends in a real public suffix (tldextract's bundled list,
    never fetched), except allow-listed domains and local parts, and URL user names."""

    def __init__(self, rules: EmailRules):
        pattern = rf"(?<![\w.%+\-$])(?P<value>[A-Za-z0-9_%+\-](?:[A-Za-z0-9_.%+\-]{{0,62}}[A-Za-z0-9_%+\-])?@{_LABEL}(?:\.{_LABEL})+)"
        super().__init__("EMAIL_ADDRESS", [Pattern("email", pattern, 0.8)])
        self._suffixes = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
        self._allow_domains = tuple(d.lower() for d in rules.allow_domains)
        self._allow_local = frozenset(p.lower() for p in rules.allow_local_parts)

    def check(self, value, match, text):
        local, _, domain = value.rpartition("@")
        domain = domain.lower()
        if ".." in local or local.lower() in self._allow_local or _is_message_id(local):
            return False
        token_start = max(text.rfind(c, 0, match.start()) for c in " \t\n\"'<>(),;=")
        if "://" in text[token_start + 1:match.start()]:  # user name of a URL (its password is found elsewhere)
            return False
        if any(domain == d or domain.endswith("." + d) for d in self._allow_domains):
            return False
        parts = self._suffixes(domain)
        return bool(parts.suffix and parts.domain)


# --- IP addresses ---------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"(?<![\w.])(?P<value>{_OCTET}(?:\.{_OCTET}){{3}})(?!\w|\.\d)"
IPV6 = (r"(?<![\w:.])(?P<value>(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?)"
        r"(?![\w:]|\.\w)")
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
        words = "|".join(stdre.escape(w.lower()) for w in rules.version_words)
        self._version_word = stdre.compile(rf"(?<![a-z])(?:{words})(?![a-z])") if words else None
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
            before = text[line_start:start].lower()
            if before.endswith(("==", ">=", "<=", "~=", "!=", "v", "v.")) or _VERSION_TAIL.match(text, end):
                return False
            if self._version_word is not None and self._version_word.search(before):
                return False
            octets = value.split(".")
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
    ("aws_access_key_id", r"(?<![A-Za-z0-9])(?P<value>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])", ("AKIA", "ASIA")),
    ("github_token", r"(?<![A-Za-z0-9_])(?P<value>gh[pousr]_[A-Za-z0-9]{36,251})(?![A-Za-z0-9_])",
     ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("github_token", r"(?<![A-Za-z0-9_])(?P<value>github_pat_[A-Za-z0-9_]{22,244})(?![A-Za-z0-9_])", ("github_pat_",)),
    ("gitlab_token", r"(?<![A-Za-z0-9_\-])(?P<value>gl(?:pat|dt|rt|ptt|ft|soat|oas)-[A-Za-z0-9_\-]{20,255})(?![A-Za-z0-9_\-])",
     ("glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "gloas-")),
    ("slack_token", r"(?<![A-Za-z0-9])(?P<value>xox[abposre]-[A-Za-z0-9\-]{10,250})(?![A-Za-z0-9\-])", ("xox",)),
    ("slack_webhook", r"(?P<value>https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,200})",
     ("hooks.slack.com",)),
    ("stripe_key", r"(?<![A-Za-z0-9_])(?P<value>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247})(?![A-Za-z0-9_])",
     ("sk_live_", "sk_test_", "rk_live_", "rk_test_")),
    ("google_api_key", r"(?<![A-Za-z0-9_\-])(?P<value>AIza[0-9A-Za-z_\-]{35})(?![A-Za-z0-9_\-])", ("AIza",)),
    ("google_oauth_token", r"(?<![A-Za-z0-9_\-])(?P<value>ya29\.[0-9A-Za-z_\-]{20,2048})(?![A-Za-z0-9_\-])", ("ya29.",)),
    ("google_client_secret", r"(?<![A-Za-z0-9_\-])(?P<value>GOCSPX-[0-9A-Za-z_\-]{28})(?![A-Za-z0-9_\-])", ("GOCSPX-",)),
    ("huggingface_token", r"(?<![A-Za-z0-9_])(?P<value>hf_[A-Za-z0-9]{34,40})(?![A-Za-z0-9_])", ("hf_",)),
    ("npm_token", r"(?<![A-Za-z0-9_])(?P<value>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])", ("npm_",)),
    ("jwt", r"(?<![A-Za-z0-9_\-])(?P<value>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{0,1024})"
            r"(?![A-Za-z0-9_\-])", ("eyJ",)),
)
PEM_BEGIN = "-----BEGIN"
PEM_END = stdre.compile(r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----")
PRIVATE_KEY = (r"(?P<value>-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]{64,65536}?"
               r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----)")
AWS_SECRET = r"(?<![A-Za-z0-9/+=])(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"


class KeyRecognizer(SpanRecognizer):
    """Keys and tokens that announce themselves: provider prefixes, private key blocks,
    JWTs. Fillers (low entropy, counting runs, placeholders) are test data, not keys."""

    def __init__(self, rules: SecretRules):
        patterns = [Pattern(name, pattern, 0.9) for name, pattern, _ in TOKEN_PATTERNS]
        super().__init__("KEY", patterns + [Pattern("private_key", PRIVATE_KEY, 0.9)])
        self._rules = rules

    def check(self, value, match, text):
        if value.startswith(PEM_BEGIN):
            body = value[value.index("-----", 5) + 5:value.rindex("-----END")]
            # random base64 holds any short word now and then: only templates and elisions are stand-ins
            return not values.is_placeholder(body, ()) and len(stdre.sub(r"[^A-Za-z0-9+/]", "", body)) >= 64
        if value.startswith("eyJ") and not _jwt_header(value):
            return False
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
    """AWS secret access keys: 40 random base64 characters, taken only with `aws` or
    `secret` in context (score below the analyzer's threshold otherwise)."""

    def __init__(self, rules: SecretRules):
        super().__init__("KEY", [Pattern("aws_secret_access_key", AWS_SECRET, 0.1)],
                         context=list(rules.aws_secret_context))
        self._rules = rules

    def check(self, value, match, text):
        return (any(c.isupper() for c in value) and any(c.islower() for c in value)
                and any(c.isdigit() for c in value) and values.entropy(value) >= 4.0
                and not values.is_placeholder(value, self._rules.placeholders))


# A name (identifier, dotted attribute, quoted key, env var), an optional type
# annotation, an assignment operator, then the value: quoted, or bare up to the end of
# the line (.env, INI, YAML, shell).
_NAME = r"(?<![\w.$\-])(?P<name>[A-Za-z_$@][\w.$\-]{0,63})"
ASSIGNED_QUOTED = (_NAME + r"[\"'`]?\]?(?:[ \t]*:[ \t]*[A-Za-z_][\w\[\], .|]{0,40}?)?[ \t]*(?::=|=>|=(?!=)|:(?![:=]))[ \t]*"
                   r"[rRbBuUfF]{0,2}(?P<q>[\"'`])(?P<value>[^\"'`\s\\]{1,256})(?P=q)")
ASSIGNED_BARE = (_NAME + r"[ \t]*(?:=(?!=)|:(?![:=]))[ \t]*(?P<value>[^\s\"'`,;()\[\]{}<>]{1,256})"
                 r"(?=[ \t]*(?:[\r\n,;#]|$))")
URL_PASSWORD = (r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:/@'\"]{0,128}:(?P<value>[^\s/@'\"]{1,128})"
                r"@(?=[\w\[])")
# `key=value;` lists: after `;`/`?`/`&` up to the end of the string, or opening a string up to `;`/`&`
_CONNECTION_VALUE = r"[ \t]*(?:password|pwd)[ \t]*=[ \t]*(?P<value>[^;&\"'\s(){}]{1,128})"
CONNECTION_PASSWORD = (rf"(?i)(?<=[;?&]){_CONNECTION_VALUE}(?=[;&\"']|$)|(?<=[\"'])"
                       + _CONNECTION_VALUE.replace("(?P<value>", "(?P<value2>") + r"(?=[;&])")
_NAME_WORDS = stdre.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_words(name: str) -> list[str]:
    """`db.apiKey`, `AWS_SECRET_ACCESS_KEY` -> lower-case words, split at _ . - and camelCase."""
    return [w.lower() for w in _NAME_WORDS.findall(name)]


class NameClassifier:
    """Whether a name holds a password, a key, or neither (SecretRules' word lists).
    Words of five letters or more also count at the end of a compound word
    (`PGPASSWORD`, `dbpassword`, `apitoken`)."""

    def __init__(self, rules: SecretRules):
        self._password = frozenset(rules.password_words)
        self._key = frozenset(rules.key_words)
        self._password_endings = tuple(w for w in rules.password_words if len(w) >= 5)
        self._key_endings = tuple(w for w in rules.key_words if len(w) >= 5)
        self._pairs = frozenset(tuple(p.split()) for p in rules.key_word_pairs)
        self._exclude = frozenset(rules.exclude_words)

    def __call__(self, name: str) -> str | None:
        words = name_words(name)
        if not words or any(w in self._exclude for w in words):
            return None
        if any(w in self._password or w.endswith(self._password_endings) for w in words):
            return "PASSWORD"
        if any(w in self._key or w.endswith(self._key_endings) for w in words) or any(
                pair in self._pairs for pair in zip(words, words[1:])):
            return "KEY"
        return None


class AssignedSecretRecognizer(SpanRecognizer):
    """A literal assigned to a secret-like name: `<PASSWORD>` for password names (a
    plausible password: two character classes, a digit or symbol, not a placeholder),
    `<KEY>` for key/token/secret names (random enough: the gibberish check)."""

    def __init__(self, entity: str, rules: SecretRules, classify: NameClassifier):
        super().__init__(entity, [Pattern("assigned_quoted", ASSIGNED_QUOTED, 0.7),
                                  Pattern("assigned_bare", ASSIGNED_BARE, 0.6)])
        self._rules = rules
        self._classify = classify
        self._accept: Callable[[str], bool] = (
            (lambda v: values.plausible_password(v, min_length=rules.min_password_length,
                                                 placeholders=rules.placeholders))
            if entity == "PASSWORD" else
            (lambda v: values.looks_random(v, min_length=rules.min_key_length, min_entropy=rules.min_key_entropy,
                                           max_english=rules.max_english_fraction, placeholders=rules.placeholders)))

    def check(self, value, match, text):
        return self._classify(match.group("name")) == self.supported_entities[0] and self._accept(value)


class UrlPasswordRecognizer(SpanRecognizer):
    """The password of a URL's user info (`scheme://user:PASSWORD@host`), or with
    `connection_strings` of a `key=value;` list (`Server=db;User Id=sa;Password=PASSWORD;`)."""

    def __init__(self, rules: SecretRules, *, connection_strings: bool = False):
        pattern = (Pattern("connection_string_password", CONNECTION_PASSWORD, 0.7) if connection_strings
                   else Pattern("url_password", URL_PASSWORD, 0.8))
        super().__init__("PASSWORD", [pattern])
        self._rules = rules

    def check(self, value, match, text):
        return len(value) >= 3 and not values.is_placeholder(value, self._rules.placeholders) and value.lower() not in (
            "password", "passwd", "pass", "secret", "pwd")


def build_analyzer(recognizers: list[EntityRecognizer]) -> AnalyzerEngine:
    """presidio's AnalyzerEngine over `recognizers` with the no-op NLP engine: no model,
    no download. Results under 0.3 (context-dependent patterns without context) drop."""
    engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    registry = RecognizerRegistry(recognizers=recognizers, global_regex_flags=_FLAGS, supported_languages=["en"])
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"],
                          default_score_threshold=0.3, context_aware_enhancer=LineContextEnhancer())
