"""PII detection and redaction (stackpipe.pii): each entity found and replaced, the
code that must be left alone, offsets, determinism, drop mode, and no network."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from stackpipe.records import FileRecord, Rejected, content_hash, record_id
from stackpipe.rules import PiiRules, RulesError, load_rule_file

# Realistic values, assembled so that no secret scanner mistakes this file for a leak.
GITHUB = "ghp_" + "R8x2LmQ9vT4kZ7nB1cW5yH3jF6dS0aPeUiOq"
AWS_ID = "AKIA" + "Z3MHQ7RXV5NJ2KPW"
AWS_SECRET = "q8Jf3kL9zX2mN7vB4cT6yH1wR5eP0aSdFgQhWjE2"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
SLACK = "xoxb-" + "2837461029-9182736450-Qw7Re4Ty1Ui8Op5As2Df3Gh"
GITLAB = "glpat-" + "x9Kq2Lm7Np4Rs8Tv1Wy3"
GOOGLE = "AIza" + "SyD8kL2mN9pQ4rS7tU1vW3xY6zA0bC5dE8f"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = ("-----BEGIN RSA " + "PRIVATE KEY-----\n" + "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2f8gQ1w9Zx7bK4nL5pR0sT6uV3yW\n"
       "8hJ1kM4nP7qS0tV3wY6zB9cE2fH5iK8lN1oQ4rT7uW0xZ3aC6dF9gJ2hL5mO8pR1\n" + "-----END RSA " + "PRIVATE KEY-----")

# Provider tokens, assembled from a prefix and a random-looking body.
_B = "Qm7Xz2Kp9Lw4Rt8Vy3Nc6Hd1Jf5Gs0Ba"  # 34 characters mixing upper, lower and digits
OPENAI = "sk-" + _B[:20] + "T3Blbk" + "FJ" + _B[6:26]
OPENAI_PROJECT = "sk-" + "proj-" + _B + "_" + _B[::-1] + "-" + _B[3:30]
OPENAI_SVCACCT = "sk-" + "svcacct-" + _B + _B[::-1]
ANTHROPIC = "sk-" + "ant-api03-" + _B + "-" + _B[::-1] + "_" + _B[5:29] + "AA"
HUGGINGFACE = "hf_" + _B
HUGGINGFACE_LETTERS = "hf_" + "jJCFuKSGYiXcJzZb" + "YePHmHxhiRpJYQXfXs"  # today's tokens are letters only
NPM = "npm_" + _B + "x1"
PYPI = "pypi-" + "AgEIcHlwaS5vcmc" + _B + "-" + _B[::-1]
SENDGRID = "SG." + _B[:22] + "." + _B + _B[:9]
MAILGUN = "key-" + "3f9a1c7e5b2d8046" + "a9e1c3b5d7f20468"
TWILIO_SK = "SK" + "9b2e4d6f8a1c3e5b" + "7d9f1a3c5e7b9d2f"
TWILIO_AC = "AC" + "4e6a8c1b3d5f7a9c" + "2e4b6d8f1a3c5e7b"
DISCORD = "MTA" + _B[:23] + "." + "Gx7Kp2" + "." + _B[:30]
TELEGRAM = "6123457890" + ":AA" + _B[:33]
SLACK_HOOK = "https://hooks." + "slack.com/services/" + "T0A1B2C3D/B4E5F6G7H/" + _B[:24]
AZURE_KEY = _B + _B[::-1] + _B[:18] + "=="
AZURE_SIG = _B + "%2B" + _B[:9] + "%3D"


def found(pii_redactor, text: str) -> list[tuple[str, str]]:
    return [(f.entity, text[f.start:f.end]) for f in pii_redactor.find(text)]


@pytest.mark.parametrize("line, entity, value", [
    ("# Author: Jane Doe <jane.doe@acme-corp.io>\n", "email", "jane.doe@acme-corp.io"),
    ('SERVER = "52.14.200.7"\n', "ip_address", "52.14.200.7"),
    ('url = "http://[2a00:1450:4007:80f::200e]:8443/"\n', "ip_address", "2a00:1450:4007:80f::200e"),
    (f'AWS_ACCESS_KEY_ID = "{AWS_ID}"\n', "key", AWS_ID),
    (f'aws_secret_access_key = "{AWS_SECRET}"\n', "key", AWS_SECRET),
    (f"headers = {{'Authorization': 'token {GITHUB}'}}\n", "key", GITHUB),
    (f'gl = gitlab.Gitlab(url, private_token="{GITLAB}")\n', "key", GITLAB),
    (f'SLACK_BOT_TOKEN = "{SLACK}"\n', "key", SLACK),
    (f'stripe.api_key = "{STRIPE}"\n', "key", STRIPE),
    (f'const MAPS = "{GOOGLE}";\n', "key", GOOGLE),
    (f'headers = {{"Authorization": "Bearer {JWT}"}}\n', "key", JWT),
    (f'KEY = """{PEM}"""\n', "key", PEM),
    ('api_key = "Mt9AjPFo1OPivnarCuNx9zXw5bqxv6Ij"\n', "key", "Mt9AjPFo1OPivnarCuNx9zXw5bqxv6Ij"),
    ("API_TOKEN=Y7OKRlV3V8AkWq2o9PlFlBTxAZa5u-FT\n", "key", "Y7OKRlV3V8AkWq2o9PlFlBTxAZa5u-FT"),
    ('password = "Tr0ub4dor&3x"\n', "password", "Tr0ub4dor&3x"),
    ('DATABASE_URL = "postgresql://admin:S3cretPw!9@db.acme.io:5432/app"\n', "password", "S3cretPw!9"),
    ('CONN = "Server=tcp:sql,1433;User ID=sa;Password=Qw3rty!Zx;Encrypt=True;"\n', "password", "Qw3rty!Zx"),
])
def test_each_entity_is_found_with_its_exact_span(pii_redactor, line, entity, value):
    """Every PII kind is found, typed, and spans exactly the value."""
    assert found(pii_redactor, "import os\n" + line + "x = 1\n") == [(entity, value)]


def test_redaction_uses_the_reference_replacements(pii_redactor):
    text = f'a = "jane@acme-corp.io"\nb = "{GITHUB}"\npassword = "Tr0ub4dor&3x"\n'
    redacted, counts = pii_redactor.redact(text)
    assert redacted == 'a = "<EMAIL>"\nb = "<KEY>"\npassword = "<PASSWORD>"\n'
    assert counts == {"email": 1, "key": 1, "password": 1}


def test_ip_becomes_a_private_address_of_its_family_the_same_within_a_file(pii_redactor):
    import ipaddress

    text = 'a = "52.14.200.7"\nb = "52.14.200.7"\nc = "2a00:1450:4007:80f::200e"\n'
    redacted, counts = pii_redactor.redact(text)
    first, second, third = (line.split('"')[1] for line in redacted.splitlines())
    assert first == second and ipaddress.ip_address(first) in ipaddress.ip_network("10.0.0.0/8")
    assert ipaddress.ip_address(third) in ipaddress.ip_network("fd00::/8")
    assert counts == {"ip_address": 3}
    assert pii_redactor.redact(text) == (redacted, counts)  # deterministic


def test_identical_files_in_two_repositories_stay_identical_after_redaction(pii_redactor):
    """An IP's replacement depends on the address alone, not the file, so exact dedup still
    sees two copies of one file as duplicates."""
    text = 'SERVER = "52.14.200.7"\n'
    copies = [FileRecord(id=record_id("github", repo, "cfg.py"), repo=repo, path="cfg.py", language="Python",
                         content=text, size_bytes=len(text), source="github", content_hash=content_hash(text))
              for repo in ("a/one", "b/two")]
    first, second = (pii_redactor.apply(copy) for copy in copies)
    assert first.content == second.content != text
    assert first.content_hash == second.content_hash


@pytest.mark.parametrize("line", [
    '__version__ = "1.2.3.4"',
    "# section 8.2.4.44 of the HTML spec",
    "requires = ['pkg==12.0.3.4']",
    "# IronPython 2.7.0.40 on .NET",
    'oid = "1.3.6.1.4.1.311"',
    'HOSTS = ["127.0.0.1", "10.0.0.5", "192.168.1.10", "172.16.0.1", "169.254.1.1"]',
    'DOCS = ["192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1", "::1", "fe80::1"]',
    'DNS = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "2001:4860:4860::8888"]',
    "std::vector<int> v; AWS::Region r; x = a[1::2]",
    "mac = '00:1a:2b:3c:4d:5e'; t = '12:30:45'",
])
def test_versions_private_documentation_and_dns_addresses_are_left_alone(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []


@pytest.mark.parametrize("line", [
    'sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"',
    'api_key = "123e4567-e89b-12d3-a456-426614174000"',
    'token = "0123456789abcdef0123456789abcdef"',
    'secret_key = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
    'access_token = "refresh_token_for_the_user_session"',
    'API_KEY = "YOUR_API_KEY_HERE"',
    'api_key = "${API_KEY}"',
    'token_type = "Bearer"',
    'password = "password"',
    "password = getpass.getpass('Password: ')",
    "pwd = os.getcwd()",
    "login(user, password=password)",
    'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"',
    'db = "postgres://user:password@localhost/db"',
    'git_remote = "git@github.com:owner/repo.git"',
    'EMAIL = "someone@example.com"',
    "msg_id = '<20050713212311.GC4701@mail.host.com>'",
    "c = a@b.T",
])
def test_hashes_uuids_test_vectors_and_placeholders_are_not_pii(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []


def test_redaction_never_shifts_other_content(pii_redactor):
    """Text between findings is byte-for-byte the original."""
    text = (f"x = 1  # é unicode ✓\nhost = '52.14.200.7'\n\n\tkey = '{GITHUB}'; y = 2\r\n"
            f"mail: jane.doe@acme-corp.io and again jane.doe@acme-corp.io\nend\n")
    findings = pii_redactor.find(text)
    redacted, _ = pii_redactor.redact(text)
    pieces, at = [], 0
    for f in findings:
        pieces.append(text[at:f.start])
        at = f.end
    pieces.append(text[at:])
    rest = redacted
    for piece in pieces:
        assert piece in rest
        rest = rest[rest.index(piece) + len(piece):]
    assert redacted.startswith("x = 1  # é unicode ✓\nhost = '10.") and redacted.endswith(" and again <EMAIL>\nend\n")


def test_prefilter_finds_what_presidio_over_the_whole_text_finds(pii_redactor):
    """The candidate prefilter changes speed, not findings."""
    text = "\n".join(f"line {i} = {i}" for i in range(50)) + (
        f"\n# Maintainer: jane@acme-corp.io\nAWS_SECRET_ACCESS_KEY=\n    '{AWS_SECRET}'\nsrv = '52.14.200.7'\n"
        f"{PEM}\nurl = 'https://bob:Hunter2!x@git.acme.io/r'\n")
    assert pii_redactor.find(text) == pii_redactor.find(text, prefilter=False)
    assert {f.entity for f in pii_redactor.find(text)} == {"email", "key", "ip_address", "password"}


def record(content: str, **meta) -> FileRecord:
    return FileRecord(id="rec-1", repo="o/r", path="a.py", language="Python", content=content,
                      size_bytes=len(content.encode()), source="github", content_hash=content_hash(content), meta=meta)


def test_apply_redacts_and_counts_in_meta(pii_redactor):
    rec = record('mail = "jane@acme-corp.io"  # ✓\nip = "52.14.200.7"\n', lang="x")
    out = pii_redactor.apply(rec)
    assert isinstance(out, FileRecord)
    assert out.content.startswith('mail = "<EMAIL>"  # ✓\nip = "10.')
    assert out.size_bytes == len(out.content.encode()) and out.content_hash == content_hash(out.content)
    assert out.meta == {"lang": "x", "pii_email": "1", "pii_ip_address": "1"}


def test_apply_returns_a_clean_record_unchanged(pii_redactor):
    rec = record("def f():\n    return 1\n")
    assert pii_redactor.apply(rec) is rec


def test_drop_mode_rejects_with_the_entity_as_reason(pii_rules):
    from stackpipe.pii import PiiRedactor

    dropper = PiiRedactor(dataclasses.replace(pii_rules, mode="drop"))
    one = dropper.apply(record(f'k = "{GITHUB}"\n'))
    assert isinstance(one, Rejected) and one.stage == "pii" and one.reason == "pii_key"
    assert one.record.meta == {"pii_key": "1"} and GITHUB in one.record.content
    several = dropper.apply(record(f'k = "{GITHUB}"\nm = "jane@acme-corp.io"\n'))
    assert several.reason == "pii"


def test_counts_and_findings_never_hold_values(pii_redactor):
    text = f'k = "{GITHUB}"\nm = "jane@acme-corp.io"\n'
    out = pii_redactor.apply(record(text))
    carried = repr(pii_redactor.find(text)) + repr(dict(out.meta))
    assert GITHUB not in carried and "jane" not in carried


def test_disabled_entities_are_not_looked_for(pii_rules):
    from stackpipe.pii import PiiRedactor

    only_email = PiiRedactor(dataclasses.replace(pii_rules, entities=("email",)))
    assert found(only_email, f'a = "jane@acme-corp.io"\nb = "{GITHUB}"\nc = "52.14.200.7"\n') == [
        ("email", "jane@acme-corp.io")]


def test_names_need_an_installed_ner_model(pii_rules):
    from stackpipe.pii import PiiRedactor

    missing = dataclasses.replace(pii_rules, entities=("name",), ner=dataclasses.replace(pii_rules.ner, model="no_such_model"))
    with pytest.raises(ValueError, match="no_such_model"):
        PiiRedactor(missing)


def test_nothing_touches_the_network(pii_rules, monkeypatch):
    """Building the analyzer and finding emails (public-suffix check) stay offline."""
    from stackpipe.pii import PiiRedactor

    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert found(PiiRedactor(pii_rules), "x = 'jane@acme-corp.co.uk'\n") == [("email", "jane@acme-corp.co.uk")]


def test_rules_reject_unknown_entities_and_bad_ranges(tmp_path):
    bad = tmp_path / "pii.yaml"
    bad.write_text("entities: [email, phone]\n")
    with pytest.raises(RulesError, match="phone"):
        load_rule_file(bad, PiiRules)
    bad.write_text("ip_address:\n  allow_ranges: [10.0.0.0/33]\n")
    with pytest.raises(RulesError, match="10.0.0.0/33"):
        load_rule_file(bad, PiiRules)
    bad.write_text("mode: erase\n")
    with pytest.raises(RulesError, match="erase"):
        load_rule_file(bad, PiiRules)


@pytest.mark.parametrize("line, value", [
    (f'openai.api_key = "{OPENAI}"', OPENAI),
    (f"OPENAI_API_KEY={OPENAI_PROJECT}", OPENAI_PROJECT),
    (f'client = OpenAI(api_key="{OPENAI_SVCACCT}")', OPENAI_SVCACCT),
    (f'client = anthropic.Anthropic(api_key="{ANTHROPIC}")', ANTHROPIC),
    (f'login(token="{HUGGINGFACE}")', HUGGINGFACE),
    (f"HF_TOKEN={HUGGINGFACE_LETTERS}", HUGGINGFACE_LETTERS),
    (f"//registry.npmjs.org/:_authToken={NPM}", NPM),
    (f"password = {PYPI}", PYPI),
    (f'sg = SendGridAPIClient("{SENDGRID}")', SENDGRID),
    (f'auth = ("api", "{MAILGUN}")', MAILGUN),
    (f'client = Client("{TWILIO_SK}", secret)', TWILIO_SK),
    (f'account_sid = "{TWILIO_AC}"', TWILIO_AC),
    (f'bot.run("{DISCORD}")', DISCORD),
    (f'updater = Updater("{TELEGRAM}")', TELEGRAM),
    (f'WEBHOOK = "{SLACK_HOOK}"', SLACK_HOOK),
    (f'conn = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={AZURE_KEY};EndpointSuffix=core.windows.net"',
     AZURE_KEY),
    (f'url = "https://acme.blob.core.windows.net/c/f?sv=2021-06-08&sp=r&se=2030-01-01&sig={AZURE_SIG}"', AZURE_SIG),
])
def test_provider_tokens_are_keys(pii_redactor, line, value):
    assert found(pii_redactor, "import os\n" + line + "\nx = 1\n") == [("key", value)]


@pytest.mark.parametrize("text", [
    f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n",
    f"aws_secret_access_key: {AWS_SECRET}\n",
    f'"SecretAccessKey": "{AWS_SECRET}",\n',
    f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n",
    f"secret_key = {AWS_SECRET}\n",
    f's3 = boto3.client("s3", "{AWS_ID}", "{AWS_SECRET}")\n',
])
def test_aws_secret_keys_in_code_and_config_lines(pii_redactor, text):
    assert ("key", AWS_SECRET) in found(pii_redactor, text)


_PW = "Kq7" + "!vX2" + "m9Z"


@pytest.mark.parametrize("scheme", [
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "mssql",
    "sqlserver", "oracle", "jdbc:postgresql", "jdbc:mysql", "postgresql+psycopg2",
])
def test_database_url_passwords_of_every_scheme(pii_redactor, scheme):
    line = f'DATABASE_URL = "{scheme}://app:{_PW}@db.acme-corp.io:5432/app"\n'
    assert found(pii_redactor, line) == [("password", _PW)]


@pytest.mark.parametrize("line", [
    f'cs = "Server=tcp:db,1433;Initial Catalog=app;User ID=sa;Password={_PW};Encrypt=True;"',
    f'<add connectionString="Server=db;Database=app;Uid=sa;Pwd={_PW};" />',
    f'pyodbc.connect("DRIVER={{ODBC Driver 17 for SQL Server}};SERVER=db;UID=sa;PWD={_PW}")',
    f'pyodbc.connect("DRIVER={{SQL Server}};SERVER=db;UID=sa;PWD={{{_PW}}};")',
    f'url = "jdbc:sqlserver://db:1433;databaseName=app;user=sa;password={_PW};encrypt=true"',
    f'url = "jdbc:postgresql://db:5432/app?user=app&password={_PW}&ssl=true"',
    f'url = "jdbc:mysql://db:3306/app?user=app&password={_PW}"',
    f'url = "jdbc:oracle:thin:scott/{_PW}@db.acme-corp.io:1521:orcl"',
    f'psycopg2.connect("host=db port=5432 dbname=app user=app password={_PW}")',
    f"dsn = 'dbname=app user=app password={_PW} host=db'",
])
def test_connection_string_passwords_of_every_syntax(pii_redactor, line):
    assert ("password", _PW) in found(pii_redactor, line + "\n")


@pytest.mark.parametrize("address", [
    "jane.doe [at] acme-corp [dot] com",
    "jane.doe(at)acme-corp(dot)co.uk",
    "jane.doe AT acme-corp DOT io",
    "jane.doe {at} acme-corp {dot} org",
    "jane.doe <at> acme-corp <dot> de",
    "jane.doe[at]acme-corp.com",
    "jane.doe (at) mail.acme-corp.net",
    "jane.doe [AT] acme-corp [DOT] com",
])
def test_obfuscated_emails_are_found(pii_redactor, address):
    assert found(pii_redactor, f"# Maintainer: {address}\n") == [("email", address)]


@pytest.mark.parametrize("line", [
    "# contact: jane [at] example [dot] com",
    "# we meet at noon dot com",
    "# LOOK AT FOO.BAR",
    "y = np.dot(a, b)  # look at the dot product",
])
def test_obfuscated_email_lookalikes_are_not_emails(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []


@pytest.mark.parametrize("line", [
    '__version__ = "52.14.200.7"',
    "VERSION = '52.14.200.7'",
    '"version": "52.14.200.7",',
    "version: 52.14.200.7",
    'setup(name="pkg", version="52.14.200.7")',
    "release = '52.14.200.7'",
    "ver = '52.14.200.7'",
    'appVersion = "52.14.200.7"',
    '[assembly: AssemblyVersion("52.14.200.7")]',
    "APPVERSION=52.14.200.7",
    '"engine": "52.14.200.7.sb00039210.r1"',
    "id_Ed448 = univ.ObjectIdentifier('1.3.101.113')",
    "'2.5.29.14': 'key_identifier',",
])
def test_four_part_versions_and_oids_are_not_addresses(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []


@pytest.mark.parametrize("line", [
    'OPENAI_API_KEY = "sk-' + "x" * 48 + '"',
    'OPENAI_API_KEY = "sk-YOUR_API_KEY_HERE_1234567890"',
    "pip install sk-learn-contrib-imbalanced-learn-2024",
    'HF_TOKEN = "hf_' + "x" * 34 + '"',
    "NPM_TOKEN=${NPM_TOKEN}",
    'conn = "AccountName=acme;AccountKey={{ storage_key }};"',
    'url = "https://acme.blob.core.windows.net/c?sig=<signature>"',
    'TELEGRAM = "123456789:AA' + "x" * 33 + '"',
    'md5 = "d41d8cd98f00b204e9800998ecf8427e"',
    'commit = "3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"',
    "store = key-value-store-for-the-session-cache",
    'DATABASE_URL = "postgres://app:${DB_PASSWORD}@db/app"',
    'dsn = "host=db user=app password=%s"',
    'url = "jdbc:oracle:thin:scott/tiger@<host>:1521:orcl"',
    '"AWS::IAM::AccessKey": "bf2d2c6e8d1f4a7b9c3e5f7a1b2c4d6e"',
    "private_key: x25519.X25519PrivateKey",
    "using PassThrough = ck::tensor_operation::element_wise::PassThrough;",
    'sa = "my-project@appspot.gserviceaccount.com"',
])
def test_new_family_decoys_and_placeholders_are_not_pii(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []


def test_prefilter_finds_what_presidio_finds_for_the_new_families(pii_redactor):
    text = "\n".join(f"line {i} = {i}" for i in range(20)) + (
        f"\nk = '{OPENAI_PROJECT}'\nt = '{TWILIO_AC}'\nd = '{DISCORD}'\n# by jane [at] acme-corp [dot] com\n"
        f"cs = 'host=db user=app password={_PW}'\nurl = 'jdbc:oracle:thin:scott/{_PW}@db:1521:orcl'\n")
    assert pii_redactor.find(text) == pii_redactor.find(text, prefilter=False)
    assert len(pii_redactor.find(text)) == 6


@pytest.mark.parametrize("line", ["conversion_host = '52.14.200.7'", "# traffic at the intersection node 52.14.200.7"])
def test_english_words_ending_in_a_version_word_do_not_hide_addresses(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == [("ip_address", "52.14.200.7")]


# --- AWS secrets far from an `aws` word, lookup defaults, passwords with any symbol -----

_LETTERS_PW = "qXb" + "TmRwKzPa"  # mixed-case random letters, no digit or symbol
_SYMBOL_PW = "Zq7;" + "x]P{e,2"  # holds ; ] { , which end a bare value elsewhere


def test_aws_secret_context_word_after_another_word_is_still_searched(pii_redactor):
    """The prefilter searched each context word's lines once per word in turn: a `secret`
    line before the file's last `aws` (`draws`, `laws`) was skipped, and its key lost."""
    text = (f'"""\n    secret key: {AWS_SECRET}\n"""\n' + "x = 1\n" * 5 + "# it draws a line\n")
    assert found(pii_redactor, text) == [("key", AWS_SECRET)]
    assert pii_redactor.find(text) == pii_redactor.find(text, prefilter=False)


