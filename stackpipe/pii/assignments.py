"""Secrets assigned to a name (`password = "..."`, `API_TOKEN=...`, `#define DB_PASSWORD
"..."`, `--password ...`, `<password>...</password>`, lookup defaults), and passwords of
URLs and connection strings: the patterns, the name classifier that tells a password's
name from a key's, and their presidio recognizers."""

from __future__ import annotations

import re as stdre
from typing import Callable

from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult

from stackpipe.pii import values
from stackpipe.pii.recognizers import PATTERN_KEY, SpanRecognizer, value_span
from stackpipe.rules import SecretRules

# A name (identifier, dotted attribute, quoted key, env var, a command-line option's
# `--password`), an optional type annotation, an assignment operator, then the value:
# quoted, or bare up to the end of the line (.env, INI, YAML, shell). The name's
# look-behinds follow its first character, so that `re` skips to candidates by that
# character; the name is possessive, never read back shorter (no backtracking into it).
_NAME = (r"(?P<name>[A-Za-z_$@](?<![\w.$].)(?:(?<!-.)|(?<=[\s(\[,'\"`=]-.)|(?<=[\s(\[,'\"`=]--.))(?<!::.)"
         r"[\w.$\-]{0,62}+)")
# a quoted value may hold the other quote characters (`"pa'ss"`), never a space or backslash
_QUOTED_VALUE = r"[rRbBuUfF]{0,2}(?P<q>[\"'`])(?P<value>(?:(?!(?P=q))[^\s\\]){1,256})(?P=q)"
# after the name: a C array's brackets (`char pw[] = "..."`), a closing quote and bracket
# (`env["PASSWORD"] = ...`), a type annotation (`: str`, Rust's `: &'static str`) or Go's
# `var password string = ...`
ASSIGNED_QUOTED = (_NAME + r"(?:\[\w{0,8}\])?[\"'`]?\]?(?:[ \t]*:[ \t]*&?(?:'\w+[ \t]+)?[A-Za-z_][\w\[\], .|<>&]{0,40}?"
                   r"|[ \t]+(?:string|String|str)\b)?[ \t]*(?::=|=>|=(?!=)|:(?![:=]))[ \t]*" + _QUOTED_VALUE)
# a quoted value after the name and white space: C's `#define DB_PASSWORD "..."`, a
# command-line option (`--password "..."`), SQL (`IDENTIFIED BY '...'`, `WITH PASSWORD
# '...'`) and config lines (`password "...";`). Other names must start their line: prose
# has words before quotes (pass `x=1`).
ASSIGNED_SPACED = (r"(?:#[ \t]*define[ \t]+(?P<name>[A-Za-z_]\w{0,63})"
                   r"|(?P<sql>(?i:\bidentified[ \t]+by|\bwith[ \t]+(?:\w+[ \t]+){0,3}?password))"
                   r"|(?:^[ \t]*|(?<![^\s(\[,;])--?)(?P<name2>[A-Za-z_][\w.\-]{0,63}+))[ \t]+[rRbBuU]?(?P<q>[\"'])"
                   r"(?P<value>(?:(?!(?P=q))[^\s\\]){1,256})(?P=q)(?=[ \t]*(?:[;,)\]\r\n#]|//|/\*|--|$))")
# a command-line option's bare value: `--password Tr0ub4dor&3x --user app`, `--token=...`
OPTION_BARE = (r"(?<![^\s(\[,'\"`])--(?P<name>[A-Za-z][\w\-]{0,63})(?:=|[ \t]+)(?P<value>[^\s\"'`=;|<>(){}\[\]]{1,256})"
               r"(?=[\s;|&\"'`\\)]|$)")
