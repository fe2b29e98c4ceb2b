"""PII evaluation set generator (SPEC.md §1). Pure and deterministic given a seed.

`generate(split, seed, n_files)` -> list of Case(host_key, ext, text, spans); each span is a
Span(start, end, role, kind, entity, context). `clean_files(split, seed, max_bytes)` ->
unchanged host files. Nothing here imports the implementation under test.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import string
from dataclasses import dataclass
from urllib.parse import quote

from benchmarks.evalsets import hosts as H

ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
UPPER32 = string.ascii_uppercase + "234567"
PW_SPECIAL = "!*_-.~#%^+"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    role: str      # "positive" | "decoy"
    kind: str      # "<entity>/<type>" or "decoy/<type>"
    entity: str    # expected entity (positive) or "" (decoy)
    context: str


@dataclass(frozen=True)
class Case:
    host_key: str
    ext: str
    text: str
    spans: tuple[Span, ...]


# ---------------------------------------------------------------- random helpers
def rs(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


FIRST = ["alice", "bob", "carol", "dmitri", "elena", "farid", "greta", "hiro", "ines", "jonas",
         "kavya", "lars", "maria", "nikolai", "olu", "priya", "quentin", "rosa", "sven", "tomasz",
         "ursula", "viktor", "wen", "ximena", "yusuf", "zoe"]
LAST = ["andersen", "baptiste", "chen", "dubois", "eriksen", "fischer", "garcia", "haddad",
        "ivanova", "jensen", "kowalski", "lindqvist", "moreau", "nakamura", "okafor", "petrov",
        "quispe", "rossi", "schmidt", "tanaka", "urbina", "vasquez", "weber", "xu", "yilmaz", "zimmer"]
WORDS = ["acme", "nimbus", "orbit", "quartz", "ember", "falcon", "granite", "harbor", "lumen",
         "mosaic", "nova", "pinnacle", "ridge", "summit", "tidal", "vertex", "willow", "zephyr",
         "cobalt", "delta", "helix", "juniper", "kestrel", "meridian"]
TLDS = ["com", "io", "net", "org", "de", "co.uk", "fr", "dev", "ai", "nl"]
PROVIDERS = ["gmail.com", "outlook.com", "yahoo.com", "protonmail.com", "hotmail.com", "gmx.de",
             "fastmail.com", "icloud.com"]


def company_domain(rng) -> str:
    return f"{rng.choice(WORDS)}{rng.choice(['', '-', ''])}{rng.choice(WORDS)}.{rng.choice(TLDS)}"


def hostname(rng) -> str:
    return rng.choice([
        f"db-{rng.choice(['prod', 'stg', 'main', 'eu1'])}-{rng.randint(1, 9)}.{company_domain(rng)}",
        f"{rng.choice(WORDS)}.{rng.choice(WORDS)}-{rs(rng, HEX, 6)}.{rng.choice(['rds.amazonaws.com', 'postgres.database.azure.com', 'internal'])}",
        f"{rng.choice(WORDS)}-cluster.{company_domain(rng)}",
    ])


def password(rng) -> str:
    n = rng.randint(10, 22)
    chars = [rng.choice(ALNUM) for _ in range(n)]
    for _ in range(rng.randint(1, 3)):
        chars[rng.randrange(n)] = rng.choice(PW_SPECIAL)
    chars[0] = rng.choice(string.ascii_letters)
    return "".join(chars)


def user(rng) -> str:
    return rng.choice(["app", "admin", "svc_etl", "analytics", "root", "deploy", rng.choice(FIRST)])


def public_ipv4(rng) -> str:
    docs = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15")]
    while True:
        a = ipaddress.IPv4Address(rng.getrandbits(32))
        if a.is_global and not a.is_multicast and not any(a in d for d in docs) and a.packed[0] not in (0, 255):
            return str(a)


def public_ipv6(rng) -> str:
    doc = ipaddress.ip_network("2001:db8::/32")
    while True:
        groups = [rng.randint(0x2001, 0x2fff)] + [rng.getrandbits(16) for _ in range(7)]
        if rng.random() < 0.5:  # some zero runs so compression happens
            k = rng.randint(3, 6)
            for j in range(k, min(8, k + rng.randint(1, 3))):
                groups[j] = 0
        a = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
        if a.is_global and a not in doc:
            return a.compressed if rng.random() < 0.7 else a.exploded


# ---------------------------------------------------------------- plants
# A segment list: [(text, label or None)], label = (role, kind, entity)
def pos(kind: str, value: str):
    return (value, ("positive", kind, kind.split("/")[0]))


def dec(kind: str, value: str):
    return (value, ("decoy", "decoy/" + kind, ""))


@dataclass
class Plant:
    pairs: list            # [(NAME, segments)] rendered as consecutive lines of one context
    contexts: tuple        # allowed contexts, chosen by rng among those fitting the style
    multiline: bool = False
    raw_lines: dict | None = None  # style -> segments replacing rendering (special templates)


TOKEN_CTX = ("assign", "dict", "environ", "header", "comment", "env", "docstring")
CONF_CTX = ("assign", "dict", "environ", "comment", "env", "docstring")


def _k(kind, value, names, ctx=TOKEN_CTX):
    return Plant([(rng_choice_name(names), [pos("key/" + kind, value)])], ctx)


_NAME_RNG = random.Random(0)


def rng_choice_name(names):
    return names  # resolved later with the case rng (names is a list)


def p_openai_legacy(r):
    return _k("openai_legacy", "sk-" + rs(r, ALNUM, 20) + "T3BlbkFJ" + rs(r, ALNUM, 20), ["OPENAI_API_KEY", "OPENAI_KEY", "api_key"])


def p_openai_project(r):
    body = rs(r, B64URL, r.randint(80, 160))
    if r.random() < 0.5:
        i = r.randrange(20, len(body) - 20)
        body = body[:i] + "T3BlbkFJ" + body[i:]
    return _k("openai_project", "sk-proj-" + body, ["OPENAI_API_KEY", "openai_api_key", "LLM_KEY"])


def p_anthropic(r):
    return _k("anthropic", "sk-ant-api03-" + rs(r, B64URL, 93) + "AA", ["ANTHROPIC_API_KEY", "claude_key"])


def p_huggingface(r):
    return _k("huggingface", "hf_" + rs(r, string.ascii_letters, 34), ["HF_TOKEN", "HUGGINGFACE_HUB_TOKEN", "hf_token"])


def p_github(prefix, kind):
    def f(r):
        return _k(kind, prefix + rs(r, ALNUM, 36), ["GITHUB_TOKEN", "GH_TOKEN", "github_token"])
    return f


def p_github_fine(r):
    return _k("github_fine_grained", "github_pat_" + rs(r, ALNUM, 22) + "_" + rs(r, ALNUM, 59), ["GITHUB_TOKEN", "GH_PAT"])


def p_gitlab(r):
    return _k("gitlab", "glpat-" + rs(r, B64URL, 20), ["GITLAB_TOKEN", "CI_JOB_TOKEN_OVERRIDE", "gitlab_private_token"])


def aws_id(r):
    return "AKIA" + rs(r, UPPER32, 16)


def p_aws_id(r):
    return _k("aws_access_key_id", aws_id(r), ["AWS_ACCESS_KEY_ID", "aws_access_key_id", "S3_KEY_ID"], CONF_CTX)


def p_aws_secret_with_id(r):
    return Plant([("AWS_ACCESS_KEY_ID", [pos("key/aws_access_key_id", aws_id(r))]),
                  (["AWS_SECRET_ACCESS_KEY", "aws_secret", "S3_SECRET"], [pos("key/aws_secret_with_id", rs(r, B64, 40))])],
                 ("assign", "dict", "env", "comment"))


def p_aws_secret_named(r):
    return _k("aws_secret_named", rs(r, B64, 40), ["AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "secret_key"], CONF_CTX)


def p_azure_conn(r):
    acct = rng_word(r) + str(r.randint(1, 99))
    key = base64.b64encode(r.randbytes(64)).decode()
    return Plant([(["AZURE_STORAGE_CONNECTION_STRING", "storage_connection_string", "BLOB_CONN"],
                   [(f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey=", None),
                    pos("key/azure_storage_conn", key), (";EndpointSuffix=core.windows.net", None)])], CONF_CTX)


def rng_word(r):
    return r.choice(WORDS) + r.choice(WORDS)


def p_azure_sas(r):
    acct = rng_word(r)
    sig = quote(base64.b64encode(r.randbytes(32)).decode(), safe="")
    return Plant([(["SAS_URL", "blob_sas_url", "AZURE_BLOB_URL"],
                   [(f"https://{acct}.blob.core.windows.net/{r.choice(['data', 'backups', 'exports'])}?sv=2022-11-02&ss=b&srt=co&sp=rl"
                     f"&se=2026-0{r.randint(1, 9)}-1{r.randint(0, 9)}T00:00:00Z&st=2024-01-01T00:00:00Z&spr=https&sig=", None),
                    pos("key/azure_sas", sig)])], CONF_CTX)


def p_google(r):
    return _k("google_api", "AIza" + rs(r, B64URL, 35), ["GOOGLE_API_KEY", "MAPS_API_KEY", "firebase_api_key"])


def p_slack_bot(r):
    return _k("slack_bot", f"xoxb-{r.randint(10**10, 10**13)}-{r.randint(10**10, 10**13)}-{rs(r, ALNUM, 24)}", ["SLACK_BOT_TOKEN", "slack_token"])


def p_slack_user(r):
    return _k("slack_user", f"xoxp-{r.randint(10**10, 10**13)}-{r.randint(10**10, 10**13)}-{r.randint(10**10, 10**13)}-{rs(r, HEX, 32)}", ["SLACK_USER_TOKEN", "slack_token"])


def p_slack_webhook(r):
    url = f"https://hooks.slack.com/services/T{rs(r, string.ascii_uppercase + string.digits, r.randint(8, 10))}/B{rs(r, string.ascii_uppercase + string.digits, r.randint(8, 10))}/{rs(r, ALNUM, 24)}"
    return _k("slack_webhook", url, ["SLACK_WEBHOOK_URL", "webhook_url", "ALERT_HOOK"], CONF_CTX)


def p_stripe(prefix, kind):
    def f(r):
        return _k(kind, prefix + rs(r, ALNUM, r.choice([24, 34, 99])), ["STRIPE_SECRET_KEY", "STRIPE_API_KEY", "stripe_key"])
    return f


def p_twilio_key(r):
    return _k("twilio_api_key", "SK" + rs(r, HEX, 32), ["TWILIO_API_KEY", "twilio_key_sid"], CONF_CTX)


def p_twilio_auth(r):
    return Plant([("TWILIO_ACCOUNT_SID", [("AC" + rs(r, HEX, 32), None)]),
                  ("TWILIO_AUTH_TOKEN", [pos("key/twilio_auth_token", rs(r, HEX, 32))])], ("assign", "dict", "env"))


def p_sendgrid(r):
    return _k("sendgrid", "SG." + rs(r, B64URL, 22) + "." + rs(r, B64URL, 43), ["SENDGRID_API_KEY", "sendgrid_key"])


def p_mailgun(r):
    return _k("mailgun", "key-" + rs(r, HEX, 32), ["MAILGUN_API_KEY", "mailgun_key"], CONF_CTX)


def p_discord(r):
    uid = str(r.randint(10**17, 10**19 - 1)).encode()
    first = base64.b64encode(uid).decode().rstrip("=")
    return _k("discord_bot", f"{first}.{rs(r, B64URL, 6)}.{rs(r, B64URL, 38)}", ["DISCORD_TOKEN", "BOT_TOKEN", "discord_bot_token"])


def p_telegram(r):
    return _k("telegram_bot", f"{r.randint(10**7, 10**10 - 1)}:AA{rs(r, B64URL, 33)}", ["TELEGRAM_BOT_TOKEN", "TG_TOKEN", "bot_token"])


def p_npm(r):
    return _k("npm", "npm_" + rs(r, ALNUM, 36), ["NPM_TOKEN", "NODE_AUTH_TOKEN"])


def p_pypi(r):
    return _k("pypi", "pypi-AgEIcHlwaS5vcmc" + rs(r, B64URL, r.randint(150, 200)), ["PYPI_TOKEN", "TWINE_PASSWORD", "pypi_api_token"])


def _b64url(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def p_jwt(r):
    tok = ".".join([_b64url({"alg": "HS256", "typ": "JWT"}),
                    _b64url({"sub": str(r.randint(1000, 10**9)), "name": f"{r.choice(FIRST).title()} {r.choice(LAST).title()}",
                             "iat": r.randint(1_500_000_000, 1_750_000_000), "role": r.choice(["admin", "user", "svc"])}),
                    rs(r, B64URL, 43)])
    return _k("jwt", tok, ["AUTH_TOKEN", "ACCESS_TOKEN", "jwt"])


def p_pem(r):
    kind, prefix, nbytes = r.choice([("RSA PRIVATE KEY", b"\x30\x82\x04\xa4", 1190), ("PRIVATE KEY", b"\x30\x82\x04\xbe", 1210),
                                     ("EC PRIVATE KEY", b"\x30\x77\x02\x01", 117), ("OPENSSH PRIVATE KEY", b"openssh-key-v1\x00", 400)])
    body = base64.b64encode(prefix + r.randbytes(nbytes)).decode()
    lines = [body[i:i + (70 if "OPENSSH" in kind else 64)] for i in range(0, len(body), 70 if "OPENSSH" in kind else 64)]
    block = f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----"
    return Plant([(["PRIVATE_KEY", "SSH_KEY", "signing_key"], [pos("key/pem_private_key", block)])], ("assign",), multiline=True)


# passwords --------------------------------------------------------------
def _url_pw(scheme, kind, port, db=True):
    def f(r):
        pw = password(r)
        u = user(r)
        if kind == "redis_url":
            u = r.choice(["", "default"])
        dbpart = f"/{r.choice(['app', 'prod', 'analytics', 'orders'])}" if db else f"/{r.randint(0, 3)}"
        hp = hostname(r) if scheme != "mongodb+srv" else f"cluster0.{rs(r, string.ascii_lowercase + string.digits, 5)}.mongodb.net"
        portpart = "" if scheme == "mongodb+srv" or r.random() < 0.3 else f":{port}"
        segs = [(f"{scheme}://{u}:", None), pos("password/" + kind, quote(pw, safe="-._~!*")), (f"@{hp}{portpart}{dbpart}", None)]
        if scheme.startswith("mongodb") and r.random() < 0.5:
            segs.append(("?retryWrites=true&w=majority", None))
        return Plant([(["DATABASE_URL", "DB_URL", "SQLALCHEMY_DATABASE_URI", "BROKER_URL", "CACHE_URL"], segs)], CONF_CTX)
    return f


def p_jdbc_query(r):
    pw = password(r).replace("%", "x").replace("#", "x").replace("+", "x")
    eng, port = r.choice([("mysql", 3306), ("postgresql", 5432), ("mariadb", 3306)])
    return Plant([(["JDBC_URL", "jdbc_url", "spring_datasource_url"],
                   [(f"jdbc:{eng}://{hostname(r)}:{port}/{r.choice(['app', 'shop'])}?user={user(r)}&password=", None),
                    pos("password/jdbc_query", pw), ("&useSSL=true" if r.random() < 0.5 else "", None)])], CONF_CTX)


def p_jdbc_sqlserver(r):
    pw = password(r).replace(";", "x")
    return Plant([(["JDBC_URL", "jdbc_url"],
                   [(f"jdbc:sqlserver://{hostname(r)}:1433;databaseName={r.choice(['Sales', 'app'])};user={user(r)};password=", None),
                    pos("password/jdbc_sqlserver", pw), (";encrypt=true;", None)])], CONF_CTX)


def p_jdbc_oracle(r):
    pw = password(r).replace("@", "x").replace("/", "x")
    return Plant([(["JDBC_URL", "oracle_url"],
                   [(f"jdbc:oracle:thin:{user(r)}/", None), pos("password/jdbc_oracle_thin", pw),
                    (f"@{hostname(r)}:1521:ORCL", None)])], CONF_CTX)


def p_adonet(r):
    pw = password(r)
    head = r.choice([f"Server=tcp:{hostname(r)},1433;Database=app;User Id={user(r)};Password=",
                     f"Data Source={hostname(r)};Initial Catalog=Orders;User ID={user(r)};Password="])
    return Plant([(["CONNECTION_STRING", "ConnectionString", "sql_conn"],
                   [(head, None), pos("password/adonet", pw), (";Encrypt=True;TrustServerCertificate=False;", None)])], CONF_CTX)


def p_odbc(r):
    pw = password(r)
    return Plant([(["ODBC_CONN", "odbc_connection_string"],
                   [(f"Driver={{ODBC Driver 18 for SQL Server}};Server={hostname(r)};Database=app;UID={user(r)};PWD=", None),
                    pos("password/odbc", pw), (";", None)])], CONF_CTX)


def p_libpq(r):
    pw = password(r)
    return Plant([(["PG_DSN", "dsn", "conninfo"],
                   [(f"host={hostname(r)} port=5432 dbname=app user={user(r)} password=", None),
                    pos("password/libpq_kv", pw), (" sslmode=require", None)])], CONF_CTX)


def p_pw_assign(r):
    return Plant([(["PASSWORD", "DB_PASSWORD", "PASSWD", "SMTP_PASSWORD", "pwd", "ADMIN_PASSWORD", "MYSQL_ROOT_PASSWORD"],
                   [pos("password/assign", password(r))])], ("assign", "dict", "environ", "env", "django"))


# emails --------------------------------------------------------------------
def local_part(r):
    f, l = r.choice(FIRST), r.choice(LAST)
    return r.choice([f"{f}.{l}", f"{f[0]}{l}", f"{f}{r.randint(1, 99)}", f"{f}_{l}", f])


def email_domain(r):
    return r.choice(PROVIDERS) if r.random() < 0.5 else company_domain(r)


def p_email_plain(r):
    return Plant([(["EMAIL", "author_email", "MAINTAINER_EMAIL", "contact", "ADMIN_EMAIL"],
                   [pos("email/plain", f"{local_part(r)}@{email_domain(r)}")])], ("assign", "dict", "comment", "env"))


def p_email_author(r):
    lp = local_part(r)
    name = " ".join(x.title() for x in lp.replace("_", ".").split(".") if x.isalpha()) or "Pat Doe"
    return Plant([(r.choice(["Author", "Maintainer", "Copyright (c) 2021"]), [(f"{name} <", None), pos("email/author_header", f"{lp}@{email_domain(r)}"), (">", None)])],
                 ("header_line",))


def p_email_obf(kind, at, dot):
    def f(r):
        dom = email_domain(r).split(".")
        v = local_part(r) + at + dot.join(dom)
        return Plant([(["Contact", "Email", "Bug reports", "Maintainer"], [pos("email/" + kind, v)])], ("prose",))
    return f


# ip ---------------------------------------------------------------------------
def p_ipv4(r):
    return _ip("ipv4_public", public_ipv4(r), r)


def p_ipv6(r):
    return _ip("ipv6_public", public_ipv6(r), r)


def _ip(kind, ip, r):
    v6 = ":" in ip
    form = r.choice(["bare", "bare", "url", "listen"])
    label = pos("ip_address/" + kind, ip)
    if form == "url":
        host = [("[", None), label, ("]", None)] if v6 else [label]
        segs = [(f"http{'s' if r.random() < .5 else ''}://", None)] + host + [(f":{r.choice([8080, 443, 9200, 5000])}/api/v1", None)]
        return Plant([(["API_BASE_URL", "endpoint", "SERVER_URL"], segs)], ("assign", "dict", "comment", "env"))
    if form == "listen":
        return Plant([("listen", [label] if not v6 else [("[", None), label, ("]", None)])], ("listen",))
    return Plant([(["SERVER_IP", "HOST", "bind_address", "upstream", "DNS_SERVER", "NODE_IP"], [label])], ("assign", "dict", "comment", "env"))


# decoys ---------------------------------------------------------------------
def _d(kind, value, names, ctx=("assign", "dict", "comment")):
    return Plant([(names, [dec(kind, value)])], ctx)


def d_md5(r):
    return _d("md5", rs(r, HEX, 32), ["MD5", "checksum", "md5sum", "etag"])


def d_sha1(r):
    return _d("sha1", rs(r, HEX, 40), ["SHA1", "fingerprint", "digest"])


def d_sha256(r):
    return _d("sha256", rs(r, HEX, 64), ["SHA256", "sha256", "expected_hash", "integrity"])


def d_uuid(r):
    import uuid
    u = str(uuid.UUID(bytes=r.randbytes(16), version=4))
    return _d("uuid", u.upper() if r.random() < 0.3 else u, ["REQUEST_ID", "uuid", "tenant_id", "PROJECT_GUID"])


def d_git_sha(r):
    return _d("git_sha", rs(r, HEX, 40), ["COMMIT", "revision", "GIT_SHA", "base_commit"])


def d_git_short(r):
    return _d("git_sha_short", rs(r, HEX, r.randint(7, 12)), ["COMMIT", "rev", "GIT_SHORT_SHA"])


def d_b64(r):
    return _d("base64_vector", base64.b64encode(r.randbytes(r.randint(18, 45))).decode(), ["EXPECTED", "test_vector", "encoded", "SAMPLE_B64"], ("assign", "dict", "b64decode"))


def d_version(r):
    v = f"{r.randint(1, 9)}.{r.randint(0, 12)}.{r.randint(0, 20)}.{r.randint(0, 30)}"
    return Plant([("version", [dec("version_ipv4", v)])], ("version",))


PLACEHOLDERS = {
    "placeholder_your": ["YOUR_API_KEY", "YOUR_API_KEY_HERE", "<YOUR_TOKEN_HERE>", "your-secret-key", "INSERT_KEY_HERE"],
    "placeholder_x": ["xxxxxxxxxxxxxxxxxxxx", "XXXXXXXXXXXXXXXX", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    "placeholder_env": ["${API_KEY}", "${GITHUB_TOKEN}", "$DB_PASSWORD", "${SECRET_KEY:-}", "%API_KEY%"],
    "placeholder_template": ["{{ api_key }}", "{{ .Values.password }}", "%(password)s", "{password}", "{{secrets.TOKEN}}"],
    "placeholder_angle": ["<token>", "<password>", "<api-key>", "<secret>", "<your-password>"],
    "placeholder_stars": ["****", "********", "************", "***REDACTED***"],
}


def d_placeholder(kind):
    def f(r):
        return _d(kind, r.choice(PLACEHOLDERS[kind]), ["API_KEY", "PASSWORD", "TOKEN", "SECRET_KEY", "db_password", "auth_token"],
                  ("assign", "dict", "env", "header"))
    return f


def d_placeholder_conn(r):
    ph = r.choice(["${DB_PASSWORD}", "<password>", "$POSTGRES_PASSWORD", "{password}", "****"])
    return Plant([(["DATABASE_URL", "DB_URL"], [(f"postgresql://{user(r)}:", None), dec("placeholder_conn", ph),
                                                (f"@{hostname(r)}:5432/app", None)])], ("assign", "dict", "env"))


def d_email_reserved(r):
    dom = r.choice(["example.com", "example.org", "example.net", f"mail.example.com", f"{rng_word(r)}.test",
                    f"{rng_word(r)}.invalid", "localhost", f"{rng_word(r)}.localhost", "sub.example.org"])
    return _d("email_reserved", f"{local_part(r)}@{dom}", ["EMAIL", "author_email", "DEFAULT_FROM_EMAIL", "to_addr"], ("assign", "dict", "comment"))


def d_pkg_version(r):
    v = r.choice(["lodash@4.17.21", "react@18.2.0", "@types/node@20.11.5", "@babel/core@7.23.9", "typescript@5.3.3",
                  f"{rng_word(r)}@{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 30)}"])
    return _d("package_at_version", v, ["DEPENDENCY", "pkg", "REQUIRED"], ("assign", "comment"))


def d_ip_doc(r):
    ip = r.choice([f"192.0.2.{r.randint(1, 254)}", f"198.51.100.{r.randint(1, 254)}", f"203.0.113.{r.randint(1, 254)}",
                   f"2001:db8::{r.randint(1, 0xffff):x}", f"2001:db8:{r.randint(1, 0xffff):x}::{r.randint(1, 0xff):x}"])
    return _d("ip_doc", ip, ["SERVER_IP", "HOST", "bind_address", "peer"], ("assign", "dict", "comment", "env"))


def d_ip_private(r):
    ip = r.choice([f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                   f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                   f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}", "127.0.0.1", "0.0.0.0",
                   f"169.254.{r.randint(0, 255)}.{r.randint(1, 254)}", "::1", f"fe80::{r.getrandbits(16):x}:{r.getrandbits(16):x}",
                   f"fd00:{r.getrandbits(16):x}::{r.getrandbits(8):x}"])
    return _d("ip_private", ip, ["SERVER_IP", "HOST", "bind_address", "REDIS_HOST"], ("assign", "dict", "comment", "env"))


TYPES = {
    "key/openai_legacy": p_openai_legacy, "key/openai_project": p_openai_project, "key/anthropic": p_anthropic,
    "key/huggingface": p_huggingface, "key/github_pat_classic": p_github("ghp_", "github_pat_classic"),
    "key/github_oauth": p_github("gho_", "github_oauth"), "key/github_app": p_github("ghs_", "github_app"),
    "key/github_fine_grained": p_github_fine, "key/gitlab": p_gitlab, "key/aws_access_key_id": p_aws_id,
    "key/aws_secret_with_id": p_aws_secret_with_id, "key/aws_secret_named": p_aws_secret_named,
    "key/azure_storage_conn": p_azure_conn, "key/azure_sas": p_azure_sas, "key/google_api": p_google,
    "key/slack_bot": p_slack_bot, "key/slack_user": p_slack_user, "key/slack_webhook": p_slack_webhook,
    "key/stripe_secret": p_stripe("sk_live_", "stripe_secret"), "key/stripe_restricted": p_stripe("rk_live_", "stripe_restricted"),
    "key/twilio_api_key": p_twilio_key, "key/twilio_auth_token": p_twilio_auth, "key/sendgrid": p_sendgrid,
    "key/mailgun": p_mailgun, "key/discord_bot": p_discord, "key/telegram_bot": p_telegram, "key/npm": p_npm,
    "key/pypi": p_pypi, "key/jwt": p_jwt, "key/pem_private_key": p_pem,
    "password/pg_url": _url_pw("postgres", "pg_url", 5432), "password/postgresql_url": _url_pw("postgresql", "postgresql_url", 5432),
    "password/mysql_url": _url_pw("mysql", "mysql_url", 3306), "password/mongodb_url": _url_pw("mongodb", "mongodb_url", 27017),
    "password/mongodb_srv_url": _url_pw("mongodb+srv", "mongodb_srv_url", 27017),
    "password/redis_url": _url_pw("redis", "redis_url", 6379, db=False), "password/amqp_url": _url_pw("amqp", "amqp_url", 5672),
    "password/mssql_url": _url_pw("mssql", "mssql_url", 1433), "password/jdbc_query": p_jdbc_query,
    "password/jdbc_sqlserver": p_jdbc_sqlserver, "password/jdbc_oracle_thin": p_jdbc_oracle, "password/adonet": p_adonet,
    "password/odbc": p_odbc, "password/libpq_kv": p_libpq, "password/assign": p_pw_assign,
    "email/plain": p_email_plain, "email/author_header": p_email_author,
    "email/obf_brackets": p_email_obf("obf_brackets", " [at] ", " [dot] "), "email/obf_parens": p_email_obf("obf_parens", "(at)", "(dot)"),
    "email/obf_caps": p_email_obf("obf_caps", " AT ", " DOT "), "email/obf_braces": p_email_obf("obf_braces", " {at} ", " {dot} "),
    "email/obf_angle": p_email_obf("obf_angle", " <at> ", " <dot> "),
    "ip_address/ipv4_public": p_ipv4, "ip_address/ipv6_public": p_ipv6,
    "decoy/md5": d_md5, "decoy/sha1": d_sha1, "decoy/sha256": d_sha256, "decoy/uuid": d_uuid, "decoy/git_sha": d_git_sha,
    "decoy/git_sha_short": d_git_short, "decoy/base64_vector": d_b64, "decoy/version_ipv4": d_version,
    **{f"decoy/{k}": d_placeholder(k) for k in PLACEHOLDERS}, "decoy/placeholder_conn": d_placeholder_conn,
    "decoy/email_reserved": d_email_reserved, "decoy/package_at_version": d_pkg_version,
    "decoy/ip_doc": d_ip_doc, "decoy/ip_private": d_ip_private,
}


# ---------------------------------------------------------------- rendering
STYLE = {".py": "py", ".pyi": "py", ".js": "js", ".c": "c", ".h": "c", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
         ".ini": "ini", ".cfg": "ini", ".toml": "toml", ".sh": "sh", ".md": "doc", ".rst": "doc", ".txt": "doc"}
HASH_COMMENT = {"py", "sh", "yaml", "ini", "toml"}


def _comment(style, segs, r):
    if style in HASH_COMMENT:
        return [("# ", None)] + segs + [("\n", None)]
    if style in ("c", "js"):
        return ([("/* ", None)] + segs + [(" */\n", None)]) if r.random() < 0.5 else ([("// ", None)] + segs + [("\n", None)])
    if style == "json":
        return [('  "_comment": "', None)] + segs + [('",\n', None)]
    return segs + [("\n", None)]


def _escape(segs, style):
    """Quote-safe value for the style (only multi-line values need escaping)."""
    if style in ("json", "toml", "c"):
        return [(t.replace("\n", "\\n"), l) for t, l in segs]
    return segs


def _assign(style, name, segs, r, multiline=False):
    low = name.lower()
    if multiline:
        if style == "py":
            return [(f'{name} = """', None)] + segs + [('\n"""\n', None)]
        if style == "js":
            return [(f"const {name} = `", None)] + segs + [("`;\n", None)]
        if style == "yaml":
            t, l = segs[0]
            return [(f"{low}: |\n  ", None), (t.replace("\n", "\n  "), l), ("\n", None)]
        if style in ("json", "toml", "c"):
            pass  # escaped single line below
        else:
            return segs + [("\n", None)]
        segs = _escape(segs, style)
    q = r.choice(['"', "'"])
    if style == "py":
        return [(f"{name} = {q}", None)] + segs + [(f"{q}\n", None)]
    if style == "js":
        return [(f"{r.choice(['const', 'let', 'var'])} {name} = {q}", None)] + segs + [(f"{q};\n", None)]
    if style == "c":
        return ([(f'#define {name.upper()} "', None)] + segs + [('"\n', None)]) if r.random() < 0.5 else \
               ([(f'static const char *{low} = "', None)] + segs + [('";\n', None)])
    if style == "json":
        return [(f'  "{low}": "', None)] + segs + [('",\n', None)]
    if style == "yaml":
        return ([(f"{low}: ", None)] + segs + [("\n", None)]) if r.random() < 0.5 else ([(f'{low}: "', None)] + segs + [('"\n', None)])
    if style == "ini":
        return [(f"{low} = ", None)] + segs + [("\n", None)]
    if style == "toml":
        return [(f'{low} = "', None)] + segs + [('"\n', None)]
    if style == "sh":
        return [(f'export {name}="', None)] + segs + [('"\n', None)]
    return [(f"{name}=", None)] + segs + [("\n", None)]  # doc: .env style line


def render(style: str, ctx: str, plant: Plant, r: random.Random) -> tuple[list, str]:
    """Segments of full lines for the plant, and the context label actually used."""
    pairs = [(n if isinstance(n, str) else r.choice(n), segs) for n, segs in plant.pairs]
    out: list = []
    if plant.multiline:
        for n, segs in pairs:
            out += _assign(style, n, segs, r, multiline=True)
        return out, f"{style}/assign_multiline"
    if ctx == "header_line":
        n, segs = pairs[0]
        line = [(f"{n}: " if not n.startswith("Copyright") else f"{n} ", None)] + segs
        if style == "py" and r.random() < 0.5:
            return [('__author__ = "', None)] + segs + [('"\n', None)] if n == "Author" else _comment(style, line, r), "py/author"
        return _comment(style, line, r), f"{style}/comment"
    if ctx == "prose":
        n, segs = pairs[0]
        line = [(r.choice([f"{n}: ", "Please report bugs to ", "Questions? Write to ", "Maintained by "]), None)] + segs
        if style == "py" and r.random() < 0.5:
            return [('"""\n', None)] + line + [("\n\"\"\"\n", None)], "py/docstring"
        return _comment(style, line, r), f"{style}/comment"
    if ctx == "listen":
        n, segs = pairs[0]
        return _comment(style, [("listen ", None)] + segs + [(f":{r.choice([80, 443, 8443])};", None)], r), f"{style}/listen"
    if ctx == "version":
        segs = pairs[0][1]
        if style == "py":
            nm = r.choice(["__version__", "VERSION", "version"])
            return [(f'{nm} = "', None)] + segs + [('"\n', None)], "py/version"
        if style == "yaml":
            return [("version: ", None)] + segs + [("\n", None)], "yaml/version"
        if style == "json":
            return [('  "version": "', None)] + segs + [('",\n', None)], "json/version"
        if style == "c":
            return [('#define LIB_VERSION "', None)] + segs + [('"\n', None)], "c/version"
        if style in ("ini", "toml"):
            return [('version = "' if style == "toml" else "version = ", None)] + segs + [('"\n' if style == "toml" else "\n", None)], f"{style}/version"
        if style == "js":
            return [('export const VERSION = "', None)] + segs + [('";\n', None)], "js/version"
        return [("Version: ", None)] + segs + [("\n", None)], f"{style}/version"
    if ctx == "dict" and style in ("py", "js"):
        if style == "py":
            body: list = [(r.choice(["CONFIG = {", "settings = {", "DEFAULTS = dict(**{"]), None)]
            close = "})\n" if body[0][0].startswith("DEFAULTS") else "}\n"
            for n, segs in pairs:
                body += [(f'\n    "{n.lower()}": "', None)] + segs + [('",', None)]
            return body + [("\n    \"timeout\": 30,\n" + close, None)], "py/dict"
        body = [("const config = {", None)]
        for n, segs in pairs:
            body += [(f"\n  {n.lower()}: '", None)] + segs + [("',", None)]
        return body + [("\n  retries: 3,\n};\n", None)], "js/dict"
    if ctx == "django" and style == "py":
        return [("DATABASES = {\n    'default': {\n        'ENGINE': 'django.db.backends.postgresql',\n        'NAME': 'app',\n"
                 "        'USER': 'app',\n        'PASSWORD': '", None)] + pairs[0][1] + [("',\n        'HOST': 'db',\n    }\n}\n", None)], "py/django"
    if ctx == "environ" and style == "py":
        out = []
        for n, segs in pairs:
            out += [(f'{n} = os.environ.get("{n}", "', None)] + segs + [('")\n', None)]
        return out, "py/environ"
    if ctx == "header" and style in ("py", "js", "doc", "sh"):
        n, segs = pairs[-1]
        hname, pre = r.choice([("Authorization", "Bearer "), ("Authorization", "token "), ("X-Api-Key", ""), ("api-key", "")])
        if style == "py":
            return [(f'headers = {{"{hname}": "{pre}', None)] + segs + [('"}\n', None)], "py/header"
        if style == "js":
            return [(f"const headers = {{ '{hname}': '{pre}", None)] + segs + [("' };\n", None)], "js/header"
        if style == "sh":
            return [(f'curl -H "{hname}: {pre}', None)] + segs + [(f'" https://api.{company_domain(r)}/v1/items\n', None)], "sh/header"
        return [(f"{hname}: {pre}", None)] + segs + [("\n", None)], "doc/header"
    if ctx == "comment" or (ctx == "docstring" and style != "py"):
        for n, segs in pairs:
            out += _comment(style, [(r.choice([f"{n}: ", f"{n} = ", "use ", "TODO: rotate "]), None)] + segs, r)
        return out, f"{style}/comment"
    if ctx == "docstring":
        body = [('"""Example configuration.\n\n    ', None)]
        for n, segs in pairs:
            body += [(f"export {n}=", None)] + segs + [("\n    ", None)]
        return body + [('\n"""\n', None)], "py/docstring"
    if ctx == "env" and style in ("sh", "doc", "ini"):
        for n, segs in pairs:
            out += [(f"{n}=", None)] + segs + [("\n", None)]
        return out, f"{style}/env"
    if ctx == "b64decode" and style in ("py", "js"):
        n, segs = pairs[0]
        if style == "py":
            return [(f"{n.lower()} = base64.b64decode(\"", None)] + segs + [('")\n', None)], "py/b64decode"
        return [(f"const {n.lower()} = atob('", None)] + segs + [("');\n", None)], "js/b64decode"
    for n, segs in pairs:
        out += _assign(style, n, segs, r)
    return out, f"{style}/assign"