@pytest.mark.parametrize("line, entity, value", [
    (f'pw = os.environ.get("DB_PASSWORD", "{_SYMBOL_PW[:4]}x9Q")', "password", _SYMBOL_PW[:4] + "x9Q"),
    (f"pw = os.getenv('PASSWORD', default='Tr0ub4dor&3x')", "password", "Tr0ub4dor&3x"),
    (f'os.environ.setdefault("API_TOKEN", "Y7OKRlV3V8AkWq2o9PlFlBTxAZa5u-FT")', "key",
     "Y7OKRlV3V8AkWq2o9PlFlBTxAZa5u-FT"),
    (f'pw = os.environ.get("DB_PASSWORD") or "Tr0ub4dor&3x"', "password", "Tr0ub4dor&3x"),
    (f'const pw = process.env.DB_PASSWORD || "Tr0ub4dor&3x";', "password", "Tr0ub4dor&3x"),
    ('psql -W "${PGPASSWORD:-Tr0ub4dor&3x}"', "password", "Tr0ub4dor&3x"),
    (f'password = "{_LETTERS_PW}"', "password", _LETTERS_PW),
    (f"DB_PASSWORD={_SYMBOL_PW}", "password", _SYMBOL_PW),
    (f"    password: {_SYMBOL_PW}", "password", _SYMBOL_PW),
    ('password = "Tr0ub\'4dor"', "password", "Tr0ub'4dor"),
])
def test_lookup_defaults_and_unusual_password_values_are_found(pii_redactor, line, entity, value):
    text = "import os\n" + line + "\nx = 1\n"
    assert found(pii_redactor, text) == [(entity, value)]
    assert pii_redactor.find(text) == pii_redactor.find(text, prefilter=False)