# a name and its value as two fields: Kubernetes' `- name: DB_PASSWORD` then `value: "..."`,
# ECS's `{"name": "DB_PASSWORD", "value": "..."}`, .NET's `<add key="DbPassword" value="..."/>`
NAME_VALUE = (r"(?<![\w.$\-])(?i:name|key)[\"']?[ \t]*[:=][ \t]*[\"']?(?P<name>[A-Za-z_][\w.\-]{0,63})[\"']?[ \t]*"
              r"(?:,[ \t]*|[ \t]+|\r?\n[ \t]*(?:-[ \t]+)?)[\"']?(?:value|Value|VALUE)[\"']?[ \t]*[:=][ \t]*(?:" + _QUOTED_VALUE
              + r"|(?P<value2>[^\s\"'`,;()\[\]{}<>]{1,256})(?=[ \t]*(?:[\r\n,}#]|$)))")
# an XML element: <password>...</password>, <db:password>...</db:password>
XML_ELEMENT = r"<(?P<name>[A-Za-z_][\w.:\-]{0,63})>(?P<value>[^<>\s]{1,256})</(?P=name)>"
# the default of an environment or settings lookup: os.environ.get("DB_PASSWORD", "..."),
# os.getenv('API_KEY', default="..."), ENV.fetch("...", "..."), setdefault, getProperty; or a
# setting's value: PHP's define('DB_PASSWORD', '...'), setProperty, config.set, setenv, setItem
ENVIRON_DEFAULT = (r"(?<![\w$])(?:getenv|get|fetch|setdefault|env|getProperty|getOrDefault|Getenv|GetEnv|getEnv"
                   r"|define|set|setProperty|put|setenv|Setenv|setItem)"
                   r"\([ \t]*[\"'](?:--)?(?P<name>[A-Za-z_][\w.\-]{0,63})[\"'][ \t]*,[ \t]*(?:default[ \t]*=[ \t]*)?"
                   + _QUOTED_VALUE)
# a fallback after a lookup: os.environ.get("DB_PASSWORD") or "...", process.env.API_KEY || "...",
# and the shell's ${DB_PASSWORD:-...}
ENVIRON_FALLBACK = (r"(?:" + _NAME + r"[\"'`]?[\])]{0,2}[ \t]*(?:\bor\b|\|\||\?\?|\?:)[ \t]*" + _QUOTED_VALUE
                    + r"|\$\{(?P<name2>[A-Za-z_]\w{0,63}):?[-=](?P<value2>[^\s\"'`{}$]{1,256})\})")
ASSIGNED_BARE = (_NAME + r"[ \t]*(?:=(?!=)|:(?![:=]))[ \t]*(?P<value>[^\s\"'`,;()\[\]{}<>]{1,256})"
                 r"(?=[ \t]*(?:[\r\n,;#]|$))")
# a bare value holding , ; ( ) [ ] { } < > (`PASSWORD=pa;s(s`), when it runs to the end of
# the line (checked not to be code: a call, an index, a generic type, a literal)
ASSIGNED_BARE_SYMBOLS = (_NAME + r"[ \t]*(?:=(?!=)|:(?![:=]))[ \t]*(?P<value>[^\s\"'`]{1,256})[ \t]*\r?$")
# (the last: a type closing a parameter list, `def login(self, password: bytearray):`)
_BARE_CODE = stdre.compile(r"[\w\])][(\[<]|^[\[{(<]|[;,{(\[]$|\)\.|=>|->|&&|\|\||^[A-Za-z_][\w.]*[)\]}]+[:;{,]?$")
_BARE_SYMBOLS = frozenset(",;()[]{}<>")
URL_PASSWORD = (r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,30}://[^\s:/@'\"]{0,128}:(?P<value>[^\s/'\"]{1,128})"
                r"@(?=[\w\[])")
# Oracle's thin JDBC syntax: jdbc:oracle:thin:user/PASSWORD@host:1521:sid
ORACLE_PASSWORD = r"(?i:jdbc:oracle:[a-z]+):[^\s:/@'\"]{1,64}/(?P<value>[^\s/@'\"]{1,128})@(?=[\w\[])"
# `key=value;` lists (ADO.NET, ODBC, JDBC after `;`): the value runs to `;`, a quote or a
# space, and may hold `&` and parentheses; in a URL query (`?password=`, `&password=`) it
# also stops at `&`. Braces are left out: `Password={pw}` is a template.
_PASSWORD_KEY = r"[ \t]*(?:password|pwd)[ \t]*=[ \t]*"
CONNECTION_PASSWORD = (rf"(?i)(?:(?<=[;\"'`]){_PASSWORD_KEY}(?P<value>[^;\"'`\s{{}}]{{1,128}})(?=[;\"'`\s]|$)"
                       rf"|(?<=[?&]){_PASSWORD_KEY}(?P<value2>[^;&\"'`\s{{}}]{{1,128}})(?=[;&\"'`\s]|$))")
# ODBC quotes a value holding `;` in braces (PWD={pa;ss}); ADO.NET in quotes (Password='pa;ss')
ODBC_BRACED_PASSWORD = (rf"(?i)(?<=[;\"'`]){_PASSWORD_KEY}(?:\{{(?P<value>[^{{}}\r\n]{{1,128}})\}}"
                        r"|'(?P<value2>[^'\r\n;]{1,128}(?:;[^'\r\n]{0,127})?)'(?=;))")
# libpq's `host=db user=app password=PASSWORD dbname=app` (checked for a second libpq keyword)
LIBPQ_PASSWORD = r"(?i)(?<=[\s\"'`])password[ \t]*=[ \t]*(?P<value>[^\s\"'`;&]{1,128})(?=[\s\"'`]|$)"
_LIBPQ_KEYWORD = stdre.compile(r"(?i)(?<![\w.])(?:host|hostaddr|dbname|user|port|sslmode|connect_timeout)[ \t]*=[ \t]*[\w.\-]")
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
        self._mentions: dict[str, bool] = {}

    def mentions_secret(self, name: str) -> bool:
        """Whether a name has a password or key word (or pair) among its words, whatever
        else it has: true for every name that `__call__` classifies, and for any longer
        name holding one of them between separators (`process.env.DB_PASSWORD`)."""
        known = self._mentions.get(name)
        if known is None:
            words = name_words(name)
            secret = self._password | self._key
            endings = self._password_endings + self._key_endings
            known = any(w in secret or w.endswith(endings) for w in words) or any(
                pair in self._pairs for pair in zip(words, words[1:]))
            if len(self._mentions) < 100_000:
                self._mentions[name] = known
        return known

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


# Strings without which a pattern cannot match: its regex is not run over a text lacking all.
_PATTERN_NEEDS = {"environ_default": ("(",), "environ_fallback": ("or", "||", "??", "?:", "${"),
                  "name_value": ("value", "Value", "VALUE"), "xml_element": ("</",), "option_bare": ("--",)}


class AssignedSecretRecognizer(SpanRecognizer):
    """A literal assigned to a secret-like name: `<PASSWORD>` for password names (a
    plausible password: two character classes, a digit or symbol, not a placeholder),
    `<KEY>` for key/token/secret names (random enough: the gibberish check). One pass of
    the patterns serves both entities: the name decides which one a value is.

    entities: the presidio entities looked for, `KEY` and/or `PASSWORD`.
    """

    def __init__(self, entities: tuple[str, ...], rules: SecretRules, classify: NameClassifier):
        super().__init__(entities[0], [Pattern("assigned_quoted", ASSIGNED_QUOTED, 0.7),
                                       Pattern("assigned_bare", ASSIGNED_BARE, 0.6),
                                       Pattern("assigned_bare_symbols", ASSIGNED_BARE_SYMBOLS, 0.6),
                                       Pattern("assigned_spaced", ASSIGNED_SPACED, 0.6),
                                       Pattern("option_bare", OPTION_BARE, 0.6),
                                       Pattern("name_value", NAME_VALUE, 0.7),
                                       Pattern("xml_element", XML_ELEMENT, 0.7),
                                       Pattern("environ_default", ENVIRON_DEFAULT, 0.7),
                                       Pattern("environ_fallback", ENVIRON_FALLBACK, 0.7)])
        self.supported_entities = list(entities)
        self._classify = classify
        self._accept: dict[str, Callable[[str], bool]] = {
            "PASSWORD": lambda v: values.plausible_password(v, min_length=rules.min_password_length,
                                                            placeholders=rules.placeholders),
            "KEY": lambda v: values.looks_random(v, min_length=rules.min_key_length,
                                                 min_entropy=rules.min_key_entropy,
                                                 max_english=rules.max_english_fraction,
                                                 placeholders=rules.placeholders)}

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None) -> list[RecognizerResult]:
        results = []
        for pattern, compiled in self._compiled:
            needs = _PATTERN_NEEDS.get(pattern.name)
            if needs and not any(literal in text for literal in needs):
                continue  # this syntax is nowhere in the text
            for match in compiled.finditer(text):
                start, end = value_span(match)
                entity = self.entity(text[start:end], match) if start != end else None
                if entity is None:
                    continue
                results.append(RecognizerResult(
                    entity_type=entity, start=start, end=end, score=pattern.score,
                    recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                          RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          PATTERN_KEY: pattern.name}))
        return EntityRecognizer.remove_duplicates(results)

    def entity(self, value: str, match: stdre.Match) -> str | None:
        """`KEY`, `PASSWORD` or None (not a secret, or an entity not looked for)."""
        groups = match.re.groupindex
        if "sql" in groups and match.group("sql"):
            name = "password"  # IDENTIFIED BY '...'
        else:
            name = match.group("name") or match.group("name2") if "name2" in groups else match.group("name")
        if match.re.pattern == ASSIGNED_BARE_SYMBOLS and (
                not any(c in _BARE_SYMBOLS for c in value) or _BARE_CODE.search(value)
                or (value[-1] in ")]}" and "([{"[")]}".index(value[-1])] not in value)):  # f(password=pw)
            return None  # the plain bare pattern's, or code
        if match.re.pattern == ENVIRON_FALLBACK:
            name = name.rsplit(".", 1)[-1]  # process.env.DB_PASSWORD: the variable's own name
        entity = self._classify(name)
        if entity is None or entity not in self.supported_entities or not self._accept[entity](value):
            return None
        return entity


class UrlPasswordRecognizer(SpanRecognizer):
    """The password of a URL's user info (`scheme://user:PASSWORD@host`, Oracle's
    `jdbc:oracle:thin:user/PASSWORD@host`), or with `connection_strings` of a connection
    string: `key=value;` lists (ADO.NET `Password=`/`Pwd=`, ODBC `PWD=` and `PWD={...}`,
    JDBC `;password=`, `?password=`/`&password=`) and libpq's `key=value` lists."""

    def __init__(self, rules: SecretRules, *, connection_strings: bool = False):
        patterns = ([Pattern("connection_string_password", CONNECTION_PASSWORD, 0.7),
                     Pattern("odbc_braced_password", ODBC_BRACED_PASSWORD, 0.7),
                     Pattern("libpq_password", LIBPQ_PASSWORD, 0.7)] if connection_strings
                    else [Pattern("url_password", URL_PASSWORD, 0.8), Pattern("oracle_password", ORACLE_PASSWORD, 0.8)])
        super().__init__("PASSWORD", patterns)
        self._rules = rules

    def check(self, value, match, text):
        if len(value) < 3 or values.is_placeholder(value, self._rules.placeholders) or value.lower() in (
                "password", "passwd", "pass", "secret", "pwd", "token", "apikey", "api_key", "key", "pw"):
            return False
        if match.re.pattern == LIBPQ_PASSWORD:
            line_start = text.rfind("\n", 0, match.start()) + 1
            line_end = text.find("\n", match.end())
            line = text[line_start:len(text) if line_end == -1 else line_end]
            return len(_LIBPQ_KEYWORD.findall(line)) >= 1
        return True