# ---------------------------------------------------------------- set generation
EXT_GROUPS = [((".py",), 34), ((".pyi",), 4), ((".c", ".h"), 14), ((".json",), 10), ((".yaml", ".yml"), 8),
              ((".ini", ".cfg", ".toml"), 8), ((".md", ".rst", ".txt"), 12), ((".js",), 5), ((".sh",), 5)]


def _pick_hosts(split: str, seed: int, n: int) -> list:
    pools = [(H.ordered(split, seed, exts, salt="pii"), w) for exts, w in EXT_GROUPS]
    pools = [(p, w) for p, w in pools if p]
    r = random.Random(H.rng_seed(seed, split, "pii-hosts"))
    idx = [0] * len(pools)
    out = []
    while len(out) < n:
        g = r.choices(range(len(pools)), weights=[w for _, w in pools])[0]
        pool = pools[g][0]
        out.append(pool[idx[g] % len(pool)])  # small pools are reused (different plants)
        idx[g] += 1
    return out


def generate(split: str, seed: int = 0, n_files: int = 600) -> list[Case]:
    type_names = sorted(TYPES)
    order = list(type_names)
    random.Random(H.rng_seed(seed, split, "pii-order")).shuffle(order)
    t = 0
    cases = []
    for i, host in enumerate(_pick_hosts(split, seed, n_files * 2)):
        if len(cases) >= n_files:
            break
        text = H.read_text(host)
        if text is None:
            continue
        r = random.Random(H.rng_seed(seed, split, "pii-case", i, host.key))
        if text and not text.endswith("\n"):
            text += "\n"
        style = STYLE[host.ext]
        bounds = H.line_boundaries(text)
        if bounds[-1] != len(text):
            bounds.append(len(text))
        k = r.randint(3, 6)
        positions = sorted(r.choice(bounds) for _ in range(k))
        inserts = []
        for pos_ in positions:
            tname = order[t % len(order)]
            t += 1
            plant = TYPES[tname](r)
            ctxs = [c for c in plant.contexts]
            ctx = r.choice(ctxs)
            segs, ctx_label = render(style, ctx, plant, r)
            inserts.append((pos_, segs, ctx_label))
        pieces, spans, last, cur = [], [], 0, 0
        for pos_, segs, ctx_label in inserts:
            pieces.append(text[last:pos_])
            cur += pos_ - last
            last = pos_
            for seg_text, label in segs:
                if label is not None:
                    role, kind, entity = label
                    spans.append(Span(cur, cur + len(seg_text), role, kind, entity, ctx_label))
                pieces.append(seg_text)
                cur += len(seg_text)
        pieces.append(text[last:])
        out = "".join(pieces)
        for s in spans:
            assert s.end > s.start
        cases.append(Case(host.key, host.ext, out, tuple(spans)))
    return cases


def clean_files(split: str, seed: int = 0, max_bytes: int = 8_000_000) -> list[tuple[str, str]]:
    """Unchanged host files of the split, all extensions, mixed by the seeded order."""
    return H.unchanged_texts(split, seed, "clean", max_bytes)