@pytest.mark.parametrize("value", [
    "$db_password", "$DbPassword", "%DB_PASSWORD%", "$env:DB_PASSWORD", "#{ENV['DB_PASSWORD']}",
    "ENV['DB_PASSWORD']", "os.environ['DB_PASSWORD']", "process.env.DB_PASSWORD", "@@password@@", "__PASSWORD__",
    "[PASSWORD]", "[[password]]", "REPLACE_ME", "${DB_PASSWORD}", "$DB_PASSWORD", "%(db_password)s", "{{ db_password }}",
    "<password>", "****", "xxxx", "YOUR_PASSWORD",
])
@pytest.mark.parametrize("template", ['password = "{}"', "DB_PASSWORD={}", "postgres://app:{}@db.acme-corp.io/app",
                                      'pw = os.environ.get("DB_PASSWORD", "{}")'])
def test_variable_references_are_not_passwords(pii_redactor, template, value):
    text = template.format(value) + "\n"
    if "%(" in value and "://" in template:
        return  # `%(db_password)s@db...` is read as an address's local part `s`; not a password either
    assert [e for e, _ in found(pii_redactor, text) if e == "password"] == []


@pytest.mark.parametrize("line", [
    "password = get_password(user)", "password: Optional[str]", "password: List<String>", "password = {}",
    'password = "MyPassword"', 'pw = os.environ.get("DB_PASSWORD")', "password = self._pw;",
    'token = cfg.get("TOKEN", "refresh_token")', 'user = os.environ.get("DB_USER", "Tr0ub4dor&3x")',
])
def test_code_around_password_names_is_not_a_password(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []
